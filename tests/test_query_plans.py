"""The reads issue 16 keeps flat however long a server's history grows come straight from an index, on
both backends: EXPLAIN of the statements the store really runs (captured as it runs them) shows no
sort of a member's or a server's jobs for /history pages and the /extend list; and admission's
"member's newest job" read stops at the first row instead of reading the member's whole history.

The database holds a few thousand jobs (analysed), enough that a sort would be planned if the index
order did not fit; plans are checked, not timings (those are in bench/storage_latency.py)."""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from bot.kling.models import Model
from bot.storage import JobState, Store
from bot.storage import postgres as postgres_store
from bot.storage import sqlite as sqlite_store
from tests.storage_backends import Backend, PostgresBackend, SqliteBackend
from tests.storage_samples import GUILD, request

MEMBERS = 40
JOBS = 4_000
BUSY_MEMBER = 7
NOW = 1_790_000_000.0


def fill(backend: Backend) -> None:
    """JOBS past jobs of MEMBERS members over 60 days in GUILD (plus another server's), through the
    schema's own triggers, then ANALYZE."""
    rng = random.Random(16)
    states = [JobState.DELIVERED] * 16 + [
        JobState.FAILED,
        JobState.CANCELLED,
        JobState.TIMED_OUT,
        JobState.QUEUED,
    ]
    texts = [request(model).to_json() for model in (Model.V1, Model.V1_6, Model.V3)]
    rows = []
    for number in range(JOBS):
        created = NOW - rng.random() * 60 * 86_400
        day = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d")
        state = rng.choice(states)
        rows.append(
            (
                f"past-{number}",
                GUILD if number % 4 else GUILD + 1,
                10,
                1 + number % MEMBERS,
                texts[number % 3],
                2.0,
                1,
                day,
                day[:7],
                day,
                day[:7],
                state.value,
                created,
                created,
                f"video-{number}" if state is JobState.DELIVERED else None,
            )
        )
    columns = (
        "id, guild_id, channel_id, member_id, request, cost, size_limit, day_key, month_key, "
        "global_day_key, global_month_key, state, created_at, updated_at, video_id"
    )
    if isinstance(backend, SqliteBackend):
        with contextlib.closing(sqlite3.connect(backend.path, isolation_level=None)) as db:
            db.execute("BEGIN")
            db.executemany(f"INSERT INTO jobs ({columns}) VALUES ({', '.join('?' * 15)})", rows)
            db.execute("COMMIT")
            db.execute("ANALYZE")
    else:
        assert isinstance(backend, PostgresBackend)
        with psycopg.connect(backend.url, autocommit=True) as db:
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(f"INSERT INTO jobs ({columns}) VALUES ({', '.join(['%s'] * 15)})", rows)
            db.execute("ANALYZE")


@contextlib.contextmanager
def captured(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Every (sql, params) the store sends while the block runs."""
    module: Any = sqlite_store if backend.kind == "sqlite" else postgres_store
    original = module._fetch
    statements: list[tuple[str, Any]] = []

    async def recording(conn: Any, sql: str, params: Any = None) -> Any:
        statements.append((sql, params))
        return await original(conn, sql, params)

    with monkeypatch.context() as patch:
        patch.setattr(module, "_fetch", recording)
        yield statements


def plan(backend: Backend, sql: str, params: Any) -> list[str]:
    """The plan's steps: SQLite's EXPLAIN QUERY PLAN lines, PostgreSQL's node types with their index."""
    if isinstance(backend, SqliteBackend):
        with contextlib.closing(sqlite3.connect(backend.path)) as db:
            return [str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert isinstance(backend, PostgresBackend)
    with psycopg.connect(backend.url) as server:
        row = server.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()
    assert row is not None
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    steps: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        steps.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
        for child in node.get("Plans", []):
            walk(child)

    walk(document[0]["Plan"])
    return steps


def sorts(steps: list[str]) -> list[str]:
    return [step for step in steps if "TEMP B-TREE FOR ORDER BY" in step or step.endswith("Sort")]


async def test_history_pages_and_the_extend_list_come_in_index_order(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = await backend.open()
    fill(backend)
    newest = await store.history(GUILD, member_id=BUSY_MEMBER, limit=5)
    everyone = await store.history(GUILD, limit=5)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "a member's first page": lambda: store.history(GUILD, member_id=BUSY_MEMBER, limit=5),
        "a member's next page": lambda: store.history(
            GUILD, member_id=BUSY_MEMBER, limit=5, after=newest[-1].id
        ),
        "everyone's first page": lambda: store.history(GUILD, limit=5),
        "everyone's next page": lambda: store.history(GUILD, limit=5, after=everyone[-1].id),
        "a state's page": lambda: store.history(GUILD, states=[JobState.FAILED], limit=5),
        "a member's page of a state": lambda: store.history(
            GUILD, member_id=BUSY_MEMBER, states=[JobState.DELIVERED], limit=5
        ),
        "the /extend list": lambda: store.extendable_videos(GUILD, limit=100),
    }
    for name, call in calls.items():
        with captured(backend, monkeypatch) as statements:
            await call()
        jobs_reads = [(sql, params) for sql, params in statements if "FROM jobs" in sql]
        assert jobs_reads, name
        for sql, params in jobs_reads:
            steps = plan(backend, sql, params)
            assert sorts(steps) == [], (name, steps)
            assert any("jobs_by_" in step for step in steps), (name, steps)


async def test_admission_reads_only_the_members_newest_job(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cooldown needs the member's newest job since their last reset. On PostgreSQL a MAX() over
    # the member's rows read all of them (the planner does not turn it into a backward index read
    # there); the statement must stop after the first row that is not cancelled.
    backend = PostgresBackend(postgres_url)
    store = await backend.open()
    try:
        fill(backend)
        day, month = "2026-09-21", "2026-09"
        with captured(backend, monkeypatch) as statements:
            await store.usage_snapshot(GUILD, BUSY_MEMBER, day, month)
        [(sql, params)] = statements
        with psycopg.connect(postgres_url) as db:
            row = db.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()
        assert row is not None
        scans: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            if node.get("Index Name") == "jobs_by_member":
                scans.append(node)
            for child in node.get("Plans", []):
                walk(child)

        walk(row[0][0]["Plan"])
        member_jobs = sum(1 for number in range(JOBS) if number % 4 and 1 + number % MEMBERS == BUSY_MEMBER)
        assert member_jobs > 50
        assert scans and all(scan["Actual Rows"] <= 5 for scan in scans), scans
    finally:
        await backend.close_all()

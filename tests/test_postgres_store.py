"""What only the PostgreSQL backend has: its numbered migrations (mirroring SQLite's), upgrading a
populated database, concurrent migrating processes, lock timeouts and an unreachable server. The
shared contract runs on both backends in tests/test_storage.py; these run on the throw-away cluster."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from bot.config import load_settings
from bot.kling.models import Mode, Model
from bot.quota.models import GuildLimits
from bot.storage import ACTIVE_STATES, JobState, SqliteStore, StorageBusy, StorageUnavailable, open_store
from bot.storage import postgres as postgres_module
from bot.storage.postgres import PostgresStore, postgres_migrations, redact_url
from bot.storage.sqlite import Migration, bundled_migrations
from tests.migration_samples import DAY, GUILD, IN_FLIGHT, MEMBER, MONTH, admit_in_flight, allow, new_job
from tests.postgres_cluster import PostgresCluster, free_port

pytestmark = pytest.mark.usefixtures("postgres_cluster")


def schema(url: str) -> list[tuple[Any, ...]]:
    """Tables, columns (with types and generation expressions) and indexes, for comparing schemas."""
    with psycopg.connect(url) as db:
        columns = db.execute(
            """SELECT table_name, column_name, data_type, is_nullable, generation_expression
                 FROM information_schema.columns WHERE table_schema = 'public'
                ORDER BY table_name, column_name"""
        ).fetchall()
        indexes = db.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname"
        ).fetchall()
    return [*columns, *indexes]


def version(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT version FROM schema_version").fetchone()
    assert row is not None
    return int(row[0])


@contextlib.contextmanager
def second_database(cluster: PostgresCluster) -> Iterator[str]:
    with cluster.fresh_database() as url:
        yield url


def test_postgres_migrations_mirror_the_sqlite_numbering() -> None:
    assert [(m.version, m.name) for m in postgres_migrations()] == [
        (m.version, m.name) for m in bundled_migrations()
    ]


def copy_into_older_schema(source_url: str, target_url: str) -> None:
    """Copy the rows of the tables an old schema has, in the columns it has, from a database at the
    newest schema: today's store can't write an old schema (it reads and writes every current column)."""
    with psycopg.connect(source_url) as source, psycopg.connect(target_url) as target:
        for table, order in (("jobs", "created_at"), ("guild_limits", "guild_id"), ("member_resets", "1")):
            names = [
                str(row[0])
                for row in target.execute(
                    """SELECT column_name FROM information_schema.columns
                        WHERE table_schema = current_schema() AND table_name = %s
                          AND is_generated = 'NEVER' AND COALESCE(identity_generation, '') <> 'ALWAYS'
                        ORDER BY ordinal_position""",
                    (table,),
                )
            ]
            quoted = ", ".join(f'"{name}"' for name in names)
            rows = source.execute(f'SELECT {quoted} FROM "{table}" ORDER BY {order}').fetchall()
            with target.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        target.commit()


async def test_upgrading_a_populated_database_keeps_every_job_in_flight(
    postgres_url: str, postgres_cluster: PostgresCluster
) -> None:
    with second_database(postgres_cluster) as scratch_url:
        scratch = await PostgresStore.open(scratch_url)
        try:
            await admit_in_flight(scratch)
            await scratch.set_limits(GUILD, GuildLimits(guild_daily=10.0, blocked_words=("gore",)))
            await scratch.reset_member_usage(GUILD, 2002, 900.0)
            jobs = await scratch.history(GUILD, limit=100)
            usage = await scratch.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
        finally:
            await scratch.close()
        await (await PostgresStore.open(postgres_url, migrations=postgres_migrations()[:1])).close()
        copy_into_older_schema(scratch_url, postgres_url)
    assert version(postgres_url) == 1

    store = await PostgresStore.open(postgres_url)
    try:
        assert version(postgres_url) == len(postgres_migrations())
        assert await store.history(GUILD, limit=100) == jobs
        assert await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH) == usage
        assert (await store.get_limits(GUILD)).blocked_words == ("gore",)
        assert (await store.usage_snapshot(GUILD, 2002, DAY, MONTH)).member_last_job_at is None
        # Migration 002's generated columns are filled for the old rows at once.
        assert await store.average_render_seconds(GUILD, Model.V3, Mode.PRO, 5) == 90.0
        in_flight = [job for job in jobs if job.state in ACTIVE_STATES]
        assert sorted(j.id for j in await store.jobs_in_states(ACTIVE_STATES)) == sorted(
            j.id for j in in_flight
        )
        running = await store.transition("job-3", expect=[JobState.RUNNING], to=JobState.SUCCEEDED)
        assert running is not None and running.task_id == "task-3" and running.message_id == 903
        claimed = await store.claim_next_queued(GUILD, None)
        assert claimed is not None and claimed.id == "job-1"
        # Migration 007: old jobs have no language (English); new ones keep theirs.
        assert {job.locale for job in await store.history(GUILD, limit=100)} == {None}
        later = await store.admit_job(dataclasses.replace(new_job(70), locale="ja"), allow)
        assert later.job is not None and (await store.get_job(later.job.id)) == later.job
        assert later.job.locale == "ja"
    finally:
        await store.close()

    with second_database(postgres_cluster) as fresh:
        await (await PostgresStore.open(fresh)).close()
        assert schema(fresh) == schema(postgres_url)


async def test_a_failing_migration_rolls_back_completely(postgres_url: str) -> None:
    await (await PostgresStore.open(postgres_url)).close()
    before = schema(postgres_url)
    latest = len(postgres_migrations())
    broken = Migration(
        latest + 1,
        "broken",
        "CREATE TABLE audit (id BIGINT PRIMARY KEY); UPDATE jobs SET cost = 0; "
        "INSERT INTO no_such VALUES (1);",
    )
    with pytest.raises(StorageUnavailable, match=rf"{latest + 1:03d}_broken.*stays at version {latest}"):
        await PostgresStore.open(postgres_url, migrations=[*postgres_migrations(), broken])
    assert schema(postgres_url) == before and version(postgres_url) == latest


async def test_a_database_newer_than_the_code_is_refused(postgres_url: str) -> None:
    await (await PostgresStore.open(postgres_url)).close()
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StorageUnavailable, match=r"version 99, newer than this bot knows"):
        await PostgresStore.open(postgres_url)


async def test_several_processes_migrating_at_once_apply_each_migration_once(postgres_url: str) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(postgres_url) for _ in range(4)))
    for store in stores:
        await store.close()
    assert version(postgres_url) == len(postgres_migrations())


async def test_a_server_that_is_not_there_fails_at_start_without_showing_the_password() -> None:
    url = f"postgresql://bot:s3cret-pw@127.0.0.1:{free_port()}/kling"
    with pytest.raises(StorageUnavailable) as caught:
        await open_store("unused.sqlite3", database_url=url)
    message = str(caught.value)
    assert "s3cret-pw" not in message and "bot:***@127.0.0.1" in message and "DATABASE_URL" in message
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"


async def test_a_row_locked_past_the_lock_timeout_raises_busy_and_writes_nothing(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=100)
    try:
        admitted = await store.admit_job(new_job(1), allow)
        assert admitted.job is not None
        with psycopg.connect(postgres_url) as other:  # a transaction holding the row lock
            other.execute("SELECT * FROM jobs WHERE id = %s FOR UPDATE", (admitted.job.id,))
            with pytest.raises(StorageBusy):
                await store.transition(admitted.job.id, expect=[JobState.QUEUED], to=JobState.FAILED)
            assert (await store.get_job(admitted.job.id)).state is JobState.QUEUED  # type: ignore[union-attr]
            other.rollback()
        moved = await store.transition(admitted.job.id, expect=[JobState.QUEUED], to=JobState.FAILED)
        assert moved is not None
    finally:
        await store.close()


def test_database_url_selects_postgresql_and_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("ACEDATA_API_TOKEN", "a")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:pw@db:5432/kling")
    settings = load_settings(_env_file=None)
    assert settings.database_url == "postgresql://bot:pw@db:5432/kling"
    assert settings.database_label == "postgresql://bot:***@db:5432/kling"
    assert "pw" not in repr(settings)
    monkeypatch.setenv("DATABASE_URL", "")
    assert load_settings(_env_file=None).database_url is None
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    with pytest.raises(Exception, match="DATABASE_URL"):
        load_settings(_env_file=None)


# --- python -m bot migrate --------------------------------------------------------------------


def run_migrate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value for key, value in os.environ.items() if key not in {"DISCORD_TOKEN", "ACEDATA_API_TOKEN"}
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def test_migrate_copies_a_sqlite_database_with_jobs_in_flight_and_verifies_the_counts(
    tmp_path: Path, postgres_url: str
) -> None:
    source = tmp_path / "bot.sqlite3"
    lite = await SqliteStore.open(source)
    try:
        await admit_in_flight(lite)
        # A follow-up job pointing at its parent, and a tie on created_at that only insertion order breaks.
        # Its member's language goes along (migration 007).
        child = dataclasses.replace(new_job(90), parent_job_id="job-5", created_at=1_001.0, locale="zh-CN")
        assert (await lite.admit_job(child, allow)).job is not None
        await lite.set_limits(GUILD, GuildLimits(guild_daily=10.0, blocked_words=("gore",)))
        await lite.reset_member_usage(GUILD, 2002, 900.0)
        jobs = await lite.history(GUILD, limit=100)
        usage = await lite.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
        report = await lite.usage_report(GUILD, since=0.0)
        queue = [await lite.queue_position(job.id) for job in jobs]
    finally:
        await lite.close()

    result = run_migrate("--from", str(source), "--to", postgres_url)
    assert result.returncode == 0, result.stderr
    assert f"✓ jobs: {len(IN_FLIGHT) + 1} rows copied and verified" in result.stdout
    assert "✓ member_resets: 1 rows" in result.stdout and "✓ guild_limits: 1 rows" in result.stdout

    store = await PostgresStore.open(postgres_url)
    try:
        assert await store.history(GUILD, limit=100) == jobs
        assert await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH) == usage
        assert await store.usage_report(GUILD, since=0.0) == report
        assert [await store.queue_position(job.id) for job in jobs] == queue
        assert (await store.get_limits(GUILD)).blocked_words == ("gore",)
        assert {job.id: job.locale for job in await store.history(GUILD, limit=100)}["job-90"] == "zh-CN"
        # The jobs in flight carry on in PostgreSQL.
        running = await store.transition("job-3", expect=[JobState.RUNNING], to=JobState.SUCCEEDED)
        assert running is not None and running.task_id == "task-3"
    finally:
        await store.close()

    again = run_migrate("--from", str(source), "--to", postgres_url)
    assert again.returncode == 1 and "already holds" in again.stderr


def test_migrate_explains_a_missing_target_or_source(tmp_path: Path, postgres_url: str) -> None:
    assert "--to postgresql://" in run_migrate("--from", str(tmp_path / "x.sqlite3")).stderr
    missing = run_migrate("--from", str(tmp_path / "nowhere.sqlite3"), "--to", postgres_url)
    assert missing.returncode == 1 and "no SQLite database at" in missing.stderr


async def test_without_global_caps_servers_admit_without_waiting_for_each_other(postgres_url: str) -> None:
    # Another process mid-admission holds the lock every server shares (key 0); the operator set no
    # global budget, so an admission here must not queue behind it. With global caps it must wait.
    store = await PostgresStore.open(postgres_url, busy_timeout_ms=200)
    try:
        with psycopg.connect(postgres_url) as other:
            other.execute("SELECT pg_advisory_lock(hashtextextended('kling-guild:' || %s::text, 0))", (0,))
            with pytest.raises(StorageBusy):
                await store.admit_job(new_job(1), allow, global_caps=True)
            admitted = await store.admit_job(new_job(2), allow, global_caps=False)
            assert admitted.job is not None
            other.execute("SELECT pg_advisory_unlock_all()")
        assert (await store.admit_job(new_job(3), allow, global_caps=True)).job is not None
    finally:
        await store.close()


async def test_a_connection_given_back_a_moment_ago_is_lent_without_asking_the_server_first(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # psycopg-pool's stock check is an empty query before each loan: one more round trip per call.
    checks: list[object] = []
    stock_check = AsyncConnectionPool.check_connection

    async def counted(conn: Any) -> None:
        checks.append(conn)
        await stock_check(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counted))
    monkeypatch.setattr(postgres_module, "_FRESH_CONNECTION_SECONDS", 60.0)  # however slow the machine
    store = await PostgresStore.open(postgres_url)
    try:
        await store.get_limits(GUILD)
        first = len(checks)
        assert first >= 1  # a connection never handed back yet is checked
        for _ in range(5):
            await store.get_limits(GUILD)
        assert len(checks) == first
        # One handed back longer ago than that (the server may have restarted since) is checked.
        monkeypatch.setattr(postgres_module, "_FRESH_CONNECTION_SECONDS", 0.0)
        await store.get_limits(GUILD)
        assert len(checks) == first + 1
    finally:
        await store.close()

"""One side of `bench.storage_latency`: a database filled with past jobs and the store calls the
commands make, timed on request.

Run as a script with PYTHONPATH pointing at a source tree (this checkout, or an exported older
commit for the "before" side): it imports only `bot` from that tree, and feature-detects what the
tree's `Store` offers (keyset pages, the light /extend list), so the same measuring code drives both
sides. The parent sends one command per line on stdin and reads one JSON line back:

    measure <call> <repeat>  ->  {"wall_ms": [...], "cpu_ms": [...], "vm_steps": [...]}
    quit

`cpu_ms` is the CPU time of this whole process during the call (the event loop and the SQLite
worker thread; PostgreSQL's server CPU is not in it). `vm_steps` counts SQLite virtual-machine
instructions executed for the call (in thousands, counted by hundreds through a progress handler on
the store's own connections): the work a call does, independent of how loaded the machine is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from bot.kling.capabilities import supports_extend
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.models import Decision, UsageSnapshot
from bot.storage import JobState, NewJob, SqliteStore

GUILDS = 200
MEMBERS = 20_000
DAYS = 90
NOW = 1_790_000_000.0  # 2026-09-21 14:13 UTC
BUSY_GUILD = 1
PAGE_SIZE = 5
#: Past jobs have ended (a job still running after its 30-minute deadline times out). The measured
#: server also has ACTIVE_JOBS jobs in progress, as a busy server has.
STATES = (
    [JobState.DELIVERED] * 85 + [JobState.FAILED] * 8 + [JobState.CANCELLED] * 4 + [JobState.TIMED_OUT] * 3
)
ACTIVE_JOBS = 20
MODELS = [Model.V1, Model.V1_6, Model.V3]
_STEP_GRANULARITY = 100

COLUMNS = (
    "id, guild_id, channel_id, member_id, request, cost, size_limit, day_key, month_key, "
    "global_day_key, global_month_key, state, created_at, updated_at, video_id"
)


def job_rows(count: int, busy_members: int, seed: int) -> Iterator[tuple[object, ...]]:
    """A tenth of all jobs are in the busy guild (members 1..busy_members); the others spread over
    199 guilds and MEMBERS members, over the last DAYS days, in ended states except ACTIVE_JOBS of
    the busy guild."""
    rng = random.Random(seed)
    texts = [
        VideoRequest(action=Action.TEXT2VIDEO, prompt=f"past video {n}", model=m, mode=Mode.STD).to_json()
        for n, m in enumerate(MODELS)
    ]
    for number in range(count):
        busy = number % 10 == 0
        guild = BUSY_GUILD if busy else rng.randrange(2, GUILDS + 1)
        member = rng.randrange(1, busy_members + 1) if busy else rng.randrange(1, MEMBERS + 1)
        created = NOW - rng.random() * DAYS * 86_400
        day = time.strftime("%Y-%m-%d", time.gmtime(created))
        state = rng.choice(STATES).value
        if busy and number < ACTIVE_JOBS * 10:
            state = (JobState.RUNNING if number % 20 else JobState.QUEUED).value
        yield (
            f"job-{number}",
            guild,
            guild * 10,
            member,
            texts[number % 3],
            2.0,
            10_485_760,
            day,
            day[:7],
            day,
            day[:7],
            state,
            created,
            created,
            f"video-{number}" if state == "delivered" else None,
        )


def _code(sql: str) -> str:
    """The statement without comment lines or leading blank lines; indentation kept (a statement
    inside a function body is indented)."""
    lines = [line for line in sql.splitlines() if line.strip() and not line.lstrip().startswith("--")]
    return "\n".join(lines)


def _is_backfill(sql: str) -> bool:
    """A migration's top-level INSERT into a derived table (ledger, rollups, counts), not a trigger's."""
    code = _code(sql)
    return code.startswith(("INSERT INTO usage_", "INSERT INTO job_counts_")) and "CREATE " not in code


def fill_sqlite(path: Path, rows: int, busy_members: int, seed: int) -> None:
    """Bulk insert with the triggers set aside, then the derived tables rebuilt by this tree's own
    migration backfill statements (what the triggers would have written, row by row, much faster)."""
    from bot.storage.sqlite import bundled_migrations, split_statements

    backfill = [sql for m in bundled_migrations() for sql in split_statements(m.sql) if _is_backfill(sql)]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _sql in triggers:
            db.execute(f"DROP TRIGGER {name}")
        db.executemany(
            f"INSERT INTO jobs ({COLUMNS}) VALUES ({', '.join('?' * 15)})", job_rows(rows, busy_members, seed)
        )
        derived = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND (name LIKE 'usage\\_%' ESCAPE '\\' OR name LIKE 'job\\_counts\\_%' ESCAPE '\\')"
        ).fetchall()
        for (table,) in derived:
            db.execute(f"DELETE FROM {table}")
        for sql in backfill:
            db.execute(sql)
        for _name, sql in triggers:
            db.execute(sql)
        db.execute("COMMIT")
        db.execute("ANALYZE")


def fill_postgres(url: str, rows: int, busy_members: int, seed: int) -> None:
    """COPY with this tree's triggers disabled, then its derived tables rebuilt by its migrations'
    top-level backfill statements (the trigger functions' bodies are not top-level)."""
    import psycopg

    from bot.storage.postgres import postgres_migrations

    backfill = [chunk for m in postgres_migrations() for chunk in m.sql.split(";\n") if _is_backfill(chunk)]
    with psycopg.connect(url) as db:
        db.execute("ALTER TABLE jobs DISABLE TRIGGER USER")
        with db.cursor().copy(f"COPY jobs ({COLUMNS}) FROM STDIN") as copy:
            for row in job_rows(rows, busy_members, seed):
                copy.write_row(row)
        db.execute("ALTER TABLE jobs ENABLE TRIGGER USER")
        derived = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND (table_name LIKE 'usage\\_%' OR table_name LIKE 'job\\_counts\\_%')"
        ).fetchall()
        for (table,) in derived:
            db.execute(f"TRUNCATE {table}")
        for chunk in backfill:
            db.execute(chunk.encode())
        db.commit()
        # VACUUM as well as ANALYZE: a long-running database has its visibility map set, and the
        # autovacuum a fresh bulk load triggers would otherwise run during the measurement.
        db.autocommit = True
        db.execute("VACUUM (ANALYZE)")


def _allow(_: UsageSnapshot) -> Decision:
    return Decision(allowed=True)


class Calls:
    """The store calls each command makes, for whichever `Store` this tree has."""

    def __init__(self, store: Any, busy_members: int) -> None:
        self.store = store
        self.busy_members = busy_members
        self.numbers = iter(range(10**9))
        self.keyset = "after" in inspect.signature(store.history).parameters
        self.light_extend = hasattr(store, "extendable_videos")
        self.cursors: dict[str, Any] = {}
        self.admitted: list[str] = []

    def all(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {
            "admission": self.admission,
            "/quota": self.quota,
            "/usage (30 days)": self.usage,
            "/usage chart (30 days)": self.usage_chart,
            "/history own (count + page)": self.history_own,
            "/history everyone (count + page 1)": self.history_everyone,
            "/history everyone, next page (deep)": self.history_next_page,
            "/extend list": self.extend_list,
        }

    def _member(self) -> int:
        return 1 + next(self.numbers) % self.busy_members

    async def cancel_admitted(self) -> None:
        """Not timed: the job a measured admission made is cancelled, so the server's jobs in
        progress stay the same through the run instead of piling up queued."""
        for job_id in self.admitted:
            await self.store.transition(job_id, expect=[JobState.QUEUED], to=JobState.CANCELLED)
        self.admitted.clear()

    async def admission(self) -> None:
        number = next(self.numbers)
        self.admitted.append(f"bench-{number}")
        day = time.strftime("%Y-%m-%d", time.gmtime(NOW))
        await self.store.admit_job(
            NewJob(
                id=f"bench-{number}",
                interaction_id=10**12 + number,
                guild_id=BUSY_GUILD,
                channel_id=10,
                member_id=1 + number % self.busy_members,
                request=VideoRequest(action=Action.TEXT2VIDEO, prompt="bench", model=Model.V1, mode=Mode.STD),
                cost=2.0,
                size_limit=10_485_760,
                day_key=day,
                month_key=day[:7],
                created_at=NOW,
            ),
            _allow,
        )

    async def quota(self) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(NOW))
        await self.store.usage_snapshot(
            BUSY_GUILD, self._member(), day, day[:7], global_day_key=day, global_month_key=day[:7]
        )

    async def usage(self) -> None:
        await self.store.usage_report(BUSY_GUILD, NOW - 30 * 86_400)

    async def usage_chart(self) -> None:
        since = NOW - 30 * 86_400
        if "first_day" in inspect.signature(self.store.daily_usage).parameters:
            first_day = time.strftime("%Y-%m-%d", time.gmtime(since))
            await self.store.daily_usage(BUSY_GUILD, since, first_day=first_day)
        else:
            await self.store.daily_usage(BUSY_GUILD, since)

    async def _page(self, member: int | None) -> None:
        await self.store.count_history(BUSY_GUILD, member_id=member)
        jobs = await self.store.history(BUSY_GUILD, member_id=member, limit=PAGE_SIZE)
        await self.store.story_parents([job.id for job in jobs])

    async def history_own(self) -> None:
        await self._page(self._member())

    async def history_everyone(self) -> None:
        await self._page(None)

    async def history_next_page(self) -> None:
        """Pressing Next, pages 2, 3, … 400 in turn (so the deepest reads skip 2,000 entries by
        OFFSET), wrapping around: count, the page, its story links."""
        page = self.cursors.get("page", 0) + 1
        if page >= 400:
            page = 1
            self.cursors.pop("after", None)
        self.cursors["page"] = page
        await self.store.count_history(BUSY_GUILD)
        if self.keyset and "after" in self.cursors:
            jobs = await self.store.history(BUSY_GUILD, limit=PAGE_SIZE, after=self.cursors["after"])
        else:
            jobs = await self.store.history(BUSY_GUILD, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        if jobs:
            self.cursors["after"] = jobs[-1].id
        await self.store.story_parents([job.id for job in jobs])

    async def extend_list(self) -> None:
        """What the /extend autocomplete does with an empty field: the store call and the choices."""
        labels = []
        if self.light_extend:
            for video in await self.store.extendable_videos(BUSY_GUILD, limit=100):
                try:
                    model = Model(video.model)
                except ValueError:
                    continue
                if supports_extend(model):
                    labels.append((f"{model.value} · {(video.prompt or 'extension')[:60]}", video.job_id))
        else:
            for job in await self.store.history(BUSY_GUILD, states=[JobState.DELIVERED], limit=100):
                if job.video_id and supports_extend(job.request.model):
                    labels.append((f"{job.request.model.value} · {(job.request.prompt or '')[:60]}", job.id))
        assert labels[:25]


class StepCounter:
    """SQLite VM instructions (in thousands) run on the store's connections."""

    def __init__(self) -> None:
        self.steps = 0

    def __call__(self) -> int:
        self.steps += 1
        return 0

    async def attach(self, store: Any) -> bool:
        connections: list[Any] = [getattr(store, "_writer", None), getattr(store, "_reader", None)]
        if not all(connections):
            return False
        for connection in connections:
            await connection._execute(connection._conn.set_progress_handler, self, _STEP_GRANULARITY)
        return True


async def measure(
    call: Callable[[], Awaitable[None]],
    repeat: int,
    steps: StepCounter | None,
    after: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, list[float]]:
    wall, cpu, vm = [], [], []
    for _ in range(repeat):
        before_steps = steps.steps if steps else 0
        cpu_started = time.process_time()
        started = time.perf_counter()
        await call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        vm.append((steps.steps - before_steps) * _STEP_GRANULARITY / 1000 if steps else 0.0)
        if after is not None:
            await after()
    return {"wall_ms": wall, "cpu_ms": cpu, "vm_steps": vm}


async def serve(args: argparse.Namespace) -> None:
    if args.backend == "sqlite":
        path = Path(args.database)
        await (await SqliteStore.open(path)).close()  # the schema, through this tree's migrations
        fill_sqlite(path, args.rows, args.busy_members, args.seed)
        store: Any = await SqliteStore.open(path)
    else:
        from bot.storage.postgres import PostgresStore

        await (await PostgresStore.open(args.database)).close()
        fill_postgres(args.database, args.rows, args.busy_members, args.seed)
        store = await PostgresStore.open(args.database)
    steps = StepCounter()
    counting = await steps.attach(store)
    calling = Calls(store, args.busy_members)
    calls = calling.all()
    for call in calls.values():
        await call()  # warm the caches once
    await calling.cancel_admitted()
    print(
        json.dumps({"ready": True, "keyset": "after" in inspect.signature(store.history).parameters}),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if not line or line == "quit":
                break
            command, _, rest = line.partition(" ")
            if command == "measure":
                name, _, repeat = rest.rpartition(" ")
                after = calling.cancel_admitted if name == "admission" else None
                result = await measure(calls[name], int(repeat), steps if counting else None, after)
                print(json.dumps(result), flush=True)
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--database", required=True, help="a SQLite file path or a PostgreSQL URL")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--busy-members", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()

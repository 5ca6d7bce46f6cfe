"""Admission and the quota reads against a big history: `python -m bench.admission`.

What it measures, on real SQLite files built by this script (through the store's own migrations, so
the ledger triggers run for every row):

* **Admission cost at 10^3 and 10^6 job rows in the month of one server**, side by side: p50 / p99 of
  `VideoService.admit` (the one transaction that reads usage from the ledger, runs the quota rules
  with the server's, the member's and the global caps, and inserts the job). For comparison, the
  usage query the bot ran before the ledger (a scan of the month's job rows) on the same files.
* **`/quota`, `/usage`, `/history` and the `/extend` list at 50,000 past jobs in one server**: p50 / p99
  of the store calls each command makes.
* **Twenty concurrent admissions and other writes**: while twenty admissions race, how long one
  other write (a job's state change) waits.

Numbers go to stdout as a Markdown table (copied into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx

from bot.jobs.service import Requester, VideoService
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.costs import CostTable
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget
from bot.storage import JobState, SqliteStore, open_store
from bot.storage.sqlite import DERIVED_TABLES, bundled_migrations, split_statements

GUILD = 111_111_111_111_111_111
NOW = 1_795_564_800.0 - 3_600  # 2026-11-24 23:00 UTC: late in the month, so the month is full
DAY, MONTH = "2026-11-24", "2026-11"
MEMBERS = 500

# The usage query of the bot before migration 003: a scan of the server's job rows of the month.
_SCAN_USAGE_SQL = """
SELECT COUNT(*) FILTER (WHERE day_key = :day), TOTAL(cost) FILTER (WHERE day_key = :day),
       COUNT(*) FILTER (WHERE month_key = :month), TOTAL(cost) FILTER (WHERE month_key = :month),
       COUNT(*) FILTER (WHERE member_id = :member AND day_key = :day),
       COUNT(*) FILTER (WHERE member_id = :member AND month_key = :month)
  FROM jobs
 WHERE guild_id = :guild AND (day_key = :day OR month_key = :month)
   AND state NOT IN ('failed', 'unconfirmed', 'timed_out', 'cancelled')
"""


def _request_json(model: Model) -> str:
    request = VideoRequest(
        action=Action.TEXT2VIDEO,
        prompt="a past video of the benchmark",
        model=model,
        mode=Mode.STD,
        duration=5,
    )
    return request.to_json()


def _fill(path: Path, rows: int, *, start: int = 0) -> None:
    """Insert `rows` past jobs of one server spread over the month (and its members), 90 % delivered,
    5 % failed, 5 % cancelled, through plain SQL.

    Up to `_TRIGGERED_FILL` rows the ledger triggers run for each row. Beyond that (10^6 rows would
    take many minutes that way on a shared machine) the triggers are set aside during the load and the
    ledger and rollups are rebuilt with migration 003's own backfill statements, which give the same
    rows (`Store.ledger_consistency` checks that on the result)."""
    if rows > _TRIGGERED_FILL:
        with _without_ledger_triggers(path):
            _insert_rows(path, rows, start)
        return
    _insert_rows(path, rows, start)


_TRIGGERED_FILL = 60_000


@contextlib.contextmanager
def _without_ledger_triggers(path: Path) -> Iterator[None]:
    # Migration 003's ledger and day rollups, 008's month rollups and job counts.
    statements = [sql for m in bundled_migrations() if m.version in (3, 8) for sql in split_statements(m.sql)]
    backfill = [
        sql
        for sql in statements
        if ("INSERT INTO usage_" in sql or "INSERT INTO job_counts_" in sql) and "CREATE TRIGGER" not in sql
    ]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        for name, _sql in triggers:
            db.execute(f"DROP TRIGGER {name}")
    try:
        yield
    finally:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN")
            for table in DERIVED_TABLES:
                db.execute(f"DELETE FROM {table}")
            for sql in backfill:
                db.execute(sql)
            for _name, sql in triggers:
                db.execute(sql)
            db.execute("COMMIT")


def _insert_rows(path: Path, rows: int, start: int) -> None:
    rng = random.Random(rows)
    models = [_request_json(Model.V1), _request_json(Model.V1_6), _request_json(Model.V3)]
    month_start = 1_793_491_200.0  # 2026-11-01 UTC
    span = NOW - 3_600 - month_start
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        batch = []
        for number in range(start, start + rows):
            created = month_start + span * number / max(start + rows, 1)
            day = time.strftime("%Y-%m-%d", time.gmtime(created))
            state = rng.choices(["delivered", "failed", "cancelled"], weights=[90, 5, 5])[0]
            batch.append(
                (
                    f"past-{number:09d}",
                    GUILD,
                    7,
                    rng.randrange(MEMBERS) + 1,
                    models[number % 3],
                    3.79,
                    10_000_000,
                    day,
                    MONTH,
                    day,
                    MONTH,
                    state,
                    created,
                    created,
                    f"video-{number}",
                )
            )
            if len(batch) == 20_000:
                _insert(db, batch)
                batch = []
        _insert(db, batch)
        db.execute("COMMIT")


def _insert(db: sqlite3.Connection, batch: list[tuple[object, ...]]) -> None:
    db.executemany(
        """INSERT INTO jobs (id, guild_id, channel_id, member_id, request, cost, size_limit, day_key,
                             month_key, global_day_key, global_month_key, state, created_at, updated_at,
                             video_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        batch,
    )


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def _timed(call: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


def _service(store: SqliteStore, http: httpx.AsyncClient) -> VideoService:
    return VideoService(
        store=store,
        http=http,
        costs=CostTable(),
        default_model=Model.V1,
        budget=OperatorBudget(server_daily=None, server_monthly=None, global_daily=1e12, global_monthly=1e12),
        clock=lambda: NOW,
    )


_interaction = iter(range(10**12, 10**13))


def _requester(member: int) -> Requester:
    return Requester(guild_id=GUILD, channel_id=7, member_id=member, interaction_id=next(_interaction))


_REQUEST = VideoRequest(
    action=Action.TEXT2VIDEO, prompt="new video", model=Model.V1, mode=Mode.STD, duration=5
)


async def admission_at(rows: int, folder: Path, repeat: int) -> dict[str, tuple[float, float]]:
    path = folder / f"admission-{rows}.sqlite3"
    store = await open_store(path)
    await store.set_limits(
        GUILD, GuildLimits(unit=LimitUnit.CREDITS, member_concurrent=None, guild_daily=1e9)
    )
    await store.close()
    started = time.perf_counter()
    _fill(path, rows)
    print(f"  filled {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    store = await open_store(path)
    assert await store.ledger_consistency() == [], "the ledger must match the job rows"
    results = {}
    try:
        async with httpx.AsyncClient() as http:
            service = _service(store, http)
            members = iter(range(10**6, 10**7))
            results["admit (ledger)"] = await _timed(
                lambda: service.admit(_requester(next(members)), _REQUEST), repeat
            )
        with sqlite3.connect(path) as raw:
            params = {"guild": GUILD, "day": DAY, "month": MONTH, "member": 1}

            async def scan() -> None:
                raw.execute(_SCAN_USAGE_SQL, params).fetchall()

            results["usage by scan (before)"] = await _timed(scan, max(5, repeat // 20))
    finally:
        await store.close()
    return results


async def commands_at(rows: int, folder: Path, repeat: int) -> dict[str, tuple[float, float]]:
    path = folder / f"commands-{rows}.sqlite3"
    store = await open_store(path)
    await store.close()
    _fill(path, rows)
    store = await open_store(path)
    results: dict[str, tuple[float, float]] = {}
    try:
        member = 1
        results["/quota (usage_snapshot)"] = await _timed(
            lambda: store.usage_snapshot(
                GUILD, member, DAY, MONTH, global_day_key=DAY, global_month_key=MONTH
            ),
            repeat,
        )
        results["/usage 30 days (usage_report)"] = await _timed(
            lambda: store.usage_report(GUILD, NOW - 30 * 86_400), repeat
        )

        async def history_page(member_id: int | None) -> None:
            await store.count_history(GUILD, member_id=member_id)
            await store.history(GUILD, member_id=member_id, limit=5)

        results["/history, own (count + page)"] = await _timed(lambda: history_page(member), repeat)
        results["/history, everyone (count + page)"] = await _timed(lambda: history_page(None), repeat)
        failed = [JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT]

        async def failed_page() -> None:
            await store.count_history(GUILD, states=failed)
            await store.history(GUILD, states=failed, limit=5)

        results["/history, everyone, failed"] = await _timed(failed_page, repeat)
        results["/extend list (100 delivered)"] = await _timed(
            lambda: store.history(GUILD, states=[JobState.DELIVERED], limit=100), repeat
        )
    finally:
        await store.close()
    return results


async def concurrent_writes(folder: Path, rows: int) -> dict[str, tuple[float, float]]:
    """Twenty admissions at once while one other write (a state change) is issued: its wait."""
    path = folder / f"concurrent-{rows}.sqlite3"
    store = await open_store(path)
    await store.set_limits(
        GUILD, GuildLimits(unit=LimitUnit.CREDITS, member_concurrent=None, guild_daily=1e9)
    )
    await store.close()
    _fill(path, rows)
    store = await open_store(path)
    other = await open_store(path)  # another process's connection
    waits, batches = [], []
    try:
        async with httpx.AsyncClient() as http:
            service = _service(store, http)
            members = iter(range(10**6, 10**7))
            for round_ in range(10):
                started = time.perf_counter()
                admissions = [service.admit(_requester(next(members)), _REQUEST) for _ in range(20)]

                async def one_write(job_id: str = f"past-{round_:09d}", message_id: int = round_) -> float:
                    await asyncio.sleep(0)
                    began = time.perf_counter()
                    await other.update_job(job_id, message_id=message_id)
                    return time.perf_counter() - began

                *_, wait = await asyncio.gather(*admissions, one_write())
                batches.append(time.perf_counter() - started)
                waits.append(wait)
    finally:
        await store.close()
        await other.close()
    return {
        "20 admissions at once (whole batch)": _percentiles(batches),
        "another write during them": _percentiles(waits),
    }


def _table(title: str, columns: list[str], rows: dict[str, list[tuple[float, float]]]) -> str:
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, values in rows.items():
        cells = [f"{p50:.2f} / {p99:.2f}" for p50, p99 in values]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--server-jobs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--folder", type=Path, default=None, help="where to build the databases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        print("admission:", flush=True)
        small = await admission_at(args.small, folder, args.repeat)
        large = await admission_at(args.large, folder, args.repeat)
        print(
            _table(
                "ms, p50 / p99",
                [f"{args.small:,} job rows", f"{args.large:,} job rows"],
                {name: [small[name], large[name]] for name in small},
            )
        )
        print(f"\ncommands with {args.server_jobs:,} past jobs in one server:", flush=True)
        commands = await commands_at(args.server_jobs, folder, args.repeat)
        concurrent = await concurrent_writes(folder, args.server_jobs)
        print(
            _table(
                "ms, p50 / p99",
                [f"{args.server_jobs:,} past jobs"],
                {name: [value] for name, value in (commands | concurrent).items()},
            )
        )
        print(json.dumps({"small": small, "large": large, "commands": commands, "concurrent": concurrent}))


if __name__ == "__main__":
    asyncio.run(main())

"""Admission, `/usage` and `/history` latency with many job rows, on SQLite and on PostgreSQL.

    python -m bench.storage_latency --rows 1000000            # SQLite, and PostgreSQL when its
                                                              # server binaries are found
    python -m bench.storage_latency --rows 2000 --repeat 5 --no-write   # a smoke run, print only

Each backend gets the same `--rows` job rows (seeded per row, so both hold identical data): 200
servers, a tenth of all jobs in the measured (busiest) server, whose 1,000 members started them over
the last 90 days, mixed states. The rows are bulk-loaded into the schema of migration 001 (SQLite:
`executemany` in one transaction; PostgreSQL: `COPY`), then the store is opened as the bot opens it:
every later migration runs against the populated database, so the ledger and every rollup are
built by the migrations' own backfills (including rollups added after this script was written), and
`ledger_consistency()` is checked before anything is timed. Then, `--repeat` times each, on the
busiest server, the real store calls the bot makes:

- admission: `VideoService.admit` (the server's rules, then the one reservation transaction that
  reads usage, applies the server's, the member's and the operator's caps and inserts the job);
- `/usage`: `get_limits`, `usage_report` over 30 days and `daily_usage`, as the command does;
- `/history`: `count_history`, a page of `history` and `story_parents`, as the command's view does,
  for one member and for everyone (the first page, and page 100 reached with "Next", which reads
  the page after the previous page's last job).

The SQLite file lives in a temporary folder with the bot's own settings (WAL, `synchronous = FULL`);
PostgreSQL runs on a throw-away cluster (tests/postgres_cluster.py) with fsync and synchronous_commit
off. The numbers compare query plans and round trips more than disks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.report import markers
from bot.discord_app.history_pages import PAGE_SIZE
from bot.jobs.service import Requester, VideoService
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.costs import CostTable
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget
from bot.storage import JobState, SqliteStore, Store
from bot.storage.postgres import PostgresStore, postgres_migrations
from bot.storage.sqlite import bundled_migrations
from tests.postgres_cluster import PostgresCluster, find_server_bin

GUILDS = 200
MEMBERS_PER_GUILD = 1_000
DAYS = 90
BUSY_GUILD = 1
STATES = [JobState.DELIVERED] * 85 + [JobState.FAILED] * 8 + [JobState.CANCELLED] * 4 + [JobState.RUNNING] * 3
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
REPO = Path(__file__).resolve().parents[1]
_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class Timing:
    backend: str
    call: str
    p50_ms: float
    p99_ms: float


@dataclass(frozen=True, slots=True)
class BackendRun:
    backend: str
    fill_seconds: float
    timings: list[Timing]


def job_rows(count: int, now: float, seed: int = 7) -> Iterator[tuple[object, ...]]:
    """Columns of `_COLUMNS`, in migration 001's schema. A tenth of all jobs are in the busy guild."""
    rng = random.Random(seed)
    requests = [
        VideoRequest(
            action=Action.TEXT2VIDEO, prompt="a red fox in snow", model=model, mode=Mode.STD
        ).to_json()
        for model in (Model.V1, Model.V1_6, Model.V3)
    ]
    for number in range(count):
        guild = BUSY_GUILD if number % 10 == 0 else rng.randrange(2, GUILDS + 1)
        created = now - 3_600 - rng.random() * DAYS * 86_400
        day = time.strftime("%Y-%m-%d", time.gmtime(created))
        yield (
            f"job-{number:09d}",
            guild,
            guild * 10,
            guild * 100_000 + rng.randrange(MEMBERS_PER_GUILD),
            requests[number % 3],
            2.0,
            10_485_760,
            day,
            day[:7],
            rng.choice(STATES).value,
            created,
            created,
        )


_COLUMNS = (
    "id, guild_id, channel_id, member_id, request, cost, size_limit, day_key, month_key, state, "
    "created_at, updated_at"
)


def _batches(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def fill_sqlite(path: Path, rows: int, now: float) -> None:
    """Migration 001, a bulk load, then the store opened as the bot opens it (every later migration's
    backfill runs on the populated file)."""
    first = [m for m in bundled_migrations() if m.version == 1]
    await (await SqliteStore.open(path, migrations=first)).close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for batch in _batches(job_rows(rows, now)):
            db.executemany(f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * 12)})", batch)
        db.execute("COMMIT")
    finally:
        db.close()
    await (await SqliteStore.open(path)).close()
    for backup in path.parent.glob(f"{path.name}.bak-*"):  # the pre-migration copy the store keeps
        backup.unlink()
    with sqlite3.connect(path) as db:
        db.execute("ANALYZE")


async def fill_postgres(url: str, rows: int, now: float) -> None:
    """Migration 001, `COPY`, then the store opened as the bot opens it."""
    first = [m for m in postgres_migrations() if m.version == 1]
    await (await PostgresStore.open(url, migrations=first)).close()
    with psycopg.connect(url) as db:
        with db.cursor().copy(f"COPY jobs ({_COLUMNS}) FROM STDIN") as copy:
            for row in job_rows(rows, now):
                copy.write_row(row)
        db.commit()
    await (await PostgresStore.open(url)).close()
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM ANALYZE")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return p50, p99


async def time_calls(backend: str, store: Store, repeat: int, now: float) -> list[Timing]:
    await store.set_limits(
        BUSY_GUILD,
        GuildLimits(unit=LimitUnit.CREDITS, member_concurrent=None, guild_concurrent=None, guild_daily=1e9),
    )
    members = iter(range(10**9))
    interactions = iter(range(10**12, 10**13))
    request = VideoRequest(action=Action.TEXT2VIDEO, prompt="bench", model=Model.V1, mode=Mode.STD)

    def busy_member() -> int:
        return BUSY_GUILD * 100_000 + next(members) % MEMBERS_PER_GUILD

    async with httpx.AsyncClient() as http:
        service = VideoService(
            store=store,
            http=http,
            costs=CostTable(),
            default_model=Model.V1,
            budget=OperatorBudget(
                server_daily=None, server_monthly=None, global_daily=1e12, global_monthly=1e12
            ),
            clock=lambda: now,
        )

        async def admit() -> None:
            requester = Requester(
                guild_id=BUSY_GUILD, channel_id=10, member_id=busy_member(), interaction_id=next(interactions)
            )
            await service.admit(requester, request)

        async def usage() -> None:
            # What /usage reads (cogs/members.py): the limits, the report and the per-day totals.
            await store.get_limits(BUSY_GUILD)
            await store.usage_report(BUSY_GUILD, now - 30 * 86_400)
            await store.daily_usage(BUSY_GUILD, now - 30 * 86_400)

        def history(member: Callable[[], int | None], page: int) -> Callable[[], Awaitable[None]]:
            cursors: dict[int | None, str | None] = {}

            async def call() -> None:
                # What one /history page reads (cogs/members.py HistoryView.load): the count, then
                # the page; a page reached with "Next" starts after the last job of the page before
                # it (keyset), so the cursor is found once, outside the timing, as the view keeps it.
                member_id = member()
                await store.count_history(BUSY_GUILD, member_id=member_id)
                if page == 0:
                    jobs = await store.history(BUSY_GUILD, member_id=member_id, limit=PAGE_SIZE)
                else:
                    jobs = await store.history(
                        BUSY_GUILD, member_id=member_id, limit=PAGE_SIZE, offset=0, after=cursors[member_id]
                    )
                await store.story_parents([job.id for job in jobs])

            async def prepare() -> None:
                if page > 0 and None not in cursors:
                    # The last job of the page before (or of the last page, in a tiny database).
                    last = min(page * PAGE_SIZE, await store.count_history(BUSY_GUILD)) - 1
                    before = await store.history(BUSY_GUILD, limit=1, offset=last)
                    cursors[None] = before[0].id

            calls_prepared.append(prepare)
            return call

        calls_prepared: list[Callable[[], Awaitable[None]]] = []
        calls: dict[str, Callable[[], Awaitable[None]]] = {
            "admission (VideoService.admit)": admit,
            "/usage, 30 days": usage,
            "/history, one member, page 1": history(busy_member, 0),
            "/history, everyone, page 1": history(lambda: None, 0),
            "/history, everyone, page 100 (Next)": history(lambda: None, 99),
        }
        for prepare in calls_prepared:
            await prepare()
        timings = []
        for name, call in calls.items():
            await call()  # warm the caches once
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                await call()
                samples.append((time.perf_counter() - started) * 1000)
            p50, p99 = _percentiles(samples)
            timings.append(Timing(backend, name, p50, p99))
    return timings


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


async def _measure(backend: str, store: Store, fill_seconds: float, repeat: int, now: float) -> BackendRun:
    problems = await store.ledger_consistency()
    if problems:
        raise RuntimeError(f"{backend}: the ledger does not match the job rows: {problems[:5]}")
    print(f"{backend}: filled in {fill_seconds:.0f} s, load {_load()}; timing", flush=True)
    return BackendRun(backend, fill_seconds, await time_calls(backend, store, repeat, now))


async def run_sqlite(rows: int, repeat: int, now: float) -> BackendRun:
    with tempfile.TemporaryDirectory(prefix="kling-bench-") as folder:
        path = Path(folder) / "bench.sqlite3"
        started = time.perf_counter()
        await fill_sqlite(path, rows, now)
        fill = time.perf_counter() - started
        store = await SqliteStore.open(path)
        try:
            return await _measure("SQLite", store, fill, repeat, now)
        finally:
            await store.close()


async def run_postgres(rows: int, repeat: int, now: float) -> BackendRun | None:
    bin_dir = find_server_bin()
    if bin_dir is None:
        print("PostgreSQL server binaries not found: PostgreSQL skipped", flush=True)
        return None
    cluster = PostgresCluster.start(bin_dir)
    try:
        with cluster.fresh_database() as url:
            return await measure_postgres(url, rows, repeat, now)
    finally:
        cluster.stop()


async def measure_postgres(url: str, rows: int, repeat: int, now: float) -> BackendRun:
    """Fill the empty database at `url` and time the calls on it."""
    started = time.perf_counter()
    await fill_postgres(url, rows, now)
    fill = time.perf_counter() - started
    store = await PostgresStore.open(url)
    try:
        return await _measure("PostgreSQL", store, fill, repeat, now)
    finally:
        await store.close()


async def run(rows: int, repeat: int, backends: Sequence[str] = ("sqlite", "postgresql")) -> list[BackendRun]:
    now = time.time()
    runs: list[BackendRun] = []
    if "sqlite" in backends:
        runs.append(await run_sqlite(rows, repeat, now))
    if "postgresql" in backends:
        measured = await run_postgres(rows, repeat, now)
        if measured is not None:
            runs.append(measured)
    return runs


def measured_commit() -> str:
    """The commit measured (with `+changes` when the work tree differs from it)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def table(runs: Sequence[BackendRun], rows: int, repeat: int, *, load_before: str, load_after: str) -> str:
    names = [r.backend for r in runs]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit `{measured_commit()}` "
        f"with {rows:,} job rows ({rows // 10:,} in the measured server), {repeat} calls each, "
        f"on {os.cpu_count()} CPUs shared with other work: load average (1 / 5 / 15 min) {load_before} "
        f"before, {load_after} after.",
        "",
        "Reproduce with:",
        "",
        "```sh",
        f"python -m bench.storage_latency --rows {rows} --repeat {repeat}",
        "```",
        "",
        "| ms, p50 / p99 | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
        "| seeding (whole load + migrations), s | "
        + " | ".join(f"{r.fill_seconds:.0f}" for r in runs)
        + " |",
    ]
    by_call: dict[str, dict[str, Timing]] = {}
    for r in runs:
        for timing in r.timings:
            by_call.setdefault(timing.call, {})[r.backend] = timing
    for call, cells in by_call.items():
        values = [cells.get(name) for name in names]
        lines.append(
            f"| {call} | "
            + " | ".join("–" if t is None else f"{t.p50_ms:.2f} / {t.p99_ms:.2f}" for t in values)
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_section(
    output: Path, section: str, body: str, *, title: str = "Storage latency: SQLite and PostgreSQL"
) -> None:
    """Replace the marked section of `output` (or append it under `title`)."""
    start, end = markers(section)
    text = output.read_text(encoding="utf-8")
    block = f"{start}\n{body}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
    output.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.storage_latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="job rows in each database")
    parser.add_argument("--repeat", type=int, default=200, help="timed calls of each kind")
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql"], action="append", help="only these (default: both)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    load_before = _load()
    runs = asyncio.run(run(args.rows, args.repeat, args.backend or ("sqlite", "postgresql")))
    body = table(runs, args.rows, args.repeat, load_before=load_before, load_after=_load())
    print(body)
    if not args.no_write:
        write_section(args.output, "storage-latency", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Admission, `/usage` and `/history` latency with many job rows, on SQLite and on PostgreSQL.

    python -m bench.storage_latency --rows 1000000            # SQLite, and PostgreSQL when its
                                                              # server binaries are found
    python -m bench.storage_latency --rows 100000 --no-write  # print only

The database is filled directly (one bulk insert of `--rows` jobs spread over 200 guilds, 20,000
members and 90 days, mixed states; then the migrations' own indexes), so only the measured calls go
through the `Store`. Each call is then timed `--repeat` times on the busiest guild:

- admission: `admit_job` with a rule that allows (the usage read and the insert, one transaction);
- `/usage`: `usage_report` over the last 30 days;
- `/history`: `history` (a page of 10 jobs of one member) plus `count_history`, as the command does.

PostgreSQL runs on a throw-away cluster (tests/postgres_cluster.py) with its durability settings off
(fsync, synchronous_commit), as SQLite's benchmark file also lives on a temporary folder; the numbers
compare query plans and round trips, not disks.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.report import markers
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.models import Decision, UsageSnapshot
from bot.storage import JobState, NewJob, SqliteStore, Store
from bot.storage.postgres import PostgresStore
from tests.postgres_cluster import PostgresCluster, find_server_bin

GUILDS = 200
MEMBERS = 20_000
DAYS = 90
NOW = 1_790_000_000.0
BUSY_GUILD = 1
STATES = [JobState.DELIVERED] * 85 + [JobState.FAILED] * 8 + [JobState.CANCELLED] * 4 + [JobState.RUNNING] * 3
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


@dataclass(frozen=True, slots=True)
class Timing:
    backend: str
    call: str
    p50_ms: float
    p99_ms: float


def job_rows(count: int, seed: int = 7) -> Iterator[tuple[object, ...]]:
    """Columns: id, guild_id, channel_id, member_id, request, cost, size_limit, day_key, month_key,
    state, created_at, updated_at. A tenth of all jobs are in the busy guild."""
    rng = random.Random(seed)
    request = VideoRequest(
        action=Action.TEXT2VIDEO, prompt="a red fox in snow", model=Model.V1, mode=Mode.STD
    )
    text = request.to_json()
    for number in range(count):
        guild = BUSY_GUILD if number % 10 == 0 else rng.randrange(2, GUILDS + 1)
        created = NOW - rng.random() * DAYS * 86_400
        day = time.strftime("%Y-%m-%d", time.gmtime(created))
        yield (
            f"job-{number}",
            guild,
            guild * 10,
            rng.randrange(1, MEMBERS + 1),
            text,
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


async def fill_sqlite(path: Path, rows: int) -> None:
    await (await SqliteStore.open(path)).close()  # the schema
    with sqlite3.connect(path) as db:
        db.executemany(f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * 12)})", job_rows(rows))
        db.execute("ANALYZE")


async def fill_postgres(url: str, rows: int) -> None:
    await (await PostgresStore.open(url)).close()
    with psycopg.connect(url) as db:
        with db.cursor().copy(f"COPY jobs ({_COLUMNS}) FROM STDIN") as copy:
            for row in job_rows(rows):
                copy.write_row(row)
        db.commit()
        db.execute("ANALYZE jobs")
        db.commit()


async def time_calls(backend: str, store: Store, repeat: int) -> list[Timing]:
    counter = iter(range(10**9))

    def allow(_: UsageSnapshot) -> Decision:
        return Decision(allowed=True)

    async def admit() -> None:
        number = next(counter)
        day = time.strftime("%Y-%m-%d", time.gmtime(NOW))
        await store.admit_job(
            NewJob(
                id=f"bench-{number}",
                interaction_id=None,
                guild_id=BUSY_GUILD,
                channel_id=10,
                member_id=1 + number % MEMBERS,
                request=VideoRequest(action=Action.TEXT2VIDEO, prompt="bench", model=Model.V1, mode=Mode.STD),
                cost=2.0,
                size_limit=10_485_760,
                day_key=day,
                month_key=day[:7],
                created_at=NOW,
            ),
            allow,
        )

    async def usage() -> None:
        await store.usage_report(BUSY_GUILD, since=NOW - 30 * 86_400)

    async def history() -> None:
        member = 1 + next(counter) % MEMBERS
        await store.history(BUSY_GUILD, member_id=member, limit=10)
        await store.count_history(BUSY_GUILD, member_id=member)

    calls: dict[str, Callable[[], Awaitable[None]]] = {
        "admission": admit,
        "/usage (30 days)": usage,
        "/history (page + count)": history,
    }
    timings = []
    for name, call in calls.items():
        await call()  # warm the caches once
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
        timings.append(Timing(backend, name, statistics.median(samples), p99))
    return timings


async def run(rows: int, repeat: int) -> list[Timing]:
    timings: list[Timing] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        await fill_sqlite(path, rows)
        store = await SqliteStore.open(path)
        try:
            timings += await time_calls("SQLite", store, repeat)
        finally:
            await store.close()
    bin_dir = find_server_bin()
    if bin_dir is None:
        print("PostgreSQL server binaries not found: PostgreSQL skipped")
        return timings
    cluster = PostgresCluster.start(bin_dir)
    try:
        with cluster.fresh_database() as url:
            await fill_postgres(url, rows)
            pg = await PostgresStore.open(url)
            try:
                timings += await time_calls("PostgreSQL", pg, repeat)
            finally:
                await pg.close()
    finally:
        cluster.stop()
    return timings


def table(timings: Sequence[Timing], rows: int, repeat: int) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with {rows:,} job rows "
        f"({rows // 10:,} in the measured guild), {repeat} calls each.",
        "",
        "Reproduce with:",
        "",
        "```sh",
        f"python -m bench.storage_latency --rows {rows} --repeat {repeat}",
        "```",
        "",
        "| Call | Backend | p50 | p99 |",
        "|---|---|---|---|",
    ]
    for timing in sorted(timings, key=lambda t: (t.call, t.backend)):
        lines.append(
            f"| {timing.call} | {timing.backend} | {timing.p50_ms:.2f} ms | {timing.p99_ms:.2f} ms |"
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
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    timings = asyncio.run(run(args.rows, args.repeat))
    body = table(timings, args.rows, args.repeat)
    print(body)
    if not args.no_write:
        write_section(args.output, "storage-latency", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

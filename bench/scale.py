"""One bot process on SQLite against two on PostgreSQL (shards 0 and 1 of 2), side by side in one run.

    python -m bench.scale --jobs 1000 5000
    python -m bench.scale --jobs 1000 --kill-one      # adds a run where one of the two is killed

For each job count, the same load is driven through each set-up in turn, in one invocation:

- `sqlite`: one `python -m bot` on a SQLite file, running every shard;
- `postgresql x2`: two `python -m bot` on one PostgreSQL (a throw-away cluster from
  tests/postgres_cluster.py), `SHARD_COUNT=2`, `SHARD_IDS` 0 and 1;
- with `--kill-one` (the first job count only), `postgresql x2` again, and the process serving the
  second server is killed with SIGKILL once every job is in flight: how long until the survivor
  queries the dead process's tasks, and whether any job got a second paid create or a second upload.

The load: two servers, one served by each shard (the fake Discord sends a server's interactions
only to the shard that serves it, `(guild_id >> 22) % 2`), a distinct member per job, jobs
alternating between the servers, `/video` sent at `--rate` per second through the fake Discord
(tests/e2e/fake_discord.py, with its per-route and global rate limits) and rendered by the fake
AceData (tests/fakes/acedata.py) for `--render-seconds` ± 10 %, longer than the sending takes, so
every job is in flight at once. Each database holds 20 delivered jobs of the same kind per server
from two months earlier, as in bench/run.py (the poller learns render times from them).

Measured from what crossed the wire (bench/measure.py): AceData requests (creates + queries) per
job, acknowledgement p99 (gateway INTERACTION_CREATE sent -> the bot's callback received),
task finished -> result delivered p99, Discord 429s, and per bot process peak RSS (psutil, every
0.2 s) and CPU. The fakes and this driver run in one process on the same CPUs as the bots; the
load average is recorded beside each set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg

from bench.measure import Injected, Summary, build_traces, prompt_for, result_edit_of, summarize
from bench.report import current_commit, reproduce, write_results
from bench.run import HISTORY_SQL, ResourceSampler, VariedRenderAceData, history_rows, inject
from bot.quota.models import GuildLimits
from bot.storage import open_store
from tests.e2e.fake_discord import FakeDiscord, FakeGuild, FakeUser, RateLimits, SentInteraction
from tests.e2e.harness import BotHarness
from tests.fakes.acedata import FakeAceData
from tests.postgres_cluster import PostgresCluster, find_server_bin

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
SHARDS = 2
HISTORY_PER_SERVER = 20
SETUPS = ("sqlite", "postgresql x2")


@dataclass(frozen=True, slots=True)
class ScaleSettings:
    rate: float = 50.0  # /video interactions per second
    render_seconds: float | None = None  # None: long enough that every job is in flight at once
    render_spread: float = 0.1
    video_bytes: int = 64 * 1024
    margin_seconds: float = 120.0  # wait for the last deliveries this long past the last render
    poll_interval: float = 2.0
    poll_max_interval: float = 30.0
    duplicate_wait: float = 3.0  # seconds after the last delivery, for a second upload to show

    def render_for(self, jobs: int) -> float:
        """At least 60 s, and 30 s more than sending every job takes, so all of them overlap."""
        if self.render_seconds is not None:
            return self.render_seconds
        return max(60.0, round(jobs / self.rate + 30.0))

    def bot_env(self) -> dict[str, str]:
        return {
            "POLL_INTERVAL_SECONDS": f"{self.poll_interval:g}",
            "POLL_MAX_INTERVAL_SECONDS": f"{self.poll_max_interval:g}",
            "PROGRESS_EDIT_INTERVAL_SECONDS": "10",
            "TOKEN_HANDOFF_AFTER_SECONDS": "840",
            "JOB_DEADLINE_SECONDS": "1800",
            "LOG_LEVEL": "INFO",
            # Commands synced globally: the two servers must both see /video.
            "DEV_GUILD_ID": "",
        }


@dataclass
class Takeover:
    """One process killed with SIGKILL mid-run."""

    victim_jobs: int
    first_query_s: float | None = None  # kill -> the survivor's first query naming a victim's task
    all_queried_s: float | None = None  # kill -> every victim task named in a survivor's query
    creates: int = 0
    jobs: int = 0
    double_deliveries: int = 0
    duplicate_creates: int = 0  # paid creates beyond one per job that got a task


@dataclass
class SetupResult:
    setup: str
    jobs: int
    render_seconds: float
    summary: Summary
    peak_rss_mb: list[float]
    cpu_seconds: list[float]
    load_before: str
    load_after: str
    takeover: Takeover | None = None
    notes: list[str] = field(default_factory=list)


def measured_commit() -> str:
    """The commit measured (with `+ uncommitted changes` when tracked files differ from it)."""
    return current_commit(dirty=" + uncommitted changes") or "unknown"


def shard_of(guild_id: int) -> int:
    return (guild_id >> 22) % SHARDS


def one_server_per_shard(discord: FakeDiscord) -> list[FakeGuild]:
    """The default server plus one served by the other shard (guild ids carry their creation time,
    so a new server lands on the other shard within a few milliseconds)."""
    guilds = {shard_of(discord.guild.id): discord.guild}
    while len(guilds) < SHARDS:
        time.sleep(0.001)
        guild = discord.add_guild(f"Shard server {len(discord.guilds)}")
        guilds.setdefault(shard_of(guild.id), guild)
    return [guilds[shard] for shard in range(SHARDS)]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


async def prepare_database(
    guilds: Sequence[FakeGuild], render: float, spread: float, *, path: Path, url: str | None
) -> None:
    """The bot's schema, no running caps in either server (every job in flight at once), and the
    render-time history the poller learns from."""
    store = await open_store(path, database_url=url)
    try:
        for guild in guilds:
            await store.set_limits(guild.id, GuildLimits(member_concurrent=None, guild_concurrent=None))
    finally:
        await store.close()
    rows = [
        row
        for guild in guilds
        for row in history_rows(guild.id, HISTORY_PER_SERVER, render, spread, seed=guild.id)
    ]
    if url is None:
        with contextlib.closing(sqlite3.connect(path)) as lite, lite:
            lite.executemany(HISTORY_SQL.format(p="?"), rows)
    else:
        with psycopg.connect(url) as server:
            server.cursor().executemany(HISTORY_SQL.format(p="%s"), rows)


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    bin_dir = find_server_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    cluster = PostgresCluster.start(bin_dir)
    try:
        with cluster.fresh_database() as url:
            yield url
    finally:
        cluster.stop()


def _delivered_tokens(discord: FakeDiscord, sent: Sequence[SentInteraction], since: int) -> dict[str, int]:
    """Uploads of a result per interaction token (a delivery is a 200 PATCH carrying the file)."""
    by_token = {s.token for s in sent}
    by_message = {str(s.state.original_message_id): s.token for s in sent}
    counts: dict[str, int] = {}
    for call in discord.calls[since:]:
        key = result_edit_of(call, by_token, by_message)
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    return counts


class KillWatch:
    """Kill one process once every job is in flight; then time when the survivor's queries name
    each of the victim's tasks."""

    def __init__(
        self, acedata: FakeAceData, victim: BotHarness, victim_indexes: set[int], *, settle_seconds: float
    ) -> None:
        self.acedata = acedata
        self.settle_seconds = settle_seconds
        self.victim = victim
        self.victim_prompts = {prompt_for(i) for i in victim_indexes}
        self.result = Takeover(victim_jobs=0)

    async def run(self, sent_all: asyncio.Event, stop: asyncio.Event) -> None:
        """After the last /video was sent and no paid create came for `settle_seconds` (every
        admitted job created and polled by its process; an interaction that was not acknowledged in
        time has no job), kill the victim."""
        await sent_all.wait()
        created = -1
        while created != self.acedata.created_tasks and not stop.is_set():
            created = self.acedata.created_tasks
            await asyncio.sleep(self.settle_seconds)
        victim_tasks = {
            t.task_id for t in self.acedata.tasks.values() if t.request.get("prompt") in self.victim_prompts
        }
        self.result.victim_jobs = len(victim_tasks)
        if stop.is_set() or not victim_tasks:
            return
        killed = time.monotonic()
        position = len(self.acedata.requests)
        await self.victim.kill()
        print(f"  killed one process holding {len(victim_tasks)} jobs", file=sys.stderr, flush=True)
        unseen = set(victim_tasks)
        while unseen and not stop.is_set():
            new, position = self.acedata.requests[position:], len(self.acedata.requests)
            for request in new:
                body = request.json if isinstance(request.json, dict) else {}
                named = set(body.get("ids") or []) | {body.get("id")}
                if named & unseen:
                    elapsed = time.monotonic() - killed
                    if self.result.first_query_s is None:
                        self.result.first_query_s = elapsed
                    unseen -= named
                    if not unseen:
                        self.result.all_queried_s = elapsed
            await asyncio.sleep(0.05)


async def wait_for_deliveries(
    discord: FakeDiscord,
    sent: Sequence[SentInteraction],
    *,
    since: int,
    deadline: float,
    bots: Sequence[BotHarness],
    killed: BotHarness | None = None,
) -> None:
    checks = 0
    while time.monotonic() < deadline:
        delivered = len(_delivered_tokens(discord, sent, since))
        if delivered == len(sent):
            return
        for bot in bots:
            if bot is not killed and bot.process is not None and bot.process.returncode is not None:
                raise RuntimeError(f"a bot exited ({bot.process.returncode}):\n{bot.process.tail()}")
        if checks % 10 == 0:
            print(f"  {delivered}/{len(sent)} delivered", file=sys.stderr, flush=True)
        checks += 1
        await asyncio.sleep(1.0)


async def run_setup(
    setup: str,
    jobs: int,
    settings: ScaleSettings,
    workdir: Path,
    *,
    kill_one: bool = False,
    postgres_url: str | None = None,
) -> SetupResult:
    """One set-up under the load of `jobs` jobs. PostgreSQL on `postgres_url` (an empty database),
    or on a throw-away cluster started for the run."""
    render = settings.render_for(jobs)
    load_before = _load()
    async with (
        FakeDiscord(rate_limits=RateLimits()) as discord,
        VariedRenderAceData(
            spread=settings.render_spread, seed=jobs, render_seconds=render, video_bytes=settings.video_bytes
        ) as acedata,
        contextlib.AsyncExitStack() as stack,
    ):
        guilds = one_server_per_shard(discord)
        url = None
        if setup != "sqlite":
            url = postgres_url or await stack.enter_async_context(postgres_database())
        env = settings.bot_env()
        if url is None:
            bots = [BotHarness(workdir / "p0", discord=discord, acedata=acedata, env=env)]
        else:
            shard_env = env | {"DATABASE_URL": url, "SHARD_COUNT": str(SHARDS)}
            bots = [
                BotHarness(
                    workdir / f"p{s}", discord=discord, acedata=acedata, env=shard_env | {"SHARD_IDS": str(s)}
                )
                for s in range(SHARDS)
            ]
        for bot in bots:
            bot.workdir.mkdir(parents=True)
        await prepare_database(guilds, render, settings.render_spread, path=bots[0].database_path, url=url)
        members: list[FakeUser] = [discord.add_member(guilds[i % SHARDS], f"m{i}") for i in range(jobs)]
        stop, sent_all = asyncio.Event(), asyncio.Event()
        watch: KillWatch | None = None
        watcher: asyncio.Task[None] | None = None
        try:
            for bot in bots:
                await bot.start(timeout=120)
            samplers = [ResourceSampler(bot.process.pid) for bot in bots if bot.process and bot.process.pid]
            for sampler in samplers:
                sampler.start()
            if kill_one:
                victim_shard = SHARDS - 1
                watch = KillWatch(
                    acedata,
                    bots[victim_shard],
                    {i for i in range(jobs) if i % SHARDS == victim_shard},
                    settle_seconds=2 * settings.poll_interval + 1,
                )
                watcher = asyncio.create_task(watch.run(sent_all, stop))
            mark = discord.mark()
            began = time.monotonic()
            print(
                f"{setup}, {jobs} jobs: sending at {settings.rate:g}/s, render {render:g} s",
                file=sys.stderr,
                flush=True,
            )
            sent = await inject(discord, members, settings.rate, guilds=guilds)
            sent_all.set()
            deadline = time.monotonic() + render * (1 + settings.render_spread) + settings.margin_seconds
            await wait_for_deliveries(
                discord,
                [s for _, s in sent],
                since=mark,
                deadline=deadline,
                bots=bots,
                killed=watch.victim if watch else None,
            )
            await asyncio.sleep(settings.duplicate_wait)  # room for a double delivery to show
            wall = time.monotonic() - began
            for sampler in samplers:
                await sampler.stop()
        finally:
            stop.set()
            if watcher is not None:
                await asyncio.gather(watcher, return_exceptions=True)
            for bot in bots:
                await bot.stop()
        injected = [Injected(i, s.token, at, s.state.original_message_id) for i, (at, s) in enumerate(sent)]
        calls = discord.calls[mark:]
        traces = build_traces(injected, calls, acedata.tasks.values())
        summary = summarize(
            traces,
            calls,
            acedata.requests,
            cpu_seconds=sum(s.cpu_seconds for s in samplers),
            idle_rss=max(s.idle_rss for s in samplers),
            peak_rss=max(s.peak_rss for s in samplers),
            wall_seconds=wall,
        )
        takeover = None
        if watch is not None:
            takeover = replace(
                watch.result,
                creates=len(acedata.requests_to("/kling/videos")),
                duplicate_creates=len(acedata.tasks)
                - len({str(t.request.get("prompt")) for t in acedata.tasks.values()}),
                jobs=jobs,
                double_deliveries=sum(
                    n - 1 for n in _delivered_tokens(discord, [s for _, s in sent], mark).values() if n > 1
                ),
            )
        return SetupResult(
            setup=setup + (", one killed" if kill_one else ""),
            jobs=jobs,
            render_seconds=render,
            summary=summary,
            peak_rss_mb=[s.peak_rss / 2**20 for s in samplers],
            cpu_seconds=[s.cpu_seconds for s in samplers],
            load_before=load_before,
            load_after=_load(),
            takeover=takeover,
        )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def table(results: Sequence[SetupResult], command: str) -> str:
    def row(label: str, goal: str, cell: object) -> str:
        return f"| {label} | {goal} | " + " | ".join(str(cell(r)) for r in results) + " |"  # type: ignore[operator]

    header = "| Measure | Goal | " + " | ".join(f"{r.setup}, {r.jobs:,} jobs" for r in results) + " |"
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit `{measured_commit()}`, "
        f"one after the other in one invocation, on {os.cpu_count()} CPUs shared with other work "
        "(the bots, both fakes and the driver on the same CPUs).",
        "",
        *reproduce(command),
        header,
        "|---|---|" + "---:|" * len(results),
        row("Load average before (1 / 5 / 15 min)", "", lambda r: r.load_before),
        row("Load average after", "", lambda r: r.load_after),
        row("Render time (fake AceData, mean ± 10 %)", "", lambda r: f"{r.render_seconds:g} s"),
        row("Jobs delivered", "all", lambda r: f"{r.summary.delivered:,} / {r.jobs:,}"),
        row(
            "AceData requests per job (create + queries)",
            "",
            lambda r: f"{r.summary.acedata_per_job or 0:.2f}",
        ),
        row("Acknowledgement p50", "", lambda r: _ms(r.summary.ack_p50_ms)),
        row("Acknowledgement p99", "< 250 ms", lambda r: _ms(r.summary.ack_p99_ms)),
        row("Acknowledgement max", "< 3 s", lambda r: _ms(r.summary.ack_max_ms)),
        row("Interactions not acknowledged in time", "0", lambda r: r.summary.late_acks),
        row("Task finished → delivered, p50", "", lambda r: _s(r.summary.delivery_lag_p50)),
        row("Task finished → delivered, p99", "≤ 3 s + upload", lambda r: _s(r.summary.delivery_lag_p99)),
        row("Task finished → delivered, max", "", lambda r: _s(r.summary.delivery_lag_max)),
        row("Discord 429 answers", "0", lambda r: r.summary.discord_429s),
        row(
            "Peak RSS per bot process", "< 150 MB", lambda r: " / ".join(f"{m:.0f} MB" for m in r.peak_rss_mb)
        ),
        row("Bot CPU time per job (all processes)", "", lambda r: _s(sum(r.cpu_seconds) / r.jobs)),
        row("Wall time", "", lambda r: f"{r.summary.wall_seconds:.0f} s"),
    ]
    killed = [r for r in results if r.takeover is not None]
    if killed:
        lines += ["", "One of the two processes killed with SIGKILL once every job was in flight:", ""]
        lines += ["| Measure | Goal | " + " | ".join(f"{r.jobs:,} jobs" for r in killed) + " |"]
        lines += ["|---|---|" + "---:|" * len(killed)]
        for label, goal, cell in (
            ("Jobs the killed process held (created tasks)", "", lambda t: f"{t.victim_jobs:,}"),
            ("Kill → survivor's first query for one of them", "", lambda t: _s(t.first_query_s)),
            ("Kill → every one of them queried by the survivor", "≤ 41 s", lambda t: _s(t.all_queried_s)),
            ("Paid creates (for the jobs admitted)", "", lambda t: f"{t.creates:,}"),
            ("Duplicate paid creates (two tasks for one job)", "0", lambda t: t.duplicate_creates),
            ("Double deliveries", "0", lambda t: t.double_deliveries),
        ):
            lines.append(f"| {label} | {goal} | " + " | ".join(str(cell(r.takeover)) for r in killed) + " |")
    return "\n".join(lines) + "\n"


def _command(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "bench.scale", "--jobs", *map(str, args.jobs)]
    if args.render_seconds is not None:
        parts += ["--render-seconds", f"{args.render_seconds:g}"]
    if args.rate != ScaleSettings().rate:
        parts += ["--rate", f"{args.rate:g}"]
    if args.kill_one:
        parts.append("--kill-one")
    if args.setup != list(SETUPS):
        for setup in args.setup:
            parts += ["--setup", setup]
    return shlex.join(parts)


async def run_all(args: argparse.Namespace) -> list[SetupResult]:
    settings = ScaleSettings(rate=args.rate, render_seconds=args.render_seconds, margin_seconds=args.margin)
    results = []
    for number, jobs in enumerate(args.jobs):
        runs = [(setup, False) for setup in args.setup]
        if args.kill_one and number == 0:
            runs.append(("postgresql x2", True))
        for setup, kill in runs:
            with tempfile.TemporaryDirectory(prefix=f"kling-scale-{jobs}-") as workdir:
                result = await run_setup(setup, jobs, settings, Path(workdir), kill_one=kill)
            results.append(result)
            print(table([result], ""), file=sys.stderr, flush=True)
    return results


async def _cancellable(args: argparse.Namespace) -> list[SetupResult]:
    """SIGTERM or SIGINT cancel the run, so its clean-up stops the bots and the cluster."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    return await run_all(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--setup", choices=SETUPS, action="append", help="only these (default: both)")
    parser.add_argument("--rate", type=float, default=ScaleSettings().rate, help="/video per second")
    parser.add_argument(
        "--render-seconds", type=float, default=None, help="default: jobs / rate + 30 s, ≥ 60 s"
    )
    parser.add_argument("--margin", type=float, default=ScaleSettings().margin_seconds, help="seconds")
    parser.add_argument("--kill-one", action="store_true", help="add a run with one process killed")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    args.setup = args.setup or list(SETUPS)
    try:
        results = asyncio.run(_cancellable(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; nothing written", file=sys.stderr)
        return 130
    body = table(results, _command(args))
    print(body)
    if not args.no_write:
        title = "One process on SQLite against two on PostgreSQL"
        write_results(args.output, body, section="scale", title=title)
    return 0 if all(r.summary.delivered == r.jobs for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

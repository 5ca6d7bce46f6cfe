"""Drive N concurrent `/video` jobs through the real bot process and write the numbers to BENCHMARKS.md.

    python -m bench.run --jobs 10 100 1000

The fake Discord and the fake AceData run in this process (on 127.0.0.1); the bot is the real
`python -m bot` subprocess started by the e2e harness, with production-like poll and edit intervals.
Each run uses a fresh database whose server limits allow every job to run at once, and a distinct
member per job. What is measured is what crossed the wire, as the fakes recorded it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import signal
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiohttp import web

from bench import traced_bot
from bench.measure import (
    BASELINE_AGENT,
    SDK_POLL_SECONDS,
    BaselineResult,
    Injected,
    Summary,
    build_traces,
    is_baseline,
    is_prompt,
    posted_result_for,
    prompt_for,
    result_edit_of,
    summarize,
)
from bench.report import results_section, write_results
from bot.kling.models import Action, VideoRequest
from bot.quota.models import GuildLimits
from bot.storage import open_store
from tests.e2e.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    RateLimits,
    SentInteraction,
)
from tests.e2e.harness import REPO_ROOT, BotHarness
from tests.fakes.acedata import FakeAceData, FakeTask, RecordedRequest

DEFAULT_OUTPUT = REPO_ROOT / "BENCHMARKS.md"


@dataclass(frozen=True, slots=True)
class BenchSettings:
    render_seconds: float = 60.0
    render_spread: float = 0.1  # each task renders for render_seconds × (1 ± spread)
    rate: float = 50.0  # /video interactions sent per second
    poll_interval: float = 2.0
    edit_interval: float = 10.0
    video_bytes: int = 256 * 1024
    margin_seconds: float = 60.0  # how long to wait for the last deliveries after the render time
    handoff_seconds: float = 840.0
    history: int = 20  # delivered jobs of the same kind already in the database (0: a fresh install)
    baseline: bool = True  # run the per-task polling client side by side
    # The fake puts creating, editing and deleting messages of a channel in one bucket (not Discord's
    # model: it keys buckets by route), to show the bot learns that from X-RateLimit-Bucket.
    shared_channel_bucket: bool = False
    # The bot receives AceData's task callbacks (CALLBACK_PUBLIC_URL) on a free local port; the fake
    # AceData calls back the moment a task ends.
    callbacks: bool = False
    # Run the bot under tracemalloc (bench/traced_bot.py), with heap snapshots written here as its
    # RSS grows: for finding what holds memory, not for timing.
    trace_memory: Path | None = None

    def bot_env(self) -> dict[str, str]:
        """Production-like values; the harness's short test intervals are all overridden."""
        return {
            "POLL_INTERVAL_SECONDS": f"{self.poll_interval:g}",
            "POLL_MAX_INTERVAL_SECONDS": "30",
            "PROGRESS_EDIT_INTERVAL_SECONDS": f"{self.edit_interval:g}",
            "TOKEN_HANDOFF_AFTER_SECONDS": f"{self.handoff_seconds:g}",
            "JOB_DEADLINE_SECONDS": "1800",
            "LOG_LEVEL": "INFO",
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class VariedRenderAceData(FakeAceData):
    """Render times spread around the mean, as real ones are: with one fixed time that happens to be a
    multiple of the poll interval, every result would be seen the instant it is ready, by luck."""

    def __init__(self, *, spread: float, seed: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spread = spread
        self._random = random.Random(seed)

    async def _create_task(self, recorded: RecordedRequest) -> web.Response:
        response = await super()._create_task(recorded)
        if response.status == 200 and self.render_seconds is not None:
            task = next(reversed(self.tasks.values()))
            task.render_seconds = self.render_seconds * self._random.uniform(1 - self.spread, 1 + self.spread)
        return response


async def snapshot_heap_as_it_grows(
    pid: int, sampler: ResourceSampler, *, step: float = 8 * 2**20, most: int = 8
) -> None:
    """Ask the traced bot (bench/traced_bot.py) for a heap snapshot each time its peak RSS has grown
    by `step` since the last one, at most every 5 s and `most` times (a snapshot itself takes
    memory, which would call for the next). A snapshot stops the bot for a moment, so this starts
    once every /video is sent (an interaction waiting for it would miss Discord's 3 s)."""
    last, taken = 0.0, 0
    while taken < most:
        if sampler.peak_rss >= last + step:
            last, taken = sampler.peak_rss, taken + 1
            os.kill(pid, signal.SIGUSR1)
            await asyncio.sleep(5.0)
        await asyncio.sleep(0.5)


class ResourceSampler:
    """Peak RSS and CPU time of the bot process, sampled in the background."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.every = every
        self.idle_rss = self.process.memory_info().rss
        self.peak_rss = self.idle_rss
        self._cpu_start = self._cpu()
        self.cpu_seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    def _cpu(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    async def _sample(self) -> None:
        while True:
            self._read()
            await asyncio.sleep(self.every)

    def _read(self) -> None:
        try:
            self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
            self.cpu_seconds = self._cpu() - self._cpu_start
        except psutil.NoSuchProcess:
            pass  # killed on purpose (bench.scale --kill-one): keep what it used until then

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        """Take a last sample (the process must still run) and stop sampling."""
        self._read()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def allow_every_job_at_once(database: Path, guild_id: int) -> None:
    """No running caps: every injected job is in flight at the same time."""
    store = await open_store(database)
    try:
        await store.set_limits(guild_id, GuildLimits(member_concurrent=None, guild_concurrent=None))
    finally:
        await store.close()


#: A delivered job of the benchmark's kind, long past (its period counts toward no quota); the
#: placeholder is the driver's: "?" for SQLite, "%s" for PostgreSQL.
HISTORY_SQL = (
    "INSERT INTO jobs (id, guild_id, channel_id, member_id, request, cost, size_limit, day_key,"
    " month_key, state, created_at, updated_at, submitted_at, finished_at, delivered_at)"
    " VALUES ({p}, {p}, 1, 1, {p}, 1, 1, '2000-01-01', '2000-01', 'delivered', {p}, {p}, {p}, {p}, {p})"
)


def history_rows(
    guild_id: int, count: int, render: float, spread: float, *, seed: int
) -> Iterator[tuple[object, ...]]:
    """`count` rows for `HISTORY_SQL`: delivered jobs two months ago, each rendered for `render`
    seconds × (1 ± spread)."""
    rng = random.Random(seed)
    request = VideoRequest(action=Action.TEXT2VIDEO, prompt="an earlier video").to_json()
    start = time.time() - 86400 * 60
    for index in range(count):
        submitted = start + index * 600
        took = render * rng.uniform(1 - spread, 1 + spread)
        yield (
            uuid.uuid4().hex, guild_id, request, submitted, submitted + took,
            submitted, submitted + took, submitted + took + 1,
        )  # fmt: skip


def seed_history(database: Path, guild_id: int, settings: BenchSettings) -> None:
    """Delivered jobs of the benchmark's kind, as a server that has used the bot for a while has: the
    poller learns how long such renders take from them."""
    rows = history_rows(guild_id, settings.history, settings.render_seconds, settings.render_spread, seed=7)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.executemany(HISTORY_SQL.format(p="?"), rows)


class PerTaskPollingClient:
    """AceData's SDK way of waiting, really run against the same fake: one create per task, then one
    `retrieve` query per task every 3 s until the task ends (its requests carry `BASELINE_AGENT`)."""

    def __init__(self, acedata: FakeAceData, *, rate: float, interval: float = SDK_POLL_SECONDS) -> None:
        self.acedata = acedata
        self.rate = rate
        self.interval = interval

    async def run(self, count: int, *, deadline: float) -> BaselineResult:
        headers = {"Authorization": f"Bearer {self.acedata.token}", "User-Agent": BASELINE_AGENT}
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=self.acedata.base_url, headers=headers, timeout=30, limits=limits
        ) as http:
            start = time.monotonic()
            lags = await asyncio.gather(
                *(self._one(http, index, start + index / self.rate, deadline) for index in range(count))
            )
        requests = sum(1 for r in self.acedata.requests if is_baseline(r))
        return BaselineResult(count, requests, [lag for lag in lags if lag is not None])

    async def _one(self, http: httpx.AsyncClient, index: int, at: float, deadline: float) -> float | None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        body = {
            "action": "text2video",
            "model": "kling-v1",
            "prompt": f"per-task client {index}",
            "async": True,
        }
        task_id = (await http.post("/kling/videos", json=body)).json()["task_id"]
        while time.monotonic() < deadline:
            await asyncio.sleep(self.interval)
            record = (await http.post("/kling/tasks", json={"action": "retrieve", "id": task_id})).json()
            if record.get("finished_at") is not None:
                return time.time() - float(record["finished_at"])
        return None


async def inject(
    discord: FakeDiscord,
    members: Sequence[FakeUser],
    rate: float,
    *,
    guilds: Sequence[FakeGuild] = (),
    channels: Sequence[FakeChannel] = (),
) -> list[tuple[float, SentInteraction]]:
    """Send one /video per member at a steady rate; the wall-clock time just before each. Job i goes
    to `guilds[i % len(guilds)]` and `channels[i % len(channels)]` when given (else the fake's
    default server and its text channel)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = []
    for index, member in enumerate(members):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        at = time.time()
        interaction = await discord.send_slash_command(
            "video",
            {"prompt": prompt_for(index)},
            user=member,
            guild=guilds[index % len(guilds)] if guilds else None,
            channel=channels[index % len(channels)] if channels else None,
        )
        sent.append((at, interaction))
    return sent


def bot_tasks(acedata: FakeAceData) -> list[FakeTask]:
    """The tasks the bot created (not the per-task client's)."""
    return [t for t in acedata.tasks.values() if is_prompt(str(t.request.get("prompt", "")))]


async def wait_for_deliveries(
    discord: FakeDiscord,
    sent: Sequence[SentInteraction],
    *,
    since: int,
    deadline: float,
    bot: BotHarness,
    members: Sequence[FakeUser] = (),
    acedata: FakeAceData | None = None,
    after_last_start: float = 0.0,
) -> int:
    """Until every job's message got its video file (or the deadline). How many did.

    On a loaded machine the bot may start the last jobs well after the last /video was sent; the
    deadline then moves to `after_last_start` seconds after the latest task the bot created, so a
    late start is reported as such, not as a late delivery."""
    by_token = {s.token for s in sent}
    by_member = {member.id: s.token for member, s in zip(members, sent, strict=False)}
    delivered: set[str] = set()
    position = since
    while time.monotonic() < deadline:
        new, position = discord.calls[position:], len(discord.calls)
        by_message = {str(s.state.original_message_id): s.token for s in sent}
        for call in new:
            member = posted_result_for(call)
            if member is not None and member in by_member:
                delivered.add(by_member[member])
                continue
            key = result_edit_of(call, by_token, by_message)
            if key is not None:
                delivered.add(key)
        if len(delivered) == len(sent):
            break
        if acedata is not None and after_last_start:
            starts = [t.created_at for t in bot_tasks(acedata)]
            if starts:
                deadline = max(deadline, time.monotonic() + max(starts) + after_last_start - time.time())
        if bot.process is not None and bot.process.returncode is not None:
            raise RuntimeError(f"the bot exited ({bot.process.returncode}):\n{bot.process.tail()}")
        print(f"  {len(delivered)}/{len(sent)} delivered so far", file=sys.stderr, flush=True)
        await asyncio.sleep(2.0)
    return len(delivered)


async def run_once(jobs: int, settings: BenchSettings, workdir: Path) -> Summary:
    async with (
        FakeDiscord(rate_limits=RateLimits(shared_channel_bucket=settings.shared_channel_bucket)) as discord,
        VariedRenderAceData(
            spread=settings.render_spread,
            seed=jobs,
            render_seconds=settings.render_seconds,
            video_bytes=settings.video_bytes,
        ) as acedata,
    ):
        env = settings.bot_env()
        if settings.callbacks:
            port = free_port()
            env |= {
                "CALLBACK_PUBLIC_URL": f"http://127.0.0.1:{port}/kling/callback",
                "CALLBACK_HOST": "127.0.0.1",
                "CALLBACK_PORT": str(port),
            }
        argv: tuple[str, ...] = (sys.executable, "-m", "bot")
        if settings.trace_memory is not None:
            env[traced_bot.SNAPSHOT_DIR] = str(settings.trace_memory)
            argv = (sys.executable, "-m", "bench.traced_bot")
        harness = BotHarness(workdir, discord=discord, acedata=acedata, env=env, argv=argv)
        await allow_every_job_at_once(harness.database_path, discord.guild.id)
        seed_history(harness.database_path, discord.guild.id, settings)
        baseline_run: asyncio.Task[BaselineResult] | None = None
        heap_snapshots: asyncio.Task[None] | None = None
        load_before = os.getloadavg()
        try:
            process = await harness.start(timeout=60)
            assert process.pid is not None
            members = [discord.add_member(discord.guild, f"bench-member-{i}") for i in range(jobs)]
            sampler = ResourceSampler(process.pid)
            sampler.start()
            if settings.trace_memory is not None:
                os.kill(process.pid, signal.SIGUSR1)  # just started: later growth is measured from here
            mark = discord.mark()
            began = time.monotonic()
            print(f"{jobs} jobs: sending at {settings.rate:g}/s", file=sys.stderr, flush=True)
            horizon = time.monotonic() + jobs / settings.rate + settings.render_seconds * 1.5
            if settings.baseline:
                baseline_run = asyncio.create_task(
                    PerTaskPollingClient(acedata, rate=settings.rate).run(jobs, deadline=horizon)
                )
            sent = await inject(discord, members, settings.rate)
            if settings.trace_memory is not None:
                heap_snapshots = asyncio.create_task(snapshot_heap_as_it_grows(process.pid, sampler))
            deadline = time.monotonic() + settings.render_seconds + settings.margin_seconds
            longest = settings.render_seconds * (1 + settings.render_spread)
            await wait_for_deliveries(
                discord,
                [s for _, s in sent],
                since=mark,
                deadline=deadline,
                bot=harness,
                members=members,
                acedata=acedata,
                after_last_start=longest + settings.margin_seconds,
            )
            wall = time.monotonic() - began
            await sampler.stop()
            baseline = await baseline_run if baseline_run is not None else None
        finally:
            if baseline_run is not None and not baseline_run.done():
                baseline_run.cancel()
            if heap_snapshots is not None:
                heap_snapshots.cancel()
            await harness.stop()
        injected = [
            Injected(index, s.token, at, s.state.original_message_id, members[index].id)
            for index, (at, s) in enumerate(sent)
        ]
        calls = discord.calls[mark:]
        traces = build_traces(injected, calls, acedata.tasks.values())
        summary = summarize(
            traces,
            calls,
            acedata.requests,
            cpu_seconds=sampler.cpu_seconds,
            idle_rss=sampler.idle_rss,
            peak_rss=sampler.peak_rss,
            wall_seconds=wall,
            per_task=baseline,
        )
        return replace(summary, load_before=load_before, load_after=os.getloadavg())


def _command(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "bench.run", "--jobs", *map(str, args.jobs)]
    if args.section != "results":
        parts += ["--section", args.section]
    if args.no_baseline:
        parts.append("--no-baseline")
    if args.shared_channel_bucket:
        parts.append("--shared-channel-bucket")
    defaults = BenchSettings()
    for option, value, default in (
        ("--render-seconds", args.render_seconds, defaults.render_seconds),
        ("--render-spread", args.render_spread, defaults.render_spread),
        ("--rate", args.rate, defaults.rate),
        ("--poll-interval", args.poll_interval, defaults.poll_interval),
        ("--edit-interval", args.edit_interval, defaults.edit_interval),
        ("--video-bytes", args.video_bytes, defaults.video_bytes),
        ("--handoff-seconds", args.handoff_seconds, defaults.handoff_seconds),
        ("--history", args.history, defaults.history),
    ):
        if value != default:
            parts += [option, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(parts)


def _parser() -> argparse.ArgumentParser:
    defaults = BenchSettings()
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[10, 100], help="job counts, one run each")
    parser.add_argument("--render-seconds", type=float, default=defaults.render_seconds)
    parser.add_argument("--render-spread", type=float, default=defaults.render_spread, help="0.1: ±10 %%")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="/video interactions per second")
    parser.add_argument("--poll-interval", type=float, default=defaults.poll_interval)
    parser.add_argument("--edit-interval", type=float, default=defaults.edit_interval)
    parser.add_argument("--video-bytes", type=int, default=defaults.video_bytes)
    parser.add_argument("--handoff-seconds", type=float, default=defaults.handoff_seconds)
    parser.add_argument(
        "--history", type=int, default=defaults.history, help="delivered jobs already in the database"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the per-task polling client")
    parser.add_argument(
        "--shared-channel-bucket",
        action="store_true",
        help="the fake puts a channel's message create, edit and delete in one bucket",
    )
    parser.add_argument(
        "--trace-memory",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the bot under tracemalloc, heap snapshots into DIR (see bench/traced_bot.py)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to update")
    parser.add_argument("--section", default="results", help="which marked section of --output to replace")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    return parser


async def run_all(args: argparse.Namespace) -> list[Summary]:
    settings = BenchSettings(
        render_seconds=args.render_seconds,
        render_spread=args.render_spread,
        rate=args.rate,
        poll_interval=args.poll_interval,
        edit_interval=args.edit_interval,
        video_bytes=args.video_bytes,
        handoff_seconds=args.handoff_seconds,
        history=args.history,
        baseline=not args.no_baseline,
        shared_channel_bucket=args.shared_channel_bucket,
        trace_memory=args.trace_memory,
    )
    summaries = []
    for jobs in args.jobs:
        with tempfile.TemporaryDirectory(prefix=f"kling-bench-{jobs}-") as workdir:
            summaries.append(await run_once(jobs, settings, Path(workdir)))
    return summaries


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # asyncio.run then cancels the run, whose clean-up stops the bot process


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        summaries = asyncio.run(run_all(args))
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return 130
    env = BenchSettings(
        poll_interval=args.poll_interval,
        edit_interval=args.edit_interval,
        handoff_seconds=args.handoff_seconds,
    ).bot_env()
    settings = {
        "render": f"{args.render_seconds:g}s ± {args.render_spread:.0%}",
        "rate": f"{args.rate:g}/s",
        "video_bytes": str(args.video_bytes),
        "history": f"{args.history} past jobs",
        "discord": "global and per-channel buckets"
        + (", one for create/edit/delete" if args.shared_channel_bucket else ", one per route"),
    } | {k: v for k, v in env.items() if k != "LOG_LEVEL"}
    table = results_section(_command(args), settings, summaries)
    print(table)
    if not args.no_write:
        write_results(args.output, table, section=args.section)
        print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0 if all(s.delivered == s.jobs for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())

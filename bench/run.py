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
import random
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from aiohttp import web

from bench.measure import Injected, Summary, build_traces, prompt_for, summarize
from bench.report import results_section, write_results
from bot.quota.models import GuildLimits
from bot.storage import open_store
from tests.e2e.fake_discord import FakeDiscord, FakeUser, SentInteraction
from tests.e2e.harness import REPO_ROOT, BotHarness
from tests.fakes.acedata import FakeAceData, RecordedRequest

DEFAULT_OUTPUT = REPO_ROOT / "BENCHMARKS.md"


@dataclass(frozen=True, slots=True)
class BenchSettings:
    render_seconds: float = 60.0
    render_spread: float = 0.1  # each task renders for render_seconds × (1 ± spread)
    rate: float = 50.0  # /video interactions sent per second
    poll_interval: float = 5.0
    edit_interval: float = 10.0
    video_bytes: int = 256 * 1024
    margin_seconds: float = 60.0  # how long to wait for the last deliveries after the render time

    def bot_env(self) -> dict[str, str]:
        """Production-like values; the harness's short test intervals are all overridden."""
        return {
            "POLL_INTERVAL_SECONDS": f"{self.poll_interval:g}",
            "POLL_MAX_INTERVAL_SECONDS": "30",
            "PROGRESS_EDIT_INTERVAL_SECONDS": f"{self.edit_interval:g}",
            "TOKEN_HANDOFF_AFTER_SECONDS": "840",
            "JOB_DEADLINE_SECONDS": "1800",
            "LOG_LEVEL": "INFO",
        }


class VariedRenderAceData(FakeAceData):
    """Render times spread around the mean, as real ones are: with one fixed time that happens to be a
    multiple of the poll interval, every result would be seen the instant it is ready, by luck."""

    def __init__(self, *, spread: float, seed: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spread = spread
        self._random = random.Random(seed)

    def _create_task(self, recorded: RecordedRequest) -> web.Response:
        response = super()._create_task(recorded)
        if response.status == 200 and self.render_seconds is not None:
            task = next(reversed(self.tasks.values()))
            task.render_seconds = self.render_seconds * self._random.uniform(1 - self.spread, 1 + self.spread)
        return response


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
        self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
        self.cpu_seconds = self._cpu() - self._cpu_start

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


async def inject(
    discord: FakeDiscord, members: Sequence[FakeUser], rate: float
) -> list[tuple[float, SentInteraction]]:
    """Send one /video per member at a steady rate; the wall-clock time just before each."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = []
    for index, member in enumerate(members):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        at = time.time()
        sent.append(
            (at, await discord.send_slash_command("video", {"prompt": prompt_for(index)}, user=member))
        )
    return sent


async def wait_for_deliveries(
    discord: FakeDiscord, sent: Sequence[SentInteraction], *, since: int, deadline: float, bot: BotHarness
) -> int:
    """Until every job's message got its video file (or the deadline). How many did."""
    by_token = {s.token for s in sent}
    delivered: set[str] = set()
    position = since
    while time.monotonic() < deadline:
        new, position = discord.calls[position:], len(discord.calls)
        by_message = {str(s.state.original_message_id): s.token for s in sent}
        for call in new:
            if call.method != "PATCH" or not call.files or call.status != 200:
                continue
            parts = call.path.split("/")
            key = parts[3] if parts[3] in by_token else by_message.get(parts[-1])
            if key is not None:
                delivered.add(key)
        if len(delivered) == len(sent):
            break
        if bot.process is not None and bot.process.returncode is not None:
            raise RuntimeError(f"the bot exited ({bot.process.returncode}):\n{bot.process.tail()}")
        print(f"  {len(delivered)}/{len(sent)} delivered so far", file=sys.stderr, flush=True)
        await asyncio.sleep(2.0)
    return len(delivered)


async def run_once(jobs: int, settings: BenchSettings, workdir: Path) -> Summary:
    async with (
        FakeDiscord() as discord,
        VariedRenderAceData(
            spread=settings.render_spread,
            seed=jobs,
            render_seconds=settings.render_seconds,
            video_bytes=settings.video_bytes,
        ) as acedata,
    ):
        harness = BotHarness(workdir, discord=discord, acedata=acedata, env=settings.bot_env())
        await allow_every_job_at_once(harness.database_path, discord.guild.id)
        try:
            process = await harness.start(timeout=60)
            assert process.pid is not None
            members = [discord.add_member(discord.guild, f"bench-member-{i}") for i in range(jobs)]
            sampler = ResourceSampler(process.pid)
            sampler.start()
            mark = discord.mark()
            began = time.monotonic()
            print(f"{jobs} jobs: sending at {settings.rate:g}/s", file=sys.stderr, flush=True)
            sent = await inject(discord, members, settings.rate)
            deadline = time.monotonic() + settings.render_seconds + settings.margin_seconds
            await wait_for_deliveries(
                discord, [s for _, s in sent], since=mark, deadline=deadline, bot=harness
            )
            wall = time.monotonic() - began
            await sampler.stop()
        finally:
            await harness.stop()
        injected = [
            Injected(index, s.token, at, s.state.original_message_id) for index, (at, s) in enumerate(sent)
        ]
        calls = discord.calls[mark:]
        traces = build_traces(injected, calls, acedata.tasks.values())
        return summarize(
            traces,
            calls,
            acedata.requests,
            cpu_seconds=sampler.cpu_seconds,
            idle_rss=sampler.idle_rss,
            peak_rss=sampler.peak_rss,
            wall_seconds=wall,
        )


def _command(args: argparse.Namespace) -> str:
    parts = ["python", "-m", "bench.run", "--jobs", *map(str, args.jobs)]
    if args.section != "results":
        parts += ["--section", args.section]
    defaults = BenchSettings()
    for option, value, default in (
        ("--render-seconds", args.render_seconds, defaults.render_seconds),
        ("--render-spread", args.render_spread, defaults.render_spread),
        ("--rate", args.rate, defaults.rate),
        ("--poll-interval", args.poll_interval, defaults.poll_interval),
        ("--edit-interval", args.edit_interval, defaults.edit_interval),
        ("--video-bytes", args.video_bytes, defaults.video_bytes),
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
    env = BenchSettings(poll_interval=args.poll_interval, edit_interval=args.edit_interval).bot_env()
    settings = {
        "render": f"{args.render_seconds:g}s ± {args.render_spread:.0%}",
        "rate": f"{args.rate:g}/s",
        "video_bytes": str(args.video_bytes),
    } | {k: v for k, v in env.items() if k != "LOG_LEVEL"}
    table = results_section(_command(args), settings, summaries)
    print(table)
    if not args.no_write:
        write_results(args.output, table, section=args.section)
        print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0 if all(s.delivered == s.jobs for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())

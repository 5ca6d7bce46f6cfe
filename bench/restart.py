"""A restart with many running jobs: how fast, and how gently, the bot refreshes their messages.

    python -m bench.restart --jobs 1000 --channels 50

The real bot (`python -m bot`, started by the e2e harness with bench/run.py's production-like
settings) runs against the rate-limited fake Discord and the fake AceData on 127.0.0.1. `--jobs`
`/video` jobs are sent at `--rate` per second, spread over `--channels` channels of one server, each
from its own member; their renders never end during the run. Once every job has its paid create and
has shown "Rendering", the bot is killed with SIGKILL and started again on the same database, as a
crash or a redeploy would. The new process has no interaction tokens (they lived in the old one's
memory), so every job's message is now edited through the channel routes on the bot token, where
Discord's global limit (50 requests per second) and the per-channel buckets apply.

Measured from what the fake Discord recorded after the kill: bot-token requests and message edits
in the busiest 1-second window (against Discord's global 50/s), edits within 0.65 s of READY (the
burst issue 16 reported: 1,000), 429 answers, and the time from READY until every job's message was
refreshed (its first successful edit by the new process). Peak RSS of the new process is sampled too.
The database holds no render history (a fresh install), so the new process polls every job at once
and is ready to edit them all right away: the largest burst it could make.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import CHANNEL_MESSAGE, WEBHOOK_MESSAGE, most_within, percentile
from bench.report import current_commit, reproduce, write_results
from bench.run import DEFAULT_OUTPUT, BenchSettings, ResourceSampler, allow_every_job_at_once, inject
from tests.e2e.fake_discord import FakeDiscord, GatewaySession, RateLimits, RestCall, SentInteraction
from tests.e2e.harness import BotHarness
from tests.fakes.acedata import FakeAceData

#: What issue 16 measured before the send queue: 1,000 edits within this long of READY.
BURST_SECONDS = 0.65
DISCORD_GLOBAL_PER_SECOND = 50


class ReadyClockDiscord(FakeDiscord):
    """The fake Discord, noting when it sent each READY (wall clock, like `RestCall.at`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ready_at: list[float] = []

    async def dispatch(
        self, event: str, data: Mapping[str, Any], *, session: GatewaySession | None = None
    ) -> None:
        if event == "READY":
            self.ready_at.append(time.time())
        await super().dispatch(event, data, session=session)


@dataclass(frozen=True, slots=True)
class RestartResult:
    jobs: int
    channels: int
    load_before: tuple[float, float, float]
    load_at_restart: tuple[float, float, float]
    load_after: tuple[float, float, float]
    start_to_ready_s: float
    bot_token_requests_max_1s: int
    edits_max_1s: int
    edits_within_burst: int
    edits_first_10s: int
    rate_limited: int  # 429s after the restart
    rate_limited_whole_run: int
    refreshed: int
    refreshed_p50_s: float | None  # READY -> a job's first edit by the new process
    refreshed_p99_s: float | None
    all_refreshed_s: float | None  # READY -> the last job's first edit (None: not every one)
    edits_before_ready: int
    peak_rss_mb: float
    idle_rss_mb: float


def uses_bot_token(call: RestCall) -> bool:
    """Interaction callbacks and webhooks carry their own token, outside the global limit."""
    return not call.route.startswith(("/interactions/", "/webhooks/"))


def is_message_edit(call: RestCall) -> bool:
    return call.method == "PATCH" and call.route in (CHANNEL_MESSAGE, WEBHOOK_MESSAGE) and call.status == 200


def first_refresh(calls: Sequence[RestCall], sent: Sequence[SentInteraction]) -> dict[str, float]:
    """For each job (by interaction token), when its message got its first successful edit."""
    tokens = {s.token for s in sent}
    by_message = {str(s.state.original_message_id): s.token for s in sent}
    first: dict[str, float] = {}
    for call in calls:
        if not is_message_edit(call):
            continue
        parts = call.path.split("/")
        key = parts[3] if len(parts) > 3 and parts[3] in tokens else by_message.get(parts[-1])
        if key is not None and key not in first:
            first[key] = call.at
    return first


async def _wait_until(probe: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def run(
    jobs: int, channels: int, *, rate: float, settle: float, watch: float, workdir: Path
) -> RestartResult:
    settings = BenchSettings(history=0, baseline=False)
    load_before = os.getloadavg()
    async with (
        ReadyClockDiscord(rate_limits=RateLimits()) as discord,
        FakeAceData(render_seconds=None, video_bytes=settings.video_bytes) as acedata,
    ):
        guild = discord.guild
        places = [guild.text_channel] + [
            discord.add_channel(guild, f"bench-{i}") for i in range(channels - 1)
        ]
        harness = BotHarness(workdir, discord=discord, acedata=acedata, env=settings.bot_env())
        await allow_every_job_at_once(harness.database_path, guild.id)
        members = [discord.add_member(guild, f"restart-member-{i}") for i in range(jobs)]
        sampler: ResourceSampler | None = None
        try:
            await harness.start(timeout=60)
            print(f"{jobs} jobs in {channels} channels: sending at {rate:g}/s", file=sys.stderr, flush=True)
            sent = [s for _, s in await inject(discord, members, rate, channels=places)]
            await _wait_until(lambda: acedata.created_tasks >= jobs, 120 + jobs / rate, "every paid create")
            await asyncio.sleep(settle)  # every job shows "Rendering" through its interaction token
            load_at_restart = os.getloadavg()
            print("  killing and restarting the bot", file=sys.stderr, flush=True)
            assert harness.process is not None
            await harness.kill()
            mark = discord.mark()  # from here on, only the new process talks to Discord
            started = time.time()
            process = await harness.start(expect_sync=False, timeout=120)
            assert process.pid is not None
            sampler = ResourceSampler(process.pid)
            sampler.start()
            ready = discord.ready_at[-1]
            deadline = time.monotonic() + watch
            while time.monotonic() < deadline:
                done = len(first_refresh(discord.calls[mark:], sent))
                if done >= jobs:
                    break
                print(f"  {done}/{jobs} messages refreshed", file=sys.stderr, flush=True)
                await asyncio.sleep(2.0)
            await asyncio.sleep(5.0)  # what comes right after the last refresh counts too
            await sampler.stop()
        finally:
            await harness.stop()
        after = discord.calls[mark:]
        refreshed = first_refresh(after, sent)
        lags = sorted(at - ready for at in refreshed.values())
        bot_token = [c.at for c in after if uses_bot_token(c)]
        edits = [c.at for c in after if is_message_edit(c)]
        return RestartResult(
            jobs=jobs,
            channels=channels,
            load_before=load_before,
            load_at_restart=load_at_restart,
            load_after=os.getloadavg(),
            start_to_ready_s=ready - started,
            bot_token_requests_max_1s=most_within(bot_token, 1.0),
            edits_max_1s=most_within(edits, 1.0),
            edits_within_burst=sum(1 for at in edits if ready <= at <= ready + BURST_SECONDS),
            edits_first_10s=sum(1 for at in edits if ready <= at <= ready + 10.0),
            rate_limited=sum(1 for c in after if c.status == 429),
            rate_limited_whole_run=sum(1 for c in discord.calls if c.status == 429),
            refreshed=len(refreshed),
            refreshed_p50_s=percentile(lags, 0.5),
            refreshed_p99_s=percentile(lags, 0.99),
            all_refreshed_s=lags[-1] if len(refreshed) == jobs and lags else None,
            edits_before_ready=sum(1 for at in edits if at < ready),
            peak_rss_mb=sampler.peak_rss / 2**20,
            idle_rss_mb=sampler.idle_rss / 2**20,
        )


def _load(value: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in value)


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def table(result: RestartResult, command: str) -> str:
    r = result
    rows = [
        ("Machine load (`uptime` 1/5/15 min) at start", "", _load(r.load_before)),
        ("Machine load at the restart", "", _load(r.load_at_restart)),
        ("Machine load at end", "", _load(r.load_after)),
        ("Running jobs at the restart (SIGKILL, then start)", "", f"{r.jobs:,} in {r.channels} channels"),
        ("New process started → READY", "", _s(r.start_to_ready_s)),
        (
            "Bot-token requests in the busiest 1 s after the restart",
            f"≤ {DISCORD_GLOBAL_PER_SECOND} (Discord's global limit)",
            f"{r.bot_token_requests_max_1s}",
        ),
        ("Message edits in the busiest 1 s", f"≤ {DISCORD_GLOBAL_PER_SECOND}", f"{r.edits_max_1s}"),
        (
            f"Message edits within {BURST_SECONDS} s of READY",
            "no burst (was 1,000)",
            f"{r.edits_within_burst}",
        ),
        ("Message edits within 10 s of READY", "", f"{r.edits_first_10s}"),
        ("Message edits before READY (REST needs no gateway)", "", f"{r.edits_before_ready}"),
        ("Discord 429 answers after the restart", "0", f"{r.rate_limited}"),
        ("Discord 429 answers, whole run", "0", f"{r.rate_limited_whole_run}"),
        ("Jobs whose message the new process refreshed", "all", f"{r.refreshed:,} / {r.jobs:,}"),
        ("READY → a job's message refreshed, p50", "", _s(r.refreshed_p50_s)),
        ("READY → a job's message refreshed, p99", "", _s(r.refreshed_p99_s)),
        ("READY → every job's message refreshed", "", _s(r.all_refreshed_s)),
        ("New process: RSS after READY / peak", "", f"{r.idle_rss_mb:.0f} MB / {r.peak_rss_mb:.0f} MB"),
    ]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f" at commit `{current_commit(dirty=' + uncommitted changes') or 'unknown'}` on {os.cpu_count()}"
        " CPUs shared with other work (the bot, both fakes and the driver on the same CPUs).",
        "",
        *reproduce(command),
        "| Measure | Goal | Value |",
        "|---|---|---:|",
        *(f"| {label} | {goal} | {value} |" for label, goal, value in rows),
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50, help="the jobs are spread over this many")
    parser.add_argument("--rate", type=float, default=50.0, help="/video interactions per second")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds between the last create and the kill"
    )
    parser.add_argument("--watch", type=float, default=600.0, help="at most this long after the restart")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kling-restart-") as workdir:
        result = asyncio.run(
            run(
                args.jobs,
                args.channels,
                rate=args.rate,
                settle=args.settle,
                watch=args.watch,
                workdir=Path(workdir),
            )
        )
    command = f"python -m bench.restart --jobs {args.jobs} --channels {args.channels}"
    body = table(result, command)
    print(body)
    if not args.no_write:
        write_results(args.output, body, section="restart", title="A restart with 1,000 running jobs")
    return 0 if result.refreshed == result.jobs and result.rate_limited == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

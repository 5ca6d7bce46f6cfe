"""Two bot processes on one PostgreSQL, one killed with SIGKILL mid-run: how long until its jobs are
taken over, and proof of zero duplicate creates and zero double deliveries.

    python -m bench.takeover --jobs 100

Both processes (shards 0 and 1 of 2) run against the fake Discord and the fake AceData, with the
production poll settings (5 s, up to 30 s). `--jobs` members of the server served by the first
process each start a `/video`; the fake renders them until every job is running, then the first
process is killed with SIGKILL and every task is finished at once. Measured:

- taken over: from the kill until the survivor owns every one of the dead process's jobs (each job's
  ownership epoch, `lease_epoch`, bumped by its new owner; read from the database every 50 ms);
- first query: from the kill to the first task query the survivor sends for them;
- kill -> delivered p50/p99/max: from the kill to each job's uploaded result;
- paid creates (must equal the jobs) and uploads per job (must be exactly 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg

from bench.report import write_results
from bot.quota.models import GuildLimits
from bot.storage.postgres import PostgresStore
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.fakes.acedata import FakeAceData
from tests.postgres_cluster import PostgresCluster, find_server_bin

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def shard_of(guild_id: int, count: int = 2) -> int:
    return (guild_id >> 22) % count


async def run(jobs: int, poll: float, poll_max: float) -> dict[str, float]:
    bin_dir = find_server_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql)")
    cluster = PostgresCluster.start(bin_dir)
    try:
        with cluster.fresh_database() as url, tempfile.TemporaryDirectory() as folder:
            async with FakeDiscord() as discord, FakeAceData(render_seconds=None) as acedata:
                store = await PostgresStore.open(url)
                await store.set_limits(
                    discord.guild.id, GuildLimits(member_concurrent=None, guild_concurrent=None)
                )
                await store.close()
                processes = []
                for shard in (0, 1):
                    workdir = Path(folder) / f"p{shard}"
                    workdir.mkdir()
                    env = {
                        "DATABASE_URL": url,
                        "SHARD_COUNT": "2",
                        "SHARD_IDS": str(shard),
                        "DEV_GUILD_ID": "",
                        "POLL_INTERVAL_SECONDS": str(poll),
                        "POLL_MAX_INTERVAL_SECONDS": str(poll_max),
                        "PROGRESS_EDIT_INTERVAL_SECONDS": "10",
                        "JOB_DEADLINE_SECONDS": "1800",
                        "TOKEN_HANDOFF_AFTER_SECONDS": "840",
                    }
                    processes.append(BotHarness(workdir, discord=discord, acedata=acedata, env=env))
                try:
                    for harness in processes:
                        await harness.start(timeout=60)
                    victim = processes[shard_of(discord.guild.id)]
                    members = [discord.add_member(discord.guild, f"m{i}") for i in range(jobs)]
                    sent = []
                    for member in members:
                        sent.append(
                            await discord.send_slash_command("video", {"prompt": "a fox"}, user=member)
                        )
                        await asyncio.sleep(0.02)
                    while acedata.created_tasks < jobs:  # noqa: ASYNC110 (the fake has no event for it)
                        await asyncio.sleep(0.1)
                    await asyncio.sleep(poll)  # every job running and polled at least once
                    queries_before = len(acedata.requests_to("/kling/tasks"))
                    watch = await psycopg.AsyncConnection.connect(url, autocommit=True)
                    epochs = dict(await (await watch.execute("SELECT id, lease_epoch FROM jobs")).fetchall())
                    load_before = os.getloadavg()
                    killed_at = time.time()
                    killed_mono = time.monotonic()
                    await victim.kill()
                    for task_id in list(acedata.tasks):
                        acedata.finish(task_id)
                    print(f"killed the process holding {jobs} running jobs", file=sys.stderr, flush=True)
                    first_query = None
                    taken_over = None
                    delivered: dict[int, float] = {}
                    deadline = time.monotonic() + poll_max + 120
                    while len(delivered) < jobs and time.monotonic() < deadline:
                        if first_query is None and len(acedata.requests_to("/kling/tasks")) > queries_before:
                            first_query = time.monotonic() - killed_mono
                        if taken_over is None:
                            rows = await (await watch.execute("SELECT id, lease_epoch FROM jobs")).fetchall()
                            if all(epoch > epochs.get(job_id, 0) for job_id, epoch in rows):
                                taken_over = time.monotonic() - killed_mono
                        for call in discord.calls:
                            if call.files and call.status == 200 and call.index not in delivered:
                                delivered[call.index] = time.time() - killed_at
                        await asyncio.sleep(0.05)
                    await asyncio.sleep(2.0)  # room for duplicates
                    uploads = sum(1 for call in discord.calls if call.files and call.status == 200)
                    lags = sorted(delivered.values())
                    await watch.close()
                    load_after = os.getloadavg()
                finally:
                    for harness in processes:
                        await harness.stop()
                return {
                    "jobs": jobs,
                    "takeover_s": taken_over if taken_over is not None else float("nan"),
                    "first_query_s": first_query if first_query is not None else float("nan"),
                    "load_before": load_before[0],
                    "load_after": load_after[0],
                    "delivered": len(lags),
                    "lag_p50": statistics.median(lags) if lags else float("nan"),
                    "lag_p99": lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))]
                    if lags
                    else float("nan"),
                    "lag_max": lags[-1] if lags else float("nan"),
                    "creates": len(acedata.requests_to("/kling/videos")),
                    "uploads": uploads,
                    "sent": len(sent),
                }
    finally:
        cluster.stop()


def table(result: dict[str, float], poll: float, poll_max: float) -> str:
    jobs = int(result["jobs"])
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: two processes "
            f"(shards 0 and 1 of 2) on one PostgreSQL, polls every {poll:g} s up to {poll_max:g} s; "
            "the process holding all "
            f"{jobs} running jobs is killed with SIGKILL, then every task finishes.",
            "",
            "Reproduce with:",
            "",
            "```sh",
            f"python -m bench.takeover --jobs {jobs} --poll-interval {poll:g} "
            f"--poll-max-interval {poll_max:g}",
            "```",
            "",
            f"Load average (1 min, `uptime`) on the 2-CPU machine: {result['load_before']:.2f} at the kill, "
            f"{result['load_after']:.2f} at the end.",
            "",
            "| Measure | Goal | Value |",
            "|---|---|---|",
            "| Kill → every job of the dead process taken over by the survivor "
            "| ≤ 10 s (docs/scaling.md: keepalives 9 s + lease watch 1 s) "
            f"| {result['takeover_s']:.1f} s |",
            "| Kill → survivor's first task query for the dead process's jobs "
            f"| ≤ {10 + poll:g} s (take-over + one poll interval) "
            f"| {result['first_query_s']:.1f} s |",
            f"| Kill → result delivered, p50 | | {result['lag_p50']:.1f} s |",
            f"| Kill → result delivered, p99 | | {result['lag_p99']:.1f} s |",
            f"| Kill → result delivered, max | | {result['lag_max']:.1f} s |",
            f"| Jobs delivered | all | {int(result['delivered'])} / {jobs} |",
            f"| Paid creates | {jobs} (no duplicate) | {int(result['creates'])} |",
            f"| Uploaded results | {jobs} (no double delivery) | {int(result['uploads'])} |",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.takeover", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--poll-max-interval", type=float, default=30.0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.jobs, args.poll_interval, args.poll_max_interval))
    body = table(result, args.poll_interval, args.poll_max_interval)
    print(body)
    if not args.no_write:
        write_results(args.output, body, section="takeover", title="Two processes on PostgreSQL, one killed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Two bot configurations measured side by side: both runs at the same time, each with its own bot
process, fake Discord and fake AceData, so both see the same machine load.

    python -m bench.side_by_side callbacks --jobs 100
    python -m bench.side_by_side cold-start --jobs 100 --render-seconds 300

- `callbacks`: polling only, against polling plus AceData's task callbacks (`CALLBACK_PUBLIC_URL`;
  the fake AceData calls back the moment a task ends).
- `cold-start`: a server with 20 delivered jobs of the kind (the poller knows how long they take),
  against a fresh install without any render history. The per-task polling client runs beside each.

The table goes between the `bench:<comparison>` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bench.measure import Summary
from bench.report import ROWS, results_section, write_results
from bench.run import DEFAULT_OUTPUT, BenchSettings, run_once

COMPARISONS = ("callbacks", "cold-start")


def variants(comparison: str, base: BenchSettings) -> list[tuple[str, BenchSettings]]:
    if comparison == "callbacks":
        polling = replace(base, callbacks=False, baseline=False)
        return [("polling only", polling), ("polling + callbacks", replace(polling, callbacks=True))]
    if comparison == "cold-start":
        return [
            (f"{base.history or 20} past jobs", replace(base, history=base.history or 20)),
            ("no history (fresh install)", replace(base, history=0)),
        ]
    raise ValueError(comparison)


def table(labels: Sequence[str], summaries: Sequence[Summary]) -> str:
    header = (
        "| Metric | Goal | "
        + " | ".join(f"{label}, {s.jobs} jobs" for label, s in zip(labels, summaries, strict=True))
        + " |"
    )
    lines = [header, "|---|---|" + "---:|" * len(summaries)]
    lines += [
        f"| {row.label} | {row.goal} | " + " | ".join(row.value(s) for s in summaries) + " |" for row in ROWS
    ]
    return "\n".join(lines)


async def run_side_by_side(jobs: int, runs: Sequence[tuple[str, BenchSettings]]) -> list[Summary]:
    with tempfile.TemporaryDirectory(prefix="kling-bench-pair-") as workdir:
        folders = [Path(workdir) / str(index) for index in range(len(runs))]
        for folder in folders:
            folder.mkdir()
        return list(
            await asyncio.gather(
                *(
                    run_once(jobs, settings, folder)
                    for (_, settings), folder in zip(runs, folders, strict=True)
                )
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.side_by_side", description=__doc__.splitlines()[0])
    parser.add_argument("comparison", choices=COMPARISONS)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--render-seconds", type=float, default=60.0)
    parser.add_argument("--render-spread", type=float, default=0.1)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    base = BenchSettings(render_seconds=args.render_seconds, render_spread=args.render_spread)
    runs = variants(args.comparison, base)
    summaries = asyncio.run(run_side_by_side(args.jobs, runs))
    command = ["python", "-m", "bench.side_by_side", args.comparison, "--jobs", str(args.jobs)]
    if args.render_seconds != 60.0:
        command += ["--render-seconds", f"{args.render_seconds:g}"]
    if args.render_spread != 0.1:
        command += ["--render-spread", f"{args.render_spread:g}"]
    env = base.bot_env()
    settings = {
        "render": f"{args.render_seconds:g}s ± {args.render_spread:.0%}",
        "rate": f"{base.rate:g}/s",
        "video_bytes": str(base.video_bytes),
        "discord": "global and per-channel buckets, one per route",
    } | {k: v for k, v in env.items() if k != "LOG_LEVEL"}
    section = results_section(shlex.join(command), settings, summaries)
    section = section.replace(
        section[section.index("| Metric") :], table([label for label, _ in runs], summaries)
    )
    print(section)
    if not args.no_write:
        write_results(args.output, section, section=args.comparison)
        print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0 if all(s.delivered == s.jobs for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())

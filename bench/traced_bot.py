"""The bot with `tracemalloc` on, to see what holds its memory under a benchmark's load.

    python -m bench.run --jobs 1000 --no-baseline --no-write --trace-memory /tmp/heap
    python -m bench.traced_bot /tmp/heap          # what grew between the first and the largest snapshot

`bench.run --trace-memory DIR` starts the bot as `python -m bench.traced_bot` instead of
`python -m bot`: tracemalloc records every Python allocation with `TRACED_BOT_FRAMES` frames, and each
SIGUSR1 the benchmark sends writes a snapshot to `DIR/heap-<n>-<rss MB>.snapshot`. Only the bot
process is traced (the fakes and the driver run in the benchmark's own process). tracemalloc sees
what Python allocates, not SQLite's page cache or the allocator's free lists, so the report also
gives the process's RSS beside the traced total. Tracing slows the bot down: it is for finding what
holds memory, not for timing.
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import sys
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

SNAPSHOT_DIR = "TRACED_BOT_SNAPSHOT_DIR"
FRAMES = "TRACED_BOT_FRAMES"


def _rss_mb() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def _run_bot() -> None:
    folder = Path(os.environ[SNAPSHOT_DIR])
    folder.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(int(os.environ.get(FRAMES, "6")))
    taken = 0

    def snapshot(signum: int, frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        tracemalloc.take_snapshot().dump(str(folder / f"heap-{taken:03d}-{_rss_mb()}.snapshot"))

    signal.signal(signal.SIGUSR1, snapshot)
    sys.argv = ["bot"]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


def _rss_of(path: Path) -> int:
    return int(path.stem.split("-")[2])


def report(folder: Path, *, top: int = 25, group: str = "traceback") -> str:
    """What grew from the first snapshot (the bot just started) to the one taken at the largest RSS."""
    paths = sorted(folder.glob("heap-*.snapshot"))
    if len(paths) < 2:
        return "fewer than two snapshots"
    first, largest = paths[0], max(paths, key=_rss_of)
    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    ]
    before = tracemalloc.Snapshot.load(str(first)).filter_traces(filters)
    after = tracemalloc.Snapshot.load(str(largest)).filter_traces(filters)
    total_before = sum(s.size for s in before.statistics("filename"))
    total_after = sum(s.size for s in after.statistics("filename"))
    lines = [
        f"{first.name}: RSS {_rss_of(first)} MB, traced {total_before / 2**20:.1f} MB",
        f"{largest.name}: RSS {_rss_of(largest)} MB, traced {total_after / 2**20:.1f} MB",
        f"grew: RSS {_rss_of(largest) - _rss_of(first)} MB,"
        f" traced {(total_after - total_before) / 2**20:.1f} MB",
        "",
        f"largest growth by {group}:",
    ]
    for stat in after.compare_to(before, group)[:top]:
        lines.append(f"{stat.size_diff / 2**20:+8.2f} MB {stat.count_diff:+8d} blocks")
        frames = stat.traceback.format(limit=6 if group == "traceback" else 1, most_recent_first=True)
        lines += [f"    {line.strip()}" for line in frames if line.strip()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.traced_bot", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where bench.run --trace-memory wrote the snapshots")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--group", choices=("traceback", "lineno", "filename"), default="traceback")
    args = parser.parse_args(argv)
    print(report(args.folder, top=args.top, group=args.group))
    return 0


if __name__ == "__main__":
    if SNAPSHOT_DIR in os.environ and len(sys.argv) == 1:
        _run_bot()
    else:
        raise SystemExit(main())

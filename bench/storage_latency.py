"""Admission, `/quota`, `/usage`, `/history` and the `/extend` list against a big history, on SQLite and
PostgreSQL, before and after a change, side by side in one run.

    python -m bench.storage_latency --rows 500000 --baseline c50fe87   # before (that commit) vs now
    python -m bench.storage_latency --rows 500000 --no-write           # this tree only, print only

Each side is a worker process (bench/latency_worker.py) running one source tree's `bot` package: this
checkout ("after") and, with `--baseline REF`, that commit exported by `git archive` ("before"). Both
fill their own database with the same rows (same seed): `--rows` jobs over 90 days, a tenth of them in
the measured server (so `--rows 500000` gives it 50,000 past jobs, made by `--busy-members` members),
the rest spread over 199 servers and 20,000 members, in mixed states; SQLite through the tree's own
migrations and triggers, PostgreSQL by COPY. The calls are then timed in `--rounds` rounds, and in
each round every call runs `repeat / rounds` times on one side then the other (the order alternating),
so both sides see the same machine load.

Reported per call: wall-clock p50 / p99; the process CPU time per call (p50); and for SQLite the
virtual-machine instructions the call executed (thousands, p50), which does not depend on the load.
The machine's load average is recorded before and after. PostgreSQL runs on a throw-away cluster
(tests/postgres_cluster.py) with fsync and synchronous_commit off, as SQLite's files live in a
temporary folder: the numbers compare plans and round trips, not disks.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.report import write_results
from tests.postgres_cluster import PostgresCluster, find_server_bin

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "bench" / "latency_worker.py"
DEFAULT_OUTPUT = ROOT / "BENCHMARKS.md"
CALLS = (
    "admission",
    "/quota",
    "/usage (30 days)",
    "/usage chart (30 days)",
    "/history own (count + page)",
    "/history everyone (count + page 1)",
    "/history everyone, next page (deep)",
    "/extend list",
)


@dataclass
class Samples:
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    vm_steps: list[float] = field(default_factory=list)

    def add(self, result: dict[str, list[float]]) -> None:
        self.wall_ms += result["wall_ms"]
        self.cpu_ms += result["cpu_ms"]
        self.vm_steps += result["vm_steps"]


def p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


class Worker:
    """One side's worker process; `measure` sends a command and waits for its answer."""

    def __init__(self, tree: Path, backend: str, database: str, args: argparse.Namespace) -> None:
        command = [
            sys.executable,
            str(WORKER),
            f"--backend={backend}",
            f"--database={database}",
            f"--rows={args.rows}",
            f"--busy-members={args.busy_members}",
            f"--seed={args.seed}",
        ]
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self.process = subprocess.Popen(
            command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def _stdin(self) -> IO[str]:
        assert self.process.stdin is not None
        return self.process.stdin

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker stopped (exit {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def measure(self, call: str, repeat: int) -> dict[str, list[float]]:
        self._stdin().write(f"measure {call} {repeat}\n")
        self._stdin().flush()
        return self.read()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._stdin().write("quit\n")
            self._stdin().flush()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextlib.contextmanager
def exported(ref: str) -> Iterator[Path]:
    """The `bot` package of commit `ref` in a temporary folder (git archive: no worktree, no checkout)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "bot"], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def run_backend(
    backend: str, sides: dict[str, Path], databases: dict[str, str], args: argparse.Namespace
) -> dict[str, dict[str, Samples]]:
    workers = {side: Worker(tree, backend, databases[side], args) for side, tree in sides.items()}
    try:
        for side, worker in workers.items():
            print(f"  {backend} {side}: filled, {worker.read()}", flush=True)
        results = {side: {call: Samples() for call in CALLS} for side in sides}
        per_round = max(1, args.repeat // args.rounds)
        order = list(sides)
        for round_ in range(args.rounds):
            for call in CALLS:
                for side in order if round_ % 2 == 0 else reversed(order):
                    results[side][call].add(workers[side].measure(call, per_round))
        return results
    finally:
        for worker in workers.values():
            worker.close()


def measure(args: argparse.Namespace) -> tuple[dict[str, dict[str, dict[str, Samples]]], str, str]:
    started_load = load()
    backends: dict[str, dict[str, dict[str, Samples]]] = {}
    with contextlib.ExitStack() as stack:
        sides = {"after": ROOT}
        if args.baseline:
            sides = {"before": stack.enter_context(exported(args.baseline)), **sides}
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-latency-")))
        if "sqlite" in args.backends:
            files = {side: str(folder / f"{side}.sqlite3") for side in sides}
            backends["SQLite"] = run_backend("sqlite", sides, files, args)
        bin_dir = find_server_bin()
        if "postgresql" in args.backends and bin_dir is None:
            print("PostgreSQL server binaries not found: PostgreSQL skipped")
        elif "postgresql" in args.backends:
            assert bin_dir is not None
            cluster = PostgresCluster.start(bin_dir)
            stack.callback(cluster.stop)
            urls = {side: stack.enter_context(cluster.fresh_database()) for side in sides}
            backends["PostgreSQL"] = run_backend("postgresql", sides, urls, args)
    return backends, started_load, load()


def _cell(samples: Samples, kind: str) -> str:
    if kind == "wall":
        return f"{statistics.median(samples.wall_ms):.2f} / {p99(samples.wall_ms):.2f}"
    if kind == "cpu":
        return f"{statistics.median(samples.cpu_ms):.2f}"
    return f"{statistics.median(samples.vm_steps):,.1f}"


def table(
    results: dict[str, dict[str, dict[str, Samples]]], args: argparse.Namespace, loads: tuple[str, str]
) -> str:
    sides = list(next(iter(results.values())))
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    baseline = f" against `{args.baseline}` (before)" if args.baseline else ""
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at `{commit}` (after){baseline}, "
        f"{args.rows:,} job rows ({args.rows // 10:,} in the measured server, "
        f"{args.busy_members:,} members), {args.rounds} interleaved rounds, {args.repeat} calls per side "
        f"and call. Load average (1 / 5 / 15 min) {loads[0]} at the start, {loads[1]} at the end, "
        f"on {os.cpu_count()} CPUs.",
        "",
        "```sh",
        f"python -m bench.storage_latency --rows {args.rows} --busy-members {args.busy_members} "
        f"--repeat {args.repeat} --rounds {args.rounds} --seed {args.seed}"
        + (f" --baseline {args.baseline}" if args.baseline else ""),
        "```",
        "",
    ]
    header = ["Call", "Backend"]
    header += [f"{side}: ms p50 / p99" for side in sides]
    header += [f"{side}: CPU ms p50" for side in sides]
    header += [f"{side}: SQLite VM steps (k) p50" for side in sides]
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for call in CALLS:
        for backend, by_side in results.items():
            cells = [call, backend]
            cells += [_cell(by_side[side][call], "wall") for side in sides]
            cells += [_cell(by_side[side][call], "cpu") for side in sides]
            cells += [_cell(by_side[side][call], "vm") if backend == "SQLite" else "–" for side in sides]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.storage_latency", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--busy-members", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", default=None, help="a commit to measure side by side as 'before'")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    args.backends = set(args.backends.split(","))
    results, first, last = measure(args)
    body = table(results, args, (first, last))
    print(body)
    if not args.no_write:
        write_results(
            args.output, body, section="storage-latency", title="Storage latency: SQLite and PostgreSQL"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The Markdown table of a benchmark run, written between markers in BENCHMARKS.md.

Only the part between the markers is replaced, so the analysis written around it survives a re-run.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Summary

_HEADER = "# Benchmarks\n"


def markers(section: str) -> tuple[str, str]:
    return f"<!-- bench:{section}:start -->", f"<!-- bench:{section}:end -->"


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    goal: str
    value: Callable[[Summary], str]


def _number(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def _load(value: tuple[float, float, float] | None) -> str:
    return "–" if value is None else " / ".join(f"{x:.2f}" for x in value)


def _field(name: str, digits: int = 0, suffix: str = "") -> Callable[[Summary], str]:
    return lambda s: _number(getattr(s, name), digits, suffix)


ROWS: Sequence[Row] = (
    Row("Machine load (`uptime` 1/5/15 min) at start", "", lambda s: _load(s.load_before)),
    Row("Machine load at end", "", lambda s: _load(s.load_after)),
    Row("Jobs delivered", "all", lambda s: f"{s.delivered} / {s.jobs}"),
    Row(
        "Not delivered: never started / still rendering / finished",
        "0",
        lambda s: f"{s.never_started} / {s.still_rendering} / {s.finished_not_delivered}",
    ),
    Row("/video sent → paid create, p50", "", _field("start_lag_p50", 2, " s")),
    Row("/video sent → paid create, p99", "", _field("start_lag_p99", 2, " s")),
    Row("Acknowledgement p50", "", _field("ack_p50_ms", 1, " ms")),
    Row("Acknowledgement p99", "< 250 ms at 1000", _field("ack_p99_ms", 1, " ms")),
    Row("Acknowledgement p99, last 10 % sent", "", _field("ack_p99_last_tenth_ms", 1, " ms")),
    Row("Acknowledgement max", "< 3 s (Discord)", _field("ack_max_ms", 1, " ms")),
    Row("Interactions not acknowledged in time", "0", lambda s: str(s.late_acks)),
    Row("Render time (fake AceData)", "", _field("render_seconds", 1, " s")),
    Row("AceData requests per job (create + queries)", "", _field("acedata_per_job", 2)),
    Row("Per-task client (run side by side): requests per task", "", _field("baseline_per_job", 2)),
    Row("Fewer AceData requests than the per-task client", "≥ 50× at 100", _field("measured_ratio", 1, "×")),
    Row("Per-task client: finished → seen, p99", "", _field("baseline_seen_p99", 2, " s")),
    Row("Computed SDK baseline per job: 1 + ceil(render / 3 s)", "", _field("sdk_baseline_per_job", 0)),
    Row("Fewer AceData requests than the computed baseline", "", _field("request_ratio", 1, "×")),
    Row("Fewer task queries than the baseline", "", _field("query_ratio", 1, "×")),
    Row("Result downloads from AceData", "1 per job", lambda s: str(s.acedata_downloads)),
    Row("Discord edits per job (progress + result)", "", _field("edits_per_job", 1)),
    Row("Discord edits per job per minute (whole life)", "", _field("edits_per_job_minute", 1)),
    Row("Progress edits per 10 s while rendering", "≤ 1", _field("rendering_edits_per_10s", 2)),
    Row("Most edits of one message in any 10 s", "", _field("max_edits_per_10s")),
    Row("Most requests on one interaction token in 5 s", "≤ 5", _field("max_token_requests_per_5s")),
    Row("Discord requests per minute (all jobs)", "", _field("discord_requests_per_minute", 0)),
    Row("Discord 429 answers", "0", lambda s: str(s.discord_429s)),
    Row("Results posted as new messages (edit bucket full)", "", lambda s: str(s.results_posted_anew)),
    Row("Task finished → video delivered, p50", "", _field("delivery_lag_p50", 2, " s")),
    Row("Task finished → video delivered, p99", "≤ 3 s + upload", _field("delivery_lag_p99", 2, " s")),
    Row("Task finished → video delivered, max", "", _field("delivery_lag_max", 2, " s")),
    Row("Bot CPU time per job", "", _field("cpu_seconds_per_job", 3, " s")),
    Row("Bot RSS when idle", "", _field("idle_rss_mb", 0, " MB")),
    Row("Bot peak RSS", "< 150 MB at 1000", _field("peak_rss_mb", 0, " MB")),
    Row("Wall time of the run", "", _field("wall_seconds", 0, " s")),
)


def results_table(summaries: Sequence[Summary]) -> str:
    header = "| Metric | Goal | " + " | ".join(f"{s.jobs} jobs" for s in summaries) + " |"
    rule = "|---|---|" + "---:|" * len(summaries)
    lines = [header, rule]
    lines += [
        f"| {row.label} | {row.goal} | " + " | ".join(row.value(s) for s in summaries) + " |" for row in ROWS
    ]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def current_commit(*, dirty: str = "+") -> str | None:
    """The checked-out commit (followed by `dirty` when tracked files differ from it), or None
    outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (dirty if changed else "")


def reproduce(command: str) -> list[str]:
    """The "Reproduce with" lines under a table's first line, ending with a blank line."""
    return ["Reproduce with:", "", "```sh", command, "```", ""]


def results_section(command: str, settings: Mapping[str, str], summaries: Sequence[Summary]) -> str:
    machine = f"{os.cpu_count()} CPUs ({_cpu_model()}), Python {sys.version.split()[0]}, {platform.system()}"
    commit = current_commit()
    if commit:
        machine += f", commit {commit}"
    listed = ", ".join(f"`{name}={value}`" for name, value in settings.items())
    return "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine}.",
            "",
            *reproduce(command),
            f"Settings: {listed}.",
            "",
            results_table(summaries),
        ]
    )


def write_results(path: Path, content: str, *, section: str = "results", title: str | None = None) -> None:
    """Replace the text between the section's markers; when they are missing, append them (under a
    `## title` heading when one is given)."""
    start, end = markers(section)
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    if start not in text or end not in text:
        heading = f"## {title}\n\n" if title else ""
        text = text.rstrip("\n") + f"\n\n{heading}{start}\n{end}\n"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{start}\n{content.rstrip(chr(10))}\n{end}{after}", encoding="utf-8")

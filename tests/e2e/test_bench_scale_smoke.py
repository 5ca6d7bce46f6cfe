"""bench/scale.py at a tiny size, so the benchmark cannot rot unnoticed: two jobs through one bot on
SQLite, and through two sharded bots on PostgreSQL with one of them killed mid-run. It checks that
the run completes and what it reports hangs together, not the numbers (see BENCHMARKS.md)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench.scale import ScaleSettings, run_setup, table

TINY = ScaleSettings(
    render_seconds=1.0, margin_seconds=40.0, poll_interval=0.5, poll_max_interval=1.0, duplicate_wait=1.0
)


async def test_one_bot_on_sqlite(tmp_path: Path) -> None:
    result = await run_setup("sqlite", 2, TINY, tmp_path)
    assert result.summary.delivered == 2
    assert result.summary.acedata_creates == 2
    assert len(result.peak_rss_mb) == 1 and result.peak_rss_mb[0] > 10
    assert "| Jobs delivered | all | 2 / 2 |" in table([result], "python -m bench.scale --jobs 2")


async def test_two_sharded_bots_on_postgres_one_killed(tmp_path: Path, postgres_url: str) -> None:
    # Renders outlast the kill (2 polls after the creates), so the killed process holds a running job.
    settings = replace(TINY, render_seconds=5.0)
    result = await run_setup("postgresql x2", 2, settings, tmp_path, kill_one=True, postgres_url=postgres_url)
    takeover = result.takeover
    assert takeover is not None
    assert result.summary.delivered == 2, "the survivor delivers the killed process's job"
    assert takeover.victim_jobs == 1 and takeover.first_query_s is not None
    assert takeover.creates == 2 and takeover.double_deliveries == 0
    assert len(result.peak_rss_mb) == 2
    assert "Double deliveries" in table([result], "python -m bench.scale --jobs 2 --kill-one")

"""bench/restart.py at a tiny size, so the benchmark cannot rot unnoticed: four running jobs in two
channels, the bot killed and started again. It checks that the run completes and that what it
reports hangs together, not the numbers (see BENCHMARKS.md)."""

from __future__ import annotations

from pathlib import Path

from bench.restart import run, table


async def test_a_restart_with_four_running_jobs(tmp_path: Path) -> None:
    result = await run(4, 2, rate=10.0, settle=2.0, watch=60.0, workdir=tmp_path)
    assert result.refreshed == 4, "the new process edits every running job's message"
    assert result.all_refreshed_s is not None and result.refreshed_p50_s is not None
    assert result.rate_limited == 0
    assert 1 <= result.edits_max_1s <= result.bot_token_requests_max_1s
    assert result.peak_rss_mb > 10
    body = table(result, "python -m bench.restart --jobs 4 --channels 2")
    assert "| Jobs whose message the new process refreshed | all | 4 / 4 |" in body

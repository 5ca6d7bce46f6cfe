"""The storage benchmark (bench/storage_latency.py) run at a tiny size on both backends, so it cannot
rot unnoticed: the bulk load through migration 001, the later migrations' backfills, the ledger check,
every timed store call and the table. The numbers themselves are not checked (see BENCHMARKS.md)."""

from __future__ import annotations

import time
from pathlib import Path

from bench.storage_latency import BackendRun, measure_postgres, run_sqlite, table, write_section

CALLS = {
    "admission (VideoService.admit)",
    "/usage, 30 days",
    "/history, one member, page 1",
    "/history, everyone, page 1",
    "/history, everyone, page 100 (Next)",
}


def _check(run: BackendRun, backend: str) -> None:
    assert run.backend == backend
    assert {t.call for t in run.timings} == CALLS
    assert all(0 < t.p50_ms <= t.p99_ms for t in run.timings)


async def test_storage_latency_on_sqlite(tmp_path: Path) -> None:
    run = await run_sqlite(rows=400, repeat=3, now=time.time())
    _check(run, "SQLite")
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nkept\n", encoding="utf-8")
    body = table([run], 400, 3, load_before="1", load_after="2")
    write_section(output, "storage-latency", body)
    write_section(output, "storage-latency", body)  # a re-run replaces its section
    text = output.read_text(encoding="utf-8")
    assert text.count("<!-- bench:storage-latency:start -->") == 1
    assert "kept" in text and "| /usage, 30 days |" in text


async def test_storage_latency_on_postgres(postgres_url: str) -> None:
    _check(await measure_postgres(postgres_url, rows=400, repeat=3, now=time.time()), "PostgreSQL")

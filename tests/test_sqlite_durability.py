"""synchronous = NORMAL in WAL mode (bot/storage/sqlite.py): a committed admission survives the bot
being killed with SIGKILL right after the commit, before any checkpoint or clean close."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.storage import JobState, SqliteStore

_WRITER = """
import asyncio, sys, time
from pathlib import Path
from bot.storage import SqliteStore
from tests.storage_samples import admit

async def main() -> None:
    store = await SqliteStore.open(Path(sys.argv[1]))
    for number in range(3):
        await admit(store, created_at=1_000.0 + number)
    print("committed", flush=True)
    time.sleep(60)  # never closes: killed here

asyncio.run(main())
"""


ROOT = Path(__file__).resolve().parents[1]


def commit_then_kill_9(path: Path) -> None:
    """Three admissions committed by another process, which is then killed with SIGKILL."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "committed"
        assert path.with_name(f"{path.name}-wal").stat().st_size > 0  # the commits are only in the WAL
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()


async def test_a_commit_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    commit_then_kill_9(path)
    store = await SqliteStore.open(path)
    try:
        assert await store.count_history(42) == 3
        assert [job.state for job in await store.history(42)] == [JobState.QUEUED] * 3
        assert await store.ledger_consistency() == []
    finally:
        await store.close()

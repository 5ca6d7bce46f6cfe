"""synchronous = NORMAL in WAL mode (bot/storage/sqlite.py): a committed admission survives the bot
being killed with SIGKILL right after the commit, before any checkpoint or clean close; and the WAL
is checkpointed in the background, not by the commits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.storage import JobState, SqliteStore
from tests.storage_samples import admit

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


def wal_frames(path: Path) -> tuple[int, int]:
    """(frames in the WAL, frames of it already copied into the database), from another connection."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        _busy, frames, copied = db.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
    return int(frames), int(copied)


async def test_the_wal_is_checkpointed_in_the_background_not_by_commits(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SqliteStore.open(path, checkpoint_interval=0.05)
    try:
        rows = await store._writer.execute_fetchall("PRAGMA wal_autocheckpoint")
        assert next(iter(rows))[0] == 10_000  # the writer's own checkpoint is only a backstop
        for number in range(20):
            await admit(store, created_at=1_000.0 + number)
        for _ in range(100):
            frames, copied = wal_frames(path)
            if frames and copied == frames:
                break
            await asyncio.sleep(0.05)
        assert frames > 0 and copied == frames
    finally:
        await store.close()

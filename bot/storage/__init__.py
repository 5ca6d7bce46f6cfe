"""Storage: the `Store` protocol (`bot.storage.base`) and its default SQLite backend."""

from __future__ import annotations

from pathlib import Path

from bot.storage.base import (
    ACTIVE_STATES,
    MUTABLE_JOB_FIELDS,
    RELEASED_STATES,
    TERMINAL_STATES,
    Admission,
    AdmitRule,
    DayUsage,
    DuplicateInteraction,
    Job,
    JobState,
    NewJob,
    StorageBusy,
    Store,
    UsageReport,
    UsageRow,
    VersionedLimits,
)
from bot.storage.sqlite import BUSY_TIMEOUT_MS, SqliteStore, StorageUnavailable


async def open_store(path: Path | str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> SqliteStore:
    """Open the bot's database: create its folder if needed, switch to WAL and apply pending
    migrations (backing an existing file up first). Raises StorageUnavailable naming the path when
    the database cannot be used."""
    return await SqliteStore.open(path, busy_timeout_ms=busy_timeout_ms)


__all__ = [
    "ACTIVE_STATES",
    "MUTABLE_JOB_FIELDS",
    "RELEASED_STATES",
    "TERMINAL_STATES",
    "Admission",
    "AdmitRule",
    "DayUsage",
    "DuplicateInteraction",
    "Job",
    "JobState",
    "NewJob",
    "SqliteStore",
    "StorageBusy",
    "StorageUnavailable",
    "Store",
    "UsageReport",
    "UsageRow",
    "VersionedLimits",
    "open_store",
]

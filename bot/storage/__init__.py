"""Storage: the `Store` protocol (`bot.storage.base`), its default SQLite backend and PostgreSQL."""

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
    StateTotal,
    StorageBusy,
    Store,
    UsageReport,
    UsageRow,
    VersionedLimits,
    VideoChoice,
)
from bot.storage.sqlite import BUSY_TIMEOUT_MS, SqliteStore, StorageUnavailable


async def open_store(
    path: Path | str, *, database_url: str | None = None, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Store:
    """Open the bot's database and apply pending migrations.

    With a `postgresql://` `database_url` that server is used; otherwise the SQLite file at `path`
    (its folder created if needed, WAL on, an existing file backed up before migrating). Raises
    StorageUnavailable naming the database (never a password) when it cannot be used."""
    if database_url:
        from bot.storage.postgres import PostgresStore, is_postgres_url, redact_url

        if not is_postgres_url(database_url):
            raise StorageUnavailable(
                f"DATABASE_URL must start with postgresql:// (got {redact_url(database_url)})."
            )
        return await PostgresStore.open(database_url, busy_timeout_ms=busy_timeout_ms)
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
    "StateTotal",
    "StorageBusy",
    "StorageUnavailable",
    "Store",
    "UsageReport",
    "UsageRow",
    "VersionedLimits",
    "VideoChoice",
    "open_store",
]

"""SQLite backend of `Store`: aiosqlite, WAL, and `BEGIN IMMEDIATE` for every write transaction.

Two connections per store. The writer runs every write as one `BEGIN IMMEDIATE … COMMIT` under an
asyncio lock: SQLite transactions are connection-wide, so two coroutines must never interleave
statements on it, and `IMMEDIATE` takes the database write lock up front (waiting up to
`busy_timeout`) instead of failing at once with SQLITE_BUSY when a deferred read later turns into a
write. Across processes that database lock is what serialises writers. The reader is `query_only`
and answers single statements (each sees one consistent WAL snapshot), so `/history` and friends do
not queue behind a writer waiting for the lock.

Every SQL statement of the bot lives in this module and in the numbered migration files beside it
(bot/storage/rows.py holds what both backends share outside their SQL, and the one ledger lookup
both dialects write alike), so another backend can implement `bot.storage.base.Store` without
touching callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import sqlite3
import time
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.kling.models import Mode, Model
from bot.quota.models import GuildLimits, Preferences, UsageSnapshot
from bot.storage.base import (
    ACTIVE_STATES,
    RELEASED_STATES,
    Admission,
    AdmitRule,
    DayUsage,
    DuplicateInteraction,
    Job,
    JobState,
    NewJob,
    StateTotal,
    StorageBusy,
    UsageReport,
    VersionedLimits,
    VideoChoice,
)
from bot.storage.rollup_window import usage_window
from bot.storage.rows import FAILURE_STATES as _FAILURE_STATES
from bot.storage.rows import IN_FLIGHT_STATES as _IN_FLIGHT_STATES
from bot.storage.rows import SELECT_JOB as _SELECT_JOB
from bot.storage.rows import (
    SELECT_JOB_QUALIFIED,
    assignments,
    day_usage,
    ledger_problems,
    limits_from_rows,
    limits_params,
    new_job_row,
    preferences_from_row,
    preferences_params,
    render_time_params,
    usage_params,
    usage_report_from_rows,
    versioned_limits_from_rows,
    video_choice,
)
from bot.storage.rows import STATES_WITH_RENDER_TIME as _STATES_WITH_RENDER_TIME
from bot.storage.rows import job_from_row as _job_from_row
from bot.storage.rows import ledger_figure as _ledger
from bot.storage.rows import sql_states as _sql_states

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
#: WAL checkpoints run on their own connection in the background this often, so that no admission's
#: commit pays for copying the WAL into the database file and its fsyncs (SQLite's automatic
#: checkpoint runs inside the commit that crosses its threshold; that was the admission's p99).
CHECKPOINT_INTERVAL_SECONDS = 1.0
#: The writer still checkpoints by itself past this many WAL pages (about 40 MB), should the
#: background checkpoints fall behind: a bound on the WAL, not the normal path.
WAL_AUTOCHECKPOINT_PAGES = 10_000
#: RETURNING (3.35), generated columns (3.31) and built-in JSON functions are all relied on.
MIN_SQLITE_VERSION = (3, 35, 0)

Clock = Callable[[], float]
Params = Sequence[Any] | Mapping[str, Any]


class StorageUnavailable(Exception):
    """The database cannot be used at all: bad path, no write permission, corrupt file, failed migration."""


# --- migrations ---------------------------------------------------------------------------------

_MIGRATION_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")

#: The tables triggers keep in step with the job rows: the usage ledger and per-day rollups of
#: migration 003, the per-month rollups and per-state job counts of migration 008.
DERIVED_TABLES = (
    "usage_ledger",
    "usage_by_model_day",
    "usage_by_member_day",
    "usage_by_model_month",
    "usage_by_member_month",
    "job_counts_by_guild",
    "job_counts_by_member",
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.name}"


def bundled_migrations(folder_name: str = "migrations") -> list[Migration]:
    """The `NNN_name.sql` files shipped in `bot/storage/<folder_name>` (`migrations` for SQLite,
    `migrations_postgres` for PostgreSQL), read through importlib.resources so they are found in an
    installed wheel as well as in a checkout."""
    folder = resources.files("bot.storage").joinpath(folder_name)
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return _in_order(found)


def _in_order(migrations: Iterable[Migration]) -> list[Migration]:
    ordered = sorted(migrations, key=lambda migration: migration.version)
    versions = [migration.version for migration in ordered]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3… without gaps or repeats, got {versions}")
    return ordered


def split_statements(script: str) -> list[str]:
    """Cut a script into single statements. `executescript` cannot be used for migrations because it
    COMMITs whatever transaction is open first, which would break a migration's all-or-nothing."""
    statements: list[str] = []
    buffer = ""
    *pieces, tail = script.split(";")
    for piece in pieces:
        buffer += piece + ";"
        # complete_statement knows about string literals, comments and trigger bodies.
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                statements.append(buffer.strip())
            buffer = ""
    buffer += tail
    if _has_code(buffer):
        last = buffer.strip() + ";"
        if not sqlite3.complete_statement(last):
            raise ValueError(f"the script ends with an incomplete statement: {buffer.strip()[:80]!r}")
        statements.append(last)
    return statements


def _has_code(sql: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.DOTALL)
    return bool(without_comments.strip(" \t\r\n;"))


async def apply_migrations(db: aiosqlite.Connection, path: Path, migrations: Sequence[Migration]) -> int:
    """Bring the database at `path` (open as `db`) to the newest of `migrations`; returns that version.

    Each migration runs in its own `BEGIN IMMEDIATE` transaction together with its `user_version`
    bump, so a failure leaves the database exactly at the previous version. An existing database is
    first copied to `<file>.bak-v<old version>`.

    Migration files hold no BEGIN/COMMIT. A table rebuild (create, copy, drop, rename) cannot turn
    `foreign_keys` off inside the transaction; start it with `PRAGMA defer_foreign_keys = ON` instead.
    """
    ordered = _in_order(migrations)
    latest = ordered[-1].version if ordered else 0
    current = await _user_version(db)
    if current > latest:
        raise StorageUnavailable(
            f"The database {path} has schema version {current}, newer than this bot knows ({latest}); "
            "run a newer bot or restore a backup."
        )
    if current == latest:
        return current
    if current > 0:
        await _backup(db, path, path.with_name(f"{path.name}.bak-v{current}"))
    for migration in ordered[current:]:
        try:
            async with _immediate_transaction(db):
                # Another process may have migrated while this one waited for the write lock.
                if await _user_version(db) >= migration.version:
                    continue
                for statement in split_statements(migration.sql):
                    await db.execute_fetchall(statement)
                await db.execute_fetchall(f"PRAGMA user_version = {migration.version:d}")
        except sqlite3.Error as exc:
            raise StorageUnavailable(
                f"Migration {migration.label} failed on {path} and was rolled back "
                f"(the database stays at version {await _user_version(db)}): {exc}"
            ) from exc
        log.info("database %s migrated to version %d (%s)", path, migration.version, migration.label)
    return latest


async def _user_version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def _backup(db: aiosqlite.Connection, path: Path, target: Path) -> None:
    try:
        async with aiosqlite.connect(target) as copy:
            await db.backup(copy)
    except sqlite3.Error as exc:
        raise StorageUnavailable(
            f"Could not back up {path} to {target} before migrating, so nothing was changed: {exc}"
        ) from exc
    log.info("backed up %s to %s before migrating", path, target)


# --- connections and transactions ---------------------------------------------------------------


async def _enable_wal(connection: aiosqlite.Connection, busy_timeout_ms: int) -> list[typing.Any]:
    """Switch the file to WAL, waiting for other writers.

    In rollback-journal mode SQLite answers "database is locked" at once, ignoring busy_timeout,
    when another process writes; two processes creating one database at once hit exactly that.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            return list(await connection.execute_fetchall("PRAGMA journal_mode = WAL"))
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.02)


def _is_busy(exc: sqlite3.Error) -> bool:
    # The primary result code sits in the low byte (SQLITE_BUSY_SNAPSHOT is SQLITE_BUSY | 2 << 8).
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _busy_error() -> StorageBusy:
    return StorageBusy("The database stayed locked past the busy timeout; nothing was written.")


async def _rollback(db: aiosqlite.Connection) -> None:
    # Shielded so a second cancellation cannot skip it; the statement is queued on the connection's
    # worker thread in order, before anything the next lock holder sends.
    with contextlib.suppress(sqlite3.OperationalError):  # nothing open: SQLite already rolled back
        await asyncio.shield(db.execute_fetchall("ROLLBACK"))


async def _fetch(db: aiosqlite.Connection, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    """Run one statement to completion (so it holds no read snapshot afterwards) and return its rows."""
    try:
        return list(await db.execute_fetchall(sql, params))
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise _busy_error() from exc
        raise


@contextlib.asynccontextmanager
async def _immediate_transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """`BEGIN IMMEDIATE … COMMIT`, rolled back on any exception; a lock held past the busy timeout
    becomes `StorageBusy`. The caller makes sure nobody else uses `db` meanwhile."""
    try:
        # Inside the try: a caller cancelled while BEGIN waits for the lock must still roll back,
        # because the BEGIN goes on in the worker thread and would leave the connection in a transaction.
        await _fetch(db, "BEGIN IMMEDIATE")
        yield db
        await _fetch(db, "COMMIT")
    except BaseException:
        await _rollback(db)
        raise


def _check_location(path: Path) -> None:
    """Fail at start with the path named, rather than later with "readonly database"."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailable(
            f"Cannot create the database folder {folder}: {exc.strerror or exc}. "
            "Set DATABASE_PATH to a folder this user can write."
        ) from exc
    # SQLite creates `-wal` and `-shm` files beside the database, so the folder must be writable too.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StorageUnavailable(
            f"The database folder {folder} is not writable by this user; SQLite needs to create files in it."
        )
    if path.exists() and not (path.is_file() and os.access(path, os.R_OK | os.W_OK)):
        raise StorageUnavailable(f"The database file {path} is not a file this user can read and write.")


async def _connect(path: Path, *, busy_timeout_ms: int, query_only: bool) -> aiosqlite.Connection:
    # isolation_level=None: no implicit (deferred) transactions; every transaction is explicit.
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        await db.execute_fetchall(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
        # Per connection, and off by default.
        await db.execute_fetchall("PRAGMA foreign_keys = ON")
        # NORMAL in WAL mode: a commit appends to the WAL without an fsync, and the WAL is fsynced at
        # each checkpoint. A crash of the bot (kill -9, OOM, panic) loses nothing: a committed
        # transaction is in the WAL file, which the operating system keeps. Only a crash of the
        # operating system or a power cut can lose the last commits since the previous checkpoint
        # (never corrupt the file). FULL would fsync every commit, which measured as the admission's
        # p99 on a busy disk (issue 16, BENCHMARKS.md); a paid task lost that way is still found by
        # AceData's task list, not by this file, so the bot accepts that window like most servers.
        await db.execute_fetchall("PRAGMA synchronous = NORMAL")
        if query_only:
            await db.execute_fetchall("PRAGMA query_only = ON")
    except BaseException:
        await db.close()
        raise
    return db


# --- rows ---------------------------------------------------------------------------------------

# The story link lives in its own table (story_links), written in the same transaction.
_NEW_JOB_COLUMNS = tuple(
    field.name for field in dataclasses.fields(NewJob) if field.name != "story_parent_id"
)


def _placeholders(count: int) -> str:
    return "(" + ", ".join("?" * count) + ")"


def _assignments(fields: Mapping[str, Any]) -> str:
    return assignments(fields, ":{name}")


# The one usage computation, for admission and for `/quota` alike. Aliases are UsageSnapshot's field
# names. Period figures are primary-key lookups in the ledger (migration 003), which triggers keep in
# step with the job rows; what is in progress is counted over the server's active jobs only
# (index on guild, state); the cooldown reads the member's newest job through their index.
_USAGE_SQL = f"""
WITH reset AS (
    SELECT COALESCE(MAX(reset_at), 0.0) AS at
      FROM member_resets WHERE guild_id = :guild AND member_id = :member
),
period AS (
    SELECT {_ledger("server", ":guild", "0", ":day", "videos")} AS guild_day_videos,
           {_ledger("server", ":guild", "0", ":day", "credits")} + 0.0 AS guild_day_credits,
           {_ledger("server", ":guild", "0", ":month", "videos")} AS guild_month_videos,
           {_ledger("server", ":guild", "0", ":month", "credits")} + 0.0 AS guild_month_credits,
           {_ledger("member", ":guild", ":member", ":day", "videos")} AS member_day_videos,
           {_ledger("member", ":guild", ":member", ":day", "credits")} + 0.0 AS member_day_credits,
           {_ledger("member", ":guild", ":member", ":month", "videos")} AS member_month_videos,
           {_ledger("member", ":guild", ":member", ":month", "credits")} + 0.0 AS member_month_credits,
           {_ledger("all", "0", "0", ":global_day", "credits")} + 0.0 AS global_day_credits,
           {_ledger("all", "0", "0", ":global_month", "credits")} + 0.0 AS global_month_credits
),
activity AS (
    SELECT COUNT(*) FILTER (WHERE member_id = :member) AS member_active_jobs,
           COUNT(*) FILTER (WHERE state IN {_sql_states(_IN_FLIGHT_STATES)}) AS guild_running_jobs,
           COUNT(*) FILTER (WHERE state = '{JobState.QUEUED.value}') AS guild_queued_jobs
      -- Pinned: without statistics SQLite prefers the covering (guild, member, state) index, which
      -- reads the server's whole history instead of its few active jobs.
      FROM jobs INDEXED BY jobs_by_guild_state
     WHERE guild_id = :guild AND state IN {_sql_states(ACTIVE_STATES)}
),
latest AS (
    SELECT (SELECT created_at FROM jobs
             WHERE guild_id = :guild AND member_id = :member AND created_at >= (SELECT at FROM reset)
               AND state <> '{JobState.CANCELLED.value}'
             ORDER BY created_at DESC LIMIT 1) AS member_last_job_at
)
SELECT * FROM period, activity, latest
"""


# Released jobs are not spent; failed, timed-out and unconfirmed ones count as failures (cancelled
# ones as neither). The window's first, partial UTC day is read from its job rows by time; the whole
# days after it from the rollups: whole months from the per-month rollups (migration 008), and the
# days of the first month either added from the per-day rollups (migration 003) or, when fewer, the
# month's days before the window subtracted from its month row (see bot/storage/rollup_window.py). So a member
# costs at most one row per month plus half a month of day rows, whatever the window. One
# statement, so the totals and both breakdowns come from the same snapshot.
def _rollup_rows(table: str, key: str) -> str:
    day_table = f"usage_by_{table}_day"
    return f"""
    SELECT {key}, videos, credits, failures
      FROM usage_by_{table}_month WHERE guild_id = :guild AND month >= :month_from
    UNION ALL
    SELECT {key}, videos, credits, failures
      FROM {day_table} WHERE guild_id = :guild AND day >= :add_from AND day < :add_to
    UNION ALL
    SELECT {key}, -videos, -credits, -failures
      FROM {day_table} WHERE guild_id = :guild AND day >= :take_from AND day < :take_to"""


_USAGE_REPORT_SQL = f"""
WITH partial AS (
    SELECT COALESCE(model, '') AS model, member_id, cost,
           state NOT IN {_sql_states(RELEASED_STATES)} AS spent,
           state IN {_sql_states(_FAILURE_STATES)} AS failed
      FROM jobs WHERE guild_id = :guild AND created_at >= :since AND created_at < :full_from
),
by_model AS (
    SELECT model AS key, spent AS videos, spent * cost AS credits, failed AS failures FROM partial
    UNION ALL{_rollup_rows("model", "model")}
),
by_member AS (
    SELECT member_id, spent AS videos, spent * cost AS credits, failed AS failures FROM partial
    UNION ALL{_rollup_rows("member", "member_id")}
),
grouped AS (
    SELECT 'total' AS kind, '' AS key, CAST(TOTAL(videos) AS INTEGER) AS videos, TOTAL(credits) AS credits,
           CAST(TOTAL(failures) AS INTEGER) AS failures
      FROM by_model
    UNION ALL
    SELECT 'model', key, CAST(TOTAL(videos) AS INTEGER), TOTAL(credits), CAST(TOTAL(failures) AS INTEGER)
      FROM by_model GROUP BY key
    UNION ALL
    SELECT 'member', CAST(member_id AS TEXT), CAST(TOTAL(videos) AS INTEGER), TOTAL(credits),
           CAST(TOTAL(failures) AS INTEGER)
      FROM by_member GROUP BY member_id
)
SELECT * FROM grouped
 WHERE kind = 'total' OR videos > 0 OR failures > 0
 ORDER BY credits DESC, videos DESC, key
"""

# The ledger as the job rows say it should be: for `ledger_consistency`, which tests and checks use.
_LEDGER_FROM_JOBS_SQL = f"""
WITH held AS (
    SELECT jobs.*, created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets AS r
                                            WHERE r.guild_id = jobs.guild_id
                                              AND r.member_id = jobs.member_id), 0.0) AS mine
      FROM jobs WHERE state NOT IN {_sql_states(RELEASED_STATES)}
)
SELECT 'server' AS scope, guild_id, 0 AS member_id, day_key AS period, COUNT(*) AS videos,
       TOTAL(cost) AS credits FROM held GROUP BY guild_id, day_key
UNION ALL SELECT 'server', guild_id, 0, month_key, COUNT(*), TOTAL(cost) FROM held
    GROUP BY guild_id, month_key
UNION ALL SELECT 'all', 0, 0, global_day_key, COUNT(*), TOTAL(cost) FROM held GROUP BY global_day_key
UNION ALL SELECT 'all', 0, 0, global_month_key, COUNT(*), TOTAL(cost) FROM held GROUP BY global_month_key
UNION ALL SELECT 'member', guild_id, member_id, day_key, COUNT(*), TOTAL(cost) FROM held WHERE mine
    GROUP BY guild_id, member_id, day_key
UNION ALL SELECT 'member', guild_id, member_id, month_key, COUNT(*), TOTAL(cost) FROM held WHERE mine
    GROUP BY guild_id, member_id, month_key
"""


# `updated_at` doubles as the settings' version: it only ever grows (even if the clock steps back),
# so "the row still has the updated_at I read" means "nobody saved since". With :expected NULL the
# write is unconditional (`/limits set`); otherwise only a row still at that version is replaced.
_SAVE_LIMITS_SQL = """
INSERT INTO guild_limits (guild_id, limits, updated_at) VALUES (:guild, :limits, :now)
ON CONFLICT (guild_id) DO UPDATE
   SET limits = excluded.limits,
       updated_at = MAX(excluded.updated_at, guild_limits.updated_at + 0.001)
 WHERE :expected IS NULL OR guild_limits.updated_at = :expected"""


# --- the store ----------------------------------------------------------------------------------


class SqliteStore:
    """`Store` on one SQLite file. Open it with `SqliteStore.open` (or `bot.storage.open_store`)."""

    #: One bot process per file: WAL serialises writers, but nothing hands jobs between processes.
    shared = False

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        path: Path,
        clock: Clock,
        checkpointer: aiosqlite.Connection | None = None,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._clock = clock
        self._closed = False
        self._claimed: set[str] = set()
        self._checkpointer = checkpointer
        self._checkpoints: asyncio.Task[None] | None = None
        if checkpointer is not None:
            self._checkpoints = asyncio.create_task(
                self._checkpoint_loop(checkpointer, checkpoint_interval), name=f"wal-checkpoints {path.name}"
            )

    async def _checkpoint_loop(self, checkpointer: aiosqlite.Connection, interval: float) -> None:
        """PASSIVE checkpoints: copy what the WAL holds into the database file without waiting for
        (or blocking) the writer or readers; the WAL then restarts from its beginning."""
        while True:
            await asyncio.sleep(interval)
            try:
                await checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # a busy or full disk: the writer's own checkpoint is the backstop
                log.warning("background WAL checkpoint of %s failed: %s", self.path, exc)

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        migrations: Sequence[Migration] | None = None,
        clock: Clock = time.time,
        checkpoint_interval: float = CHECKPOINT_INTERVAL_SECONDS,
    ) -> SqliteStore:
        """Create the folder if needed, open the file in WAL mode and apply pending migrations.

        Raises StorageUnavailable, naming the path, when any of that is impossible."""
        path = Path(path)
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise StorageUnavailable(
                f"SQLite {sqlite3.sqlite_version} is too old; this bot needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or newer."
            )
        _check_location(path)
        pending = bundled_migrations() if migrations is None else migrations
        try:
            writer = await _connect(path, busy_timeout_ms=busy_timeout_ms, query_only=False)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"Cannot open the database {path}: {exc}") from exc
        try:
            # WAL is a property of the file (it persists); it lets the reader work while a write runs.
            rows = await _enable_wal(writer, busy_timeout_ms)
            if str(rows[0][0]).lower() != "wal":
                log.warning("the database %s refused WAL mode (got %s)", path, rows[0][0])
            await apply_migrations(writer, path, pending)
            await writer.execute_fetchall(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES:d}")
            reader = await _connect(path, busy_timeout_ms=busy_timeout_ms, query_only=True)
        except (sqlite3.Error, StorageBusy) as exc:
            await writer.close()
            raise StorageUnavailable(f"Cannot use the database {path}: {exc}") from exc
        except BaseException:
            await writer.close()
            raise
        try:
            checkpointer = await _connect(path, busy_timeout_ms=busy_timeout_ms, query_only=False)
        except BaseException as exc:
            await reader.close()
            await writer.close()
            if isinstance(exc, sqlite3.Error):
                raise StorageUnavailable(f"Cannot use the database {path}: {exc}") from exc
            raise
        return cls(writer, reader, path, clock, checkpointer, checkpoint_interval)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        async with self._write_lock:
            if self._checkpointer is not None:
                await self._checkpointer.close()
            await self._reader.close()
            await self._writer.close()

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on the writer; hold it only around SQL and pure code."""
        async with self._write_lock, _immediate_transaction(self._writer) as db:
            yield db

    async def _read(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await _fetch(self._reader, sql, params)

    # --- jobs -----------------------------------------------------------------------------
    async def admit_job(self, new: NewJob, rule: AdmitRule, *, global_caps: bool = True) -> Admission:
        # One writer at a time in SQLite: every admission is serialised whatever `global_caps` says.
        columns, values = new_job_row(new, _NEW_JOB_COLUMNS)
        async with self._write() as db:
            # The duplicate check rides in the usage statement: one round trip less while holding
            # the write lock.
            usage, taken = await _usage_and_interaction(
                db,
                new.guild_id,
                new.member_id,
                (new.day_key, new.month_key),
                (new.global_day_key, new.global_month_key),
                new.interaction_id,
            )
            if taken:
                raise DuplicateInteraction(f"interaction {new.interaction_id} already has a job")
            decision = rule(usage)
            if not decision.allowed:
                return Admission(decision=decision, job=None)
            rows = await _fetch(
                db,
                f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
                f"RETURNING {_SELECT_JOB}",
                values,
            )
            if new.story_parent_id is not None:
                await _fetch(
                    db,
                    "INSERT INTO story_links (job_id, parent_id) VALUES (?, ?)",
                    (new.id, new.story_parent_id),
                )
        return Admission(decision=decision, job=_job_from_row(next(iter(rows))))

    async def get_job(self, job_id: str) -> Job | None:
        rows = await self._read(f"SELECT {_SELECT_JOB} FROM jobs WHERE id = ?", (job_id,))
        return _job_from_row(rows[0]) if rows else None

    async def get_job_by_interaction(self, interaction_id: int) -> Job | None:
        rows = await self._read(f"SELECT {_SELECT_JOB} FROM jobs WHERE interaction_id = ?", (interaction_id,))
        return _job_from_row(rows[0]) if rows else None

    async def transition(
        self, job_id: str, *, expect: Iterable[JobState], to: JobState, **fields: Any
    ) -> Job | None:
        expected = {f"expect{index}": JobState(state).value for index, state in enumerate(expect)}
        sql = (
            f"UPDATE jobs SET state = :to, updated_at = :now{_assignments(fields)} "
            f"WHERE id = :id AND state IN ({', '.join(':' + key for key in expected)}) "
            f"RETURNING {_SELECT_JOB}"
        )
        params = {**fields, **expected, "to": JobState(to).value, "now": self._clock(), "id": job_id}
        async with self._write() as db:
            rows = await _fetch(db, sql, params)
        return _job_from_row(rows[0]) if rows else None

    async def update_job(self, job_id: str, **fields: Any) -> Job | None:
        assignments = _assignments(fields)
        if not fields:
            return await self.get_job(job_id)
        sql = f"UPDATE jobs SET updated_at = :now{assignments} WHERE id = :id RETURNING {_SELECT_JOB}"
        async with self._write() as db:
            rows = await _fetch(db, sql, {**fields, "now": self._clock(), "id": job_id})
        return _job_from_row(rows[0]) if rows else None

    async def jobs_in_states(self, states: Iterable[JobState]) -> list[Job]:
        wanted = [JobState(state).value for state in states]
        rows = await self._read(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE state IN {_placeholders(len(wanted))} "
            "ORDER BY created_at, rowid",
            wanted,
        )
        return [_job_from_row(row) for row in rows]

    async def claim_next_queued(self, guild_id: int, running_cap: int | None) -> Job | None:
        sql = f"""
            UPDATE jobs SET state = '{JobState.SUBMITTING.value}', updated_at = :now
             WHERE id = (SELECT id FROM jobs WHERE guild_id = :guild AND state = '{JobState.QUEUED.value}'
                          ORDER BY created_at, rowid LIMIT 1)
               AND (:cap IS NULL OR :cap > (SELECT COUNT(*) FROM jobs WHERE guild_id = :guild
                                             AND state IN {_sql_states(_IN_FLIGHT_STATES)}))
            RETURNING {_SELECT_JOB}"""
        async with self._write() as db:
            rows = await _fetch(db, sql, {"now": self._clock(), "guild": guild_id, "cap": running_cap})
        return _job_from_row(rows[0]) if rows else None

    async def adopt_task(
        self, job_id: str, task_id: str, *, trace_id: str | None, submitted_at: float
    ) -> Job | None:
        sql = f"""
            UPDATE jobs SET state = '{JobState.RUNNING.value}', updated_at = :now, task_id = :task,
                            trace_id = COALESCE(:trace, trace_id), submitted_at = :submitted
             WHERE id = :id AND state = '{JobState.SUBMITTING.value}'
               AND NOT EXISTS (SELECT 1 FROM jobs WHERE task_id = :task)
            RETURNING {_SELECT_JOB}"""
        params = {"now": self._clock(), "task": task_id, "trace": trace_id, "submitted": submitted_at}
        async with self._write() as db:
            rows = await _fetch(db, sql, {**params, "id": job_id})
        return _job_from_row(rows[0]) if rows else None

    async def known_task_ids(self, task_ids: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(task_ids))
        if not wanted:
            return set()
        rows = await self._read(
            f"SELECT task_id FROM jobs WHERE task_id IN {_placeholders(len(wanted))}", wanted
        )
        return {str(row[0]) for row in rows}

    async def claim_jobs(self, job_ids: Sequence[str]) -> set[str]:
        # One process per SQLite file: it owns everything; only "new to this process" is tracked.
        new = set(job_ids) - self._claimed
        self._claimed |= new
        return new

    def owns(self, job_id: str) -> bool:
        return True

    async def check_leases(self) -> bool:
        return False  # one process owns every job: nobody else's to take over

    def take_lost_leases(self) -> set[str]:
        return set()

    async def queue_position(self, job_id: str) -> int:
        rows = await self._read(
            """SELECT COUNT(*) FROM jobs AS mine JOIN jobs AS ahead ON ahead.guild_id = mine.guild_id
                 WHERE mine.id = :id AND mine.state = :queued AND ahead.state = :queued
                   AND (ahead.created_at, ahead.rowid) <= (mine.created_at, mine.rowid)""",
            {"id": job_id, "queued": JobState.QUEUED.value},
        )
        return int(rows[0][0])

    @staticmethod
    def _history_filter(
        guild_id: int, member_id: int | None, states: Sequence[JobState] | None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = ["guild_id = ?"]
        params: list[Any] = [guild_id]
        if member_id is not None:
            clauses.append("member_id = ?")
            params.append(member_id)
        if states is not None:
            values = [JobState(state).value for state in states]
            clauses.append(f"state IN {_placeholders(len(values))}")
            params.extend(values)
        return " AND ".join(clauses), params

    async def history(
        self,
        guild_id: int,
        *,
        member_id: int | None = None,
        states: Sequence[JobState] | None = None,
        limit: int = 10,
        offset: int = 0,
        after: str | None = None,
    ) -> list[Job]:
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset cannot be negative")
        where, params = self._history_filter(guild_id, member_id, states)
        if after is not None:
            # Keyset: the jobs after `after` in this order, straight from the (…, created_at) index
            # (rowid rides along in every index), instead of reading and skipping `offset` entries.
            where += " AND (created_at, rowid) < (SELECT created_at, rowid FROM jobs WHERE id = ?)"
            params.append(after)
        rows = await self._read(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE {where} "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [_job_from_row(row) for row in rows]

    async def count_history(
        self, guild_id: int, *, member_id: int | None = None, states: Sequence[JobState] | None = None
    ) -> int:
        # Per-state counts kept by migration 008's triggers: at most nine rows, whatever the history.
        # They have the jobs' guild, member and state columns, so history's filter reads them as well.
        table = "job_counts_by_guild" if member_id is None else "job_counts_by_member"
        where, params = self._history_filter(guild_id, member_id, states)
        rows = await self._read(f"SELECT TOTAL(jobs) FROM {table} WHERE {where}", params)
        return int(rows[0][0])

    async def extendable_videos(self, guild_id: int, *, limit: int = 100) -> list[VideoChoice]:
        # Only what the autocomplete shows, without decoding whole jobs: the newest delivered jobs
        # through the (guild, state, created_at) index.
        rows = await self._read(
            f"""SELECT id, model, json_extract(request, '$.prompt') AS prompt FROM jobs
                 WHERE guild_id = ? AND state = '{JobState.DELIVERED.value}' AND video_id IS NOT NULL
                 ORDER BY created_at DESC, rowid DESC LIMIT ?""",
            (guild_id, max(limit, 0)),
        )
        return [video_choice(row) for row in rows]

    async def average_render_seconds(
        self, guild_id: int, model: Model, mode: Mode, duration: int, *, sample: int = 20
    ) -> float | None:
        rows = await self._read(
            f"""SELECT AVG(finished_at - submitted_at) FROM (
                    SELECT finished_at, submitted_at FROM jobs
                     WHERE guild_id = :guild AND model = :model AND mode = :mode AND duration = :duration
                       AND state IN {_sql_states(_STATES_WITH_RENDER_TIME)}
                       AND finished_at >= submitted_at
                     ORDER BY finished_at DESC LIMIT :sample)""",
            render_time_params(guild_id, model, mode, duration, sample),
        )
        average = rows[0][0]
        return None if average is None else float(average)

    # --- quotas and settings ---------------------------------------------------------------
    async def usage_snapshot(
        self,
        guild_id: int,
        member_id: int,
        day_key: str,
        month_key: str,
        *,
        global_day_key: str | None = None,
        global_month_key: str | None = None,
    ) -> UsageSnapshot:
        # An empty key matches no ledger row, so the global figures read as 0 when not asked for.
        global_keys = (global_day_key or "", global_month_key or "")
        return await _usage(self._reader, guild_id, member_id, (day_key, month_key), global_keys)

    async def reset_member_usage(self, guild_id: int, member_id: int, now: float) -> None:
        params = {"guild": guild_id, "member": member_id}
        async with self._write() as db:
            await _fetch(
                db,
                "INSERT OR IGNORE INTO member_resets (guild_id, member_id, reset_at) VALUES (?, ?, ?)",
                (guild_id, member_id, now),
            )
            # Rebuild the member's own rows from the jobs created since their latest reset: usually
            # none, found through the (guild, member, created_at) index.
            await _fetch(
                db,
                "DELETE FROM usage_ledger "
                "WHERE scope = 'member' AND guild_id = :guild AND member_id = :member",
                params,
            )
            for key in ("day_key", "month_key"):
                await _fetch(
                    db,
                    f"""INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
                        SELECT 'member', guild_id, member_id, {key}, COUNT(*), TOTAL(cost) FROM jobs
                         WHERE guild_id = :guild AND member_id = :member
                           AND created_at >= (SELECT MAX(reset_at) FROM member_resets
                                               WHERE guild_id = :guild AND member_id = :member)
                           AND state NOT IN {_sql_states(RELEASED_STATES)}
                         GROUP BY guild_id, member_id, {key}""",
                    params,
                )

    async def ledger_consistency(self) -> list[str]:
        stored = await self._read(
            "SELECT scope, guild_id, member_id, period, videos, credits FROM usage_ledger"
        )
        return ledger_problems(stored, await self._read(_LEDGER_FROM_JOBS_SQL))

    async def usage_report(self, guild_id: int, since: float) -> UsageReport:
        rows = await self._read(_USAGE_REPORT_SQL, {"guild": guild_id, **usage_window(since).params()})
        return usage_report_from_rows(rows, since)

    async def state_totals(self) -> list[StateTotal]:
        rows = await self._read("SELECT state, COUNT(*), TOTAL(cost) FROM jobs GROUP BY state ORDER BY state")
        return [StateTotal(JobState(row[0]), int(row[1]), float(row[2])) for row in rows]

    async def get_limits(self, guild_id: int) -> GuildLimits:
        rows = await self._read("SELECT limits FROM guild_limits WHERE guild_id = ?", (guild_id,))
        return limits_from_rows(rows)

    async def set_limits(self, guild_id: int, limits: GuildLimits) -> None:
        async with self._write() as db:
            await _fetch(db, _SAVE_LIMITS_SQL, limits_params(guild_id, limits, self._clock(), None))

    async def get_versioned_limits(self, guild_id: int) -> VersionedLimits:
        rows = await self._read("SELECT limits, updated_at FROM guild_limits WHERE guild_id = ?", (guild_id,))
        return versioned_limits_from_rows(rows)

    async def set_limits_if_version(self, guild_id: int, limits: GuildLimits, version: float) -> float | None:
        params = limits_params(guild_id, limits, self._clock(), version)
        async with self._write() as db:
            if version == 0.0:
                # Never saved when read: only an insert is right; a row that appeared since is newer.
                rows = await _fetch(
                    db,
                    """INSERT INTO guild_limits (guild_id, limits, updated_at) VALUES (:guild, :limits, :now)
                       ON CONFLICT (guild_id) DO NOTHING RETURNING updated_at""",
                    params,
                )
            else:
                rows = await _fetch(db, _SAVE_LIMITS_SQL + " RETURNING updated_at", params)
        return float(rows[0][0]) if rows else None

    async def daily_usage(
        self, guild_id: int, since: float, *, first_day: str | None = None
    ) -> list[DayUsage]:
        if first_day is not None:
            rows = await self._read(
                """SELECT period AS day_key, videos, credits FROM usage_ledger
                    WHERE scope = 'server' AND guild_id = ? AND member_id = 0 AND period >= ?
                      AND length(period) = 10 AND videos > 0
                    ORDER BY period""",
                (guild_id, first_day),
            )
            return day_usage(rows)
        rows = await self._read(
            f"""SELECT day_key, COUNT(*) AS videos, TOTAL(cost) AS credits FROM jobs
                 WHERE guild_id = :guild AND created_at >= :since
                   AND state NOT IN {_sql_states(RELEASED_STATES)}
                 GROUP BY day_key ORDER BY day_key""",
            {"guild": guild_id, "since": since},
        )
        return day_usage(rows)

    async def jobs_since(self, guild_id: int, since: float, *, limit: int = 10_000) -> list[Job]:
        rows = await self._read(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE guild_id = ? AND created_at >= ? "
            "ORDER BY created_at, rowid LIMIT ?",
            (guild_id, since, max(limit, 0)),
        )
        return [_job_from_row(row) for row in rows]

    async def get_member_defaults(self, guild_id: int, member_id: int) -> Preferences:
        rows = await self._read(
            "SELECT model, mode, duration, aspect_ratio FROM member_defaults "
            "WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        )
        return preferences_from_row(rows[0]) if rows else Preferences()

    async def set_member_defaults(self, guild_id: int, member_id: int, preferences: Preferences) -> None:
        async with self._write() as db:
            if preferences.is_empty():
                await _fetch(
                    db,
                    "DELETE FROM member_defaults WHERE guild_id = ? AND member_id = ?",
                    (guild_id, member_id),
                )
                return
            await _fetch(
                db,
                """INSERT INTO member_defaults
                       (guild_id, member_id, model, mode, duration, aspect_ratio, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (guild_id, member_id) DO UPDATE SET
                       model = excluded.model, mode = excluded.mode, duration = excluded.duration,
                       aspect_ratio = excluded.aspect_ratio, updated_at = excluded.updated_at""",
                preferences_params(guild_id, member_id, preferences, self._clock()),
            )

    async def story(self, job_id: str, *, limit: int = 50) -> list[Job]:
        rows = await self._read(
            f"""WITH RECURSIVE chain (id, depth) AS (
                    SELECT id, 0 FROM jobs WHERE id = :job
                    UNION ALL
                    SELECT story_links.parent_id, chain.depth + 1
                      FROM story_links JOIN chain ON story_links.job_id = chain.id
                     WHERE chain.depth < :limit - 1
                )
                SELECT {SELECT_JOB_QUALIFIED}
                  FROM chain JOIN jobs ON jobs.id = chain.id ORDER BY chain.depth DESC""",
            {"job": job_id, "limit": limit},
        )
        return [_job_from_row(row) for row in rows]

    async def story_parents(self, job_ids: Sequence[str]) -> dict[str, str]:
        if not job_ids:
            return {}
        rows = await self._read(
            f"SELECT job_id, parent_id FROM story_links WHERE job_id IN {_placeholders(len(job_ids))}",
            list(job_ids),
        )
        return {str(row[0]): str(row[1]) for row in rows}


async def _usage(
    db: aiosqlite.Connection,
    guild_id: int,
    member_id: int,
    keys: tuple[str, str],
    global_keys: tuple[str, str],
) -> UsageSnapshot:
    (row,) = await _fetch(db, _USAGE_SQL, usage_params(guild_id, member_id, keys, global_keys))
    return UsageSnapshot(**{name: row[name] for name in row.keys()})  # noqa: SIM118 (a Row iterates values)


_USAGE_AND_INTERACTION_SQL = (
    f"SELECT *, EXISTS (SELECT 1 FROM jobs WHERE interaction_id = :interaction) AS taken FROM ({_USAGE_SQL})"
)


async def _usage_and_interaction(
    db: aiosqlite.Connection,
    guild_id: int,
    member_id: int,
    keys: tuple[str, str],
    global_keys: tuple[str, str],
    interaction_id: int | None,
) -> tuple[UsageSnapshot, bool]:
    """The usage snapshot and whether a job already has `interaction_id`, in one statement."""
    params = {**usage_params(guild_id, member_id, keys, global_keys), "interaction": interaction_id}
    (row,) = await _fetch(db, _USAGE_AND_INTERACTION_SQL, params)
    values = {name: row[name] for name in row.keys() if name != "taken"}  # noqa: SIM118
    return UsageSnapshot(**values), bool(row["taken"])

"""PostgreSQL backend of `Store`: psycopg 3 with a psycopg-pool connection pool.

Selected by `DATABASE_URL=postgresql://…`. Same contract as the SQLite backend, different means:

- Concurrency comes from the server, not from one writer connection: every call borrows a pooled
  connection (autocommit), and multi-statement work runs in one explicit transaction.
- Admission and queue claims read usage, decide, then write. Under READ COMMITTED two processes could
  both read "one unit left" and both insert, so these transactions first take a transaction-scoped
  advisory lock keyed by the guild (`pg_advisory_xact_lock`). Every admission and claim for that
  guild, from any process, then runs one after the other; each statement after the lock sees the
  previous holder's committed rows (READ COMMITTED takes a fresh snapshot per statement, which
  SERIALIZABLE would not: its snapshot would predate the wait). Different guilds never wait for
  each other.
- Guarded transitions are single `UPDATE … WHERE state = ANY(expected) RETURNING`: PostgreSQL
  re-checks the WHERE clause on the locked, newest row version, so only one of two racing updates
  matches, and a release happens exactly once.
- `lock_timeout` plays SQLite's busy timeout: a lock held longer raises `StorageBusy`, nothing written.
- Migrations are `migrations_postgres/NNN_name.sql`, numbered like SQLite's; each runs in its own
  transaction (DDL is transactional here) under a global advisory lock, with the version in
  `schema_version`. There is no file to back up: take `pg_dump` backups as for any server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.kling.models import Mode, Model
from bot.quota.models import GuildLimits, Preferences, UsageSnapshot
from bot.storage.base import (
    ACTIVE_STATES,
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
from bot.storage.sqlite import BUSY_TIMEOUT_MS, Migration, StorageUnavailable, bundled_migrations

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Row = dict[str, Any]
Connection = psycopg.AsyncConnection[Row]

MIGRATIONS_FOLDER = "migrations_postgres"
#: Advisory lock keys (64-bit, arbitrary but fixed): one for migrating, one namespace for guilds.
_MIGRATION_LOCK = 7_466_110_001
_POOL_MAX_SIZE = 10
_CONNECT_TIMEOUT_SECONDS = 10.0
#: A pooled connection handed back in good order less than this long ago is lent again without
#: asking the server first (see _RecentlyReturned).
_FRESH_CONNECTION_SECONDS = 1.0


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and urlsplit(str(url)).scheme in {"postgresql", "postgres"}


def redact_url(url: str) -> str:
    """The URL with its password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _without_secret(message: str, url: str) -> str:
    password = urlsplit(url).password
    return message.replace(password, "***") if password else message


def postgres_migrations() -> list[Migration]:
    return bundled_migrations(MIGRATIONS_FOLDER)


# --- rows ---------------------------------------------------------------------------------------

# The story link lives in its own table (story_links), written in the same transaction.
# The global (UTC) period keys are not written here (the columns exist, from migration 003, so
# `migrate` can copy them): this backend's ledger trigger (migration 008) computes the UTC day and
# month from created_at, and an older schema without the columns can still be written.
_NEW_JOB_COLUMNS = tuple(
    field.name
    for field in dataclasses.fields(NewJob)
    if field.name not in {"story_parent_id", "global_day_key", "global_month_key"}
)


def _assignments(fields: Mapping[str, Any]) -> str:
    return assignments(fields, "%({name})s")


_GUILD_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('kling-guild:' || %s::text, 0))"


def _job_key(expression: str) -> str:
    """The advisory lock key of a job (session-level: held while this process owns the job)."""
    return f"hashtextextended('kling-job:' || {expression}, 0)"


#: Client-side TCP keepalives on the lease connection: a dead server is noticed within ~9 s.
_LEASE_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 3,
    "keepalives_interval": 2,
    "keepalives_count": 3,
}
#: The same on the server's side of it, so the server ends the session of a process whose HOST
#: died (no FIN ever comes) within ~9 s (3 s idle, then 3 probes 2 s apart; tcp_user_timeout does
#: the same when data was in flight), and its job locks with it. A killed process's socket is
#: closed by its kernel at once. With the 1 s lease watch, that gives the 10 s take-over bound.
_LEASE_SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 3,
    "tcp_keepalives_interval": 2,
    "tcp_keepalives_count": 3,
    "tcp_user_timeout": 9000,
}
_TASK_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('kling-task:' || %s, 0))"
#: The states in which a job has an owner (an advisory lock held by one live process).
_OWNED_STATES = frozenset({JobState.SUBMITTING, JobState.RUNNING, JobState.SUCCEEDED})
#: Whether some job in flight has no owner: no process holds its advisory lock (pg_locks shows a
#: bigint advisory key as its high and low 32 bits in classid and objid). One cheap query, run about
#: every second by each process, so a dead process's jobs are taken over at once (docs/scaling.md).
_ORPHANS_SQL = f"""
SELECT EXISTS (
    SELECT 1 FROM jobs
     WHERE state IN {_sql_states(_OWNED_STATES)}
       AND NOT EXISTS (
            SELECT 1 FROM pg_locks AS held
             WHERE held.locktype = 'advisory' AND held.objsubid = 1 AND held.granted
               AND ((held.classid::bigint << 32) | held.objid::bigint) = {_job_key("jobs.id")})
) AS orphans"""


# The same computation as SQLite's _USAGE_SQL (see bot/storage/sqlite.py for the rules): period
# figures are primary-key lookups in the ledger (this backend's migration 008), what is in progress
# is counted over the server's active jobs only.
_G, _M = "%(guild)s::bigint", "%(member)s::bigint"
_USAGE_SQL = f"""
WITH reset AS (
    SELECT COALESCE(MAX(reset_at), 0.0) AS at
      FROM member_resets WHERE guild_id = {_G} AND member_id = {_M}
),
period AS (
    SELECT {_ledger("server", _G, "0", "%(day)s::text", "videos")} AS guild_day_videos,
           {_ledger("server", _G, "0", "%(day)s::text", "credits")}::float8 AS guild_day_credits,
           {_ledger("server", _G, "0", "%(month)s::text", "videos")} AS guild_month_videos,
           {_ledger("server", _G, "0", "%(month)s::text", "credits")}::float8 AS guild_month_credits,
           {_ledger("member", _G, _M, "%(day)s::text", "videos")} AS member_day_videos,
           {_ledger("member", _G, _M, "%(day)s::text", "credits")}::float8 AS member_day_credits,
           {_ledger("member", _G, _M, "%(month)s::text", "videos")} AS member_month_videos,
           {_ledger("member", _G, _M, "%(month)s::text", "credits")}::float8 AS member_month_credits,
           {_ledger("all", "0", "0", "%(global_day)s::text", "credits")}::float8 AS global_day_credits,
           {_ledger("all", "0", "0", "%(global_month)s::text", "credits")}::float8 AS global_month_credits
),
activity AS (
    SELECT COUNT(*) FILTER (WHERE member_id = {_M}) AS member_active_jobs,
           COUNT(*) FILTER (WHERE state IN {_sql_states(_IN_FLIGHT_STATES)}) AS guild_running_jobs,
           COUNT(*) FILTER (WHERE state = '{JobState.QUEUED.value}') AS guild_queued_jobs
      FROM jobs
     WHERE guild_id = {_G} AND state IN {_sql_states(ACTIVE_STATES)}
),
latest AS (
    -- The newest one, read backwards through jobs_by_member until the first that is not cancelled
    -- (MAX() here read every job the member ever made: the planner does not turn it into this).
    SELECT (SELECT created_at FROM jobs
             WHERE guild_id = {_G} AND member_id = {_M}
               AND state <> '{JobState.CANCELLED.value}'
               AND created_at >= (SELECT at FROM reset)
             ORDER BY created_at DESC LIMIT 1) AS member_last_job_at
)
SELECT * FROM period, activity, latest
"""

# Admission reads the usage and whether the interaction already has a job in one statement.
_USAGE_AND_INTERACTION_SQL = (
    "SELECT *, EXISTS (SELECT 1 FROM jobs WHERE interaction_id = %(interaction)s::bigint) AS taken "
    f"FROM ({_USAGE_SQL}) AS usage"
)

# The ledger as the job rows say it should be: for `ledger_consistency`, which tests and checks use.
_LEDGER_FROM_JOBS_SQL = f"""
WITH held AS (
    SELECT guild_id, member_id, day_key, month_key, cost,
           to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS utc_day,
           created_at >= COALESCE((SELECT MAX(reset_at) FROM member_resets AS r
                                    WHERE r.guild_id = jobs.guild_id AND r.member_id = jobs.member_id), 0.0)
               AS mine
      FROM jobs WHERE state NOT IN {_sql_states(RELEASED_STATES)}
)
SELECT 'server' AS scope, guild_id, 0::bigint AS member_id, day_key AS period, COUNT(*) AS videos,
       SUM(cost) AS credits FROM held GROUP BY guild_id, day_key
UNION ALL SELECT 'server', guild_id, 0, month_key, COUNT(*), SUM(cost) FROM held GROUP BY guild_id, month_key
UNION ALL SELECT 'all', 0, 0, utc_day, COUNT(*), SUM(cost) FROM held GROUP BY utc_day
UNION ALL SELECT 'all', 0, 0, left(utc_day, 7), COUNT(*), SUM(cost) FROM held GROUP BY left(utc_day, 7)
UNION ALL SELECT 'member', guild_id, member_id, day_key, COUNT(*), SUM(cost) FROM held WHERE mine
    GROUP BY guild_id, member_id, day_key
UNION ALL SELECT 'member', guild_id, member_id, month_key, COUNT(*), SUM(cost) FROM held WHERE mine
    GROUP BY guild_id, member_id, month_key
"""


# The same computation as SQLite's _USAGE_REPORT_SQL: the partial first UTC day from the job rows,
# whole days and months from the rollups of migration 008 (see bot/storage/rollup_window.py).
def _rollup_rows(table: str, key: str) -> str:
    day_table = f"usage_by_{table}_day"
    return f"""
    SELECT {key}, videos, credits, failures
      FROM usage_by_{table}_month WHERE guild_id = %(guild)s::bigint AND month >= %(month_from)s::text
    UNION ALL
    SELECT {key}, videos, credits, failures
      FROM {day_table} WHERE guild_id = %(guild)s::bigint
       AND day >= %(add_from)s::text AND day < %(add_to)s::text
    UNION ALL
    SELECT {key}, -videos, -credits, -failures
      FROM {day_table} WHERE guild_id = %(guild)s::bigint
       AND day >= %(take_from)s::text AND day < %(take_to)s::text"""


_USAGE_REPORT_SQL = f"""
WITH partial AS (
    SELECT COALESCE(model, '') AS model, member_id, cost,
           (state NOT IN {_sql_states(RELEASED_STATES)})::int AS spent,
           (state IN {_sql_states(_FAILURE_STATES)})::int AS failed
      FROM jobs WHERE guild_id = %(guild)s::bigint AND created_at >= %(since)s::float8
       AND created_at < %(full_from)s::float8
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
    SELECT 'total' AS kind, ''::text AS key, COALESCE(SUM(videos), 0) AS videos,
           COALESCE(SUM(credits), 0.0) AS credits, COALESCE(SUM(failures), 0) AS failures
      FROM by_model
    UNION ALL
    SELECT 'model', key, SUM(videos), SUM(credits), SUM(failures) FROM by_model GROUP BY key
    UNION ALL
    SELECT 'member', CAST(member_id AS TEXT), SUM(videos), SUM(credits), SUM(failures)
      FROM by_member GROUP BY member_id
)
SELECT * FROM grouped
 WHERE kind = 'total' OR videos > 0 OR failures > 0
 ORDER BY credits DESC, videos DESC, key COLLATE "C"
"""


# --- migrations ---------------------------------------------------------------------------------


async def schema_version(conn: Connection) -> int:
    cursor = await conn.execute(
        "SELECT COALESCE(MAX(version), 0) AS version FROM schema_version"
        if await _has_table(conn, "schema_version")
        else "SELECT 0 AS version"
    )
    row = await cursor.fetchone()
    return int(row["version"]) if row else 0


async def _has_table(conn: Connection, name: str) -> bool:
    cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL AS present", (name,))
    row = await cursor.fetchone()
    return bool(row and row["present"])


async def apply_migrations(conn: Connection, label: str, migrations: Sequence[Migration]) -> int:
    """Bring the database to the newest of `migrations`, one transaction per migration (with its
    version bump), under a global advisory lock so two processes starting at once migrate once."""
    latest = migrations[-1].version if migrations else 0
    current = await schema_version(conn)
    if current > latest:
        raise StorageUnavailable(
            f"The database {label} has schema version {current}, newer than this bot knows ({latest}); "
            "run a newer bot or restore a backup."
        )
    for migration in migrations[current:]:
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                if await schema_version(conn) >= migration.version:
                    continue  # another process migrated while this one waited for the lock
                # No parameters: psycopg sends the whole file in one simple query, all its statements.
                await conn.execute(migration.sql)
                await conn.execute("DELETE FROM schema_version")
                await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (migration.version,))
        except psycopg.Error as exc:
            raise StorageUnavailable(
                f"Migration {migration.label} failed on {label} and was rolled back "
                f"(the database stays at version {await schema_version(conn)}): {exc}"
            ) from exc
        log.info("database %s migrated to version %d (%s)", label, migration.version, migration.label)
    return latest


class _RecentlyReturned:
    """The pool's `check`: psycopg-pool's stock check sends an empty query before every loan, one
    more round trip for each store call, which under load doubles the waits of a one-statement read.
    A connection the pool got back in good order within _FRESH_CONNECTION_SECONDS is lent without
    it; an older one is checked as before, so a server that restarted or went away meanwhile is
    still noticed before use (and a connection cut in that last second fails its statement, which
    `_connection` turns into StorageBusy, as a cut during any statement does)."""

    def __init__(self) -> None:
        self._returned: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()

    def returned(self, conn: Connection) -> None:
        """`conn` was just given back after a call that went through. (Not the pool's `reset`
        hook: with one, psycopg-pool hands connections back through a background task, and the
        next call waits for it or opens another connection.)"""
        self._returned[conn] = time.monotonic()

    async def check(self, conn: Connection) -> None:
        returned = self._returned.pop(conn, None)
        fresh = returned is not None and time.monotonic() - returned < _FRESH_CONNECTION_SECONDS
        if fresh and not conn.broken and conn.pgconn.status == psycopg.pq.ConnStatus.OK:
            return
        await AsyncConnectionPool.check_connection(conn)


# --- the store ----------------------------------------------------------------------------------


class PostgresStore:
    """`Store` on a PostgreSQL database. Open it with `PostgresStore.open` (or `bot.storage.open_store`)."""

    #: Several bot processes may share the database: jobs are owned through session advisory locks.
    shared = True

    def __init__(
        self, pool: AsyncConnectionPool[Connection], label: str, clock: Clock, url: str = ""
    ) -> None:
        self.label = label
        self._pool = pool
        self._clock = clock
        self._closed = False
        self._url = url
        # Job ownership: a session-level advisory lock per owned job, all held by this one connection.
        # PostgreSQL drops them when the session ends, so a process that dies (or whose host does:
        # see _LEASE_KEEPALIVES) frees its jobs for the others without anyone writing anything.
        self._lease_conn: Connection | None = None
        self._lease_lock = asyncio.Lock()
        # Owned job -> the ownership epoch this process took it with (the fencing token its writes
        # to the job in flight carry). Jobs whose ownership was lost keep their epoch in _stale (so
        # late writes still carry it, and miss once another process took the job) and wait in
        # _lost for the runner to stop its work on them.
        self._owned: dict[str, int] = {}
        self._stale: dict[str, int] = {}
        self._lost: set[str] = set()
        self._busy_timeout_ms = BUSY_TIMEOUT_MS
        self._down_since: float | None = None  # monotonic time the database stopped answering
        self._recently_returned = _RecentlyReturned()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        migrations: Sequence[Migration] | None = None,
        clock: Clock = time.time,
        max_size: int = _POOL_MAX_SIZE,
    ) -> PostgresStore:
        """Connect, apply pending migrations, and return the store. Raises StorageUnavailable, naming
        the database (password hidden), when any of that is impossible."""
        label = redact_url(url)
        pending = postgres_migrations() if migrations is None else list(migrations)

        async def configure(conn: Connection) -> None:
            await conn.execute(f"SET lock_timeout = {int(busy_timeout_ms):d}")

        # One direct connection first: it fails fast with libpq's own reason (refused, unknown
        # host, bad password) where a pool would retry quietly until its timeout; it migrates too.
        try:
            first = await psycopg.AsyncConnection.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=int(_CONNECT_TIMEOUT_SECONDS)
            )
        except psycopg.Error as exc:
            raise StorageUnavailable(
                f"Cannot connect to the database {label}: {_without_secret(str(exc), url)} "
                "Check DATABASE_URL and that the server is running."
            ) from exc
        try:
            async with first:
                await apply_migrations(first, label, pending)
        except psycopg.Error as exc:
            raise StorageUnavailable(
                f"Cannot use the database {label}: {_without_secret(str(exc), url)}"
            ) from exc

        recently_returned = _RecentlyReturned()
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=configure,
            # A connection the server dropped (restart, failover) is replaced instead of handed out.
            check=recently_returned.check,
            timeout=_CONNECT_TIMEOUT_SECONDS,
            name="kling-store",
        )
        try:
            await pool.open(wait=True, timeout=_CONNECT_TIMEOUT_SECONDS)
        except (PoolTimeout, psycopg.Error) as exc:
            await pool.close()
            raise StorageUnavailable(
                f"Cannot connect to the database {label} within {_CONNECT_TIMEOUT_SECONDS:.0f} s; "
                "check DATABASE_URL and that the server is running."
            ) from exc
        store = cls(pool, label, clock, url)
        store._busy_timeout_ms = busy_timeout_ms
        store._recently_returned = recently_returned
        return store

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lease_lock:
            if self._lease_conn is not None:
                await self._lease_conn.close()  # frees every job this process owned
                self._lease_conn = None
        await self._pool.close()

    # --- job ownership ------------------------------------------------------------------------
    # Ownership is an advisory lock (who may work on a job) plus an epoch on the job row (which
    # writes still count). Taking a job bumps its epoch in the database; a transition of a job in
    # flight only lands with the epoch its owner took. So when the lease connection drops (server
    # restart, network cut, pg_terminate_backend) while this process is half-way through a job,
    # and another process takes the job over, every later write of the stale owner matches
    # nothing: its create is never stamped as sent (so never sent), its delivery never recorded.
    # The runner is told (take_lost_leases) and stops that work; check_leases notices the loss
    # within a second even when nothing else touches the lease connection.
    def _lose_leases(self) -> None:
        log.warning("the connection holding this process's job leases was lost; claiming again")
        self._lost.update(self._owned)
        self._stale.update(self._owned)
        self._owned.clear()

    @contextlib.asynccontextmanager
    async def _lease(self) -> AsyncIterator[Connection]:
        """The connection holding this process's job locks, (re)connected when needed. If it was
        lost, so were the locks: ownership starts from nothing and is claimed again."""
        async with self._lease_lock:
            conn = self._lease_conn
            if conn is None or conn.closed or conn.broken:
                if conn is not None:
                    self._lose_leases()
                    self._lease_conn = None
                try:
                    conn = await psycopg.AsyncConnection.connect(
                        self._url,
                        autocommit=True,
                        row_factory=dict_row,
                        connect_timeout=int(_CONNECT_TIMEOUT_SECONDS),
                        # Shown in pg_stat_activity: which process's job locks this session holds.
                        application_name=f"kling-bot lease {os.getpid()}",
                        **_LEASE_KEEPALIVES,
                    )
                except psycopg.OperationalError as exc:
                    raise self._unreachable(exc) from exc
                self._lease_conn = conn
                settings = {**_LEASE_SERVER_KEEPALIVES, "lock_timeout": int(self._busy_timeout_ms)}
                for name, value in settings.items():
                    await conn.execute(f"SET {name} = {value:d}")
            try:
                yield conn
            except psycopg.OperationalError as exc:
                if not _is_unreachable(exc) and not conn.broken:
                    raise
                self._lose_leases()
                with contextlib.suppress(psycopg.Error):
                    await conn.close()
                self._lease_conn = None
                raise self._unreachable(exc) from exc
            self._reachable()

    async def claim_jobs(self, job_ids: Sequence[str]) -> set[str]:
        async with self._lease() as conn:
            wanted = [job_id for job_id in dict.fromkeys(job_ids) if job_id not in self._owned]
            if not wanted:
                await conn.execute("SELECT 1")  # notices a lost session, and with it lost leases
                return set()
            rows = await _fetch(
                conn,
                f"SELECT id FROM unnest(%s::text[]) AS id WHERE pg_try_advisory_lock({_job_key('id')})",
                (wanted,),
            )
            locked = [str(row["id"]) for row in rows]
            if not locked:
                return set()
            # A new epoch for each job taken: from now on only this process's writes to it land.
            bumped = await _fetch(
                conn,
                "UPDATE jobs SET lease_epoch = lease_epoch + 1 WHERE id = ANY(%s::text[]) "
                "RETURNING id, lease_epoch",
                (locked,),
            )
            epochs = {str(row["id"]): int(row["lease_epoch"]) for row in bumped}
            self._owned.update(epochs)
            for job_id in epochs:
                self._stale.pop(job_id, None)
            return set(epochs)

    def owns(self, job_id: str) -> bool:
        return job_id in self._owned

    @property
    def lease_pid(self) -> int | None:
        """The server process id of the session holding this process's job locks (for operators
        matching it in pg_stat_activity, and for tests that end it)."""
        conn = self._lease_conn
        return None if conn is None or conn.closed else conn.info.backend_pid

    async def check_leases(self) -> bool:
        for attempt in (1, 2):
            try:
                async with self._lease() as conn:
                    rows = await _fetch(conn, _ORPHANS_SQL)
                return bool(rows[0]["orphans"])
            except StorageBusy:
                # The lease session just ended (its jobs now wait in _lost): connect again at
                # once, so this process can claim jobs back without waiting for the next check.
                if attempt == 2 or self._lease_conn is not None:
                    raise
        raise AssertionError("unreachable")

    def take_lost_leases(self) -> set[str]:
        lost, self._lost = self._lost, set()
        return lost

    def _fence(self, job_id: str) -> int | None:
        """The epoch this process's writes to the job carry: the one it owns the job with, else the
        one it had before losing it. None when it never took the job (then nothing is fenced: only
        an owner ever moves a job in flight, and the contract tests do)."""
        return self._owned.get(job_id, self._stale.get(job_id))

    async def _release(self, job_id: str) -> None:
        self._stale.pop(job_id, None)
        if job_id not in self._owned:
            return
        del self._owned[job_id]
        with contextlib.suppress(psycopg.Error):
            async with self._lease() as conn:
                await conn.execute(f"SELECT pg_advisory_unlock({_job_key('%(id)s')})", {"id": job_id})

    # --- plumbing -------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection. A server that does not answer (restarting, network down) becomes
        StorageBusy ("nothing was written, try again"), logged once per outage, and its return is
        logged too; the pool replaces the broken connections meanwhile."""
        try:
            async with self._pool.connection() as conn:
                yield conn
            self._recently_returned.returned(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if not _is_unreachable(exc):
                raise
            raise self._unreachable(exc) from exc
        self._reachable()

    def _unreachable(self, exc: BaseException) -> StorageBusy:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "the database %s is unreachable (%s); waiting for it, jobs carry on when it is back",
                self.label,
                type(exc).__name__,
            )
        return StorageBusy("The database could not be reached; nothing was written.")

    def _reachable(self) -> None:
        if self._down_since is not None:
            log.warning(
                "the database %s is reachable again after %.1f s",
                self.label,
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    async def _fetch(self, sql: str, params: Any = None) -> list[Row]:
        async with self._connection() as conn:
            return await _fetch(conn, sql, params)

    @contextlib.asynccontextmanager
    async def _transaction(self, guild_id: int | None = None) -> AsyncIterator[Connection]:
        """One transaction on one pooled connection; with `guild_id`, it first waits for that guild's
        advisory lock so check-then-write sequences of the guild run one at a time, across processes."""
        async with self._connection() as conn:
            try:
                async with conn.transaction():
                    if guild_id is not None:
                        await _fetch(conn, _GUILD_LOCK_SQL, (guild_id,))
                    yield conn
            except pg_errors.LockNotAvailable as exc:
                raise _busy_error() from exc

    @contextlib.asynccontextmanager
    async def _pipelined_transaction(self, *lock_keys: int) -> AsyncIterator[Connection]:
        """`_transaction` in pipeline mode, for the hot check-then-write paths: BEGIN and the advisory
        locks of `lock_keys` are only queued, and travel with the first statement whose rows are
        fetched; statements whose rows are fetched only after the block (an INSERT … RETURNING) travel
        with the COMMIT. Each wait for the server is a trip through the kernel's scheduler, which
        under load costs far more than the statements do (measured: 12.7 ms p50 for an admission
        using 1.4 ms of CPU, in eight round trips)."""
        async with self._connection() as conn:
            try:
                async with conn.pipeline(), conn.transaction():
                    for key in lock_keys:
                        await conn.execute(_GUILD_LOCK_SQL, (key,))
                    yield conn
            except pg_errors.LockNotAvailable as exc:
                raise _busy_error() from exc

    # --- jobs -----------------------------------------------------------------------------
    async def admit_job(self, new: NewJob, rule: AdmitRule, *, global_caps: bool = True) -> Admission:
        columns, values = new_job_row(new, _NEW_JOB_COLUMNS)
        # The operator's global caps span every server: admissions take one more lock (key 0, never
        # a server id) so the last credits go to exactly one of them. Without global caps that lock
        # would only queue every server's admissions behind each other (measured: two processes at
        # 50 /video a second left most interactions unacknowledged while they waited for it), so it
        # is taken only when needed.
        lock_keys = (new.guild_id, 0) if global_caps else (new.guild_id,)
        try:
            # Two round trips: BEGIN, the locks and the usage read (with the duplicate check) in the
            # first; the INSERT, the story link and COMMIT in the second.
            async with self._pipelined_transaction(*lock_keys) as conn:
                usage, taken = await _usage_and_interaction(conn, new)
                if taken:
                    raise DuplicateInteraction(f"interaction {new.interaction_id} already has a job")
                decision = rule(usage)
                if not decision.allowed:
                    return Admission(decision=decision, job=None)
                inserted = await conn.execute(
                    f"INSERT INTO jobs ({', '.join(columns)}) "
                    f"VALUES ({', '.join(f'%({c})s' for c in columns)}) RETURNING {_SELECT_JOB}",
                    values,
                )
                if new.story_parent_id is not None:
                    await conn.execute(
                        "INSERT INTO story_links (job_id, parent_id) VALUES (%s, %s)",
                        (new.id, new.story_parent_id),
                    )
            rows = await inserted.fetchall()
        except pg_errors.UniqueViolation as exc:
            # The same interaction admitted meanwhile under another guild id (never in practice).
            raise DuplicateInteraction(f"interaction {new.interaction_id} already has a job") from exc
        return Admission(decision=decision, job=_job_from_row(rows[0]))

    async def get_job(self, job_id: str) -> Job | None:
        rows = await self._fetch(f"SELECT {_SELECT_JOB} FROM jobs WHERE id = %s", (job_id,))
        return _job_from_row(rows[0]) if rows else None

    async def get_job_by_interaction(self, interaction_id: int) -> Job | None:
        rows = await self._fetch(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE interaction_id = %s", (interaction_id,)
        )
        return _job_from_row(rows[0]) if rows else None

    async def transition(
        self, job_id: str, *, expect: Iterable[JobState], to: JobState, **fields: Any
    ) -> Job | None:
        expected = [JobState(state).value for state in expect]
        sql = (
            f"UPDATE jobs SET state = %(to)s, updated_at = %(now)s{_assignments(fields)} "
            f"WHERE id = %(id)s AND state = ANY(%(expected)s::text[]) RETURNING {_SELECT_JOB}"
        )
        params = {
            **fields,
            "expected": expected,
            "to": JobState(to).value,
            "now": self._clock(),
            "id": job_id,
        }
        lease = self._fence(job_id)
        if lease is not None and _OWNED_STATES.intersection(expected):
            # Fencing: a job in flight moves only with the epoch this process took it with, so not
            # at all once another process has taken it over since (see "job ownership").
            sql = sql.replace(
                " RETURNING ",
                f" AND (state NOT IN {_sql_states(_OWNED_STATES)} OR lease_epoch = %(lease)s) RETURNING ",
                1,
            )
            params["lease"] = lease
        # One statement, its own transaction in autocommit (triggers included): no BEGIN and COMMIT
        # round trips around it.
        rows = await self._fetch(sql, params)
        if rows and (to is JobState.QUEUED or to in TERMINAL_STATES):
            await self._release(job_id)  # nothing left to do for its owner
        return _job_from_row(rows[0]) if rows else None

    async def update_job(self, job_id: str, **fields: Any) -> Job | None:
        assignments = _assignments(fields)
        if not fields:
            return await self.get_job(job_id)
        sql = f"UPDATE jobs SET updated_at = %(now)s{assignments} WHERE id = %(id)s RETURNING {_SELECT_JOB}"
        rows = await self._fetch(sql, {**fields, "now": self._clock(), "id": job_id})  # one statement
        return _job_from_row(rows[0]) if rows else None

    async def jobs_in_states(self, states: Iterable[JobState]) -> list[Job]:
        wanted = [JobState(state).value for state in states]
        rows = await self._fetch(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE state = ANY(%s::text[]) ORDER BY created_at, seq",
            (wanted,),
        )
        return [_job_from_row(row) for row in rows]

    async def claim_next_queued(self, guild_id: int, running_cap: int | None) -> Job | None:
        sql = f"""
            UPDATE jobs SET state = '{JobState.SUBMITTING.value}', updated_at = %(now)s,
                            lease_epoch = lease_epoch + 1
             WHERE id = (SELECT id FROM jobs
                          WHERE guild_id = %(guild)s::bigint AND state = '{JobState.QUEUED.value}'
                          ORDER BY created_at, seq LIMIT 1)
               AND (%(cap)s::bigint IS NULL OR %(cap)s::bigint > (
                        SELECT COUNT(*) FROM jobs WHERE guild_id = %(guild)s::bigint
                           AND state IN {_sql_states(_IN_FLIGHT_STATES)}))
            RETURNING {_SELECT_JOB}, lease_epoch"""
        # On the lease connection, and the job's lock taken before COMMIT: no other process ever sees
        # this SUBMITTING job without an owner (it would take it for a dead process's and requeue it).
        async with self._lease() as conn:
            try:
                async with conn.transaction():
                    await _fetch(conn, _GUILD_LOCK_SQL, (guild_id,))
                    rows = await _fetch(
                        conn, sql, {"now": self._clock(), "guild": guild_id, "cap": running_cap}
                    )
                    if rows:
                        await _fetch(
                            conn, f"SELECT pg_advisory_lock({_job_key('%(id)s')})", {"id": rows[0]["id"]}
                        )
                        self._owned[str(rows[0]["id"])] = int(rows[0]["lease_epoch"])
                        self._stale.pop(str(rows[0]["id"]), None)
            except pg_errors.LockNotAvailable as exc:
                raise _busy_error() from exc
        return _job_from_row(rows[0]) if rows else None

    async def adopt_task(
        self, job_id: str, task_id: str, *, trace_id: str | None, submitted_at: float
    ) -> Job | None:
        sql = f"""
            UPDATE jobs SET state = '{JobState.RUNNING.value}', updated_at = %(now)s, task_id = %(task)s,
                            trace_id = COALESCE(%(trace)s::text, trace_id), submitted_at = %(submitted)s
             WHERE id = %(id)s AND state = '{JobState.SUBMITTING.value}'
               AND NOT EXISTS (SELECT 1 FROM jobs WHERE task_id = %(task)s)
            RETURNING {_SELECT_JOB}"""
        params = {"now": self._clock(), "task": task_id, "trace": trace_id, "submitted": submitted_at}
        async with self._transaction() as conn:
            # Under READ COMMITTED two adoptions of one task could both pass NOT EXISTS; the lock on
            # the task id makes the second one run after the first committed, and see its row.
            await _fetch(conn, _TASK_LOCK_SQL, (task_id,))
            rows = await _fetch(conn, sql, {**params, "id": job_id})
        return _job_from_row(rows[0]) if rows else None

    async def known_task_ids(self, task_ids: Sequence[str]) -> set[str]:
        wanted = list(dict.fromkeys(task_ids))
        if not wanted:
            return set()
        rows = await self._fetch("SELECT task_id FROM jobs WHERE task_id = ANY(%s::text[])", (wanted,))
        return {str(row["task_id"]) for row in rows}

    async def queue_position(self, job_id: str) -> int:
        rows = await self._fetch(
            """SELECT COUNT(*) AS ahead FROM jobs AS mine JOIN jobs AS ahead ON ahead.guild_id = mine.guild_id
                 WHERE mine.id = %(id)s AND mine.state = %(queued)s AND ahead.state = %(queued)s
                   AND (ahead.created_at, ahead.seq) <= (mine.created_at, mine.seq)""",
            {"id": job_id, "queued": JobState.QUEUED.value},
        )
        return int(rows[0]["ahead"])

    @staticmethod
    def _history_filter(
        guild_id: int, member_id: int | None, states: Sequence[JobState] | None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = ["guild_id = %s::bigint"]
        params: list[Any] = [guild_id]
        if member_id is not None:
            clauses.append("member_id = %s::bigint")
            params.append(member_id)
        if states is not None:
            clauses.append("state = ANY(%s::text[])")
            params.append([JobState(state).value for state in states])
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
            # Keyset: the jobs after `after` in this order, through the (…, created_at, seq) index.
            where += " AND (created_at, seq) < (SELECT created_at, seq FROM jobs WHERE id = %s)"
            params.append(after)
        rows = await self._fetch(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE {where} "
            "ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return [_job_from_row(row) for row in rows]

    async def count_history(
        self, guild_id: int, *, member_id: int | None = None, states: Sequence[JobState] | None = None
    ) -> int:
        # Per-state counts kept by migration 008's trigger: at most nine rows, whatever the history.
        # They have the jobs' guild, member and state columns, so history's filter reads them as well.
        table = "job_counts_by_guild" if member_id is None else "job_counts_by_member"
        where, params = self._history_filter(guild_id, member_id, states)
        rows = await self._fetch(f"SELECT COALESCE(SUM(jobs), 0) AS n FROM {table} WHERE {where}", params)
        return int(rows[0]["n"])

    async def extendable_videos(self, guild_id: int, *, limit: int = 100) -> list[VideoChoice]:
        rows = await self._fetch(
            f"""SELECT id, model, request::jsonb ->> 'prompt' AS prompt FROM jobs
                 WHERE guild_id = %s::bigint AND state = '{JobState.DELIVERED.value}'
                   AND video_id IS NOT NULL
                 ORDER BY created_at DESC, seq DESC LIMIT %s""",
            (guild_id, max(limit, 0)),
        )
        return [video_choice(row) for row in rows]

    async def average_render_seconds(
        self, guild_id: int, model: Model, mode: Mode, duration: int, *, sample: int = 20
    ) -> float | None:
        rows = await self._fetch(
            f"""SELECT AVG(finished_at - submitted_at) AS average FROM (
                    SELECT finished_at, submitted_at FROM jobs
                     WHERE guild_id = %(guild)s::bigint AND model = %(model)s AND mode = %(mode)s
                       AND duration = %(duration)s
                       AND state IN {_sql_states(_STATES_WITH_RENDER_TIME)}
                       AND finished_at >= submitted_at
                     ORDER BY finished_at DESC LIMIT %(sample)s) AS recent""",
            render_time_params(guild_id, model, mode, duration, sample),
        )
        average = rows[0]["average"]
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
        global_keys = (global_day_key, global_month_key) if global_day_key and global_month_key else None
        async with self._connection() as conn:
            return await _usage(conn, guild_id, member_id, day_key, month_key, global_keys=global_keys)

    async def ledger_consistency(self) -> list[str]:
        stored = await self._fetch(
            "SELECT scope, guild_id, member_id, period, videos, credits FROM usage_ledger"
        )
        return ledger_problems(stored, await self._fetch(_LEDGER_FROM_JOBS_SQL))

    async def reset_member_usage(self, guild_id: int, member_id: int, now: float) -> None:
        params = {"guild": guild_id, "member": member_id, "now": now}
        async with self._transaction(guild_id) as conn:
            await _fetch(
                conn,
                "INSERT INTO member_resets (guild_id, member_id, reset_at) "
                "VALUES (%(guild)s, %(member)s, %(now)s) ON CONFLICT DO NOTHING",
                params,
            )
            # Rebuild the member's own ledger rows from the jobs created since their latest reset.
            await _fetch(
                conn,
                "DELETE FROM usage_ledger "
                "WHERE scope = 'member' AND guild_id = %(guild)s AND member_id = %(member)s",
                params,
            )
            for key in ("day_key", "month_key"):
                await _fetch(
                    conn,
                    f"""INSERT INTO usage_ledger (scope, guild_id, member_id, period, videos, credits)
                        SELECT 'member', guild_id, member_id, {key}, COUNT(*), SUM(cost) FROM jobs
                         WHERE guild_id = %(guild)s AND member_id = %(member)s
                           AND created_at >= (SELECT MAX(reset_at) FROM member_resets
                                               WHERE guild_id = %(guild)s AND member_id = %(member)s)
                           AND state NOT IN {_sql_states(RELEASED_STATES)}
                         GROUP BY guild_id, member_id, {key}""",
                    params,
                )

    async def usage_report(self, guild_id: int, since: float) -> UsageReport:
        rows = await self._fetch(_USAGE_REPORT_SQL, {"guild": guild_id, **usage_window(since).params()})
        return usage_report_from_rows(rows, since)

    async def state_totals(self) -> list[StateTotal]:
        rows = await self._fetch(
            "SELECT state, COUNT(*) AS jobs, COALESCE(SUM(cost), 0.0) AS credits FROM jobs "
            'GROUP BY state ORDER BY state COLLATE "C"'
        )
        return [StateTotal(JobState(row["state"]), int(row["jobs"]), float(row["credits"])) for row in rows]

    async def get_limits(self, guild_id: int) -> GuildLimits:
        rows = await self._fetch("SELECT limits FROM guild_limits WHERE guild_id = %s", (guild_id,))
        return limits_from_rows(rows)

    async def set_limits(self, guild_id: int, limits: GuildLimits) -> None:
        async with self._transaction() as conn:
            await _fetch(
                conn,
                """INSERT INTO guild_limits (guild_id, limits, updated_at) VALUES (%s, %s, %s)
                   ON CONFLICT (guild_id) DO UPDATE
                   SET limits = excluded.limits,
                       updated_at = GREATEST(excluded.updated_at, guild_limits.updated_at + 0.001)""",
                (guild_id, limits.model_dump_json(), self._clock()),
            )

    async def get_versioned_limits(self, guild_id: int) -> VersionedLimits:
        rows = await self._fetch(
            "SELECT limits, updated_at FROM guild_limits WHERE guild_id = %s", (guild_id,)
        )
        return versioned_limits_from_rows(rows)

    async def set_limits_if_version(self, guild_id: int, limits: GuildLimits, version: float) -> float | None:
        # As in SQLite: updated_at is the version and only grows; compare and set in one statement.
        params = limits_params(guild_id, limits, self._clock(), version)
        async with self._transaction() as conn:
            if version == 0.0:
                rows = await _fetch(
                    conn,
                    """INSERT INTO guild_limits (guild_id, limits, updated_at)
                       VALUES (%(guild)s, %(limits)s, %(now)s)
                       ON CONFLICT (guild_id) DO NOTHING RETURNING updated_at""",
                    params,
                )
            else:
                rows = await _fetch(
                    conn,
                    """UPDATE guild_limits
                          SET limits = %(limits)s, updated_at = GREATEST(%(now)s, updated_at + 0.001)
                        WHERE guild_id = %(guild)s AND updated_at = %(expected)s
                    RETURNING updated_at""",
                    params,
                )
        return float(rows[0]["updated_at"]) if rows else None

    async def daily_usage(
        self, guild_id: int, since: float, *, first_day: str | None = None
    ) -> list[DayUsage]:
        if first_day is not None:
            rows = await self._fetch(
                '''SELECT period AS day_key, videos, credits FROM usage_ledger
                    WHERE scope = 'server' AND guild_id = %s AND member_id = 0 AND period >= %s
                      AND length(period) = 10 AND videos > 0
                    ORDER BY period COLLATE "C"''',
                (guild_id, first_day),
            )
            return day_usage(rows)
        rows = await self._fetch(
            f"""SELECT day_key, COUNT(*) AS videos, COALESCE(SUM(cost), 0.0) AS credits FROM jobs
                 WHERE guild_id = %s AND created_at >= %s AND state NOT IN {_sql_states(RELEASED_STATES)}
                 GROUP BY day_key ORDER BY day_key""",
            (guild_id, since),
        )
        return day_usage(rows)

    async def jobs_since(self, guild_id: int, since: float, *, limit: int = 10_000) -> list[Job]:
        rows = await self._fetch(
            f"SELECT {_SELECT_JOB} FROM jobs WHERE guild_id = %s AND created_at >= %s "
            "ORDER BY created_at, seq LIMIT %s",
            (guild_id, since, max(limit, 0)),
        )
        return [_job_from_row(row) for row in rows]

    async def get_member_defaults(self, guild_id: int, member_id: int) -> Preferences:
        rows = await self._fetch(
            "SELECT model, mode, duration, aspect_ratio FROM member_defaults "
            "WHERE guild_id = %s AND member_id = %s",
            (guild_id, member_id),
        )
        return preferences_from_row(rows[0]) if rows else Preferences()

    async def set_member_defaults(self, guild_id: int, member_id: int, preferences: Preferences) -> None:
        async with self._transaction() as conn:
            if preferences.is_empty():
                await _fetch(
                    conn,
                    "DELETE FROM member_defaults WHERE guild_id = %s AND member_id = %s",
                    (guild_id, member_id),
                )
                return
            await _fetch(
                conn,
                """INSERT INTO member_defaults
                       (guild_id, member_id, model, mode, duration, aspect_ratio, updated_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (guild_id, member_id) DO UPDATE SET
                       model = excluded.model, mode = excluded.mode, duration = excluded.duration,
                       aspect_ratio = excluded.aspect_ratio, updated_at = excluded.updated_at""",
                preferences_params(guild_id, member_id, preferences, self._clock()),
            )

    async def story(self, job_id: str, *, limit: int = 50) -> list[Job]:
        rows = await self._fetch(
            f"""WITH RECURSIVE chain (id, depth) AS (
                    SELECT id, 0 FROM jobs WHERE id = %(job)s
                    UNION ALL
                    SELECT story_links.parent_id, chain.depth + 1
                      FROM story_links JOIN chain ON story_links.job_id = chain.id
                     WHERE chain.depth < %(limit)s::integer - 1
                )
                SELECT {SELECT_JOB_QUALIFIED}
                  FROM chain JOIN jobs ON jobs.id = chain.id ORDER BY chain.depth DESC""",
            {"job": job_id, "limit": limit},
        )
        return [_job_from_row(row) for row in rows]

    async def story_parents(self, job_ids: Sequence[str]) -> dict[str, str]:
        if not job_ids:
            return {}
        rows = await self._fetch(
            "SELECT job_id, parent_id FROM story_links WHERE job_id = ANY(%s::text[])", (list(job_ids),)
        )
        return {str(row["job_id"]): str(row["parent_id"]) for row in rows}


def _is_unreachable(exc: BaseException) -> bool:
    """A server that does not answer: no pooled connection in time, a connection refused or cut
    (no SQLSTATE, or class 08), or the server shutting down (57P01-57P03). A lock timeout, a
    deadlock or a serialization failure are answers, not an outage."""
    if isinstance(exc, PoolTimeout):
        return True
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith("08") or state in {"57P01", "57P02", "57P03"}


def _busy_error() -> StorageBusy:
    return StorageBusy("The database stayed locked past the lock timeout; nothing was written.")


async def _fetch(conn: Connection, sql: str, params: Any = None) -> list[Row]:
    try:
        cursor = await conn.execute(sql, params)
    except pg_errors.LockNotAvailable as exc:
        raise _busy_error() from exc
    return await cursor.fetchall() if cursor.description else []


async def _usage(
    conn: Connection,
    guild_id: int,
    member_id: int,
    day_key: str,
    month_key: str,
    *,
    global_keys: tuple[str, str] | None = None,
) -> UsageSnapshot:
    # An empty key matches no ledger row, so the global figures read as 0 when not asked for.
    params = usage_params(guild_id, member_id, (day_key, month_key), global_keys or ("", ""))
    (row,) = await _fetch(conn, _USAGE_SQL, params)
    return UsageSnapshot(**row)


async def _usage_and_interaction(conn: Connection, new: NewJob) -> tuple[UsageSnapshot, bool]:
    """The usage snapshot admission decides on, and whether a job already has the interaction."""
    keys, global_keys = (new.day_key, new.month_key), (new.global_day_key, new.global_month_key)
    params = usage_params(new.guild_id, new.member_id, keys, global_keys)
    params["interaction"] = new.interaction_id
    # fetchall, not _fetch: in pipeline mode a cursor has no description until its rows are fetched.
    (row,) = await (await conn.execute(_USAGE_AND_INTERACTION_SQL, params)).fetchall()
    taken = bool(row.pop("taken"))
    return UsageSnapshot(**row), taken

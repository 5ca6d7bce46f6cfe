"""The `Store` contract: admission under contention, guarded transitions, usage, queue, history and
settings. Tests taking `store` or `backend` run on BOTH backends (a temporary SQLite file and a fresh
database on a throw-away PostgreSQL cluster, see tests/conftest.py); the SQLite-specific ones (busy and
unusable files, BEGIN IMMEDIATE) take `sqlite_store` or a path."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import sqlite3
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kling.models import AspectRatio, Mode, Model
from bot.quota.models import Decision, GuildLimits, LimitUnit, Preferences, RoleCap, UsageSnapshot
from bot.storage import (
    ACTIVE_STATES,
    RELEASED_STATES,
    DuplicateInteraction,
    JobState,
    SqliteStore,
    StorageBusy,
    StorageUnavailable,
    Store,
    open_store,
)
from bot.storage.postgres import PostgresStore
from tests.postgres_cluster import PostgresCluster
from tests.sqlite_writer import write_lock_held
from tests.storage_backends import Backend
from tests.storage_samples import (
    DAY,
    GUILD,
    MEMBER,
    MONTH,
    NEXT_DAY,
    FakeClock,
    admit,
    admit_in_state,
    allow,
    new_job,
    request,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(backend: Backend, clock: FakeClock) -> Store:
    """A store on a fresh database of each backend (closed by the `backend` fixture)."""
    return await backend.open(clock=clock)


@pytest.fixture
async def sqlite_store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "bot.sqlite3", clock=clock)
    yield opened
    await opened.close()


async def two_stores(backend: Backend) -> tuple[Store, Store]:
    """Two stores on one database, as two bot processes would have: separate connections (and, on
    SQLite, separate asyncio locks). The `backend` fixture closes them."""
    return await backend.open(), await backend.open()


def quota_database(path: Path) -> Path:
    """A bare WAL database with one counter, for checking SQLite's own locking behaviour."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as setup:
        setup.execute("PRAGMA journal_mode = WAL")
        setup.execute("CREATE TABLE quota (used INTEGER)")
        setup.execute("INSERT INTO quota VALUES (0)")
    return path


def count_rows(path: Path, table: str = "jobs") -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def pragma(db: Any, name: str) -> Any:
    (row,) = await db.execute_fetchall(f"PRAGMA {name}")
    return row[0]


# --- opening ------------------------------------------------------------------------------------


async def test_open_creates_the_folder_and_configures_every_connection(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "bot.sqlite3"
    store = await open_store(path)
    try:
        assert path.is_file()
        for db in (store._writer, store._reader):
            names = ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            pragmas = {name: await pragma(db, name) for name in names}
            # synchronous 1 is NORMAL: in WAL mode a commit survives a crash of the bot (see
            # test_a_commit_survives_kill_9); only an OS crash may lose the last commits.
            assert pragmas == {
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 5000,
                "synchronous": 1,
            }
        assert await pragma(store._reader, "query_only") == 1
    finally:
        await store.close()
        await store.close()  # closing twice is harmless


async def test_a_folder_that_cannot_be_created_fails_at_start_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StorageUnavailable, match=str(blocker)):
        await open_store(blocker / "bot.sqlite3")


async def test_a_folder_in_place_of_the_file_fails_at_start_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bot.sqlite3").mkdir()
    with pytest.raises(StorageUnavailable, match=r"bot\.sqlite3"):
        await open_store(tmp_path / "bot.sqlite3")


async def test_a_file_that_is_not_a_database_fails_at_start_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"this is not an SQLite database, just some text that is long enough" * 20)
    with pytest.raises(StorageUnavailable, match=str(path)):
        await open_store(path)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root ignores folder permissions; the not-a-folder and faked-access tests cover root",
)
async def test_a_read_only_folder_fails_at_start_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StorageUnavailable, match=str(folder)) as caught:
            await open_store(folder / "bot.sqlite3")
        assert "readonly" not in str(caught.value)  # caught at start, not on the first write
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)  # so pytest can clean the folder up


async def test_a_folder_this_user_cannot_write_fails_at_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    real_access = os.access
    # Faked, because the test suite may run as root, which file permissions do not stop.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode))
    with pytest.raises(StorageUnavailable, match=str(folder)):
        await open_store(folder / "bot.sqlite3")
    assert not (folder / "bot.sqlite3").exists()


@pytest.mark.parametrize("implementation", [SqliteStore, PostgresStore])
def test_every_backend_satisfies_the_store_protocol(implementation: type[Store]) -> None:
    # mypy checks bot/storage (open_store returns either as a Store); here every method exists.
    missing = [name for name in dir(Store) if not name.startswith("_") and not hasattr(implementation, name)]
    assert missing == []


# --- admission ----------------------------------------------------------------------------------


async def test_admitted_job_round_trips_every_field(store: Store) -> None:
    parent_id = await admit(store)
    new = new_job(
        request=request(Model.V2_6, Mode.PRO, 10), cost=7.5, message_id=555, parent_job_id=parent_id
    )
    admission = await store.admit_job(new, allow)
    job = admission.job
    assert job is not None
    assert (job.id, job.interaction_id, job.guild_id, job.channel_id, job.member_id) == (
        new.id,
        new.interaction_id,
        GUILD,
        7,
        MEMBER,
    )
    assert job.request == new.request and job.cost == 7.5 and job.size_limit == new.size_limit
    assert (job.day_key, job.month_key, job.message_id, job.parent_job_id) == (DAY, MONTH, 555, parent_id)
    assert job.state is JobState.QUEUED and job.created_at == job.updated_at == new.created_at
    assert isinstance(job.created_at, float)
    assert await store.get_job(new.id) == job
    assert new.interaction_id is not None and await store.get_job_by_interaction(new.interaction_id) == job
    assert await store.get_job("missing") is None and await store.get_job_by_interaction(1) is None


async def test_the_members_language_is_kept_on_the_job_and_defaults_to_none(store: Store) -> None:
    japanese = (await store.admit_job(new_job(locale="ja"), allow)).job
    chinese = (await store.admit_job(new_job(locale="zh-CN"), allow)).job
    unknown = (await store.admit_job(new_job(), allow)).job
    assert japanese is not None and chinese is not None and unknown is not None
    assert (japanese.locale, chinese.locale, unknown.locale) == ("ja", "zh-CN", None)
    # Every read and every transition hands it back (the messages sent later depend on it).
    assert await store.get_job(japanese.id) == japanese
    moved = await store.transition(chinese.id, expect=[JobState.QUEUED], to=JobState.SUBMITTING)
    assert moved is not None and moved.locale == "zh-CN"
    assert {job.id: job.locale for job in await store.jobs_in_states([JobState.QUEUED])}[japanese.id] == "ja"


async def test_discord_snowflakes_round_trip_exactly(store: Store) -> None:
    # Snowflakes use all 63 bits: anything passing through a float or a REAL column would lose digits.
    biggest, guild, member = 2**63 - 1, 1_234_567_890_123_456_789, 987_654_321_098_765_432
    new = new_job(interaction_id=biggest, guild_id=guild, channel_id=guild + 1, member_id=member)
    job = (await store.admit_job(new, allow)).job
    assert job is not None
    assert (job.interaction_id, job.guild_id, job.channel_id, job.member_id) == (
        biggest,
        guild,
        guild + 1,
        member,
    )
    moved = await store.update_job(job.id, message_id=biggest - 1, channel_id=biggest - 2)
    assert moved is not None and (moved.message_id, moved.channel_id) == (biggest - 1, biggest - 2)
    assert await store.get_job_by_interaction(biggest) == moved
    assert (await store.usage_snapshot(guild, member, DAY, MONTH)).member_day_videos == 1
    assert [row.key for row in (await store.usage_report(guild, since=0.0)).by_member] == [str(member)]

    limits = GuildLimits(
        allowed_channels=frozenset({biggest}), role_caps={biggest - 3: RoleCap(member_monthly=2.0)}
    )
    await store.set_limits(guild, limits)
    assert await store.get_limits(guild) == limits


async def test_the_rule_sees_usage_and_a_refusal_writes_nothing(store: Store, backend: Backend) -> None:
    await admit(store, cost=3.0)
    seen: list[UsageSnapshot] = []

    def refuse(usage: UsageSnapshot) -> Decision:
        seen.append(usage)
        return Decision(allowed=False, reason="You have used today's videos; try again tomorrow.")

    admission = await store.admit_job(new_job(), refuse)
    assert admission.job is None and not admission.decision.allowed
    assert admission.decision.reason.startswith("You have used")
    assert [(u.guild_day_videos, u.guild_day_credits, u.member_active_jobs) for u in seen] == [(1, 3.0, 1)]
    assert backend.count_rows() == 1


async def test_a_failing_rule_rolls_back_and_the_store_stays_usable(store: Store) -> None:
    def broken(_: UsageSnapshot) -> Decision:
        raise RuntimeError("rule bug")

    with pytest.raises(RuntimeError, match="rule bug"):
        await store.admit_job(new_job(), broken)
    assert await store.count_history(GUILD) == 0
    await admit(store)
    assert await store.count_history(GUILD) == 1


async def test_a_second_job_for_the_same_interaction_is_refused(store: Store) -> None:
    first = new_job(interaction_id=777)
    assert (await store.admit_job(first, allow)).job is not None
    with pytest.raises(DuplicateInteraction):
        await store.admit_job(new_job(interaction_id=777), allow)
    assert [job.id for job in await store.history(GUILD)] == [first.id]


async def test_concurrent_duplicates_of_one_interaction_create_exactly_one_job(store: Store) -> None:
    results = await asyncio.gather(
        *(store.admit_job(new_job(interaction_id=888), allow) for _ in range(8)), return_exceptions=True
    )
    assert sum(isinstance(result, DuplicateInteraction) for result in results) == 7
    assert await store.count_history(GUILD) == 1


async def test_jobs_without_an_interaction_id_never_collide(store: Store) -> None:
    for _ in range(3):
        await admit(store, interaction_id=None)
    assert await store.count_history(GUILD) == 3


def first_of_the_day(usage: UsageSnapshot) -> Decision:
    allowed = usage.guild_day_videos < 1
    return Decision(allowed=allowed, reason="" if allowed else "The server has used today's video.")


async def test_twenty_concurrent_admissions_for_the_last_unit_admit_exactly_one(store: Store) -> None:
    results = await asyncio.gather(*(store.admit_job(new_job(), first_of_the_day) for _ in range(20)))
    admitted = [result.job.id for result in results if result.job is not None and result.decision.allowed]
    refused = [result for result in results if result.job is None and not result.decision.allowed]
    assert len(admitted) == 1 and len(refused) == 19
    assert all(result.decision.reason for result in refused)
    assert [job.id for job in await store.history(GUILD, limit=100)] == admitted


async def test_two_stores_on_one_database_are_serialised_by_the_database(backend: Backend) -> None:
    # Each store has its own connections (and asyncio lock), so only the database itself (SQLite's
    # write lock, PostgreSQL's per-guild advisory lock) can keep the read-decide-insert of one
    # admission from interleaving with the other's.
    first, second = await two_stores(backend)
    results = await asyncio.gather(
        *(store.admit_job(new_job(), first_of_the_day) for store in (first, second) * 10)
    )
    assert sum(result.job is not None for result in results) == 1
    assert backend.count_rows() == 1


# --- busy and cancelled writers -----------------------------------------------------------------


#: Every write the store offers, each given the id of one QUEUED job.
WRITES: dict[str, Callable[[SqliteStore, str], Awaitable[object]]] = {
    "admit_job": lambda store, _: store.admit_job(new_job(), allow),
    "transition": lambda store, job_id: store.transition(
        job_id, expect=[JobState.QUEUED], to=JobState.FAILED
    ),
    "update_job": lambda store, job_id: store.update_job(job_id, message_id=12345),
    "claim_next_queued": lambda store, _: store.claim_next_queued(GUILD, None),
    "reset_member_usage": lambda store, _: store.reset_member_usage(GUILD, MEMBER, 9_999.0),
    "set_limits": lambda store, _: store.set_limits(GUILD, GuildLimits(guild_daily=1.0)),
}


def dump(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.iterdump())


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
async def test_a_database_locked_past_the_timeout_raises_busy_and_writes_nothing(
    tmp_path: Path, write: Callable[[SqliteStore, str], Awaitable[object]]
) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SqliteStore.open(path, busy_timeout_ms=50)
    try:
        job_id = await admit(store)
        before = dump(path)
        with write_lock_held(path):
            with pytest.raises(StorageBusy):
                await write(store, job_id)
            # Reads go through their own connection and keep working while a writer is stuck.
            assert await store.count_history(GUILD) == 1
        assert dump(path) == before
        # The lock is free again and the connection was left clean: the same write now lands.
        await write(store, job_id)
        assert dump(path) != before
    finally:
        await store.close()


async def test_cancelled_while_waiting_for_the_lock_leaves_the_connection_clean(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await SqliteStore.open(path, busy_timeout_ms=10_000)
    began = threading.Event()
    await store._writer.set_trace_callback(lambda sql: began.set() if sql == "BEGIN IMMEDIATE" else None)
    try:
        with write_lock_held(path):
            waiting = asyncio.create_task(store.admit_job(new_job(), allow))
            # The BEGIN now waits inside SQLite's busy handler on the connection's thread.
            await asyncio.to_thread(began.wait, 5)
            waiting.cancel()
        # The BEGIN completes once the other connection lets go; the cancelled call must roll it back.
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await admit(store)  # would fail with "cannot start a transaction within a transaction"
        assert count_rows(path) == 1
    finally:
        await store.close()


async def test_every_write_runs_inside_begin_immediate(sqlite_store: Store) -> None:
    store = sqlite_store
    statements: list[str] = []
    await store._writer.set_trace_callback(statements.append)
    job_id = await admit(store)
    await store.update_job(job_id, message_id=9)
    await store.claim_next_queued(GUILD, None)
    await store.transition(job_id, expect=[JobState.SUBMITTING], to=JobState.FAILED)
    await store.reset_member_usage(GUILD, MEMBER, 2_000.0)
    await store.set_limits(GUILD, GuildLimits())
    open_transaction = False
    writes = 0
    # SQLite traces a statement once more for each trigger program it runs (the ledger triggers of
    # migration 003): count each statement once.
    statements = [sql for index, sql in enumerate(statements) if index == 0 or sql != statements[index - 1]]
    for sql in statements:
        keyword = sql.split()[0].upper()
        assert keyword != "BEGIN" or sql == "BEGIN IMMEDIATE", sql  # never a deferred BEGIN
        if keyword == "BEGIN":
            open_transaction = True
        elif keyword in {"COMMIT", "ROLLBACK"}:
            open_transaction = False
        elif keyword in {"INSERT", "UPDATE", "DELETE", "REPLACE"}:
            writes += 1
            assert open_transaction, sql
    # admit, update, claim, transition, set_limits, and the reset (its row + rebuilding the
    # member's ledger rows: one delete, one insert per period kind).
    assert writes == 9


def test_a_deferred_read_then_write_fails_at_once_where_begin_immediate_waits(tmp_path: Path) -> None:
    """Regression guard for docs/reference/discord-bot-constraints.md §2.4: why every write
    transaction starts with BEGIN IMMEDIATE.

    A deferred transaction that read before another connection committed cannot upgrade to a write:
    SQLite reports SQLITE_BUSY_SNAPSHOT without consulting the busy handler, even though nobody
    holds the lock any more. BEGIN IMMEDIATE takes the lock before reading, so it simply waits."""
    path = quota_database(tmp_path / "guard.sqlite3")
    with (
        contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=5.0)) as reader,
        contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=5.0)) as other,
    ):
        reader.execute("BEGIN")  # deferred
        (used,) = reader.execute("SELECT used FROM quota").fetchone()
        other.execute("UPDATE quota SET used = used + 1")  # commits: the lock is free again
        with pytest.raises(sqlite3.OperationalError) as caught:
            reader.execute("UPDATE quota SET used = ?", (used + 1,))
        assert caught.value.sqlite_errorcode == 517  # SQLITE_BUSY_SNAPSHOT
        reader.execute("ROLLBACK")

        reader.execute("BEGIN IMMEDIATE")
        (used,) = reader.execute("SELECT used FROM quota").fetchone()
        reader.execute("UPDATE quota SET used = ?", (used + 1,))
        reader.execute("COMMIT")
        assert other.execute("SELECT used FROM quota").fetchone() == (2,)


def test_a_deferred_upgrade_fails_while_the_lock_is_held_where_begin_immediate_waits(tmp_path: Path) -> None:
    """The other half of the guard: while another connection HOLDS the write lock, a deferred
    transaction that has read cannot wait for it (SQLite skips the busy handler to avoid a deadlock)
    and fails with plain SQLITE_BUSY, "database is locked", despite a 5 s busy timeout. A BEGIN
    IMMEDIATE issued at the same moment waits for the lock and then loses no update."""
    path = quota_database(tmp_path / "guard.sqlite3")
    with (
        contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=5.0)) as holder,
        contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=5.0)) as deferred,
        contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=0.0)) as impatient,
    ):
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE quota SET used = used + 1")

        deferred.execute("BEGIN")
        deferred.execute("SELECT used FROM quota").fetchone()
        with pytest.raises(sqlite3.OperationalError, match="database is locked") as caught:
            deferred.execute("UPDATE quota SET used = used + 1")
        assert caught.value.sqlite_errorcode == sqlite3.SQLITE_BUSY
        deferred.execute("ROLLBACK")

        # Proof the lock really is contended: without a busy timeout BEGIN IMMEDIATE fails too.
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            impatient.execute("BEGIN IMMEDIATE")

        waiting = threading.Event()

        def increment_immediately() -> None:
            with contextlib.closing(sqlite3.connect(path, isolation_level=None, timeout=5.0)) as waiter:
                waiter.set_trace_callback(lambda sql: waiting.set() if sql == "BEGIN IMMEDIATE" else None)
                waiter.execute("BEGIN IMMEDIATE")
                (used,) = waiter.execute("SELECT used FROM quota").fetchone()
                waiter.execute("UPDATE quota SET used = ?", (used + 1,))
                waiter.execute("COMMIT")

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            increment = pool.submit(increment_immediately)
            assert waiting.wait(5)
            holder.execute("COMMIT")
            increment.result(timeout=10)  # re-raises "database is locked" had it not waited
        assert holder.execute("SELECT used FROM quota").fetchone() == (2,)


# --- transitions --------------------------------------------------------------------------------


async def test_transition_is_guarded_and_sets_fields_and_updated_at(store: Store, clock: FakeClock) -> None:
    job_id = await admit(store)
    clock.now = 6_000.0
    assert await store.transition(job_id, expect=[JobState.RUNNING], to=JobState.FAILED) is None
    moved = await store.transition(
        job_id, expect=[JobState.QUEUED], to=JobState.RUNNING, task_id="task-1", submitted_at=6_000
    )
    assert moved is not None
    assert (moved.state, moved.task_id, moved.submitted_at, moved.updated_at) == (
        JobState.RUNNING,
        "task-1",
        6_000.0,
        6_000.0,
    )
    assert await store.get_job(job_id) == moved
    assert await store.transition("missing", expect=[JobState.QUEUED], to=JobState.RUNNING) is None


@pytest.mark.parametrize("field", ["state", "guild_id", "cost", "request", "day_key", "nonsense"])
async def test_only_mutable_fields_can_be_set(store: Store, field: str) -> None:
    job_id = await admit(store)
    before = await store.get_job(job_id)
    with pytest.raises(ValueError, match=field):
        await store.transition(job_id, expect=[JobState.QUEUED], to=JobState.RUNNING, **{field: 1})
    with pytest.raises(ValueError, match=field):
        await store.update_job(job_id, **{field: 1})
    assert await store.get_job(job_id) == before


async def test_update_job_sets_fields_without_touching_the_state(store: Store, clock: FakeClock) -> None:
    job_id = await admit(store)
    clock.now = 7_000.0
    updated = await store.update_job(job_id, message_id=99, channel_id=8)
    assert updated is not None
    assert (updated.message_id, updated.channel_id, updated.state, updated.updated_at) == (
        99,
        8,
        JobState.QUEUED,
        7_000.0,
    )
    assert await store.update_job(job_id) == updated
    assert await store.update_job("missing", message_id=1) is None


async def test_a_job_whose_message_moved_to_a_dm_keeps_the_channel_it_was_asked_in(store: Store) -> None:
    # The messenger's DM fallback: the job now lives in the member's DM (channel and message), and
    # the server channel it was asked in stays for the channel rules. Snowflakes use all 63 bits.
    job_id = await admit(store)
    asked = await store.get_job(job_id)
    assert asked is not None and asked.origin_channel_id is None
    dm_channel, dm_message = 2**63 - 7, 2**63 - 9
    moved = await store.update_job(
        job_id, channel_id=dm_channel, message_id=dm_message, origin_channel_id=asked.channel_id
    )
    assert moved is not None
    assert (moved.channel_id, moved.message_id, moved.origin_channel_id) == (
        dm_channel,
        dm_message,
        asked.channel_id,
    )
    assert moved.state is asked.state and await store.get_job(job_id) == moved
    assert await store.history(asked.guild_id, member_id=asked.member_id) == [moved]


async def test_release_happens_exactly_once_even_when_the_release_path_runs_twice(store: Store) -> None:
    job_id = await admit_in_state(store, JobState.RUNNING)
    other = await admit_in_state(store, JobState.RUNNING)
    before = await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)

    results = await asyncio.gather(
        *(store.transition(job_id, expect=[JobState.RUNNING], to=JobState.FAILED) for _ in range(10))
    )
    assert sum(result is not None for result in results) == 1
    after_first = await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
    assert after_first.guild_day_videos == before.guild_day_videos - 1
    assert after_first.member_day_credits == before.member_day_credits - 2.0

    # The same release path again, sequentially: the guard no longer matches, usage does not move.
    assert await store.transition(job_id, expect=[JobState.RUNNING], to=JobState.FAILED) is None
    assert await store.transition(job_id, expect=ACTIVE_STATES, to=JobState.FAILED) is None
    assert await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH) == after_first
    assert (await store.get_job(other)).state is JobState.RUNNING  # type: ignore[union-attr]


async def test_two_stores_releasing_the_same_job_release_it_once(backend: Backend) -> None:
    # Two bot processes noticing the same failure: the guarded UPDATE lets exactly one through.
    first, second = await two_stores(backend)
    job_id = await admit_in_state(first, JobState.RUNNING)
    await admit_in_state(first, JobState.RUNNING)
    results = await asyncio.gather(
        *(
            store.transition(job_id, expect=[JobState.RUNNING], to=JobState.FAILED)
            for store in (first, second) * 5
        )
    )
    assert sum(result is not None for result in results) == 1
    usage = await second.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
    assert (usage.guild_day_videos, usage.member_day_credits) == (1, 2.0)


async def test_jobs_in_states_lists_oldest_first(store: Store) -> None:
    running = await admit_in_state(store, JobState.RUNNING, created_at=30.0)
    queued = await admit_in_state(store, JobState.QUEUED, created_at=10.0)
    await admit_in_state(store, JobState.DELIVERED, created_at=20.0)
    found = await store.jobs_in_states([JobState.QUEUED, JobState.RUNNING])
    assert [job.id for job in found] == [queued, running]
    assert await store.jobs_in_states([]) == []


# --- usage ---------------------------------------------------------------------------------------


async def test_usage_snapshot_counts_held_jobs_by_their_stored_keys(store: Store) -> None:
    await admit_in_state(store, JobState.DELIVERED, cost=1.0, created_at=100.0)
    await admit_in_state(store, JobState.RUNNING, cost=2.0, created_at=110.0)
    await admit_in_state(store, JobState.SUBMITTING, cost=4.0, created_at=120.0)
    await admit_in_state(store, JobState.QUEUED, cost=8.0, created_at=130.0)
    await admit_in_state(store, JobState.FAILED, cost=16.0, created_at=140.0)
    await admit_in_state(store, JobState.CANCELLED, cost=32.0, created_at=150.0)
    await admit_in_state(store, JobState.TIMED_OUT, cost=1024.0, created_at=95.0)
    await admit_in_state(store, JobState.UNCONFIRMED, cost=2048.0, created_at=96.0)
    await admit_in_state(store, JobState.SUCCEEDED, cost=64.0, day_key="2026-11-01", created_at=90.0)
    await admit_in_state(
        store, JobState.DELIVERED, cost=128.0, day_key="2026-10-31", month_key="2026-10", created_at=80.0
    )
    await admit_in_state(store, JobState.RUNNING, cost=256.0, member_id=2002, created_at=160.0)
    await admit_in_state(store, JobState.QUEUED, cost=512.0, guild_id=7, created_at=170.0)
    await admit_in_state(store, JobState.RUNNING, cost=4096.0, guild_id=7, created_at=180.0)

    usage = await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
    assert usage == UsageSnapshot(
        guild_day_videos=5,
        guild_day_credits=1 + 2 + 4 + 8 + 256,
        guild_month_videos=6,
        guild_month_credits=1 + 2 + 4 + 8 + 64 + 256,
        member_day_videos=4,
        member_day_credits=1 + 2 + 4 + 8,
        member_month_videos=5,
        member_month_credits=1 + 2 + 4 + 8 + 64,
        member_active_jobs=4,  # running, submitting, queued, succeeded
        guild_running_jobs=3,  # submitting + running, the other member's included
        guild_queued_jobs=1,
        member_last_job_at=140.0,  # the failed job counts for the cooldown, the cancelled one does not
    )
    # Admission hands the rule the very same numbers.
    seen: list[UsageSnapshot] = []

    def record(snapshot: UsageSnapshot) -> Decision:
        seen.append(snapshot)
        return Decision(allowed=False)

    await store.admit_job(new_job(), record)
    # Admission also reads the operator's caps over all servers, for the job's UTC day and month.
    assert seen == [
        await store.usage_snapshot(
            GUILD, MEMBER, DAY, MONTH, global_day_key="1970-01-01", global_month_key="1970-01"
        )
    ]
    assert seen[0].global_day_credits == 1 + 2 + 4 + 8 + 64 + 128 + 256 + 512 + 4096
    assert await store.usage_snapshot(99, MEMBER, DAY, MONTH) == UsageSnapshot()


async def test_reset_frees_the_members_own_allowances_but_not_the_servers(store: Store) -> None:
    await admit_in_state(store, JobState.DELIVERED, cost=3.0, created_at=100.0)
    await admit_in_state(store, JobState.RUNNING, cost=5.0, created_at=200.0)
    await store.reset_member_usage(GUILD, MEMBER, 300.0)
    await store.reset_member_usage(GUILD, MEMBER, 250.0)  # an older reset does not undo the newer one
    after_reset = await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
    assert (after_reset.member_day_videos, after_reset.member_month_credits) == (0, 0.0)
    assert after_reset.member_last_job_at is None
    assert after_reset.member_active_jobs == 1  # still rendering, so still in progress
    assert (after_reset.guild_day_videos, after_reset.guild_month_credits) == (2, 8.0)

    await admit_in_state(store, JobState.QUEUED, cost=7.0, created_at=300.0)
    later = await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
    assert (later.member_day_videos, later.member_day_credits, later.member_last_job_at) == (1, 7.0, 300.0)
    other_member = await store.usage_snapshot(GUILD, 2002, DAY, MONTH)
    assert other_member.member_day_videos == 0 and other_member.guild_day_videos == 3


async def test_a_failure_after_midnight_frees_the_day_the_job_was_taken_from(
    store: Store, clock: FakeClock
) -> None:
    clock.now = 1_795_564_799.0  # 2026-11-24 23:59:59 UTC
    late = await admit_in_state(store, JobState.RUNNING, day_key=DAY, created_at=clock.now)
    await admit_in_state(store, JobState.RUNNING, day_key=NEXT_DAY, created_at=1_795_564_805.0)
    next_day_before = await store.usage_snapshot(GUILD, MEMBER, NEXT_DAY, MONTH)
    assert (await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)).guild_day_videos == 1

    clock.now = 1_795_564_805.0  # 2026-11-25 00:00:05 UTC
    assert await store.transition(late, expect=[JobState.RUNNING], to=JobState.FAILED) is not None

    day_after = await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH)
    assert (day_after.guild_day_videos, day_after.member_day_credits) == (0, 0.0)
    next_day_after = await store.usage_snapshot(GUILD, MEMBER, NEXT_DAY, MONTH)
    assert next_day_after.guild_day_videos == next_day_before.guild_day_videos == 1
    assert next_day_after.member_day_credits == next_day_before.member_day_credits == 2.0
    assert next_day_after.guild_month_videos == next_day_before.guild_month_videos - 1


@dataclass(frozen=True)
class JobSpec:
    guild_id: int
    member_id: int
    day_key: str
    month_key: str
    state: JobState
    cost: float
    created_at: float


job_specs = st.builds(
    JobSpec,
    guild_id=st.sampled_from([1, 2]),
    member_id=st.sampled_from([10, 20]),
    day_key=st.sampled_from(["2026-11-24", "2026-11-25", "2026-12-01"]),
    month_key=st.sampled_from(["2026-11", "2026-12"]),
    state=st.sampled_from(list(JobState)),
    cost=st.integers(0, 20).map(lambda halves: halves / 2),
    created_at=st.integers(0, 100).map(float),
)


def expected_usage(specs: list[JobSpec], reset_at: float | None) -> UsageSnapshot:
    """Straightforward Python restatement of the snapshot rules, for guild 1, member 10."""
    guild = [spec for spec in specs if spec.guild_id == 1]
    held = [spec for spec in guild if spec.state not in RELEASED_STATES]
    since = reset_at if reset_at is not None else float("-inf")
    mine = [spec for spec in guild if spec.member_id == 10 and spec.created_at >= since]
    mine_held = [spec for spec in mine if spec.state not in RELEASED_STATES]

    def of(jobs: list[JobSpec], day: bool) -> list[JobSpec]:
        return [spec for spec in jobs if (spec.day_key == DAY if day else spec.month_key == MONTH)]

    return UsageSnapshot(
        guild_day_videos=len(of(held, True)),
        guild_day_credits=sum(spec.cost for spec in of(held, True)),
        guild_month_videos=len(of(held, False)),
        guild_month_credits=sum(spec.cost for spec in of(held, False)),
        member_day_videos=len(of(mine_held, True)),
        member_day_credits=sum(spec.cost for spec in of(mine_held, True)),
        member_month_videos=len(of(mine_held, False)),
        member_month_credits=sum(spec.cost for spec in of(mine_held, False)),
        member_active_jobs=sum(1 for spec in guild if spec.member_id == 10 and spec.state in ACTIVE_STATES),
        guild_running_jobs=sum(1 for spec in guild if spec.state in {JobState.SUBMITTING, JobState.RUNNING}),
        guild_queued_jobs=sum(1 for spec in guild if spec.state is JobState.QUEUED),
        member_last_job_at=max(
            (spec.created_at for spec in mine if spec.state is not JobState.CANCELLED), default=None
        ),
        # Every server's held jobs: all of them were created on 1970-01-01 UTC.
        global_day_credits=sum(spec.cost for spec in specs if spec.state not in RELEASED_STATES),
        global_month_credits=sum(spec.cost for spec in specs if spec.state not in RELEASED_STATES),
    )


async def usage_seen(
    store: Store, specs: list[JobSpec], reset_at: float | None
) -> tuple[UsageSnapshot, UsageSnapshot]:
    """Store the jobs, then read member 10's usage in guild 1 both ways: the snapshot, and what
    admission's rule sees."""
    try:
        for spec in specs:
            await admit_in_state(
                store,
                spec.state,
                guild_id=spec.guild_id,
                member_id=spec.member_id,
                day_key=spec.day_key,
                month_key=spec.month_key,
                cost=spec.cost,
                created_at=spec.created_at,
            )
        if reset_at is not None:
            await store.reset_member_usage(1, 10, reset_at)
        seen: list[UsageSnapshot] = []

        def record(usage: UsageSnapshot) -> Decision:
            seen.append(usage)
            return Decision(allowed=False)

        # Admission reads through the very same computation as the snapshot.
        await store.admit_job(new_job(guild_id=1, member_id=10), record)
        snapshot = await store.usage_snapshot(
            1, 10, DAY, MONTH, global_day_key="1970-01-01", global_month_key="1970-01"
        )
        assert await store.ledger_consistency() == []
        return snapshot, seen[0]
    finally:
        await store.close()


ANY_MIX = given(specs=st.lists(job_specs, max_size=12), reset_at=st.none() | st.integers(0, 100).map(float))
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXAMPLES
@ANY_MIX
def test_usage_snapshot_matches_the_rules_for_any_mix_of_jobs(
    specs: list[JobSpec], reset_at: float | None
) -> None:
    async def scenario(folder: Path) -> tuple[UsageSnapshot, UsageSnapshot]:
        return await usage_seen(await open_store(folder / "bot.sqlite3"), specs, reset_at)

    with tempfile.TemporaryDirectory() as folder:
        snapshot, seen_by_rule = asyncio.run(scenario(Path(folder)))
    assert snapshot == seen_by_rule == expected_usage(specs, reset_at)


@EXAMPLES
@ANY_MIX
def test_usage_snapshot_matches_the_rules_for_any_mix_of_jobs_on_postgresql(
    postgres_cluster: PostgresCluster, specs: list[JobSpec], reset_at: float | None
) -> None:
    async def scenario(url: str) -> tuple[UsageSnapshot, UsageSnapshot]:
        return await usage_seen(await PostgresStore.open(url), specs, reset_at)

    with postgres_cluster.fresh_database() as url:
        snapshot, seen_by_rule = asyncio.run(scenario(url))
    assert snapshot == seen_by_rule == expected_usage(specs, reset_at)


# --- queue ---------------------------------------------------------------------------------------


async def test_claim_takes_the_oldest_queued_job_within_the_running_cap(store: Store) -> None:
    late = await admit(store, created_at=30.0)
    tie_first = await admit(store, created_at=10.0)
    tie_second = await admit(store, created_at=10.0)
    elsewhere = await admit(store, created_at=1.0, guild_id=7)

    first = await store.claim_next_queued(GUILD, 1)
    assert first is not None and (first.id, first.state) == (tie_first, JobState.SUBMITTING)
    assert await store.claim_next_queued(GUILD, 1) is None  # one already submitting
    assert await store.transition(tie_first, expect=[JobState.SUBMITTING], to=JobState.RUNNING)
    assert await store.claim_next_queued(GUILD, 1) is None  # running counts too
    second = await store.claim_next_queued(GUILD, 2)
    assert second is not None and second.id == tie_second
    third = await store.claim_next_queued(GUILD, None)
    assert third is not None and third.id == late
    assert await store.claim_next_queued(GUILD, None) is None
    assert (await store.get_job(elsewhere)).state is JobState.QUEUED  # type: ignore[union-attr]


@pytest.mark.parametrize("cap", [1, 2])
async def test_concurrent_claims_never_exceed_the_cap(store: Store, cap: int) -> None:
    for _ in range(5):
        await admit(store)
    claimed = await asyncio.gather(*(store.claim_next_queued(GUILD, cap) for _ in range(6)))
    winners = [job.id for job in claimed if job is not None]
    assert len(winners) == len(set(winners)) == cap
    assert sorted(job.id for job in await store.jobs_in_states([JobState.SUBMITTING])) == sorted(winners)


async def test_claims_from_two_stores_on_one_database_respect_the_cap(backend: Backend) -> None:
    first, second = await two_stores(backend)
    for _ in range(3):
        await admit(first)
    claimed = await asyncio.gather(*(store.claim_next_queued(GUILD, 1) for store in (first, second) * 5))
    assert sum(job is not None for job in claimed) == 1
    assert len(await first.jobs_in_states([JobState.SUBMITTING])) == 1


async def test_queue_position_counts_queued_jobs_ahead_in_the_same_guild(store: Store) -> None:
    await admit(store, guild_id=7, created_at=1.0)
    a = await admit(store, created_at=10.0)
    b = await admit(store, created_at=20.0)
    c = await admit(store, created_at=20.0)
    assert [await store.queue_position(job_id) for job_id in (a, b, c)] == [1, 2, 3]
    await store.claim_next_queued(GUILD, None)
    assert [await store.queue_position(job_id) for job_id in (a, b, c)] == [0, 1, 2]
    assert await store.queue_position("missing") == 0


# --- history and estimates ----------------------------------------------------------------------


async def test_history_is_newest_first_with_filters_and_paging(store: Store) -> None:
    ids = [await admit_in_state(store, JobState.DELIVERED, created_at=float(t)) for t in range(1, 6)]
    failed = await admit_in_state(store, JobState.FAILED, created_at=6.0, member_id=2002)
    await admit(store, guild_id=7)

    assert [job.id for job in await store.history(GUILD, limit=3)] == [failed, ids[4], ids[3]]
    assert [job.id for job in await store.history(GUILD, limit=3, offset=3)] == [ids[2], ids[1], ids[0]]
    assert [job.id for job in await store.history(GUILD, member_id=2002)] == [failed]
    assert [job.id for job in await store.history(GUILD, states=[JobState.FAILED])] == [failed]
    assert await store.history(GUILD, states=[]) == []
    assert await store.count_history(GUILD) == 6
    assert await store.count_history(GUILD, member_id=MEMBER) == 5
    assert await store.count_history(GUILD, states=[JobState.DELIVERED, JobState.FAILED]) == 6
    assert await store.count_history(GUILD, member_id=MEMBER, states=[JobState.FAILED]) == 0
    with pytest.raises(ValueError):
        await store.history(GUILD, limit=-1)


async def test_average_render_seconds_uses_recent_finished_jobs_of_the_same_shape(store: Store) -> None:
    async def finished(
        seconds: float, finished_at: float, state: JobState = JobState.SUCCEEDED, **fields: Any
    ) -> None:
        job_id = await admit_in_state(store, JobState.RUNNING, **fields)
        done = await store.transition(
            job_id,
            expect=[JobState.RUNNING],
            to=state,
            submitted_at=finished_at - seconds,
            finished_at=finished_at,
        )
        assert done is not None

    assert await store.average_render_seconds(GUILD, Model.V1, Mode.STD, 5) is None
    await finished(100.0, 1_000.0)  # oldest: dropped by sample=2
    await finished(40.0, 2_000.0)
    await finished(60.0, 3_000.0, JobState.DELIVERED)
    # Newest of all, but a failure or a time-out says nothing about how long a render takes.
    await finished(999.0, 4_000.0, JobState.FAILED)
    await finished(999.0, 4_000.0, JobState.TIMED_OUT)
    await finished(999.0, 3_500.0, request=request(Model.V1, Mode.PRO, 5))
    await finished(999.0, 3_500.0, request=request(Model.V1, Mode.STD, 10))
    await finished(999.0, 3_500.0, guild_id=7)
    await admit_in_state(store, JobState.RUNNING)  # not finished: ignored
    assert await store.average_render_seconds(GUILD, Model.V1, Mode.STD, 5, sample=2) == 50.0
    assert await store.average_render_seconds(GUILD, Model.V1, Mode.STD, 5) == pytest.approx(200 / 3)
    assert await store.average_render_seconds(GUILD, Model.V1, Mode.PRO, 5) == 999.0
    assert await store.average_render_seconds(GUILD, Model.V3, Mode.STD, 5) is None


async def test_usage_report_counts_spent_jobs_and_failures(store: Store) -> None:
    v1, v3 = request(Model.V1), request(Model.V3)
    await admit_in_state(store, JobState.DELIVERED, request=v1, cost=2.0, created_at=100.0)
    await admit_in_state(store, JobState.RUNNING, request=v3, cost=5.0, created_at=100.0, member_id=2002)
    await admit_in_state(store, JobState.FAILED, request=v3, cost=5.0, created_at=100.0)
    await admit_in_state(store, JobState.TIMED_OUT, request=v1, cost=2.0, created_at=100.0)
    await admit_in_state(store, JobState.UNCONFIRMED, request=v1, cost=2.0, created_at=100.0)
    await admit_in_state(store, JobState.CANCELLED, request=v1, cost=2.0, created_at=100.0, member_id=3003)
    await admit_in_state(store, JobState.DELIVERED, request=v1, cost=2.0, created_at=10.0)  # too old
    await admit_in_state(store, JobState.DELIVERED, request=v1, cost=2.0, created_at=100.0, guild_id=7)

    report = await store.usage_report(GUILD, since=50.0)
    assert (report.since, report.total_videos, report.total_credits, report.failures) == (50.0, 2, 7.0, 3)
    assert {(r.key, r.videos, r.credits, r.failures) for r in report.by_model} == {
        ("kling-v1", 1, 2.0, 2),
        ("kling-v3", 1, 5.0, 1),
    }
    # Member 3003 only cancelled a job: nothing spent, nothing failed, so no row.
    assert {(r.key, r.videos, r.credits, r.failures) for r in report.by_member} == {
        (str(MEMBER), 1, 2.0, 3),
        ("2002", 1, 5.0, 0),
    }
    empty = await store.usage_report(99, since=0.0)
    assert (empty.total_videos, empty.total_credits, empty.failures, empty.by_model, empty.by_member) == (
        0,
        0.0,
        0,
        [],
        [],
    )


# --- settings ------------------------------------------------------------------------------------


async def test_limits_default_until_set_and_round_trip(store: Store) -> None:
    assert await store.get_limits(GUILD) == GuildLimits()
    limits = GuildLimits(
        unit=LimitUnit.CREDITS,
        guild_daily=100.0,
        member_monthly=20.5,
        allowed_models=frozenset({Model.V1, Model.V3}),
        allowed_modes=frozenset({Mode.PRO}),
        allowed_channels=frozenset({1, 2}),
        exempt_roles=frozenset({3}),
        role_caps={4: RoleCap(member_daily=9.0)},
        blocked_words=("spoiler",),
        timezone="Europe/Paris",
    )
    await store.set_limits(GUILD, limits)
    assert await store.get_limits(GUILD) == limits
    changed = limits.model_copy(update={"guild_daily": None})
    await store.set_limits(GUILD, changed)
    assert await store.get_limits(GUILD) == changed
    assert await store.get_limits(7) == GuildLimits()


async def test_data_survives_closing_and_reopening(backend: Backend) -> None:
    store = await backend.open()
    job_id = await admit_in_state(store, JobState.RUNNING)
    await store.set_limits(GUILD, GuildLimits(guild_daily=3.0))
    job = await store.get_job(job_id)
    await store.close()

    reopened = await backend.open()
    assert await reopened.get_job(job_id) == job
    assert (await reopened.get_limits(GUILD)).guild_daily == 3.0


async def test_store_stays_consistent_when_every_kind_of_call_runs_at_once(store: Store) -> None:
    job_ids = [await admit(store) for _ in range(4)]
    calls: list[Callable[[], Any]] = [
        lambda: store.admit_job(new_job(), allow),
        lambda: store.claim_next_queued(GUILD, 3),
        lambda: store.transition(job_ids[0], expect=[JobState.QUEUED], to=JobState.CANCELLED),
        lambda: store.update_job(job_ids[1], message_id=5),
        lambda: store.usage_snapshot(GUILD, MEMBER, DAY, MONTH),
        lambda: store.history(GUILD),
        lambda: store.reset_member_usage(GUILD, MEMBER, 1.0),
        lambda: store.set_limits(GUILD, GuildLimits()),
    ]
    await asyncio.gather(*(call() for call in calls * 5))
    jobs = await store.history(GUILD, limit=100)
    assert len(jobs) == 4 + 5
    assert sum(job.state is JobState.SUBMITTING for job in jobs) == 3


async def test_state_totals_count_jobs_and_credits_per_state_across_guilds(store: Store) -> None:
    assert await store.state_totals() == []
    await admit_in_state(store, JobState.QUEUED, cost=1.0)
    await admit_in_state(store, JobState.QUEUED, cost=2.5, guild_id=7)
    await admit_in_state(store, JobState.DELIVERED, cost=4.0)
    await admit_in_state(store, JobState.FAILED, cost=8.0)
    totals = {total.state: (total.jobs, total.credits) for total in await store.state_totals()}
    assert totals == {JobState.QUEUED: (2, 3.5), JobState.DELIVERED: (1, 4.0), JobState.FAILED: (1, 8.0)}


async def test_a_task_is_adopted_by_one_job_only_even_from_two_stores_at_once(backend: Backend) -> None:
    first, second = await two_stores(backend)
    jobs = [await admit_in_state(first, JobState.SUBMITTING) for _ in range(6)]
    queued = await admit(first)
    results = await asyncio.gather(
        *(
            store.adopt_task(job_id, "task-lost", trace_id="trace-9", submitted_at=1_234.0)
            for store, job_id in zip((first, second) * 3, jobs, strict=True)
        )
    )
    adopted = [job for job in results if job is not None]
    assert len(adopted) == 1
    (job,) = adopted
    assert (job.state, job.task_id, job.trace_id, job.submitted_at) == (
        JobState.RUNNING,
        "task-lost",
        "trace-9",
        1_234.0,
    )
    assert (
        await second.adopt_task(queued, "task-other", trace_id=None, submitted_at=1.0) is None
    )  # not SUBMITTING
    assert await first.known_task_ids(["task-lost", "task-other", "task-lost"]) == {"task-lost"}
    assert await first.known_task_ids([]) == set()


async def test_member_defaults_round_trip_per_server_and_empty_forgets_them(store: Store) -> None:
    assert await store.get_member_defaults(GUILD, MEMBER) == Preferences()
    saved = Preferences(model=Model.V2_6, mode=Mode.PRO, duration=10, aspect_ratio=AspectRatio.TALL)
    await store.set_member_defaults(GUILD, MEMBER, saved)
    await store.set_member_defaults(GUILD, MEMBER, Preferences(mode=Mode.STD))  # replaces, not merges
    await store.set_member_defaults(7, MEMBER, saved)
    assert await store.get_member_defaults(GUILD, MEMBER) == Preferences(mode=Mode.STD)
    assert await store.get_member_defaults(7, MEMBER) == saved
    await store.set_member_defaults(7, MEMBER, Preferences())
    assert await store.get_member_defaults(7, MEMBER) == Preferences()


async def test_a_story_follows_next_shot_links_first_shot_first(store: Store) -> None:
    first = await admit(store)
    second = await admit(store, story_parent_id=first)
    third = await admit(store, story_parent_id=second)
    rerun = await admit(store, parent_job_id=third)  # a rerun is not part of the story
    assert [job.id for job in await store.story(third)] == [first, second, third]
    assert [job.id for job in await store.story(third, limit=2)] == [second, third]
    assert [job.id for job in await store.story(rerun)] == [rerun]
    assert await store.story("missing") == []
    assert await store.story_parents([first, second, third, rerun]) == {second: first, third: second}
    assert await store.story_parents([]) == {}

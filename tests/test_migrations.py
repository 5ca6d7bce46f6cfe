"""Numbered migrations: loading, upgrading a populated database with jobs in flight, backups, and
all-or-nothing failure."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import pytest

from bot.kling.models import Mode, Model
from bot.quota.models import GuildLimits, UsageSnapshot
from bot.storage import (
    ACTIVE_STATES,
    Job,
    JobState,
    SqliteStore,
    StorageBusy,
    StorageUnavailable,
    open_store,
)
from bot.storage.sqlite import Migration, apply_migrations, bundled_migrations, split_statements
from tests.migration_samples import DAY, GUILD, IN_FLIGHT, MEMBER, MONTH, admit_in_flight, allow, new_job
from tests.sqlite_writer import write_lock_held


def user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def schema(path: Path) -> set[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        return {(kind, name, " ".join(sql.split())) for kind, name, sql in rows}


def columns(path: Path, table: str = "jobs") -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_xinfo({table})")]


def job_rows(path: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.execute("SELECT * FROM jobs ORDER BY id"))


def backups(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.bak-v*"))


@dataclass(frozen=True)
class Contents:
    jobs: list[Job]
    usage: UsageSnapshot
    limits: GuildLimits


async def populate_v1(path: Path) -> Contents:
    """A database at schema version 1 holding the jobs, limits and resets the old bot would have
    written. Today's store cannot write the old schema (admission reads the ledger of migration
    003), so the rows are written through it into a scratch database at the latest version and
    copied into a fresh version-1 file, column by column of the version-1 schema."""
    scratch = path.with_name(f"scratch-{path.name}")
    store = await SqliteStore.open(scratch)
    try:
        await admit_in_flight(store)
        await store.set_limits(GUILD, GuildLimits(guild_daily=10.0, blocked_words=("gore",)))
        await store.reset_member_usage(GUILD, 2002, 900.0)
        contents = Contents(
            jobs=await store.history(GUILD, limit=100),
            usage=await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH),
            limits=await store.get_limits(GUILD),
        )
    finally:
        await store.close()
    old = await SqliteStore.open(path, migrations=bundled_migrations()[:1])
    await old.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("ATTACH DATABASE ? AS scratch", (str(scratch),))
        for table in ("jobs", "guild_limits", "member_resets"):
            names = ", ".join(row[1] for row in db.execute(f"PRAGMA main.table_info({table})"))
            db.execute(f"INSERT INTO main.{table} ({names}) SELECT {names} FROM scratch.{table}")
        db.commit()
        db.execute("DETACH DATABASE scratch")
    for leftover in scratch.parent.glob(f"{scratch.name}*"):
        leftover.unlink()
    return contents


def broken_migration(version: int) -> Migration:
    """Valid statements first, then one that fails: everything before it must be undone too."""
    return Migration(
        version,
        "broken",
        """
        CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT);
        INSERT INTO audit (note) VALUES ('half-done');
        UPDATE jobs SET cost = 0;
        DELETE FROM guild_limits;
        INSERT INTO no_such_table VALUES (1);
        """,
    )


# --- loading ------------------------------------------------------------------------------------


def test_bundled_migrations_are_numbered_from_one_without_gaps() -> None:
    migrations = bundled_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert len(migrations) >= 2
    assert migrations[0].label == "001_initial"
    assert all(split_statements(m.sql) for m in migrations)


def test_gaps_or_repeats_in_the_numbering_are_refused(tmp_path: Path) -> None:
    first = bundled_migrations()[0]
    with pytest.raises(ValueError, match="without gaps"):
        asyncio.run(_apply(tmp_path / "gap.sqlite3", [first, Migration(3, "late", "SELECT 1;")]))
    with pytest.raises(ValueError, match="without gaps"):
        asyncio.run(_apply(tmp_path / "twice.sqlite3", [first, first]))


async def _apply(path: Path, migrations: list[Migration]) -> int:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        return await apply_migrations(db, path, migrations)


def test_statements_are_split_where_sqlite_says_they_end() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    CREATE TRIGGER t_log AFTER INSERT ON t BEGIN
        UPDATE t SET x = x || ';' WHERE rowid = new.rowid;
        SELECT 1;
    END;
    /* trailing */
    INSERT INTO t VALUES ('--not a comment;')
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("DEFAULT 'a;b');")
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    assert statements[2].endswith("VALUES ('--not a comment;');")
    with contextlib.closing(sqlite3.connect(":memory:")) as db:
        for statement in statements:
            db.execute(statement)
        assert db.execute("SELECT x FROM t").fetchone() == ("--not a comment;;",)
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1;")


# --- upgrading ----------------------------------------------------------------------------------


async def test_a_fresh_database_gets_the_latest_schema_and_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await open_store(path)
    await store.close()
    assert user_version(path) == len(bundled_migrations())
    tables = {name for kind, name, _ in schema(path) if kind == "table"}
    assert tables == {
        "jobs",
        "guild_limits",
        "member_resets",
        "member_defaults",
        "story_links",
        "usage_ledger",
        "usage_by_model_day",
        "usage_by_member_day",
        "usage_by_model_month",
        "usage_by_member_month",
        "job_counts_by_guild",
        "job_counts_by_member",
    }
    indexes = {name for kind, name, _ in schema(path) if kind == "index"}
    assert {"jobs_by_guild_state", "jobs_by_guild_day", "jobs_by_request_shape"} <= indexes
    assert {"model", "mode", "duration"} <= set(columns(path))
    assert backups(tmp_path) == []


async def test_upgrading_a_populated_database_keeps_every_job_and_setting(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    before = await populate_v1(path)
    assert user_version(path) == 1 and "model" not in columns(path)

    store = await open_store(path)
    try:
        assert user_version(path) == len(bundled_migrations())
        assert await store.history(GUILD, limit=100) == before.jobs
        assert await store.usage_snapshot(GUILD, MEMBER, DAY, MONTH) == before.usage
        assert await store.get_limits(GUILD) == before.limits
        member = await store.usage_snapshot(GUILD, 2002, DAY, MONTH)
        assert member.member_last_job_at is None  # the member reset survived too

        # Migration 002's columns hold the old rows' values at once, so estimates see old jobs.
        assert await store.average_render_seconds(GUILD, Model.V3, Mode.PRO, 5) == 90.0
        assert await store.average_render_seconds(GUILD, Model.V1, Mode.PRO, 5) == 60.0
        with contextlib.closing(sqlite3.connect(path)) as db:
            shapes = dict(
                (row[0], tuple(row[1:])) for row in db.execute("SELECT id, model, mode, duration FROM jobs")
            )
        assert shapes == {
            job.id: (job.request.model.value, job.request.mode.value, job.request.duration)
            for job in before.jobs
        }

        # Every job in flight loads as it was, through the calls the runner resumes with at start-up.
        in_flight = [job for job in before.jobs if job.state in ACTIVE_STATES]
        assert {job.state for job in in_flight} == set(ACTIVE_STATES)
        for job in in_flight:
            assert await store.get_job(job.id) == job
        assert sorted(await store.jobs_in_states(ACTIVE_STATES), key=lambda job: job.id) == sorted(
            in_flight, key=lambda job: job.id
        )

        # The jobs in flight carry on where they stopped.
        running = await store.transition("job-3", expect=[JobState.RUNNING], to=JobState.SUCCEEDED)
        assert running is not None and running.task_id == "task-3" and running.message_id == 903
        claimed = await store.claim_next_queued(GUILD, None)
        assert claimed is not None and claimed.id == "job-1"
        # Migration 007: old jobs have no language (their messages stay English); new ones keep theirs.
        assert "locale" in columns(path)
        assert {job.locale for job in await store.history(GUILD, limit=100)} == {None}
        later = await store.admit_job(dataclasses.replace(new_job(70), locale="ja"), allow)
        assert later.job is not None and later.job.locale == "ja"
        assert await store.get_job(later.job.id) == later.job
    finally:
        await store.close()

    assert backups(tmp_path) == ["bot.sqlite3.bak-v1"]
    backup = tmp_path / "bot.sqlite3.bak-v1"
    assert user_version(backup) == 1
    with contextlib.closing(sqlite3.connect(backup)) as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone() == (len(IN_FLIGHT),)


async def test_an_upgraded_database_has_the_same_schema_as_a_fresh_one(tmp_path: Path) -> None:
    await populate_v1(tmp_path / "old.sqlite3")
    for name in ("old.sqlite3", "fresh.sqlite3"):
        store = await open_store(tmp_path / name)
        await store.close()
    assert schema(tmp_path / "old.sqlite3") == schema(tmp_path / "fresh.sqlite3")


async def test_a_failing_migration_rolls_back_completely(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    before = await populate_v1(path)
    bundled = bundled_migrations()
    latest = len(bundled)

    with pytest.raises(StorageUnavailable, match=rf"{latest + 1:03d}_broken.*{path.name}") as caught:
        await SqliteStore.open(path, migrations=[*bundled, broken_migration(latest + 1)])
    assert f"stays at version {latest}" in str(caught.value)
    # SQLite's own error travels with it, for the log.
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert "no_such_table" in str(caught.value.__cause__)

    # The migrations before it are committed; nothing of the failing one is left.
    assert user_version(path) == latest
    assert "audit" not in {name for _, name, _ in schema(path)}
    store = await open_store(path)
    try:
        assert await store.history(GUILD, limit=100) == before.jobs
        assert await store.get_limits(GUILD) == before.limits
    finally:
        await store.close()


async def test_a_failure_inside_the_first_pending_migration_leaves_the_old_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    before = await populate_v1(path)
    first, second = bundled_migrations()[:2]
    failing_second = Migration(2, second.name, second.sql + "\nSELECT no_such_function();\n")

    rows_before = job_rows(path)
    with pytest.raises(StorageUnavailable, match="stays at version 1"):
        await SqliteStore.open(path, migrations=[first, failing_second])
    assert user_version(path) == 1
    assert "model" not in columns(path)  # the ALTER TABLEs before the failure were undone
    # Today's store reads columns a version-1 file lacks (migration 007's locale), so the rows are
    # compared as stored, then read through the store once the file is brought up to date.
    assert job_rows(path) == rows_before
    store = await SqliteStore.open(path)
    try:
        assert await store.history(GUILD, limit=100) == before.jobs
    finally:
        await store.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = await open_store(path)
    await store.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageUnavailable, match=r"version 99, newer than this bot knows"):
        await open_store(path)


async def test_two_processes_migrating_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    # Already in WAL mode, so the openers race on the migrations alone: racing on the switch into WAL
    # of a brand-new file is the known bug pinned by the test below.
    path = empty_wal_database(tmp_path / "bot.sqlite3")
    stores = await asyncio.gather(open_store(path), open_store(path), open_store(path))
    for store in stores:
        await store.close()
    assert user_version(path) == len(bundled_migrations())
    assert schema(path) == schema(await _fresh(tmp_path / "reference.sqlite3"))


async def _fresh(path: Path) -> Path:
    store = await open_store(path)
    await store.close()
    return path


# --- start-up while another process holds the database ------------------------------------------


def empty_wal_database(path: Path) -> Path:
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    return path


async def test_switching_to_wal_waits_for_a_writer_instead_of_failing_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE left_by_another_tool (x INTEGER)")  # a real file, in rollback mode
    with write_lock_held(path) as other:
        opening = asyncio.create_task(open_store(path, busy_timeout_ms=10_000))
        # Long enough for the opener to meet the lock; it must still be waiting, well within its timeout.
        await asyncio.wait({opening}, timeout=1.0)
        other.execute("ROLLBACK")
    store = await opening
    try:
        assert await store.get_limits(GUILD) == GuildLimits()
    finally:
        await store.close()
    assert user_version(path) == len(bundled_migrations())
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_database_locked_through_start_up_is_left_at_its_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    before = await populate_v1(path)
    rows_before = job_rows(path)
    with write_lock_held(path), pytest.raises((StorageBusy, StorageUnavailable)):
        await open_store(path, busy_timeout_ms=50)
    assert user_version(path) == 1
    assert "model" not in columns(path)
    assert job_rows(path) == rows_before  # as stored: today's store reads columns version 1 lacks
    store = await SqliteStore.open(path)
    try:
        assert await store.history(GUILD, limit=100) == before.jobs
    finally:
        await store.close()


async def test_a_database_locked_through_start_up_fails_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    await populate_v1(path)
    with write_lock_held(path), pytest.raises(StorageUnavailable, match=str(path)):
        await open_store(path, busy_timeout_ms=50)

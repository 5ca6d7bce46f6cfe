"""The Store methods behind the moderators' panel and /usage: versioned settings (compare-and-set),
spending per day and the jobs of a period for the CSV export. Real temporary SQLite files."""

from __future__ import annotations

import pytest

from bot.quota.models import GuildLimits
from bot.storage import JobState, Store
from tests.conftest import Backend
from tests.storage_samples import GUILD, FakeClock, admit_in_state


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(backend: Backend, clock: FakeClock) -> Store:
    """SQLite and (when its server binaries are installed) PostgreSQL, like tests/test_storage.py."""
    return await backend.open(clock=clock)


async def test_a_server_that_never_saved_is_at_version_zero(store: Store) -> None:
    read = await store.get_versioned_limits(GUILD)
    assert read.first_run and read.limits == GuildLimits()


async def test_a_write_at_the_read_version_succeeds_and_moves_the_version(
    store: Store, clock: FakeClock
) -> None:
    first = await store.set_limits_if_version(GUILD, GuildLimits(member_daily=3), 0.0)
    assert first is not None
    read = await store.get_versioned_limits(GUILD)
    assert (read.limits.member_daily, read.version, read.first_run) == (3, first, False)
    second = await store.set_limits_if_version(GUILD, GuildLimits(member_daily=4), first)
    assert second is not None and second > first  # grows even though the clock did not move


async def test_a_stale_write_changes_nothing(store: Store, clock: FakeClock) -> None:
    opened = await store.get_versioned_limits(GUILD)  # a panel opens on a fresh server
    await store.set_limits(GUILD, GuildLimits(member_daily=9))  # someone uses /limits set meanwhile
    assert await store.set_limits_if_version(GUILD, GuildLimits(member_daily=1), opened.version) is None
    now = await store.get_versioned_limits(GUILD)
    assert now.limits.member_daily == 9
    clock.now -= 100  # even a clock that steps back keeps versions growing
    await store.set_limits(GUILD, GuildLimits(member_daily=8))
    assert await store.set_limits_if_version(GUILD, GuildLimits(member_daily=1), now.version) is None
    assert (await store.get_versioned_limits(GUILD)).limits.member_daily == 8


async def test_daily_usage_counts_spent_jobs_per_stored_day(store: Store) -> None:
    await admit_in_state(store, JobState.DELIVERED, cost=2.0, created_at=100.0, day_key="2026-11-01")
    await admit_in_state(store, JobState.RUNNING, cost=5.0, created_at=200.0, day_key="2026-11-03")
    await admit_in_state(store, JobState.DELIVERED, cost=1.5, created_at=210.0, day_key="2026-11-03")
    await admit_in_state(store, JobState.FAILED, cost=9.0, created_at=220.0, day_key="2026-11-03")
    await admit_in_state(store, JobState.DELIVERED, cost=4.0, created_at=10.0, day_key="2026-10-01")
    await admit_in_state(store, JobState.DELIVERED, cost=4.0, created_at=300.0, guild_id=7)
    days = await store.daily_usage(GUILD, since=50.0)
    assert [(d.day_key, d.videos, d.credits) for d in days] == [
        ("2026-11-01", 1, 2.0),
        ("2026-11-03", 2, 6.5),
    ]


async def test_jobs_since_lists_the_period_oldest_first(store: Store) -> None:
    late = await admit_in_state(store, JobState.FAILED, created_at=300.0)
    early = await admit_in_state(store, JobState.DELIVERED, created_at=100.0)
    await admit_in_state(store, JobState.DELIVERED, created_at=10.0)
    assert [job.id for job in await store.jobs_since(GUILD, 50.0)] == [early, late]
    assert [job.id for job in await store.jobs_since(GUILD, 50.0, limit=1)] == [early]


async def test_daily_usage_from_the_ledger_equals_the_scan(store: Store) -> None:
    """The /usage chart reads the ledger's per-day rows from `first_day` on: the same days, videos and
    credits as the scan of the jobs created since that day's start, releases and refunds included."""
    starts = {"2026-11-01": 100.0, "2026-11-02": 200.0, "2026-11-03": 300.0}
    await admit_in_state(store, JobState.DELIVERED, cost=2.0, created_at=110.0, day_key="2026-11-01")
    await admit_in_state(store, JobState.DELIVERED, cost=1.5, created_at=210.0, day_key="2026-11-02")
    released = await admit_in_state(store, JobState.RUNNING, cost=9.0, created_at=220.0, day_key="2026-11-02")
    assert await store.transition(released, expect=[JobState.RUNNING], to=JobState.TIMED_OUT)
    only_failed = await admit_in_state(
        store, JobState.FAILED, cost=4.0, created_at=310.0, day_key="2026-11-03"
    )
    await admit_in_state(store, JobState.RUNNING, cost=5.0, created_at=320.0, day_key="2026-11-03")
    await admit_in_state(
        store, JobState.DELIVERED, cost=4.0, created_at=230.0, day_key="2026-11-02", guild_id=7
    )
    for first_day, since in starts.items():
        scanned = await store.daily_usage(GUILD, since)
        assert await store.daily_usage(GUILD, since, first_day=first_day) == scanned
    assert [
        (d.day_key, d.videos, d.credits) for d in await store.daily_usage(GUILD, 0.0, first_day="2026-11-02")
    ] == [
        ("2026-11-02", 1, 1.5),
        ("2026-11-03", 1, 5.0),
    ]
    assert only_failed

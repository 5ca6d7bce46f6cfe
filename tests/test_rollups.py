"""Migration 008 on both backends: the per-month /usage rollups and the per-state job counts always
equal what the job rows say, after admissions, releases, refunds and across month boundaries; the
keyset pages of /history and the /extend list; and the backfill of a database upgraded to 008."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from bot.kling.models import Model
from bot.quota.periods import period_keys
from bot.storage import RELEASED_STATES, Job, JobState, Store, UsageReport
from bot.storage.postgres import postgres_migrations
from bot.storage.sqlite import bundled_migrations
from tests.storage_backends import Backend
from tests.storage_samples import GUILD, admit, admit_in_state, request

FAILURE_STATES = RELEASED_STATES - {JobState.CANCELLED}
MODELS = [Model.V1, Model.V1_6, Model.V3]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def expected_report(jobs: list[Job], since: float) -> dict[str, object]:
    """/usage as the job rows say it should be: a job counts when created at or after `since`."""
    by_model: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    by_member: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0])
    for job in jobs:
        if job.created_at < since:
            continue
        spent = job.state not in RELEASED_STATES
        failed = job.state in FAILURE_STATES
        for key, table in ((job.request.model.value, by_model), (str(job.member_id), by_member)):
            row = table[key]
            row[0] += spent
            row[1] += job.cost if spent else 0.0
            row[2] += failed

    def rows(table: dict[str, list[float]]) -> set[tuple[str, int, float, int]]:
        return {(key, int(v), round(c, 6), int(f)) for key, (v, c, f) in table.items() if v > 0 or f > 0}

    return {
        "videos": int(sum(row[0] for row in by_model.values())),
        "credits": round(sum(row[1] for row in by_model.values()), 6),
        "failures": int(sum(row[2] for row in by_model.values())),
        "by_model": rows(by_model),
        "by_member": rows(by_member),
    }


def shown(report: UsageReport) -> dict[str, object]:
    return {
        "videos": report.total_videos,
        "credits": round(report.total_credits, 6),
        "failures": report.failures,
        "by_model": {(r.key, r.videos, round(r.credits, 6), r.failures) for r in report.by_model},
        "by_member": {(r.key, r.videos, round(r.credits, 6), r.failures) for r in report.by_member},
    }


async def all_jobs(store: Store, guild_id: int = GUILD) -> list[Job]:
    return await store.jobs_since(guild_id, -math.inf, limit=100_000)


async def fill_months(store: Store, rng: random.Random, count: int = 160) -> None:
    """Jobs over mid-September to early December 2026 in a server on Tokyo time, left in every state
    through the transitions the bot makes (admitted, run, delivered; failed, timed out or cancelled
    = released; a failed job retried back into a running state = refunded units taken again)."""
    start, end = epoch("2026-09-14T00:00:00"), epoch("2026-12-03T12:00:00")
    for _ in range(count):
        created = rng.uniform(start, end)
        day_key, month_key = period_keys(created, "Asia/Tokyo")
        job_id = await admit(
            store,
            request=request(rng.choice(MODELS)),
            member_id=rng.choice([1001, 2002, 3003, 4004]),
            cost=rng.choice([1.0, 2.5, 3.79]),
            created_at=created,
            day_key=day_key,
            month_key=month_key,
        )
        path = rng.choice(["queued", "delivered", "failed", "timed_out", "cancelled", "refunded"])
        if path == "queued":
            continue
        steps = {
            "delivered": [JobState.SUBMITTING, JobState.RUNNING, JobState.SUCCEEDED, JobState.DELIVERED],
            "failed": [JobState.SUBMITTING, JobState.FAILED],
            "timed_out": [JobState.SUBMITTING, JobState.RUNNING, JobState.TIMED_OUT],
            "cancelled": [JobState.CANCELLED],
            # Released, then found running after all (recovery adopts the task): counted again.
            "refunded": [JobState.SUBMITTING, JobState.UNCONFIRMED, JobState.RUNNING],
        }[path]
        current = JobState.QUEUED
        for state in steps:
            assert await store.transition(job_id, expect=[current], to=state) is not None
            current = state


#: Window starts: month starts, the day before and after one, mid-month on either side of the 15th
#: (added days vs subtracted days), partial days, the very beginning and a start after every job.
SINCES = [
    -math.inf,
    0.0,
    epoch("2026-09-01T00:00:00"),
    epoch("2026-10-01T00:00:00"),
    epoch("2026-09-30T23:30:00"),
    epoch("2026-10-01T00:00:01"),
    epoch("2026-10-03T07:00:00"),
    epoch("2026-10-20T18:45:00"),
    epoch("2026-10-31T23:59:59"),
    epoch("2026-11-16T00:00:00"),
    epoch("2026-11-14T12:00:00"),
    epoch("2026-12-02T05:00:00"),
    epoch("2027-01-01T00:00:00"),
]


async def test_usage_report_equals_the_sums_over_job_rows_for_any_window(backend: Backend) -> None:
    store = await backend.open()
    await fill_months(store, random.Random(16))
    jobs = await all_jobs(store)
    assert len(jobs) == 160
    for since in SINCES:
        assert shown(await store.usage_report(GUILD, since)) == expected_report(jobs, since), since


async def test_rollups_follow_each_admission_release_and_refund(backend: Backend) -> None:
    store = await backend.open()
    since = epoch("2026-10-20T18:45:00")  # a partial day, added days, then a whole month
    created = epoch("2026-11-03T10:00:00")
    job_id = await admit(store, request=request(Model.V3), cost=5.0, created_at=created, member_id=7)
    report = await store.usage_report(GUILD, since)
    assert (report.total_videos, report.total_credits, report.failures) == (1, 5.0, 0)
    await store.transition(job_id, expect=[JobState.QUEUED], to=JobState.SUBMITTING)
    await store.transition(job_id, expect=[JobState.SUBMITTING], to=JobState.UNCONFIRMED)  # released
    report = await store.usage_report(GUILD, since)
    assert (report.total_videos, report.total_credits, report.failures) == (0, 0.0, 1)
    assert [(r.key, r.videos, r.failures) for r in report.by_member] == [("7", 0, 1)]
    await store.transition(job_id, expect=[JobState.UNCONFIRMED], to=JobState.RUNNING)  # refunded back
    report = await store.usage_report(GUILD, since)
    assert (report.total_videos, report.total_credits, report.failures) == (1, 5.0, 0)
    await store.transition(job_id, expect=[JobState.RUNNING], to=JobState.CANCELLED)
    report = await store.usage_report(GUILD, since)
    assert (report.total_videos, report.total_credits, report.failures, report.by_member) == (0, 0.0, 0, [])


async def test_a_job_counts_in_its_utc_month_whatever_the_servers_time_zone(backend: Backend) -> None:
    store = await backend.open()
    # 23:30 UTC on 31 October is already 1 November in Tokyo: the job's own (server) keys say
    # November, /usage windows are UTC instants, so it belongs to October's UTC rollups.
    created = epoch("2026-10-31T23:30:00")
    day_key, month_key = period_keys(created, "Asia/Tokyo")
    assert (day_key, month_key) == ("2026-11-01", "2026-11")
    await admit_in_state(
        store, JobState.DELIVERED, created_at=created, day_key=day_key, month_key=month_key, cost=2.0
    )
    assert (await store.usage_report(GUILD, epoch("2026-11-01T00:00:00"))).total_videos == 0
    assert (await store.usage_report(GUILD, epoch("2026-10-31T00:00:00"))).total_videos == 1
    assert (await store.usage_report(GUILD, epoch("2026-10-31T23:00:00"))).total_videos == 1
    assert (await store.usage_report(GUILD, epoch("2026-10-01T00:00:00"))).total_credits == 2.0


async def test_job_counts_equal_the_history_the_filters_select(backend: Backend) -> None:
    store = await backend.open()
    await fill_months(store, random.Random(8), count=60)
    jobs = await all_jobs(store)
    filters: list[tuple[int | None, list[JobState] | None]] = [
        (None, None),
        (1001, None),
        (None, [JobState.DELIVERED]),
        (2002, [JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT]),
        (None, [JobState.QUEUED, JobState.RUNNING]),
        (9999, None),
    ]
    for member, states in filters:
        expected = [
            job
            for job in jobs
            if (member is None or job.member_id == member) and (states is None or job.state in states)
        ]
        assert await store.count_history(GUILD, member_id=member, states=states) == len(expected)
        listed = await store.history(GUILD, member_id=member, states=states, limit=1000)
        assert len(listed) == len(expected)
    assert await store.count_history(99) == 0


async def test_keyset_pages_are_the_offset_pages(backend: Backend) -> None:
    store = await backend.open()
    for number in range(23):
        # Pairs share a creation time: the insertion order breaks the tie, as with OFFSET.
        await admit_in_state(
            store,
            JobState.DELIVERED if number % 3 else JobState.FAILED,
            created_at=1_000.0 + number // 2,
            member_id=1001 if number % 4 else 2002,
        )
    for member, states in [(None, None), (1001, None), (None, [JobState.DELIVERED])]:
        by_offset, by_key = [], []
        after: str | None = None
        for page in range(6):
            by_offset.append(
                await store.history(GUILD, member_id=member, states=states, limit=5, offset=page * 5)
            )
            by_key.append(await store.history(GUILD, member_id=member, states=states, limit=5, after=after))
            if by_key[-1]:
                after = by_key[-1][-1].id
        assert by_key == by_offset
        assert sum(len(page) for page in by_key) == await store.count_history(
            GUILD, member_id=member, states=states
        )


async def test_extendable_videos_lists_the_newest_delivered_videos_only(backend: Backend) -> None:
    store = await backend.open()
    delivered = []
    for number in range(6):
        job_id = await admit_in_state(
            store, JobState.RUNNING, request=request(MODELS[number % 3]), created_at=1_000.0 + number
        )
        if number == 4:
            continue  # still running: no video yet
        done = await store.transition(
            job_id, expect=[JobState.RUNNING], to=JobState.DELIVERED, video_id=f"video-{number}"
        )
        assert done is not None
        delivered.append(done)
    await admit_in_state(store, JobState.DELIVERED, created_at=2_000.0)  # delivered without a video id
    await admit_in_state(store, JobState.DELIVERED, created_at=2_000.0, guild_id=7)
    choices = await store.extendable_videos(GUILD, limit=3)
    newest = list(reversed(delivered))[:3]
    assert [(c.job_id, c.model, c.prompt) for c in choices] == [
        (job.id, job.request.model.value, job.request.prompt) for job in newest
    ]


def old_job_rows(rng: random.Random, count: int) -> list[tuple[object, ...]]:
    """Job rows as an older bot left them (final states, server keys on Tokyo time, UTC keys)."""
    rows = []
    for number in range(count):
        created = rng.uniform(epoch("2026-09-14T00:00:00"), epoch("2026-12-03T12:00:00"))
        day_key, month_key = period_keys(created, "Asia/Tokyo")
        state = rng.choice(list(JobState))
        model = rng.choice(MODELS)
        member = rng.choice([1001, 2002, 3003])
        cost = rng.choice([1.0, 2.5, 3.79])
        text = request(model).to_json()
        utc_day, utc_month = period_keys(created, "UTC")
        rows.append(
            (
                f"old-{number}",
                GUILD,
                7,
                member,
                text,
                cost,
                1,
                day_key,
                month_key,
                utc_day,
                utc_month,
                state.value,
                created,
                created,
            )
        )
    return rows


@pytest.mark.parametrize("pending", [1, 2])
async def test_upgrading_to_008_backfills_the_rollups_and_counts(backend: Backend, pending: int) -> None:
    """Jobs written at schema 7 (or 6) get their monthly rollups, counts (and on PostgreSQL their
    ledger, member resets included) from the migration."""
    migrations = postgres_migrations() if backend.kind == "postgresql" else bundled_migrations()
    assert migrations[7].label == "008_monthly_rollups_and_counts"
    old = await backend.open(migrations=migrations[: 8 - pending])
    await old.close()
    # A moderator's reset first, as it would be (SQLite's triggers read it when a job is written).
    reset_at = epoch("2026-11-10T00:00:00")
    backend.execute(
        "INSERT INTO member_resets (guild_id, member_id, reset_at) VALUES (?, ?, ?)", (GUILD, 2002, reset_at)
    )
    for row in old_job_rows(random.Random(3), 40):
        backend.execute(
            "INSERT INTO jobs (id, guild_id, channel_id, member_id, request, cost, size_limit, day_key, "
            "month_key, global_day_key, global_month_key, state, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
    store = await backend.open()
    jobs = await all_jobs(store)
    assert len(jobs) == 40
    for since in SINCES:
        assert shown(await store.usage_report(GUILD, since)) == expected_report(jobs, since), since
    assert await store.count_history(GUILD) == len(jobs)
    assert await store.count_history(GUILD, member_id=1001, states=[JobState.CANCELLED]) == sum(
        job.state is JobState.CANCELLED and job.member_id == 1001 for job in jobs
    )
    assert await store.ledger_consistency() == []
    held = [j for j in jobs if j.state not in RELEASED_STATES and j.month_key == "2026-11"]
    usage = await store.usage_snapshot(GUILD, 2002, "2026-11-20", "2026-11")
    assert usage.guild_month_videos == len(held)
    assert usage.member_month_videos == sum(j.member_id == 2002 and j.created_at >= reset_at for j in held)
    # And the triggers take over from the backfill.
    await admit(store, created_at=epoch("2026-11-20T10:00:00"), cost=1.0)
    jobs = await all_jobs(store)
    assert shown(await store.usage_report(GUILD, 0.0)) == expected_report(jobs, 0.0)
    assert await store.count_history(GUILD) == len(jobs)
    assert await store.ledger_consistency() == []

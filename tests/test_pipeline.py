"""The job pipeline end to end against the fake AceData: admission, submission, polling, delivery,
failures, the queue and restarts. Discord is replaced by a recording notifier."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.jobs.failures import FailureCode
from bot.jobs.service import Refused
from bot.quota.models import GuildLimits
from bot.storage.base import JobState
from tests.factories import video_request
from tests.fakes.acedata import FakeAceData
from tests.pipeline_helpers import Pipeline, build_pipeline, requester, wait_for_state

DONE = {JobState.DELIVERED, JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT}


@pytest.fixture
async def idle_pipeline(fake_acedata: FakeAceData, tmp_path: Path) -> AsyncIterator[Pipeline]:
    """A pipeline whose poller only runs when a test calls `cycle()`."""
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3")
    yield built
    await built.close()


@pytest.fixture
async def pipeline(idle_pipeline: Pipeline) -> Pipeline:
    idle_pipeline.poller.start()
    return idle_pipeline


def creates(fake: FakeAceData) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path == "/kling/videos")


async def test_text_job_is_submitted_once_polled_and_delivered(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    admission = await pipeline.service.admit(requester(), video_request())
    assert admission.job is not None and admission.job.state is JobState.QUEUED
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()

    assert job.state is JobState.DELIVERED
    assert job.task_id and job.video_url and job.video_id
    assert creates(fake_acedata) == 1
    [(delivered_job, video)] = pipeline.notifier.deliveries
    assert delivered_job.id == job.id
    assert video.path is not None and video.size > 0 and not video.too_large
    assert pipeline.notifier.received[job.id] and not video.path.exists()  # read, then removed


async def test_a_failed_delivery_is_tried_again_without_waiting_for_a_restart(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    pipeline.notifier.fail_deliveries = 2
    pipeline.runner.delivery_retry_delays = (0.05, 0.05, 0.05)
    admission = await pipeline.service.admit(requester(), video_request())
    assert admission.job is not None
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()
    assert job.state is JobState.DELIVERED
    [(delivered_job, video)] = pipeline.notifier.deliveries  # the third attempt, once
    assert delivered_job.id == job.id and pipeline.notifier.fail_deliveries == 0
    assert video.path is not None and not video.path.exists()


async def test_delivery_attempts_stop_after_the_retries_and_the_job_waits_for_a_start(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    pipeline.notifier.fail_deliveries = 10
    pipeline.runner.delivery_retry_delays = (0.05,)
    admission = await pipeline.service.admit(requester(), video_request())
    assert admission.job is not None
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, {JobState.SUCCEEDED})
    await pipeline.runner.drain()
    await asyncio.sleep(0.2)
    await pipeline.runner.drain()
    assert pipeline.notifier.fail_deliveries == 8  # the first attempt and one retry
    fresh = await pipeline.store.get_job(job.id)
    assert fresh is not None and fresh.state is JobState.SUCCEEDED


async def test_the_members_language_reaches_every_message_about_the_job(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    # Progress and the result are sent from the background: they read the language off the job.
    admission = await pipeline.service.admit(replace(requester(), locale="ja"), video_request())
    assert admission.job is not None and admission.job.locale == "ja"
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()
    assert job.locale == "ja"
    assert pipeline.notifier.progress_calls and {j.locale for j in pipeline.notifier.progress_calls} == {"ja"}
    [(delivered_job, _)] = pipeline.notifier.deliveries
    assert delivered_job.locale == "ja"


async def test_one_batch_request_per_cycle_for_many_jobs(
    idle_pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    pipeline = idle_pipeline
    fake_acedata.render_seconds = 30.0
    await pipeline.store.set_limits(42, GuildLimits(guild_concurrent=None, member_concurrent=None))
    for member in range(12):
        await pipeline.service.admit(requester(member), video_request())
    await pipeline.runner.start_queued(42)
    await pipeline.runner.drain()
    running = await pipeline.store.jobs_in_states([JobState.RUNNING])
    assert len(running) == 12

    assert await pipeline.poller.cycle() == 0  # the first cycle puts the new jobs on the grid
    await asyncio.sleep(pipeline.poller.base_interval * 1.5)
    before = [r for r in fake_acedata.requests if r.path == "/kling/tasks"]
    asked = await pipeline.poller.cycle()
    after = [r for r in fake_acedata.requests if r.path == "/kling/tasks"]
    assert asked == 12
    assert len(after) - len(before) == 1
    assert sorted(after[-1].json["ids"]) == sorted(job.task_id for job in running)


async def test_failed_task_releases_the_quota_and_tells_the_member(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    await pipeline.store.set_limits(42, GuildLimits(member_daily=1))
    fake_acedata.next_outcome = "fail"
    admission = await pipeline.service.admit(requester(), video_request())
    assert admission.job is not None
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()  # the state is stored a moment before the member is told

    assert job.state is JobState.FAILED
    assert job.error_code == FailureCode.TASK_FAILED
    assert [failed.id for failed in pipeline.notifier.failures] == [job.id]
    # The unit came back: the same member may start another video today.
    again = await pipeline.service.admit(requester(), video_request())
    assert again.job is not None


async def test_unconfirmed_submission_is_never_resent_and_costs_nothing(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    await pipeline.store.set_limits(42, GuildLimits(member_daily=1))
    fake_acedata.inject("/kling/videos", 502, body={"error": {"code": "api_error", "message": "upstream"}})
    admission = await pipeline.service.admit(requester(), video_request())
    assert admission.job is not None
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()

    assert job.state is JobState.UNCONFIRMED
    assert job.error_code == FailureCode.UNCONFIRMED
    assert creates(fake_acedata) == 1
    assert (await pipeline.service.admit(requester(), video_request())).job is not None


async def test_video_over_the_upload_limit_is_delivered_as_a_link(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    fake_acedata.video_bytes = 300_000
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3")
    built.poller.start()
    try:
        admission = await built.service.admit(replace(requester(), size_limit=100_000), video_request())
        assert admission.job is not None
        await built.runner.start_queued(42)
        job = await wait_for_state(built.store, admission.job.id, DONE)
        await built.runner.drain()
        assert job.state is JobState.DELIVERED
        [(_, video)] = built.notifier.deliveries
        assert video.path is None and video.too_large and video.url == job.video_url
    finally:
        await built.close()


async def test_queue_starts_jobs_in_order_within_the_running_cap(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = 0.3
    await pipeline.store.set_limits(42, GuildLimits(guild_concurrent=1, member_concurrent=None))
    first = await pipeline.service.admit(requester(1), video_request("first"))
    second = await pipeline.service.admit(requester(2), video_request("second"))
    assert second.decision.queued and second.decision.queue_position == 1
    assert first.job and second.job
    await pipeline.runner.start_queued(42)
    await pipeline.runner.drain()
    assert (await pipeline.store.get_job(second.job.id)).state is JobState.QUEUED  # type: ignore[union-attr]

    done_first = await wait_for_state(pipeline.store, first.job.id, DONE)
    done_second = await wait_for_state(pipeline.store, second.job.id, DONE)
    assert done_first.state is done_second.state is JobState.DELIVERED
    assert done_second.submitted_at is not None and done_first.finished_at is not None
    assert done_second.submitted_at >= done_first.finished_at


async def test_cancel_a_queued_job_releases_it(pipeline: Pipeline, fake_acedata: FakeAceData) -> None:
    fake_acedata.render_seconds = 5.0
    await pipeline.store.set_limits(
        42, GuildLimits(guild_concurrent=1, member_concurrent=None, member_daily=2)
    )
    first = await pipeline.service.admit(requester(), video_request("first"))
    second = await pipeline.service.admit(requester(), video_request("second"))
    assert first.job and second.job
    await pipeline.runner.start_queued(42)
    cancelled = await pipeline.runner.cancel(second.job)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    assert await pipeline.runner.cancel(second.job) is None  # twice: nothing more happens
    assert creates(fake_acedata) == 1
    # One of the two daily units is free again.
    assert (await pipeline.service.admit(requester(), video_request("third"))).job is not None
    with pytest.raises(Refused):
        await pipeline.service.admit(requester(), video_request("fourth"))


async def test_job_past_its_deadline_times_out(fake_acedata: FakeAceData, tmp_path: Path) -> None:
    fake_acedata.render_seconds = 60.0
    now = [1_800_000_000.0]
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3", deadline=100.0, clock=lambda: now[0])
    try:
        admission = await built.service.admit(requester(), video_request())
        assert admission.job is not None
        await built.runner.start_queued(42)
        await built.runner.drain()
        assert (await built.poller.cycle()) == 0  # joins the grid
        now[0] += built.poller.base_interval
        assert (await built.poller.cycle()) == 1
        now[0] += 101.0
        await built.poller.cycle()
        await built.runner.drain()
        job = await built.store.get_job(admission.job.id)
        assert job is not None and job.state is JobState.TIMED_OUT
        assert job.error_code == FailureCode.TIMED_OUT
        assert [failed.id for failed in built.notifier.failures] == [job.id]
    finally:
        await built.close()


async def test_poller_survives_a_failing_notifier(fake_acedata: FakeAceData, tmp_path: Path) -> None:
    fake_acedata.render_seconds = 0.2
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3")
    built.notifier.fail_progress = True
    built.poller.start()
    try:
        admission = await built.service.admit(requester(), video_request())
        assert admission.job is not None
        await built.runner.start_queued(42)
        job = await wait_for_state(built.store, admission.job.id, DONE)
        assert job.state is JobState.DELIVERED
        assert built.poller.cycles >= 2
    finally:
        await built.close()


async def test_restart_mid_render_resumes_without_a_second_task_or_delivery(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    fake_acedata.render_seconds = 0.5
    first = await build_pipeline(fake_acedata, db)
    admission = await first.service.admit(requester(), video_request())
    assert admission.job is not None
    await first.runner.start_queued(42)
    await first.runner.drain()
    assert (await first.store.get_job(admission.job.id)).state is JobState.RUNNING  # type: ignore[union-attr]
    await first.close()  # the process stops while the video renders

    second = await build_pipeline(fake_acedata, db)
    try:
        await second.runner.resume()
        second.poller.start()
        job = await wait_for_state(second.store, admission.job.id, DONE)
        await second.runner.drain()
        assert job.state is JobState.DELIVERED
        assert creates(fake_acedata) == 1
        assert len(second.notifier.deliveries) == 1
        await second.runner.resume()  # a second resume (e.g. reconnect) delivers nothing more
        await second.runner.drain()
        assert len(second.notifier.deliveries) == 1
    finally:
        await second.close()


async def test_restart_with_a_submission_in_flight_marks_it_unconfirmed(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    first = await build_pipeline(fake_acedata, db)
    admission = await first.service.admit(requester(), video_request())
    assert admission.job is not None
    claimed = await first.store.claim_next_queued(42, None)  # committed as SUBMITTING
    assert claimed is not None and claimed.state is JobState.SUBMITTING
    # Stamped as about to be sent, then the crash: the create may have left, and AceData has no task.
    await first.store.update_job(claimed.id, submitted_at=time.time())
    await first.close()

    second = await build_pipeline(fake_acedata, db)
    try:
        await second.runner.resume()
        await second.runner.drain()
        job = await second.store.get_job(admission.job.id)
        assert job is not None and job.state is JobState.UNCONFIRMED
        assert creates(fake_acedata) == 0
        assert [failed.id for failed in second.notifier.failures] == [job.id]
    finally:
        await second.close()


async def test_restart_after_success_before_delivery_delivers_once(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    first = await build_pipeline(fake_acedata, db)
    fake_acedata.render_seconds = 0.0
    admission = await first.service.admit(requester(), video_request())
    assert admission.job is not None
    await first.runner.start_queued(42)
    await first.runner.drain()
    await asyncio.sleep(0.05)
    running = await first.store.get_job(admission.job.id)
    assert running is not None and running.task_id
    status = await first.kling.retrieve(running.task_id)
    await first.store.transition(
        running.id,
        expect=[JobState.RUNNING],
        to=JobState.SUCCEEDED,
        video_url=status.video_url,  # type: ignore[union-attr]
        video_id=status.video_id,  # type: ignore[union-attr]
    )
    await first.close()  # stopped before posting the result

    second = await build_pipeline(fake_acedata, db)
    try:
        await second.runner.resume()
        await second.runner.drain()
        job = await second.store.get_job(admission.job.id)
        assert job is not None and job.state is JobState.DELIVERED
        assert len(second.notifier.deliveries) == 1
        assert creates(fake_acedata) == 1
    finally:
        await second.close()


async def test_jobs_started_at_different_moments_share_one_request(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    fake_acedata.render_seconds = 60.0
    now = [1_800_000_000.01]  # off the grid on purpose
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3", clock=lambda: now[0])
    try:
        await built.store.set_limits(42, GuildLimits(guild_concurrent=None, member_concurrent=None))
        base = built.poller.base_interval
        # Each job starts, then the poller wakes for it (as the runner's new_work event makes it do).
        for member, offset in enumerate((0.0, base * 0.3, base * 1.6, base * 2.9)):
            now[0] += offset
            await built.service.admit(requester(member), video_request())
            await built.runner.start_queued(42)
            await built.runner.drain()
            await built.poller.cycle()
        for _ in range(4):
            now[0] += base
            await built.poller.cycle()
        sizes = [len(r.json["ids"]) for r in fake_acedata.requests if r.path == "/kling/tasks"]
        # Polling each new job on its own start ([1, 1, 3, ...]) would cost a request per job.
        assert sizes and min(sizes) >= 2, sizes
        assert sizes[-1] == 4
    finally:
        await built.close()


async def test_a_thread_counts_as_its_allowed_parent_channel(idle_pipeline: Pipeline) -> None:
    await idle_pipeline.store.set_limits(42, GuildLimits(allowed_channels=frozenset({7})))
    in_thread = replace(requester(), channel_id=99, parent_channel_id=7)
    admission = await idle_pipeline.service.admit(in_thread, video_request())
    assert admission.job is not None and admission.job.channel_id == 99  # delivered in the thread itself
    elsewhere = replace(requester(2), channel_id=99)
    with pytest.raises(Refused, match="<#7>"):
        await idle_pipeline.service.admit(elsewhere, video_request())


async def test_many_start_calls_at_once_make_a_few_passes_and_start_every_job(
    idle_pipeline: Pipeline, fake_acedata: FakeAceData, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A thousand /video at once each ask to start the server's queue; the calls that come while a
    # pass waits for the lock are served by that pass instead of each queuing behind it (holding
    # their interaction and request until their turn).
    fake_acedata.render_seconds = None
    await idle_pipeline.store.set_limits(42, GuildLimits(member_concurrent=None, guild_concurrent=None))
    jobs = []
    for member in range(40):
        admission = await idle_pipeline.service.admit(requester(2000 + member), video_request())
        assert admission.job is not None
        jobs.append(admission.job.id)
    passes = 0
    read_limits = idle_pipeline.store.get_limits

    async def counting(guild_id: int) -> GuildLimits:
        nonlocal passes
        passes += 1
        return await read_limits(guild_id)

    monkeypatch.setattr(idle_pipeline.store, "get_limits", counting)
    await asyncio.gather(*(idle_pipeline.runner.start_queued(42) for _ in jobs))
    assert passes <= 2, passes
    for job_id in jobs:
        job = await wait_for_state(idle_pipeline.store, job_id, {JobState.RUNNING})
        assert job.task_id
    assert creates(fake_acedata) == len(jobs)

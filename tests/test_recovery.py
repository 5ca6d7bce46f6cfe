"""A create whose answer was lost is found among AceData's recent tasks and adopted, never resent and
never guessed: exactly one match is adopted, none or several make the job unconfirmed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.jobs.failures import FailureCode
from bot.jobs.recovery import PAGE_SIZE, Window, find_lost_task, request_matches
from bot.kling.tasks import Running, TaskStatus
from bot.storage.base import JobState
from tests.factories import video_request
from tests.fakes.acedata import FakeAceData
from tests.pipeline_helpers import Pipeline, build_pipeline, requester, wait_for_state

DONE = {JobState.DELIVERED, JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT}


@pytest.fixture
async def pipeline(fake_acedata: FakeAceData, tmp_path: Path) -> AsyncIterator[Pipeline]:
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3")
    built.poller.start()
    yield built
    await built.close()


def creates(fake: FakeAceData) -> int:
    return len(fake.requests_to("/kling/videos"))


def lose_the_next_answer(fake: FakeAceData) -> None:
    """The task is made (and paid for), then the connection drops before the answer."""
    fake.inject("/kling/videos", drop=True, process=True)


async def create_elsewhere(fake: FakeAceData, body: dict[str, Any]) -> str:
    """Another client on the same token sends the very same body (a second bot, a script)."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{fake.base_url}/kling/videos", json=body, headers={"authorization": f"Bearer {fake.token}"}
        )
    return str(answer.json()["task_id"])


# --- matching -------------------------------------------------------------------------------------


def test_a_record_matches_only_the_same_video_request() -> None:
    sent = video_request("a fox").to_payload()
    assert request_matches(sent, dict(sent))
    # AceData may leave the exchange fields out of its record, or add its own.
    recorded = {k: v for k, v in sent.items() if k != "async"} | {"callback_url": "x", "extra": 1}
    assert request_matches(sent, recorded)
    assert not request_matches(sent, {**sent, "prompt": "a fox "})
    assert not request_matches(sent, {**sent, "duration": 10})
    assert not request_matches(sent, {k: v for k, v in sent.items() if k != "prompt"})
    assert not request_matches(sent, None)


class _Lister:
    """A task listing that ignores `offset` (an older server): the look-up must still end."""

    def __init__(self, statuses: dict[str, TaskStatus]) -> None:
        self.statuses = statuses
        self.calls: list[dict[str, Any]] = []

    async def retrieve_batch(
        self,
        task_ids: Sequence[str] = (),
        *,
        created_at_min: float | None = None,
        created_at_max: float | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> dict[str, TaskStatus]:
        self.calls.append({"min": created_at_min, "max": created_at_max, "limit": limit, "offset": offset})
        return self.statuses


async def _nobody_holds(ids: Sequence[str]) -> set[str]:
    return set()


async def test_a_server_that_ignores_offset_does_not_loop_and_times_outside_the_window_are_skipped() -> None:
    body = video_request("a fox").to_payload()
    window = Window.around_send(1_000_000.0)
    statuses: dict[str, TaskStatus] = {
        f"other-{i}": Running(f"other-{i}", request={**body, "prompt": str(i)}, created_at=1_000_000.0)
        for i in range(PAGE_SIZE)
    }
    statuses["mine"] = Running("mine", request=body, created_at=1_000_001.0)
    statuses["too-old"] = Running("too-old", request=body, created_at=window.start - 1)
    lister = _Lister(statuses)

    lookup = await find_lost_task(lister, body, window, _nobody_holds)

    assert lookup.task is not None and lookup.task.task_id == "mine" and lookup.matches == 1
    assert len(lister.calls) == 2  # the second page brought nothing new
    assert lister.calls[0] == {"min": window.start, "max": window.end, "limit": PAGE_SIZE, "offset": 0}


# --- through the pipeline against the fake AceData ---------------------------------------------------


async def test_a_lost_answer_is_adopted_and_delivered_once(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    lose_the_next_answer(fake_acedata)
    admission = await pipeline.service.admit(requester(), video_request())
    assert admission.job is not None
    await pipeline.runner.start_queued(42)

    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()

    [task_id] = fake_acedata.tasks
    assert job.state is JobState.DELIVERED and job.task_id == task_id
    assert creates(fake_acedata) == 1
    assert len(pipeline.notifier.deliveries) == 1
    listings = [r.json for r in fake_acedata.requests_to("/kling/tasks") if "ids" not in r.json]
    now = time.time()
    assert listings and all(body["created_at_min"] <= now <= body["created_at_max"] for body in listings)


async def test_two_identical_requests_in_the_window_make_it_unconfirmed_not_a_wrong_adoption(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    request = video_request("the same lighthouse")
    twin = await create_elsewhere(fake_acedata, request.to_payload())
    lose_the_next_answer(fake_acedata)
    admission = await pipeline.service.admit(requester(), request)
    assert admission.job is not None
    await pipeline.runner.start_queued(42)

    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()

    assert job.state is JobState.UNCONFIRMED and job.error_code == FailureCode.UNCONFIRMED
    assert job.task_id is None
    assert "Several identical requests" in (job.error_message or "")
    assert len(fake_acedata.tasks) == 2 and twin in fake_acedata.tasks
    assert creates(fake_acedata) == 2  # the twin and ours: ours was never resent
    assert pipeline.notifier.deliveries == []
    assert [failed.id for failed in pipeline.notifier.failures] == [job.id]


async def test_a_members_identical_earlier_job_is_not_mistaken_for_the_lost_one(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    request = video_request("rerun twice")
    first = await pipeline.service.admit(requester(), request)
    assert first.job is not None
    await pipeline.runner.start_queued(42)
    await wait_for_state(pipeline.store, first.job.id, DONE)

    lose_the_next_answer(fake_acedata)
    second = await pipeline.service.admit(requester(), request)
    assert second.job is not None
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, second.job.id, DONE)
    await pipeline.runner.drain()

    first_job = await pipeline.store.get_job(first.job.id)
    assert first_job is not None
    assert job.state is JobState.DELIVERED
    assert job.task_id is not None and job.task_id != first_job.task_id
    assert set(fake_acedata.tasks) == {job.task_id, first_job.task_id}


async def test_a_task_is_never_adopted_by_two_jobs(pipeline: Pipeline, fake_acedata: FakeAceData) -> None:
    first = await pipeline.service.admit(requester(), video_request())
    second = await pipeline.service.admit(requester(2), video_request())
    assert first.job is not None and second.job is not None
    for job in (first.job, second.job):
        await pipeline.store.transition(job.id, expect=[JobState.QUEUED], to=JobState.SUBMITTING)
    adopted = await pipeline.store.adopt_task(first.job.id, "task-1", trace_id=None, submitted_at=1.0)
    assert adopted is not None and adopted.state is JobState.RUNNING and adopted.task_id == "task-1"
    assert await pipeline.store.adopt_task(second.job.id, "task-1", trace_id=None, submitted_at=1.0) is None
    assert await pipeline.store.known_task_ids(["task-1", "task-2"]) == {"task-1"}


# --- restarts ------------------------------------------------------------------------------------------


async def test_restart_after_the_create_left_adopts_the_task_made_upstream(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    first = await build_pipeline(fake_acedata, db)
    admission = await first.service.admit(requester(), video_request("a kite"))
    assert admission.job is not None
    claimed = await first.store.claim_next_queued(42, None)
    assert claimed is not None
    await first.store.update_job(claimed.id, submitted_at=time.time())
    task_id = await create_elsewhere(fake_acedata, claimed.request.to_payload())  # the create that left
    await first.close()  # killed before the answer was stored

    second = await build_pipeline(fake_acedata, db)
    second.poller.start()
    try:
        await second.runner.resume()
        job = await wait_for_state(second.store, admission.job.id, DONE)
        await second.runner.drain()
        assert job.state is JobState.DELIVERED and job.task_id == task_id
        assert creates(fake_acedata) == 1 and len(second.notifier.deliveries) == 1
    finally:
        await second.close()


async def test_restart_before_the_create_was_sent_queues_the_job_again(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    first = await build_pipeline(fake_acedata, db)
    admission = await first.service.admit(requester(), video_request())
    assert admission.job is not None
    assert await first.store.claim_next_queued(42, None) is not None  # claimed, never stamped nor sent
    await first.close()

    second = await build_pipeline(fake_acedata, db)
    second.poller.start()
    try:
        await second.runner.resume()
        job = await wait_for_state(second.store, admission.job.id, DONE)
        await second.runner.drain()
        assert job.state is JobState.DELIVERED
        assert creates(fake_acedata) == 1
        assert second.notifier.failures == []  # nobody was told "could not confirm"
    finally:
        await second.close()


async def test_nothing_is_shown_to_the_member_between_the_claim_and_the_create(
    pipeline: Pipeline, fake_acedata: FakeAceData
) -> None:
    admission = await pipeline.service.admit(requester(), video_request("quiet until sent"))
    assert admission.job is not None
    await pipeline.runner.start_queued(42)
    job = await wait_for_state(pipeline.store, admission.job.id, DONE)
    await pipeline.runner.drain()

    assert job.state is JobState.DELIVERED
    # Every notification of this job came before its claim (queued) or after its create (running on).
    shown = [seen.state for seen in pipeline.notifier.progress_calls if seen.id == job.id]
    assert JobState.SUBMITTING not in shown

"""The poll schedule: one batched request covers every running job, so what the schedule decides is
when the next cycle runs; jobs much younger than their kind's recent renders are asked about rarely."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.jobs.poller import QUIET_FRACTION, Poller, next_poll_at
from bot.kling.tasks import TaskStatus
from bot.quota.models import GuildLimits
from bot.storage.base import Job, JobState
from tests.factories import video_request
from tests.fakes.acedata import FakeAceData
from tests.pipeline_helpers import Pipeline, build_pipeline, requester

BASE, MAXIMUM = 2.0, 30.0


def test_without_history_a_job_is_due_after_the_base_interval() -> None:
    assert next_poll_at(100.0, 0.0, None, base=BASE, maximum=MAXIMUM) == 102.0


def test_a_young_job_waits_until_its_quiet_phase_ends_but_never_longer_than_the_maximum() -> None:
    # Mean render 300 s: the quiet phase ends at 225 s.
    assert next_poll_at(10.0, 0.0, 300.0, base=BASE, maximum=MAXIMUM) == 40.0
    assert next_poll_at(210.0, 0.0, 300.0, base=BASE, maximum=MAXIMUM) == 300.0 * QUIET_FRACTION
    assert next_poll_at(224.0, 0.0, 300.0, base=BASE, maximum=MAXIMUM) == 226.0


def test_a_job_near_or_past_its_expected_end_is_due_after_the_base_interval() -> None:
    assert next_poll_at(250.0, 0.0, 300.0, base=BASE, maximum=MAXIMUM) == 252.0
    assert next_poll_at(900.0, 0.0, 300.0, base=BASE, maximum=MAXIMUM) == 902.0


async def _running_jobs(built: Pipeline, count: int) -> None:
    await built.store.set_limits(42, GuildLimits(guild_concurrent=None, member_concurrent=None))
    for member in range(count):
        await built.service.admit(requester(member), video_request())
    await built.runner.start_queued(42)
    await built.runner.drain()
    assert len(await built.store.jobs_in_states([JobState.RUNNING])) == count


def _queries(fake: FakeAceData) -> list[list[str]]:
    return [r.json["ids"] for r in fake.requests if r.path == "/kling/tasks"]


async def test_a_cycle_for_one_due_job_asks_about_every_running_job(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    fake_acedata.render_seconds = 600.0
    now = [1_800_000_000.0]
    built = await build_pipeline(
        fake_acedata, tmp_path / "bot.sqlite3", clock=lambda: now[0], deadline=1000.0
    )
    built.poller = Poller(built.runner, base_interval=BASE, max_interval=MAXIMUM, clock=lambda: now[0])
    try:
        await _running_jobs(built, 12)
        await built.poller.cycle()  # every job joins the grid
        built.poller.poke(next(iter(built.poller._next_due)))  # one job due at once (a callback)
        assert await built.poller.cycle() == 12
        assert [len(ids) for ids in _queries(fake_acedata)] == [12]
    finally:
        await built.close()


@pytest.mark.parametrize(("expected", "quiet_requests_at_most"), [(None, None), (100.0, 4)])
async def test_cycles_are_rare_while_young_and_every_base_interval_near_the_end(
    fake_acedata: FakeAceData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    expected: float | None,
    quiet_requests_at_most: int | None,
) -> None:
    fake_acedata.render_seconds = 600.0
    start = 1_800_000_000.0
    now = [start]
    built = await build_pipeline(
        fake_acedata, tmp_path / "bot.sqlite3", clock=lambda: now[0], deadline=1000.0
    )
    built.poller = Poller(built.runner, base_interval=BASE, max_interval=MAXIMUM, clock=lambda: now[0])

    async def mean_render(*_: object, **__: object) -> float | None:
        return expected

    monkeypatch.setattr(built.store, "average_render_seconds", mean_render)
    try:
        await _running_jobs(built, 3)
        sent_at: list[float] = []
        while now[0] < start + 100:
            before = len(_queries(fake_acedata))
            await built.poller.cycle()
            if len(_queries(fake_acedata)) > before:
                sent_at.append(now[0] - start)
            now[0] += 0.5
        quiet = [at for at in sent_at if at < 70]
        late = [at for at in sent_at if at >= 76]
        if quiet_requests_at_most is None:  # no history: every base interval from the start
            assert len(quiet) >= 70 / BASE - 1, str(sent_at)
        else:
            assert len(quiet) <= quiet_requests_at_most, sent_at
        # Near and past the expected end, never more than one base interval between two cycles.
        assert late and max(b - a for a, b in itertools.pairwise(late)) <= BASE, sent_at
    finally:
        await built.close()


async def test_a_cycle_asks_every_batch_first_and_handles_finished_jobs_before_running_ones(
    fake_acedata: FakeAceData, tmp_path: Path
) -> None:
    fake_acedata.render_seconds = 600.0
    now = [1_800_000_000.0]
    built = await build_pipeline(
        fake_acedata, tmp_path / "bot.sqlite3", clock=lambda: now[0], deadline=1000.0
    )
    built.poller = Poller(
        built.runner, base_interval=BASE, max_interval=MAXIMUM, batch_size=4, clock=lambda: now[0]
    )
    try:
        await _running_jobs(built, 10)
        await built.poller.cycle()  # every job joins the grid
        jobs = await built.store.jobs_in_states([JobState.RUNNING])
        last = max(jobs, key=lambda job: job.created_at)  # in the last batch
        assert last.task_id is not None
        fake_acedata.finish(last.task_id)
        handled: list[tuple[str, int]] = []
        apply = built.runner.apply_status

        async def recording(job: Job, status: TaskStatus) -> None:
            handled.append((job.id, len(_queries(fake_acedata))))
            await apply(job, status)

        built.runner.apply_status = recording
        for job_id in built.poller._next_due:
            built.poller.poke(job_id)
        before = len(_queries(fake_acedata))
        assert await built.poller.cycle() == 10
        assert len(_queries(fake_acedata)) == before + 3  # batches of 4, 4 and 2
        assert handled[0] == (last.id, before + 3)  # handled first, once every batch was answered
    finally:
        await built.close()

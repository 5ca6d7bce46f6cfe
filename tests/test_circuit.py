"""The circuit breaker in front of AceData: opens on an empty balance or a run of outages, alerts once,
refuses new jobs and holds queued ones, probes, and closes by itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.jobs.circuit import Circuit, CircuitEvent, CircuitEventKind, CircuitState, OpenReason
from bot.jobs.service import Refused
from bot.kling.errors import BadRequest, KlingError, NetworkError, OutOfCredits, ServiceError
from bot.storage.base import JobState
from tests.factories import video_request
from tests.fakes.acedata import FakeAceData
from tests.pipeline_helpers import Pipeline, build_pipeline, requester, wait_for_state


class Probe:
    def __init__(self) -> None:
        self.error: KlingError | None = ServiceError("still down", status=503)
        self.calls = 0
        self.circuit: Circuit | None = None

    async def __call__(self) -> None:
        self.calls += 1
        # Like KlingClient, the probe's own outcome is reported to the observer.
        assert self.circuit is not None
        self.circuit.call_finished("query", self.error)
        if self.error is not None:
            raise self.error


@pytest.fixture
async def watched() -> AsyncIterator[tuple[Circuit, Probe, list[CircuitEvent]]]:
    probe = Probe()
    circuit = Circuit(probe, probe_interval=0.01, max_probe_interval=0.05)
    probe.circuit = circuit
    events: list[CircuitEvent] = []

    async def listen(event: CircuitEvent) -> None:
        events.append(event)

    circuit.subscribe(listen)
    yield circuit, probe, events
    await circuit.aclose()


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


def kinds(events: list[CircuitEvent]) -> list[CircuitEventKind]:
    return [event.kind for event in events]


async def test_a_run_of_outages_opens_it_once_and_an_answering_probe_closes_it(
    watched: tuple[Circuit, Probe, list[CircuitEvent]],
) -> None:
    circuit, probe, events = watched
    for _ in range(4):
        circuit.call_finished("query", NetworkError("no route"))
    assert circuit.state is CircuitState.CLOSED and circuit.may_submit()
    circuit.call_finished("query", ServiceError("bad gateway", status=502))

    assert circuit.state is CircuitState.OPEN and circuit.reason is OpenReason.OUTAGE
    assert "not responding" in (circuit.refusal() or "") and "Nothing was charged" in (
        circuit.refusal() or ""
    )
    assert not circuit.may_submit()
    for _ in range(10):  # more failures while open: no second alert
        circuit.call_finished("create", ServiceError("bad gateway", status=502))
    await until(lambda: probe.calls >= 2)
    probe.error = None
    await until(lambda: circuit.state is CircuitState.CLOSED)
    await until(lambda: len(events) == 2)

    assert kinds(events) == [CircuitEventKind.OPENED, CircuitEventKind.CLOSED]
    assert circuit.refusal() is None and circuit.may_submit()


async def test_an_answer_in_between_resets_the_run(
    watched: tuple[Circuit, Probe, list[CircuitEvent]],
) -> None:
    circuit, _, events = watched
    for _ in range(3):
        for _ in range(4):
            circuit.call_finished("query", NetworkError("no route"))
        circuit.call_finished("create", BadRequest("model is invalid", status=400))  # it answered
    circuit.call_finished("query", ServiceError("no JSON", status=200))  # not an outage either
    assert circuit.state is CircuitState.CLOSED and events == []


async def test_an_empty_balance_opens_at_once_and_only_a_create_that_works_closes_it(
    watched: tuple[Circuit, Probe, list[CircuitEvent]],
) -> None:
    circuit, probe, events = watched
    circuit.call_finished(
        "create", OutOfCredits("Your balance is not sufficient", code="used_up", status=403)
    )
    assert circuit.state is CircuitState.OPEN and circuit.reason is OpenReason.BALANCE
    assert "run out of credit" in (circuit.refusal() or "")
    circuit.call_finished("query", None)  # polls of running jobs still work: that proves nothing about money
    assert circuit.state is CircuitState.OPEN

    probe.error = None
    await until(lambda: circuit.state is CircuitState.HALF_OPEN)
    assert circuit.refusal() is None  # a new job may be the trial
    assert circuit.may_submit() and not circuit.may_submit()  # exactly one trial
    circuit.release_trial()  # nothing was queued after all
    assert circuit.may_submit()
    circuit.call_finished("create", OutOfCredits("still empty", code="used_up", status=403))
    assert circuit.state is CircuitState.OPEN  # quietly: the same incident
    await until(lambda: circuit.state is CircuitState.HALF_OPEN)
    assert circuit.may_submit()
    circuit.call_finished("create", None)
    await until(lambda: len(events) >= 4)

    assert circuit.state is CircuitState.CLOSED
    assert kinds(events) == [
        CircuitEventKind.OPENED,
        CircuitEventKind.TRIAL,
        CircuitEventKind.TRIAL,
        CircuitEventKind.CLOSED,
    ]
    assert events[0].reason is OpenReason.BALANCE and "not sufficient" in events[0].detail


# --- through the pipeline against the fake AceData ---------------------------------------------------


@pytest.fixture
async def guarded(fake_acedata: FakeAceData, tmp_path: Path) -> AsyncIterator[Pipeline]:
    built = await build_pipeline(fake_acedata, tmp_path / "bot.sqlite3", probe_interval=0.5)
    built.poller.start()
    yield built
    await built.close()


async def test_out_of_balance_refuses_new_jobs_keeps_the_queued_one_and_resumes_by_itself(
    guarded: Pipeline, fake_acedata: FakeAceData
) -> None:
    assert guarded.circuit is not None
    fake_acedata.balance_exhausted = True
    first = await guarded.service.admit(requester(), video_request("waits its turn"))
    assert first.job is not None
    await guarded.runner.start_queued(42)
    await until(lambda: guarded.circuit is not None and guarded.circuit.state is CircuitState.OPEN)
    waiting = await guarded.store.get_job(first.job.id)
    assert waiting is not None and waiting.state in {JobState.QUEUED, JobState.SUBMITTING}

    with pytest.raises(Refused, match="run out of credit"):
        await guarded.service.admit(requester(2), video_request("refused at once"))
    assert fake_acedata.created_tasks == 0
    assert guarded.notifier.failures == []  # the member's job is not failed: it waits

    fake_acedata.balance_exhausted = False
    job = await wait_for_state(guarded.store, first.job.id, {JobState.DELIVERED, JobState.FAILED})
    await until(lambda: guarded.circuit is not None and guarded.circuit.state is CircuitState.CLOSED)

    assert job.state is JobState.DELIVERED
    assert [t.request["prompt"] for t in fake_acedata.tasks.values()] == ["waits its turn"]
    assert (await guarded.service.admit(requester(2), video_request("accepted again"))).job is not None


async def test_a_refused_member_costs_nothing_while_open(
    guarded: Pipeline, fake_acedata: FakeAceData
) -> None:
    assert guarded.circuit is not None
    fake_acedata.balance_exhausted = True
    guarded.circuit.call_finished("create", OutOfCredits("empty", code="used_up", status=403))
    for member in range(3):
        with pytest.raises(Refused, match="Nothing was charged"):
            await guarded.service.admit(requester(member), video_request())
    assert await guarded.store.history(42) == []  # nothing reserved, no job row
    assert fake_acedata.requests_to("/kling/videos") == []

"""Build the job pipeline (store, client, runner, poller) against the fake AceData, without Discord."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot.jobs.circuit import Circuit
from bot.jobs.notifier import VideoFile
from bot.jobs.poller import Poller
from bot.jobs.runner import JobRunner
from bot.jobs.service import Requester, VideoService
from bot.kling.client import KlingClient
from bot.kling.models import Model
from bot.quota.costs import load_cost_table
from bot.storage import open_store
from bot.storage.base import Job, JobState, Store
from tests.fakes.acedata import FakeAceData


@dataclass
class RecordingNotifier:
    """A JobNotifier that remembers every call; can be told to raise to test the poller's resilience."""

    progress_calls: list[Job] = field(default_factory=list)
    deliveries: list[tuple[Job, VideoFile]] = field(default_factory=list)
    #: The bytes of each delivered file, read while it still existed (the runner removes it after).
    received: dict[str, bytes] = field(default_factory=dict)
    failures: list[Job] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    fail_progress: bool = False
    #: How many delivery attempts raise (Discord away for a moment) before they go through.
    fail_deliveries: int = 0

    async def progress(self, job: Job, *, force: bool = False) -> None:
        if self.fail_progress:
            raise RuntimeError("discord is on fire")
        self.progress_calls.append(job)

    async def delivered(self, job: Job, video: VideoFile) -> None:
        if self.fail_deliveries > 0:
            self.fail_deliveries -= 1
            raise RuntimeError("discord is away for a moment")
        self.deliveries.append((job, video))
        if video.path is not None:
            self.received[job.id] = video.path.read_bytes()

    async def failed(self, job: Job) -> None:
        self.failures.append(job)

    async def forget(self, job_id: str) -> None:
        self.forgotten.append(job_id)


@dataclass
class Pipeline:
    store: Store
    http: httpx.AsyncClient
    kling: KlingClient
    runner: JobRunner
    poller: Poller
    service: VideoService
    notifier: RecordingNotifier
    circuit: Circuit | None = None

    async def close(self) -> None:
        if self.circuit is not None:
            await self.circuit.aclose()
        await self.poller.stop()
        await self.runner.shutdown()
        await self.http.aclose()
        await self.store.close()


async def build_pipeline(
    fake: FakeAceData,
    db_path: Path,
    *,
    deadline: float = 60.0,
    clock: Callable[[], float] = time.time,
    notifier: RecordingNotifier | None = None,
    probe_interval: float | None = None,
) -> Pipeline:
    """With `probe_interval`, a circuit breaker watches the client (as in the bot)."""
    store = await open_store(db_path)
    http = httpx.AsyncClient(timeout=5)
    kling = KlingClient(http, base_url=fake.base_url, token=SecretStr(fake.token))
    notifier = notifier or RecordingNotifier()
    circuit = None
    if probe_interval is not None:
        circuit = Circuit(kling.check_token, probe_interval=probe_interval)
        kling.observer = circuit
    runner = JobRunner(
        store=store,
        kling=kling,
        http=http,
        notifier=notifier,
        deadline_seconds=deadline,
        clock=clock,
        # Look-ups of a lost create retried quickly, so "not found" is concluded within a test.
        recovery_delays=(0.0, 0.05, 0.05, 0.05, 0.05, 0.05),
        circuit=circuit,
    )
    poller = Poller(runner, base_interval=0.05, max_interval=0.2, clock=clock)
    service = VideoService(
        store=store,
        http=http,
        costs=load_cost_table(None),
        default_model=Model.V1,
        clock=clock,
        circuit=circuit,
    )
    return Pipeline(store, http, kling, runner, poller, service, notifier, circuit)


def requester(member_id: int = 1001, *, guild_id: int = 42, interaction_id: int | None = None) -> Requester:
    return Requester(
        guild_id=guild_id,
        channel_id=7,
        member_id=member_id,
        interaction_id=interaction_id,
        size_limit=10 * 1024 * 1024,
    )


async def wait_for_state(store: Store, job_id: str, states: set[JobState], within: float = 10.0) -> Job:
    deadline = time.monotonic() + within
    while True:
        job = await store.get_job(job_id)
        if job is not None and job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job.state if job else None}, wanted {states}")
        await asyncio.sleep(0.02)

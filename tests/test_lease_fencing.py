"""Two bot processes on one PostgreSQL: when the connection holding one process's job ownership is
ended (pg_terminate_backend from another connection) while it is half-way through a job, the other
process takes the job over, and the first one can neither post a second result nor send a second
paid create. Fencing (the job's ownership epoch, bumped by the taker), the lease watch stopping the
stale work, and the lost-answer recovery are what hold; each test fails without them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from bot.jobs.notifier import VideoFile
from bot.jobs.poller import Poller
from bot.jobs.runner import JobRunner
from bot.jobs.service import VideoService
from bot.kling.client import KlingClient
from bot.kling.models import Model
from bot.quota.costs import load_cost_table
from bot.storage.base import Job, JobState
from bot.storage.postgres import PostgresStore
from tests.factories import video_request
from tests.fakes.acedata import FakeAceData
from tests.pipeline_helpers import RecordingNotifier, requester, wait_for_state

pytestmark = pytest.mark.usefixtures("postgres_cluster")

GUILD = 42


class HeldAnswers(httpx.AsyncBaseTransport):
    """Sends every request for real, but holds the answers of the matching ones until `release`:
    the request has done its work on the server (a task made, a file served), the process has not
    heard back yet."""

    def __init__(self, matches: Callable[[httpx.Request], bool]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._matches = matches
        self.reached = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if self._matches(request):
            await response.aread()
            self.reached.set()
            await self._released.wait()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass
class PostingNotifier(RecordingNotifier):
    """Its first result post hangs "on the wire" until released, and says if it was stopped."""

    posting: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: bool = False

    async def delivered(self, job: Job, video: VideoFile) -> None:
        if not self.posting.is_set():
            self.posting.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.stopped = True
                raise
        await super().delivered(job, video)


@dataclass
class Process:
    """One bot process's job pipeline (no Discord): its own store, connections and runner."""

    store: PostgresStore
    http: httpx.AsyncClient
    runner: JobRunner
    poller: Poller
    service: VideoService
    notifier: RecordingNotifier

    async def close(self) -> None:
        await self.poller.stop()
        await self.runner.shutdown()
        await self.http.aclose()
        await self.store.close()


Start = Callable[..., Awaitable[Process]]


@pytest.fixture
async def start(fake_acedata: FakeAceData, postgres_url: str) -> AsyncIterator[Start]:
    """Starts a bot process's pipeline; all are closed after the test."""
    started: list[Process] = []

    async def start(
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        notifier: RecordingNotifier | None = None,
        lease_check: float = 0.05,
    ) -> Process:
        store = await PostgresStore.open(postgres_url)
        http = httpx.AsyncClient(timeout=5, transport=transport)
        kling = KlingClient(http, base_url=fake_acedata.base_url, token=SecretStr(fake_acedata.token))
        notifier = notifier or RecordingNotifier()
        runner = JobRunner(
            store=store,
            kling=kling,
            http=http,
            notifier=notifier,
            deadline_seconds=60.0,
            recovery_delays=(0.0, 0.1, 0.2, 0.3, 0.5, 1.0),
        )
        poller = Poller(runner, base_interval=0.05, max_interval=0.2, lease_check_interval=lease_check)
        service = VideoService(store=store, http=http, costs=load_cost_table(None), default_model=Model.V1)
        process = Process(store, http, runner, poller, service, notifier)
        started.append(process)
        return process

    yield start
    for process in started:
        await process.close()


async def end_lease_session(url: str, store: PostgresStore) -> None:
    """What a restarted server, a network cut or an operator does to the lease connection."""
    pid = store.lease_pid
    assert pid is not None
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # The session's locks go when its backend has exited.
        deadline = time.monotonic() + 5
        while await (await admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))).fetchall():
            assert time.monotonic() < deadline, "the lease session did not end"
            await asyncio.sleep(0.02)


async def take_over(process: Process, job_id: str, within: float = 10.0) -> None:
    """Run the survivor's lease watch until it owns the job (as its Poller does every second)."""
    deadline = time.monotonic() + within
    while not process.store.owns(job_id):
        assert time.monotonic() < deadline, "the job was not taken over"
        await process.runner.check_ownership()
        await asyncio.sleep(0.02)


async def admit(process: Process) -> Job:
    admission = await process.service.admit(requester(guild_id=GUILD), video_request("a lighthouse at dusk"))
    assert admission.job is not None
    return admission.job


def result_download(request: httpx.Request) -> bool:
    return request.method == "GET" and "/files/" in request.url.path


def create(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/kling/videos")


async def test_no_lost_lease_while_alive_and_an_orphan_as_soon_as_it_is_lost(
    start: Start, postgres_url: str
) -> None:
    a, b = await start(), await start()
    job = await admit(a)
    claimed = await a.store.claim_next_queued(GUILD, None)
    assert claimed is not None and claimed.id == job.id and a.store.owns(job.id)
    assert await b.store.check_leases() is False and await a.store.check_leases() is False

    await end_lease_session(postgres_url, a.store)

    assert await b.store.check_leases() is True  # one query tells the survivor at once
    assert await b.store.claim_jobs([job.id]) == {job.id}
    assert await a.store.check_leases() is False  # a reconnects, and learns what it lost
    assert a.store.take_lost_leases() == {job.id} and not a.store.owns(job.id)
    assert a.store.take_lost_leases() == set()


async def test_a_stale_owner_finishing_its_download_after_the_take_over_posts_nothing(
    start: Start, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    a_download, b_download = HeldAnswers(result_download), HeldAnswers(result_download)
    # a does not notice the lost lease by itself here (no lease watch): only the fence stops it.
    a = await start(transport=a_download, lease_check=3600.0)
    b = await start(transport=b_download)
    job = await admit(a)
    await a.runner.start_queued(GUILD)
    a.poller.start()
    await asyncio.wait_for(a_download.reached.wait(), 10)  # a is fetching the result to post it

    await end_lease_session(postgres_url, a.store)
    await take_over(b, job.id)
    await asyncio.wait_for(b_download.reached.wait(), 10)  # b is fetching it too
    a_download.release()  # a's download completes first, after the take-over
    await asyncio.sleep(0.5)
    assert a.notifier.deliveries == []  # the fence check before posting said "not yours any more"
    b_download.release()
    delivered = await wait_for_state(b.store, job.id, {JobState.DELIVERED})
    await asyncio.gather(a.runner.drain(), b.runner.drain())

    assert delivered.delivered_at is not None
    assert len(b.notifier.deliveries) == 1 and a.notifier.deliveries == []
    assert fake_acedata.created_tasks == 1


async def test_the_lease_watch_stops_a_post_in_progress_and_the_job_is_delivered_once(
    start: Start, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    a_notifier = PostingNotifier()
    a = await start(notifier=a_notifier)
    b = await start()
    job = await admit(a)
    await a.runner.start_queued(GUILD)
    a.poller.start()
    b.poller.start()
    await asyncio.wait_for(a_notifier.posting.wait(), 10)  # a's post is on its way to Discord

    await end_lease_session(postgres_url, a.store)
    done = await wait_for_state(a.store, job.id, {JobState.DELIVERED})
    # a's post waits forever unless the lease watch stopped it.
    await asyncio.wait_for(asyncio.gather(a.runner.drain(), b.runner.drain()), 10)

    assert a_notifier.stopped  # a stopped posting the moment it noticed its lease was gone
    # Whichever process took the job (b, or a again under a new epoch) delivered it once; the post
    # that was cut off is a repeat Discord answers idempotently (same message, or the job's nonce).
    assert len(a_notifier.deliveries) + len(b.notifier.deliveries) == 1
    assert done.delivered_at is not None
    assert fake_acedata.created_tasks == 1


async def test_a_stale_owner_never_sends_the_create_of_a_job_taken_over_before_its_stamp(
    start: Start, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    a, b = await start(lease_check=3600.0), await start()
    job = await admit(a)
    claimed = await a.store.claim_next_queued(GUILD, None)  # a is about to stamp and send the create
    assert claimed is not None and claimed.submitted_at is None

    await end_lease_session(postgres_url, a.store)
    # b's take-over, step by step so a's late stamp lands in the worst moment: b takes the job,
    # puts it back in the queue (never stamped, so never sent), and claims it again to submit it.
    assert await b.store.check_leases() is True
    assert await b.store.claim_jobs([job.id]) == {job.id}
    assert await b.store.transition(job.id, expect=[JobState.SUBMITTING], to=JobState.QUEUED)
    again = await b.store.claim_next_queued(GUILD, None)
    assert again is not None and again.state is JobState.SUBMITTING and again.submitted_at is None

    await a.runner.submit(claimed)  # a carries on where it was: its stamp is fenced off
    assert fake_acedata.created_tasks == 0
    await b.runner.submit(again)
    running = await wait_for_state(b.store, job.id, {JobState.RUNNING})

    assert fake_acedata.created_tasks == 1 and running.task_id in fake_acedata.tasks
    b.poller.start()
    await wait_for_state(b.store, job.id, {JobState.DELIVERED})
    await asyncio.gather(a.runner.drain(), b.runner.drain())
    assert len(b.notifier.deliveries) == 1 and a.notifier.deliveries == []
    assert fake_acedata.created_tasks == 1


async def test_a_take_over_requeues_a_job_never_stamped_and_submits_it_once(
    start: Start, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    a, b = await start(lease_check=3600.0), await start()
    job = await admit(a)
    claimed = await a.store.claim_next_queued(GUILD, None)
    assert claimed is not None

    await end_lease_session(postgres_url, a.store)
    await take_over(b, job.id)  # the runner's own take-over: back to the queue, submitted by b
    running = await wait_for_state(b.store, job.id, {JobState.RUNNING})
    await a.runner.submit(claimed)

    assert fake_acedata.created_tasks == 1 and running.task_id in fake_acedata.tasks


async def test_a_create_sent_but_unanswered_at_the_take_over_is_recovered_never_sent_again(
    start: Start, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    answers = HeldAnswers(create)
    a = await start(transport=answers, lease_check=3600.0)
    b = await start()
    job = await admit(a)
    await a.runner.start_queued(GUILD)
    await asyncio.wait_for(answers.reached.wait(), 10)  # the task exists, a has not heard back
    assert fake_acedata.created_tasks == 1
    [task_id] = fake_acedata.tasks

    await end_lease_session(postgres_url, a.store)
    await take_over(b, job.id)  # stamped: b looks the task up among the recent ones
    running = await wait_for_state(b.store, job.id, {JobState.RUNNING})
    assert running.task_id == task_id
    answers.release()  # a hears back now: its RUNNING stamp is fenced, the task already recorded
    await a.runner.drain()

    b.poller.start()
    await wait_for_state(b.store, job.id, {JobState.DELIVERED})
    await b.runner.drain()
    assert fake_acedata.created_tasks == 1 and len(fake_acedata.requests_to("/kling/videos")) == 1
    assert len(b.notifier.deliveries) == 1 and a.notifier.deliveries == []

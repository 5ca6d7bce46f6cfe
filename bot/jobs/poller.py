"""One loop polls every running job with batched `retrieve_batch` requests, a cycle at a time.

One request covers up to `batch_size` jobs, so the cost of polling is per *cycle*, not per job: a
cycle that runs for one due job asks about every other running job too (filling the batches it has
to send anyway), and what the schedule decides is only *when* the next cycle runs.

When the next cycle runs: every job is due `base_interval` after its last poll (so a result is seen
within one short interval of being ready), except while it is still young compared with how long
jobs of its kind (server, model, mode, duration) took recently. During that quiet phase, which ends
at `QUIET_FRACTION` of the recent mean render time, a job alone would be polled only every
`max_interval`. With no history for its kind a job is polled at the base interval from the start.

Due times sit on a grid of the base interval, so jobs that started at different moments share
cycles. A failure in one cycle or one job is logged and the loop goes on: it must outlive every
exception but cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable

from bot.jobs.runner import Clock, JobRunner
from bot.kling.errors import KlingError, RateLimited
from bot.kling.tasks import NotFound, Running, TaskStatus
from bot.metrics import METRICS
from bot.storage.base import Job, JobState, StorageBusy

log = logging.getLogger(__name__)

#: The quiet phase ends at this fraction of the recent mean render time of the job's kind. Renders
#: of one kind vary by a few tens of percent; a job finishing faster than this is seen late (by up
#: to `max_interval`), everything else within one base interval.
QUIET_FRACTION = 0.75
#: How long a learned mean render time is reused before it is read again.
ESTIMATE_TTL_SECONDS = 300.0
#: On a shared database (several processes): how often the lease watch asks whether a job in flight
#: has lost its owner (one cheap query), independently of the poll schedule, which may sleep up to
#: `max_interval` when this process has nothing to poll. Part of the take-over bound in docs/scaling.md.
LEASE_CHECK_SECONDS = 1.0
#: ... and how often it tries to take over every job in flight without asking first (a safety net).
FULL_TAKEOVER_SECONDS = 30.0

_Kind = tuple[int, str, str, int]


def next_poll_at(
    now: float, started: float, expected_render: float | None, *, base: float, maximum: float
) -> float:
    """When a job polled at `now` is due again (before rounding to the grid)."""
    fast = now + base
    if expected_render is None or expected_render <= 0:
        return fast
    quiet_until = started + QUIET_FRACTION * expected_render
    if fast >= quiet_until:
        return fast
    return min(now + max(maximum, base), quiet_until)


class Poller:
    def __init__(
        self,
        runner: JobRunner,
        *,
        base_interval: float,
        max_interval: float,
        batch_size: int = 500,
        clock: Clock = time.time,
        lease_check_interval: float = LEASE_CHECK_SECONDS,
    ) -> None:
        self.runner = runner
        self.base_interval = base_interval
        self.max_interval = max(max_interval, base_interval)
        self.batch_size = batch_size
        self.clock = clock
        self._next_due: dict[str, float] = {}
        self._estimates: dict[_Kind, tuple[float | None, float]] = {}
        self._task: asyncio.Task[None] | None = None
        self.lease_check_interval = lease_check_interval
        self._watch: asyncio.Task[None] | None = None
        self._pause_until = 0.0
        # Grid times are sums of floats: a tick computed as 0.30000000000000004 is still "now" at 0.3.
        self._slack = self.base_interval / 100
        self.cycles = 0

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="kling-poller")
        if self.runner.store.shared and (self._watch is None or self._watch.done()):
            self._watch = asyncio.create_task(self._watch_leases(), name="kling-lease-watch")

    async def stop(self) -> None:
        for task in (self._task, self._watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._watch = None

    async def _watch_leases(self) -> None:
        """Several processes: every `lease_check_interval`, notice a lost lease (and stop its work)
        and take over a dead process's jobs, whatever the poll schedule sleeps. The jobs taken over
        are polled at once (the runner sets new_work)."""
        last_full = time.monotonic()
        while True:
            await asyncio.sleep(self.lease_check_interval)
            full = time.monotonic() - last_full >= FULL_TAKEOVER_SECONDS
            if full:
                last_full = time.monotonic()
            try:
                await self.runner.check_ownership(full=full)
            except asyncio.CancelledError:
                raise
            except StorageBusy as exc:
                log.warning("lease check skipped: %s", exc)
            except Exception:
                log.exception("lease check failed; continuing")

    def poke(self, job_id: str | None = None) -> None:
        """Poll soon: a callback hint or a new job. With a job id, that job is due at once."""
        if job_id is not None:
            self._next_due[job_id] = 0.0
        self.runner.new_work.set()

    async def _run(self) -> None:
        while True:
            try:
                with METRICS.poll_cycle.time():
                    await self.cycle()
            except asyncio.CancelledError:
                raise
            except StorageBusy as exc:  # the database is locked or away: the next cycle tries again
                log.warning("poll cycle skipped: %s", exc)
            except Exception:
                log.exception("poll cycle failed; continuing")
            await self._sleep_until_due()

    async def _sleep_until_due(self) -> None:
        now = self.clock()
        wake_at = min(self._next_due.values(), default=now + self.max_interval)
        delay = max(min(wake_at - now, self.max_interval), self._pause_until - now, 0.05)
        self.runner.new_work.clear()
        # asyncio.timeout, not wait_for: on 3.11 a wait_for being cancelled can swallow the cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self.runner.new_work.wait()

    def _on_grid(self, at: float) -> float:
        # Round (not ceil): a cycle runs a moment after its tick, and ceil would skip one.
        return round(at / self.base_interval) * self.base_interval

    async def _expected_render(self, job: Job) -> float | None:
        request = job.request
        kind: _Kind = (job.guild_id, request.model.value, request.mode.value, request.duration)
        now = self.clock()
        cached = self._estimates.get(kind)
        if cached is not None and now - cached[1] < ESTIMATE_TTL_SECONDS:
            return cached[0]
        try:
            value = await self.runner.store.average_render_seconds(
                job.guild_id, request.model, request.mode, request.duration
            )
        except Exception:
            log.exception("reading render times failed; polling at the base interval")
            value = None
        self._estimates[kind] = (value, now)
        return value

    async def cycle(self) -> int:
        """Poll every due job once, plus as many not-yet-due jobs as the same requests can carry.
        Returns the number of jobs asked about."""
        self.cycles += 1
        now = self.clock()
        if now < self._pause_until:
            return 0
        store = self.runner.store
        # Several processes: poll only the jobs this one owns. Jobs whose owner died are taken over
        # by the lease watch (_watch_leases), within about a second of their owner's end.
        running = [
            job
            for job in await store.jobs_in_states([JobState.RUNNING])
            if job.task_id and store.owns(job.id)
        ]
        live = {job.id for job in running}
        for stale in set(self._next_due) - live:
            del self._next_due[stale]
        due: list[Job] = []
        waiting: list[Job] = []
        for job in running:
            if self.runner.is_overdue(job):
                await self._guard(job.id, self.runner.time_out(job))
            elif job.id not in self._next_due:
                # A new job joins the shared grid at its next tick, so jobs that started at
                # different moments still share one retrieve_batch request.
                self._next_due[job.id] = math.ceil(now / self.base_interval) * self.base_interval
            elif self._next_due[job.id] <= now + self._slack:
                due.append(job)
            else:
                waiting.append(job)
        if not due:
            return 0
        # The batches this cycle sends anyway have room: fill it with the jobs due soonest.
        room = -len(due) % self.batch_size
        waiting.sort(key=lambda job: self._next_due[job.id])
        asked = due + waiting[:room]
        answers: list[tuple[Job, TaskStatus]] = []
        for start in range(0, len(asked), self.batch_size):
            batch = asked[start : start + self.batch_size]
            try:
                statuses = await self.runner.kling.retrieve_batch(
                    [job.task_id for job in batch if job.task_id]
                )
            except RateLimited as exc:
                self._pause_until = self.clock() + exc.retry_after
                log.warning("task queries rate limited; pausing %.0f s", exc.retry_after)
                break
            except KlingError as exc:
                log.warning("task query failed (%s); will retry next cycle", type(exc).__name__)
                break
            for job in batch:
                assert job.task_id is not None
                answers.append((job, statuses.get(job.task_id, NotFound(job.task_id))))
        # Every batch is asked first, then the finished jobs are handled before the running ones: with
        # many jobs in flight a result's delivery does not wait behind hundreds of progress checks.
        answers.sort(key=lambda answer: isinstance(answer[1], Running | NotFound))
        for job, status in answers:
            started = job.submitted_at or job.created_at
            expected = await self._expected_render(job)
            self._next_due[job.id] = self._on_grid(
                next_poll_at(now, started, expected, base=self.base_interval, maximum=self.max_interval)
            )
            await self._guard(job.id, self.runner.apply_status(job, status))
        return len(answers)

    @staticmethod
    async def _guard(job_id: str, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s: handling its status failed; will retry", job_id)

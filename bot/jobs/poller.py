"""One loop polls every running job with a single `retrieve_batch` request per cycle.

Due times sit on a grid of the base interval, so every job due at a tick is asked about in the
same request. Each job's next due time stretches as it ages (renders take minutes, so asking every
few seconds for a ten-minute-old job is waste). A failure in one cycle or one job is logged and the
loop goes on: it must outlive every exception but cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from bot.jobs.runner import Clock, JobRunner
from bot.kling.errors import KlingError, RateLimited
from bot.kling.tasks import NotFound
from bot.metrics import METRICS
from bot.storage.base import JobState, StorageBusy

log = logging.getLogger(__name__)

# A job is polled at the base interval for its first two minutes, then the interval grows
# linearly until it reaches the maximum at ten minutes.
_FAST_PHASE = 120.0
_RAMP = 480.0


def poll_interval(age_seconds: float, base: float, maximum: float) -> float:
    if age_seconds <= _FAST_PHASE:
        return base
    ramp = min(1.0, (age_seconds - _FAST_PHASE) / _RAMP)
    return min(maximum, base + ramp * max(0.0, maximum - base))


class Poller:
    def __init__(
        self,
        runner: JobRunner,
        *,
        base_interval: float,
        max_interval: float,
        batch_size: int = 500,
        clock: Clock = time.time,
    ) -> None:
        self.runner = runner
        self.base_interval = base_interval
        self.max_interval = max(max_interval, base_interval)
        self.batch_size = batch_size
        self.clock = clock
        self._next_due: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._pause_until = 0.0
        # Grid times are sums of floats: a tick computed as 0.30000000000000004 is still "now" at 0.3.
        self._slack = self.base_interval / 100
        self.cycles = 0

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="kling-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

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

    async def cycle(self) -> int:
        """Poll every due job once. Returns the number of jobs asked about."""
        self.cycles += 1
        now = self.clock()
        if now < self._pause_until:
            return 0
        store = self.runner.store
        if store.shared:
            # Several processes: carry on the jobs whose owner died; poll only the jobs this one owns.
            await self.runner.take_over()
        running = [
            job
            for job in await store.jobs_in_states([JobState.RUNNING])
            if job.task_id and store.owns(job.id)
        ]
        live = {job.id for job in running}
        for stale in set(self._next_due) - live:
            del self._next_due[stale]
        due = []
        for job in running:
            if self.runner.is_overdue(job):
                await self._guard(job.id, self.runner.time_out(job))
            elif job.id not in self._next_due:
                # A new job joins the shared grid at its next tick, so jobs that started at
                # different moments still share one retrieve_batch request.
                self._next_due[job.id] = math.ceil(now / self.base_interval) * self.base_interval
            elif self._next_due[job.id] <= now + self._slack:
                due.append(job)
        for start in range(0, len(due), self.batch_size):
            batch = due[start : start + self.batch_size]
            try:
                statuses = await self.runner.kling.retrieve_batch(
                    [job.task_id for job in batch if job.task_id]
                )
            except RateLimited as exc:
                self._pause_until = self.clock() + exc.retry_after
                log.warning("task queries rate limited; pausing %.0f s", exc.retry_after)
                return start
            except KlingError as exc:
                log.warning("task query failed (%s); will retry next cycle", type(exc).__name__)
                return start
            for job in batch:
                assert job.task_id is not None
                status = statuses.get(job.task_id, NotFound(job.task_id))
                started = job.submitted_at or job.created_at
                interval = poll_interval(now - started, self.base_interval, self.max_interval)
                # Round (not ceil): the cycle runs a moment after its tick, and ceil would skip one.
                self._next_due[job.id] = round((now + interval) / self.base_interval) * self.base_interval
                await self._guard(job.id, self.runner.apply_status(job, status))
        return len(due)

    @staticmethod
    async def _guard(job_id: str, work: object) -> None:
        try:
            await work  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s: handling its status failed; will retry", job_id)

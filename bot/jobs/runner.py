"""The job state machine in motion: start queued jobs, submit them once, apply task results, deliver.

Every state change goes through `Store.transition`, guarded by the expected current state, so a
restart, a second poller cycle or a double click can never apply one twice, and the quota (derived
from job states) is released exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

import httpx

from bot.jobs.circuit import Circuit, CircuitEvent, CircuitEventKind
from bot.jobs.delivery import discard, fetch_frames, fetch_video
from bot.jobs.failures import FailureCode, failure_code_for
from bot.jobs.notifier import JobNotifier
from bot.jobs.recovery import Window, find_lost_task
from bot.kling.client import KlingClient
from bot.kling.errors import KlingError, OutOfCredits
from bot.kling.tasks import Failed, NotFound, Running, Succeeded, TaskStatus
from bot.storage.base import Job, JobState, StorageBusy, Store

log = logging.getLogger(__name__)

Clock = Callable[[], float]

#: Waits before each look-up of a lost create's task: minutes in all, for when AceData is down.
RECOVERY_DELAYS = (0.0, 2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 240.0)
#: Look-ups that find nothing before the job is called unconfirmed (a record can appear late).
RECOVERY_MISSES = 4


#: After a failed delivery attempt, the next ones wait this long (then the next start delivers it).
DELIVERY_RETRY_DELAYS = (5.0, 30.0, 120.0)


class JobRunner:
    def __init__(
        self,
        *,
        store: Store,
        kling: KlingClient,
        http: httpx.AsyncClient,
        notifier: JobNotifier,
        deadline_seconds: float,
        clock: Clock = time.time,
        recovery_delays: Sequence[float] = RECOVERY_DELAYS,
        recovery_misses: int = RECOVERY_MISSES,
        circuit: Circuit | None = None,
        max_concurrent_deliveries: int = 16,
        delivery_retry_delays: Sequence[float] = DELIVERY_RETRY_DELAYS,
    ) -> None:
        self.store = store
        self.kling = kling
        self.http = http
        self.notifier = notifier
        self.deadline_seconds = deadline_seconds
        self.clock = clock
        self.recovery_delays = tuple(recovery_delays)
        self.recovery_misses = recovery_misses
        self.circuit = circuit
        if circuit is not None:
            circuit.subscribe(self._on_circuit)
        self._tasks: set[asyncio.Task[Any]] = set()
        # The work in progress on each job (submit, recover, deliver): stopped when this process
        # loses the job's ownership (see stop_lost_work).
        self._job_work: dict[str, set[asyncio.Task[Any]]] = {}
        self._delivering: set[str] = set()
        # At most this many results are downloaded and uploaded at once; the others wait before their
        # download starts, so a burst of finished jobs holds a bounded amount of memory and bandwidth.
        self._delivery_slots = asyncio.Semaphore(max(1, max_concurrent_deliveries))
        self.delivery_retry_delays = tuple(delivery_retry_delays)
        self._start_locks: dict[int, asyncio.Lock] = {}
        self._start_waiting: set[int] = set()  # guilds with a start_queued pass waiting for the lock
        #: Set whenever a job starts running, so the poller wakes up for it at once.
        self.new_work = asyncio.Event()
        #: The job's callback address for AceData, when the bot can receive callbacks.
        self.callback_url_for: Callable[[str], str] | None = None

    # --- background task hygiene ----------------------------------------------------------
    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str, job_id: str | None = None
    ) -> asyncio.Task[Any]:
        """Run in the background with a strong reference and a logged (never silent) failure.
        With `job_id`, the task is work done as the job's owner, stopped if the ownership is lost."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        if job_id is not None:
            self._job_work.setdefault(job_id, set()).add(task)
            task.add_done_callback(lambda done: self._job_done(job_id, done))
        task.add_done_callback(self._finished)
        return task

    def _job_done(self, job_id: str, task: asyncio.Task[Any]) -> None:
        work = self._job_work.get(job_id)
        if work is not None:
            work.discard(task)
            if not work:
                del self._job_work[job_id]

    async def stop_lost_work(self) -> set[str]:
        """Stop at once every piece of work on the jobs whose ownership this process lost (the
        database connection holding it dropped): another process may be carrying them on already.
        A create or a post already on the wire cannot be called back; that is why the create was
        stamped first (a taker looks it up, never resends it) and why posts are idempotent on
        Discord (the same message edited again, or a new message's nonce). Returns those jobs."""
        lost = self.store.take_lost_leases()
        stopped = [task for job_id in lost for task in self._job_work.pop(job_id, ())]
        for task in stopped:
            task.cancel()
        if lost:
            log.warning(
                "lost the ownership of %d jobs (the database connection holding it dropped); "
                "stopped %d pieces of work on them",
                len(lost),
                len(stopped),
            )
        if stopped:
            # Wait for them to unwind (their finally blocks), so work started anew is not mistaken
            # for theirs (see deliver's _delivering).
            await asyncio.wait(stopped, timeout=5.0)
        return lost

    async def check_ownership(self, *, full: bool = False) -> None:
        """The lease watch, run about every second on a shared store (see Poller): notice a lost
        lease and stop its work, and take over the jobs of a process that died as soon as the
        database shows them without an owner. `full` takes over without asking first."""
        try:
            orphans = await self.store.check_leases()
        except StorageBusy:
            orphans = False  # the database is away; its return is noticed on the next check
        lost = await self.stop_lost_work()
        if full or orphans or lost:
            await self.take_over()

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for background work (tests and clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _notify(self, what: str, job: Job, work: Coroutine[Any, Any, None]) -> bool:
        """Tell the notifier; its failure (Discord down, a bug) must never stall a job."""
        try:
            await work
            return True
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s: notifying %s failed", job.id, what)
            return False

    # --- logging --------------------------------------------------------------------------
    @staticmethod
    def _log_state(job: Job) -> None:
        log.info(
            "job %s guild=%s state=%s task=%s trace=%s%s",
            job.id,
            job.guild_id,
            job.state.value,
            job.task_id or "-",
            job.trace_id or "-",
            f" error={job.error_code}" if job.error_code else "",
        )

    async def _move(self, job_id: str, expect: set[JobState], to: JobState, **fields: Any) -> Job | None:
        job = await self.store.transition(job_id, expect=expect, to=to, **fields)
        if job is not None:
            self._log_state(job)
        return job

    # --- queue ----------------------------------------------------------------------------
    async def start_queued(self, guild_id: int) -> None:
        """Start as many of the guild's queued jobs as its running cap allows, oldest first.

        Calls that come while a pass is waiting for the guild's lock return at once: that pass has
        not read the queue yet, so it starts their jobs too. A thousand /video at once then make a
        few passes instead of a thousand queued behind one lock, each holding its caller (and the
        caller's interaction and request) until its turn."""
        if guild_id in self._start_waiting:
            return
        lock = self._start_locks.setdefault(guild_id, asyncio.Lock())
        self._start_waiting.add(guild_id)
        try:
            await lock.acquire()
        finally:
            self._start_waiting.discard(guild_id)
        try:
            limits = await self.store.get_limits(guild_id)
            # While the circuit is open (AceData out of balance or down) queued jobs wait.
            while self.circuit is None or self.circuit.may_submit():
                job = await self.store.claim_next_queued(guild_id, limits.guild_concurrent)
                if job is None:
                    if self.circuit is not None:
                        self.circuit.release_trial()
                    break
                self._log_state(job)
                self.spawn(self.submit(job), name=f"submit-{job.id}", job_id=job.id)
            for queued in await self.store.history(guild_id, states=[JobState.QUEUED], limit=50):
                self.spawn(self.notifier.progress(queued), name=f"queue-progress-{queued.id}")
        finally:
            lock.release()

    async def _on_circuit(self, event: CircuitEvent) -> None:
        """Creates may go again (closed, or one trial): start the jobs that waited in every queue."""
        if event.kind is CircuitEventKind.OPENED:
            return
        for guild_id in {job.guild_id for job in await self.store.jobs_in_states([JobState.QUEUED])}:
            self.spawn(self.start_queued(guild_id), name=f"kick-{guild_id}")

    async def cancel(self, job: Job) -> Job | None:
        """Cancel a job still waiting in the queue; its quota goes back at once."""
        cancelled = await self._move(
            job.id,
            {JobState.QUEUED},
            JobState.CANCELLED,
            error_code=FailureCode.CANCELLED,
            finished_at=self.clock(),
        )
        if cancelled is not None:
            await self._notify("cancellation", cancelled, self.notifier.failed(cancelled))
            await self.notifier.forget(cancelled.id)
            self.spawn(self.start_queued(cancelled.guild_id), name=f"kick-{cancelled.guild_id}")
        return cancelled

    # --- submission -----------------------------------------------------------------------
    async def submit(self, job: Job) -> None:
        """Send the paid create exactly once for a job already committed as SUBMITTING.

        Between the claim and the create there is no Discord I/O, only the stamp below: a restart
        can then tell a create that may have left (stamped) from one that never did (not stamped).
        """
        stamped = await self._move(
            job.id, {JobState.SUBMITTING}, JobState.SUBMITTING, submitted_at=self.clock()
        )
        if stamped is None:
            return
        try:
            callback_url = self.callback_url_for(job.id) if self.callback_url_for else None
            submission = await self.kling.create_video(stamped.request, callback_url=callback_url)
        except KlingError as exc:
            if isinstance(exc, OutOfCredits) and self.circuit is not None:
                # Nothing was made or charged; the circuit is now open, so the job waits its turn.
                requeued = await self._move(job.id, {JobState.SUBMITTING}, JobState.QUEUED, submitted_at=None)
                if requeued is not None:
                    self.spawn(self.notifier.progress(requeued, force=True), name=f"requeued-{job.id}")
            elif exc.definitely_not_created:
                await self._fail(
                    stamped,
                    {JobState.SUBMITTING},
                    JobState.FAILED,
                    code=failure_code_for(exc),
                    message=exc.detail or None,
                    trace_id=exc.trace_id,
                )
            else:
                # SubmissionUnconfirmed: the task may exist. Never re-sent; looked up instead.
                log.warning("job %s: the create's answer was lost (%s); looking for its task", job.id, exc)
                await self.recover(stamped, trace_id=exc.trace_id)
            return
        except Exception:
            # An unexpected bug after the body may have been sent: never resend; look it up.
            log.exception("job %s: unexpected error while submitting", job.id)
            await self.recover(stamped)
            return
        running = await self._move(
            job.id,
            {JobState.SUBMITTING},
            JobState.RUNNING,
            task_id=submission.task_id,
            trace_id=submission.trace_id,
            submitted_at=self.clock(),
        )
        if running is None:
            # The job was taken over meanwhile (this process's ownership was lost after the create
            # was stamped). The create happened and was paid: record its task for whoever owns the
            # job now, as a recovery would (only while the job still waits for it, and never a task
            # another job holds), so the taker's look-up stops instead of writing the job off.
            adopted = await self.store.adopt_task(
                job.id,
                submission.task_id,
                trace_id=submission.trace_id,
                submitted_at=stamped.submitted_at or self.clock(),
            )
            if adopted is not None:
                log.info("job %s: task %s recorded for its new owner", job.id, adopted.task_id)
            return
        self.new_work.set()
        await self._notify("running", running, self.notifier.progress(running, force=True))

    async def recover(self, job: Job, *, trace_id: str | None = None) -> None:
        """Adopt the task a lost create made (exactly one match), or mark the job unconfirmed.

        A listing that fails is retried over several minutes (AceData may be down); a listing that
        finds nothing is retried only briefly (the record may be written a moment late).
        """
        assert job.submitted_at is not None, "only a create that may have left is looked up"
        body = job.request.to_payload()
        window = Window.around_send(job.submitted_at)
        misses = 0
        reason = "No task matching this request was found at the video service."
        for delay in self.recovery_delays:
            if delay:
                await asyncio.sleep(delay)
            try:
                lookup = await find_lost_task(self.kling, body, window, self.store.known_task_ids)
            except KlingError as exc:
                log.warning(
                    "job %s: listing recent tasks failed (%s); will retry", job.id, type(exc).__name__
                )
                reason = "The video service could not be asked whether it received this request."
                continue
            if lookup.task is not None:
                task = lookup.task
                adopted = await self.store.adopt_task(
                    job.id, task.task_id, trace_id=task.trace_id, submitted_at=job.submitted_at
                )
                if adopted is not None:
                    log.info("job %s: adopted task %s found among recent tasks", job.id, task.task_id)
                    self._log_state(adopted)
                    self.new_work.set()
                    await self._notify("running", adopted, self.notifier.progress(adopted, force=True))
                    return
                current = await self.store.get_job(job.id)
                if current is None or current.state is not JobState.SUBMITTING:
                    return
                continue  # another job took that task a moment ago: look again
            if lookup.matches > 1:
                log.warning(
                    "job %s: %d identical requests were made at that time; not guessing which is its task",
                    job.id,
                    lookup.matches,
                )
                reason = "Several identical requests reached the video service at that time."
                break
            misses += 1
            if misses >= self.recovery_misses:
                break
        await self._fail(
            job,
            {JobState.SUBMITTING},
            JobState.UNCONFIRMED,
            code=FailureCode.UNCONFIRMED,
            message=reason,
            trace_id=trace_id,
        )

    async def _fail(
        self,
        job: Job,
        expect: set[JobState],
        to: JobState,
        *,
        code: str,
        message: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        fields: dict[str, Any] = {"error_code": code, "error_message": message, "finished_at": self.clock()}
        if trace_id:
            fields["trace_id"] = trace_id
        failed = await self._move(job.id, expect, to, **fields)
        if failed is None:
            return
        await self._notify("failure", failed, self.notifier.failed(failed))
        await self.notifier.forget(failed.id)
        self.spawn(self.start_queued(failed.guild_id), name=f"kick-{failed.guild_id}")

    # --- results --------------------------------------------------------------------------
    async def apply_status(self, job: Job, status: TaskStatus) -> None:
        """Apply one task status from the poller to a RUNNING job."""
        if isinstance(status, Succeeded):
            done = await self._move(
                job.id,
                {JobState.RUNNING},
                JobState.SUCCEEDED,
                video_url=status.video_url,
                video_id=status.video_id,
                video_duration=status.duration,
                finished_at=self.clock(),
                **({"trace_id": status.trace_id} if status.trace_id else {}),
            )
            if done is not None:
                self.spawn(self.start_queued(done.guild_id), name=f"kick-{done.guild_id}")
                self.spawn(self.deliver(done), name=f"deliver-{done.id}", job_id=done.id)
        elif isinstance(status, Failed):
            code = FailureCode.CONTENT_REFUSED if status.code == "forbidden" else FailureCode.TASK_FAILED
            await self._fail(
                job,
                {JobState.RUNNING},
                JobState.FAILED,
                code=code,
                message=status.message,
                trace_id=status.trace_id,
            )
        elif isinstance(status, Running | NotFound):
            if self.is_overdue(job):
                await self._fail(job, {JobState.RUNNING}, JobState.TIMED_OUT, code=FailureCode.TIMED_OUT)
            else:
                # Edits are throttled and may wait on Discord: never hold up the poll cycle for them.
                self.spawn(self.notifier.progress(job), name=f"progress-{job.id}")

    def is_overdue(self, job: Job) -> bool:
        started = job.submitted_at or job.created_at
        return self.clock() - started > self.deadline_seconds

    async def time_out(self, job: Job) -> None:
        await self._fail(job, {JobState.RUNNING}, JobState.TIMED_OUT, code=FailureCode.TIMED_OUT)

    async def deliver(self, job: Job, *, attempt: int = 0) -> None:
        """Download (capped at the job's upload limit) and post the result, once. A failed attempt
        (Discord or the network away for a moment) is tried again after `delivery_retry_delays`."""
        if job.id in self._delivering or job.video_url is None:
            return
        self._delivering.add(job.id)
        try:
            # Not awaited: in a busy channel the edit waits its turn behind other progress edits (and
            # is dropped once the result is ready); the download must not wait for it.
            self.spawn(
                self._notify("delivering", job, self.notifier.progress(job, force=True)),
                name=f"delivering-{job.id}",
            )
            async with self._delivery_slots:
                video = await fetch_video(self.http, job.video_url, max_bytes=job.size_limit)
                try:
                    if video.path is not None:
                        budget = job.size_limit - video.size
                        frames = await fetch_frames(self.http, job.request, budget=budget)
                        video = replace(video, frames=frames)
                    # Still this process's job? (A fenced no-op: None once another process took the
                    # job over, or delivered it.) Narrows the window in which two processes post;
                    # the post itself is idempotent on Discord for what remains of it.
                    mine = await self.store.transition(
                        job.id, expect={JobState.SUCCEEDED}, to=JobState.SUCCEEDED
                    )
                    if mine is None:
                        log.info("job %s: no longer this process's to deliver", job.id)
                        return
                    sent = await self._notify("delivery", job, self.notifier.delivered(job, video))
                finally:
                    discard(video)
            if not sent:
                # Stays SUCCEEDED: tried again shortly, and in any case by the next start.
                if attempt < len(self.delivery_retry_delays):
                    self.spawn(
                        self._deliver_again(job.id, attempt), name=f"redeliver-{job.id}", job_id=job.id
                    )
                return
            delivered = await self._move(
                job.id, {JobState.SUCCEEDED}, JobState.DELIVERED, delivered_at=self.clock()
            )
            if delivered is not None:
                await self.notifier.forget(job.id)
            else:
                log.info("job %s: posted, but another process owns it now and records it", job.id)
        finally:
            self._delivering.discard(job.id)

    async def _deliver_again(self, job_id: str, attempt: int) -> None:
        await asyncio.sleep(self.delivery_retry_delays[attempt])
        job = await self.store.get_job(job_id)
        if job is not None and job.state is JobState.SUCCEEDED:
            log.info("job %s: delivering again (attempt %d)", job_id, attempt + 2)
            await self.deliver(job, attempt=attempt + 1)

    # --- restart --------------------------------------------------------------------------
    async def resume(self) -> None:
        """Pick up every unfinished job after a restart. Never creates a second paid task.

        On a shared database (several processes) only the jobs no live process owns are picked up."""
        await self.take_over(at_start=True)
        guilds = {
            job.guild_id for job in await self.store.jobs_in_states([JobState.QUEUED, JobState.RUNNING])
        }
        for guild_id in guilds:
            self.spawn(self.start_queued(guild_id), name=f"kick-{guild_id}")
        self.new_work.set()

    async def take_over(self, *, at_start: bool = False) -> None:
        """Claim the active jobs no live process owns (at start: every job of the previous run) and
        carry each on from where it stopped. On a shared database the poller calls this every cycle,
        so a dead process's jobs are taken over within a cycle of its locks being freed."""
        candidates = await self.store.jobs_in_states(
            [JobState.SUBMITTING, JobState.RUNNING, JobState.SUCCEEDED]
        )
        if not candidates:
            return
        claimed = await self.store.claim_jobs([job.id for job in candidates])
        # Work this process still runs on jobs whose ownership it lost (and may have just taken back
        # under a new epoch) stops before any of them is started afresh.
        await self.stop_lost_work()
        for candidate in candidates:
            if candidate.id not in claimed:
                continue
            # Read again now that it is ours: its owner may have finished it before letting go.
            job = await self.store.get_job(candidate.id)
            if job is None:
                continue
            if not at_start:
                log.info("job %s: taken over from a process that is gone (state %s)", job.id, job.state.value)
            if job.state is JobState.SUBMITTING:
                if job.submitted_at is None:
                    # Stopped between the claim and the stamp: the create was never sent.
                    requeued = await self._move(job.id, {JobState.SUBMITTING}, JobState.QUEUED)
                    if requeued is not None:
                        log.info("job %s: its create was never sent; back in the queue", job.id)
                        if not at_start:  # resume() starts every guild's queue itself
                            self.spawn(self.start_queued(job.guild_id), name=f"kick-{job.guild_id}")
                else:
                    # The create may have reached AceData: find its task, never resend it.
                    self.spawn(self.recover(job), name=f"recover-{job.id}", job_id=job.id)
            elif job.state is JobState.SUCCEEDED:
                self.spawn(self.deliver(job), name=f"deliver-{job.id}", job_id=job.id)
            elif job.state is JobState.RUNNING:
                self.new_work.set()  # the poller asks about it next cycle

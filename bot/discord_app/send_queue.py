"""One scheduler for everything the bot sends to Discord about jobs: results first, within budgets.

discord.py queues requests per rate-limit bucket first-in first-out, so in a busy channel a final
video would wait behind every progress edit queued before it. Instead, every job message request
goes through this queue, and only leaves when its route has budget, so discord.py never has to queue
(or be refused with a 429):

- **Priorities.** Final results and failures (`Priority.FINAL`) go before mod-log posts, which go
  before progress edits. Within a priority, oldest first.
- **Supersession.** A job has at most one progress edit waiting: a newer one takes the place (and
  the queue position) of the older, which is dropped; a final for the job drops its waiting progress
  edit, and any progress edit asked for later.
- **Budgets.** Each lane (one channel on the bot-token route, or one interaction webhook) allows
  `limit` requests per `per` seconds, of which progress edits may use all but `LANE_RESERVE`; the
  bot-token route also shares one global budget, of which progress edits may use only
  `progress_share`. So a result (or a moderator's post) finds room at once unless other results
  used it up, and waits at most for the channel's window otherwise.
  Budgets count requests when they leave, over a sliding window slightly longer than Discord's, so
  the fixed windows Discord resets are never overrun even when requests arrive a little late.

Restarts resume many progress edits at once; the budgets spread them over time.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Discord's limits as documented and observed (discord-bot-constraints.md 1.3): 50 requests per
#: second for the bot token; about 5 per 5 s per channel for creating or editing messages; about
#: 5 per 2 s on one interaction webhook.
GLOBAL_LIMIT, GLOBAL_PER = 40, 1.0
CHANNEL_LIMIT, CHANNEL_PER = 5, 5.0
WEBHOOK_LIMIT, WEBHOOK_PER = 5, 2.0
#: Added to every window: a request counted when it leaves may reach Discord a little later.
WINDOW_MARGIN = 0.3
#: Requests of each lane's window that progress edits leave free for results.
LANE_RESERVE = 2
#: How many finished jobs are remembered so that a late progress edit for them is dropped.
_FINISHED_MEMORY = 10_000


class Priority(enum.IntEnum):
    FINAL = 0
    LOG = 1
    PROGRESS = 2


class Dropped(Exception):
    """The request was superseded before it was sent (a newer progress edit, or the job's result)."""


@dataclass(frozen=True, slots=True)
class Lane:
    """Where a request goes: a channel with the bot token, or an interaction webhook."""

    key: str
    limit: int
    per: float
    bot_token: bool

    @classmethod
    def channel(cls, channel_id: int) -> Lane:
        return cls(f"channel:{channel_id}", CHANNEL_LIMIT, CHANNEL_PER, True)

    @classmethod
    def webhook(cls, job_id: str) -> Lane:
        return cls(f"webhook:{job_id}", WEBHOOK_LIMIT, WEBHOOK_PER, False)


class Window:
    """At most `limit` events in any `per` seconds (sliding)."""

    def __init__(self, limit: int, per: float) -> None:
        self.limit, self.per = max(1, limit), per
        self._times: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.per:
            self._times.popleft()

    def used(self, now: float) -> int:
        self._trim(now)
        return len(self._times)

    def free_at(self, now: float, allowed: int | None = None) -> float:
        """When one more event fits while keeping at most `allowed` (default `limit`) in the window."""
        self._trim(now)
        cap = self.limit if allowed is None else max(1, allowed)
        if len(self._times) < cap:
            return now
        return self._times[len(self._times) - cap] + self.per

    def take(self, now: float) -> None:
        self._times.append(now)


@dataclass(eq=False)
class _Request:
    job_id: str
    priority: Priority
    lane: Lane
    send: Callable[[], Awaitable[Any]]
    order: int
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class SendQueue:
    def __init__(
        self,
        *,
        global_limit: int = GLOBAL_LIMIT,
        global_per: float = GLOBAL_PER,
        progress_share: float = 0.5,
        max_in_flight: int = 16,
        margin: float = WINDOW_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.margin = margin
        self._global = Window(global_limit, global_per + margin)
        self._progress_cap = max(1, int(global_limit * progress_share))
        self._lanes: dict[str, Window] = {}
        self._waiting: list[_Request] = []
        self._progress: dict[str, _Request] = {}  # the waiting progress edit of each job
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.dropped = 0

    # --- asking -----------------------------------------------------------------------------
    async def send(
        self, job_id: str, priority: Priority, lane: Lane, send: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Queue `send` and wait for its result. Raises `Dropped` when a newer request replaced it."""
        self._ensure_running()
        if priority is Priority.PROGRESS:
            if job_id in self._finished:
                self.dropped += 1
                raise Dropped(job_id)
            older = self._progress.get(job_id)
            if older is not None and not older.done.done():
                # The newer edit shows the newer state; it keeps the older one's place in line.
                request = _Request(job_id, priority, lane, send, older.order)
                self._replace(older, request)
                self._progress[job_id] = request
                return await self._outcome(request)
        elif priority is Priority.FINAL:
            self.finish(job_id)
        request = _Request(job_id, priority, lane, send, next(self._order))
        if priority is Priority.PROGRESS:
            self._progress[job_id] = request
        self._waiting.append(request)
        self._wake.set()
        return await self._outcome(request)

    async def _outcome(self, request: _Request) -> Any:
        try:
            return await request.done
        except asyncio.CancelledError:
            # Whoever asked is gone (shutdown): a request that has not left yet never will.
            if request in self._waiting:
                self._waiting.remove(request)
                if self._progress.get(request.job_id) is request:
                    del self._progress[request.job_id]
            raise

    def finish(self, job_id: str) -> None:
        """The job's final state is being shown: its waiting and future progress edits are dropped."""
        self._finished[job_id] = None
        self._finished.move_to_end(job_id)
        while len(self._finished) > _FINISHED_MEMORY:
            self._finished.popitem(last=False)
        older = self._progress.pop(job_id, None)
        if older is not None and older in self._waiting:
            self._waiting.remove(older)
            self._drop(older)

    def _replace(self, older: _Request, newer: _Request) -> None:
        index = self._waiting.index(older)
        self._waiting[index] = newer
        self._drop(older)

    def _drop(self, request: _Request) -> None:
        self.dropped += 1
        if not request.done.done():
            request.done.set_exception(Dropped(request.job_id))
            request.done.exception()  # retrieved: nobody may be waiting any more

    # --- sending ----------------------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="discord-send-queue")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        for request in self._waiting:
            if not request.done.done():
                request.done.cancel()
        self._waiting.clear()

    def _lane_window(self, lane: Lane) -> Window:
        window = self._lanes.get(lane.key)
        if window is None:
            window = self._lanes[lane.key] = Window(lane.limit, lane.per + self.margin)
        return window

    def _ready_at(self, request: _Request, now: float) -> float:
        progress = request.priority is Priority.PROGRESS
        lane_allowed = request.lane.limit - LANE_RESERVE if progress else None
        at = self._lane_window(request.lane).free_at(now, lane_allowed)
        if request.lane.bot_token:
            at = max(at, self._global.free_at(now, self._progress_cap if progress else None))
        return at

    def next_request(self, now: float) -> tuple[_Request | None, float]:
        """The request to send now (best priority, then oldest, among those with budget), or None
        and when the first waiting one will have budget."""
        best: _Request | None = None
        soonest = float("inf")
        for request in self._waiting:
            at = self._ready_at(request, now)
            if at <= now:
                if best is None or (request.priority, request.order) < (best.priority, best.order):
                    best = request
            else:
                soonest = min(soonest, at)
        return best, soonest

    async def _run(self) -> None:
        while True:
            # A free slot first, then the choice: whatever arrived while waiting competes too.
            await self._slots.acquire()
            try:
                request = await self._next_when_ready()
            except BaseException:
                self._slots.release()
                raise
            self._waiting.remove(request)
            if self._progress.get(request.job_id) is request:
                del self._progress[request.job_id]
            now = self.clock()
            self._lane_window(request.lane).take(now)
            if request.lane.bot_token:
                self._global.take(now)
            task = asyncio.create_task(self._deliver(request), name=f"discord-send-{request.job_id[:8]}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _next_when_ready(self) -> _Request:
        while True:
            self._wake.clear()
            now = self.clock()
            request, soonest = self.next_request(now)
            if request is not None:
                return request
            timeout = None if soonest == float("inf") else max(0.01, soonest - now)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _deliver(self, request: _Request) -> None:
        try:
            result = await request.send()
        except asyncio.CancelledError:
            if not request.done.done():
                request.done.cancel()
            raise
        except Exception as exc:
            if not request.done.done():
                request.done.set_exception(exc)
        else:
            self.sent += 1
            if not request.done.done():
                request.done.set_result(result)
        finally:
            self._slots.release()
            self._wake.set()

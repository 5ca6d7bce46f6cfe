"""One scheduler for everything the bot sends to Discord about jobs: results first, within budgets it
learns from Discord's own rate-limit headers.

discord.py queues requests per rate-limit bucket first-in first-out, so in a busy channel a final
video would wait behind every progress edit queued before it. Instead, every job message request
goes through this queue, and only leaves when its bucket has budget, so discord.py never has to queue
(or be refused with a 429):

- **Priorities.** Final results and failures (`Priority.FINAL`) go before mod-log posts, which go
  before tidying up (deleting a progress message whose result was posted anew), which goes before
  progress edits. Within a priority, oldest first. While a result for a channel waits, no progress
  edit for that channel leaves at all.
- **Supersession.** A job has at most one progress edit waiting: a newer one takes the place (and
  the queue position) of the older, which is dropped; a final for the job drops its waiting progress
  edit, and any progress edit asked for later.
- **Lanes.** Discord keys a bucket by route (method + path) and major parameter: editing, creating and
  deleting messages in one channel are three buckets, an interaction webhook is one more. A request
  may offer several ways to be sent (`send(..., alternative=...)`): a result edits its message when the
  channel's edit bucket has room, else it is posted as a new message when the create bucket has, so a
  busy channel delivers from two buckets instead of one.
- **Budgets.** Each lane allows `limit` requests per `per` seconds, of which progress edits may use
  all but `LANE_RESERVE`; the bot-token routes also share one global budget, of which progress edits
  may use only `progress_share`. Budgets count requests when they leave, over a sliding window
  slightly longer than Discord's, so the fixed windows Discord resets are never overrun even when
  requests arrive a little late.
- **Learning** (`observe`, fed with every answer discord.py gets, see `rate_limit_trace`). The
  starting budgets are Discord's documented ones; the headers then rule:
  `X-RateLimit-Limit` sets the route's limit; `X-RateLimit-Reset-After` on the first request of a
  window (Remaining = Limit − 1) sets its length; `Remaining: 0` closes the bucket until the reset;
  routes answering with the same `X-RateLimit-Bucket` share one budget per major parameter; a 429
  closes its bucket (or, with `X-RateLimit-Global`, every bot-token route) for `Retry-After`.

Restarts resume many progress edits at once; the budgets spread them over time.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import itertools
import logging
import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Discord's global limit is 50 requests per second for the bot token (discord-bot-constraints.md
#: 1.3); it is never announced in headers except on a global 429, so it is kept below that.
GLOBAL_LIMIT, GLOBAL_PER = 40, 1.0
#: Added to every window: a request counted when it leaves may reach Discord a little later.
WINDOW_MARGIN = 0.3
#: Requests of each lane's window that progress edits leave free for results.
LANE_RESERVE = 2
#: How many finished jobs are remembered so that a late progress edit for them is dropped.
_FINISHED_MEMORY = 10_000
#: Bounds for what the headers may teach, so one odd answer cannot stop or flood a route.
_MAX_LEARNED_PER = 60.0
_MAX_LEARNED_LIMIT = 50
#: When a 429 gives no usable wait.
_DEFAULT_RETRY = 1.0
#: How often windows that count nothing are forgotten: every interaction token and channel the bot
#: ever wrote to has one, so kept forever they would grow with every job the process shows.
_PRUNE_EVERY = 60.0


class Route(enum.StrEnum):
    """A rate-limited Discord route (method + path), without its major parameter."""

    WEBHOOK = "webhook"  # anything on one interaction webhook: edits and follow-ups
    MESSAGE_EDIT = "message-edit"  # PATCH /channels/{channel_id}/messages/{message_id}
    MESSAGE_CREATE = "message-create"  # POST /channels/{channel_id}/messages
    MESSAGE_DELETE = "message-delete"  # DELETE /channels/{channel_id}/messages/{message_id}


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int
    per: float


#: The budgets assumed until Discord's headers say otherwise: about 5 per 5 s per channel for each
#: message route, about 5 per 2 s on one interaction webhook (discord-bot-constraints.md 1.3).
DEFAULT_BUDGETS: Mapping[Route, Budget] = {
    Route.WEBHOOK: Budget(5, 2.0),
    Route.MESSAGE_EDIT: Budget(5, 5.0),
    Route.MESSAGE_CREATE: Budget(5, 5.0),
    Route.MESSAGE_DELETE: Budget(5, 5.0),
}


class Priority(enum.IntEnum):
    FINAL = 0
    LOG = 1
    TIDY = 2
    PROGRESS = 3


class Dropped(Exception):
    """The request was superseded before it was sent (a newer progress edit, or the job's result)."""


def _token_key(token: str) -> str:
    # Interaction tokens are secrets: lanes (which may be logged) carry a digest only.
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Lane:
    """Where a request goes: one route with its major parameter (a channel, or an interaction webhook)."""

    route: Route
    major: str

    @property
    def key(self) -> str:
        return f"{self.route}:{self.major}"

    @property
    def bot_token(self) -> bool:
        return self.route is not Route.WEBHOOK

    @classmethod
    def channel(cls, channel_id: int) -> Lane:
        """Editing a message in the channel with the bot token."""
        return cls(Route.MESSAGE_EDIT, str(channel_id))

    @classmethod
    def create(cls, channel_id: int) -> Lane:
        """Posting a new message in the channel."""
        return cls(Route.MESSAGE_CREATE, str(channel_id))

    @classmethod
    def delete(cls, channel_id: int) -> Lane:
        return cls(Route.MESSAGE_DELETE, str(channel_id))

    @classmethod
    def webhook(cls, token: str) -> Lane:
        """An interaction webhook (its token, or any key naming it)."""
        return cls(Route.WEBHOOK, _token_key(token))


_API_PATH = re.compile(r"^(?:/api(?:/v\d+)?)?(?P<rest>/.*)$")


def lane_for(method: str, path: str) -> Lane | None:
    """The lane of a Discord REST request (its URL path), or None for a route the queue does not
    schedule (those still count toward the global budget when they use the bot token)."""
    match = _API_PATH.match(path)
    parts = (match["rest"] if match else path).strip("/").split("/")
    method = method.upper()
    if len(parts) >= 3 and parts[0] == "webhooks":
        return Lane(Route.WEBHOOK, _token_key(parts[2]))
    if len(parts) >= 3 and parts[0] == "channels" and parts[2] == "messages":
        if len(parts) == 3 and method == "POST":
            return Lane.create(int(parts[1])) if parts[1].isdigit() else None
        if len(parts) == 4 and parts[1].isdigit():
            if method == "PATCH":
                return Lane.channel(int(parts[1]))
            if method == "DELETE":
                return Lane.delete(int(parts[1]))
    return None


def uses_bot_token(path: str) -> bool:
    match = _API_PATH.match(path)
    rest = match["rest"] if match else path
    return not (rest.startswith("/webhooks/") or rest.startswith("/interactions/"))


class Window:
    """At most `limit` events in any `per` seconds (sliding)."""

    def __init__(self, limit: int, per: float) -> None:
        self.limit, self.per = max(1, limit), per
        self._times: deque[float] = deque()
        #: Until when the server said this bucket is empty (Remaining: 0, or a 429).
        self.closed_until = 0.0

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.per:
            self._times.popleft()

    def used(self, now: float) -> int:
        self._trim(now)
        return len(self._times)

    def free_at(self, now: float, allowed: int | None = None) -> float:
        """When one more event fits while keeping at most `allowed` (default `limit`) in the window."""
        self._trim(now)
        cap = self.limit if allowed is None else max(1, min(allowed, self.limit))
        at = now
        if len(self._times) >= cap:
            at = self._times[len(self._times) - cap] + self.per
        return max(at, self.closed_until)

    def take(self, now: float) -> None:
        self._times.append(now)

    def idle(self, now: float) -> bool:
        """Nothing counted in the window and not closed: it says nothing a fresh one would not."""
        return self.used(now) == 0 and self.closed_until <= now

    def absorb(self, other: Window) -> None:
        """Count `other`'s events too (two routes turned out to share one bucket)."""
        self._times = deque(sorted([*self._times, *other._times]))
        self.closed_until = max(self.closed_until, other.closed_until)


Sender = Callable[[], Awaitable[Any]]


@dataclass(eq=False)
class _Request:
    job_id: str
    priority: Priority
    options: tuple[tuple[Lane, Sender], ...]  # ways to send it, preferred first
    order: int
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def lane(self) -> Lane:
        return self.options[0][0]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


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
        self._budgets: dict[Route, Budget] = dict(DEFAULT_BUDGETS)
        self._buckets: dict[Route, str] = {}  # learned X-RateLimit-Bucket of each route
        self._heard: set[Route] = set()  # routes whose budget Discord's headers told
        self._windows: dict[str, Window] = {}
        self._waiting: list[_Request] = []
        self._progress: dict[str, _Request] = {}  # the waiting progress edit of each job
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._pruned_at = clock()
        self.sent = 0
        self.dropped = 0
        self.rate_limited = 0  # 429 answers seen (the goal is none)

    # --- asking -----------------------------------------------------------------------------
    async def send(
        self,
        job_id: str,
        priority: Priority,
        lane: Lane,
        send: Sender,
        *,
        alternative: tuple[Lane, Sender] | None = None,
    ) -> Any:
        """Queue `send` and wait for its result. With an `alternative`, whichever of the two lanes has
        budget first is used (`lane` when both do). Raises `Dropped` when a newer request replaced it."""
        self._ensure_running()
        options = ((lane, send),) if alternative is None else ((lane, send), alternative)
        if priority is Priority.PROGRESS:
            if job_id in self._finished:
                self.dropped += 1
                raise Dropped(job_id)
            older = self._progress.get(job_id)
            if older is not None and not older.done.done():
                # The newer edit shows the newer state; it keeps the older one's place in line.
                request = _Request(job_id, priority, options, older.order)
                self._replace(older, request)
                self._progress[job_id] = request
                return await self._outcome(request)
        elif priority is Priority.FINAL:
            self.finish(job_id)
        request = _Request(job_id, priority, options, next(self._order))
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

    def in_use(self, lane: Lane) -> bool:
        """Whether anything left on `lane` within its window or waits for it (a busy channel)."""
        if any(lane in (option for option, _ in request.options) for request in self._waiting):
            return True
        return self._lane_window(lane).used(self.clock()) > 0

    # --- learning ---------------------------------------------------------------------------
    def budget(self, route: Route) -> Budget:
        """What the queue currently allows on `route`: what Discord's headers said about it, else
        the strictest of Discord's documented value and what the headers said about the channel's
        other message routes (Discord may be stricter than documented, and a burst on a route not
        heard from yet must not overrun it)."""
        if route in self._heard or route is Route.WEBHOOK:
            return self._budgets[route]
        known = [self._budgets[other] for other in self._heard if other is not Route.WEBHOOK]
        default = self._budgets[route]
        return Budget(
            min([default.limit, *(b.limit for b in known)]), max([default.per, *(b.per for b in known)])
        )

    def observe(self, method: str, path: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from one answer Discord gave (any request discord.py sent, queued here or not)."""
        now = self.clock()
        lowered = {key.lower(): value for key, value in headers.items()}
        lane = lane_for(method, path)
        if status == 429:
            self._rate_limited(lane, path, lowered, now)
            return
        if lane is None:
            return
        bucket = lowered.get("x-ratelimit-bucket")
        if bucket and self._buckets.get(lane.route) != bucket:
            self._learn_bucket(lane.route, bucket)
        limit = _number(lowered.get("x-ratelimit-limit"))
        remaining = _number(lowered.get("x-ratelimit-remaining"))
        reset_after = _number(lowered.get("x-ratelimit-reset-after"))
        if limit is None or limit < 1:
            return
        self._heard.add(lane.route)
        current = self._budgets[lane.route]
        learned_limit = min(int(limit), _MAX_LEARNED_LIMIT)
        per = current.per
        if reset_after is not None and reset_after > 0:
            if remaining is not None and int(remaining) == int(limit) - 1:
                # The first request of a fresh window: the time to its reset is the window's length.
                per = min(_MAX_LEARNED_PER, math.ceil(reset_after * 10) / 10)
            elif reset_after > per:
                per = min(_MAX_LEARNED_PER, math.ceil(reset_after * 10) / 10)
        learned = Budget(learned_limit, per)
        if learned != current:
            log.info("Discord budget for %s learned: %d per %.1f s", lane.route, learned.limit, learned.per)
            self._budgets[lane.route] = learned
            for other, name in self._buckets.items():  # routes sharing the bucket share its budget
                if other is not lane.route and name == self._buckets.get(lane.route):
                    self._budgets[other] = learned
        if remaining is not None and remaining < 1 and reset_after is not None:
            window = self._lane_window(lane)
            window.closed_until = max(window.closed_until, now + reset_after + self.margin)
        self._wake.set()

    def _learn_bucket(self, route: Route, bucket: str) -> None:
        old_name = self._bucket_name(route)
        self._buckets[route] = bucket
        sharing = [other for other, name in self._buckets.items() if name == bucket and other is not route]
        if sharing:
            log.info("Discord routes %s and %s share one rate-limit bucket", route, ", ".join(sharing))
            self._budgets[route] = self._budgets[sharing[0]]
        if old_name == route.value:
            # Never learned before: what its windows counted now counts in the bucket's windows,
            # together with what the routes sharing that bucket counted.
            for key in [k for k in self._windows if k.startswith(f"{old_name}:")]:
                window = self._windows.pop(key)
                target = f"{bucket}:{key.split(':', 1)[1]}"
                if target in self._windows:
                    self._windows[target].absorb(window)
                else:
                    self._windows[target] = window

    def _rate_limited(self, lane: Lane | None, path: str, headers: Mapping[str, str], now: float) -> None:
        self.rate_limited += 1
        is_global = headers.get("x-ratelimit-global", "").lower() == "true" or (
            headers.get("x-ratelimit-scope", "").lower() == "global"
        )
        # A global 429 may still carry the route bucket's own Reset-After; how long the whole token
        # waits is Retry-After. A route's 429 says it in both; Reset-After has the finer grain.
        first, second = ("retry-after", "x-ratelimit-reset-after")
        if not is_global:
            first, second = second, first
        wait = _number(headers.get(first))
        if wait is None:
            wait = _number(headers.get(second))
        wait = _DEFAULT_RETRY if wait is None else min(wait, _MAX_LEARNED_PER)
        if is_global:
            self._global.closed_until = max(self._global.closed_until, now + wait + self.margin)
            log.warning("Discord global rate limit hit; bot-token requests wait %.1f s", wait)
        elif lane is not None:
            window = self._lane_window(lane)
            window.closed_until = max(window.closed_until, now + wait + self.margin)
            log.warning("Discord rate limit hit on %s; it waits %.1f s", lane.route, wait)
        elif uses_bot_token(path):
            log.warning("Discord rate limit hit on a route the queue does not schedule")
        self._wake.set()

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

    def prune(self, now: float) -> None:
        """Forget the lane windows that count nothing (a new one starts from the route's budget)."""
        self._pruned_at = now
        for key in [key for key, window in self._windows.items() if window.idle(now)]:
            del self._windows[key]

    def windows(self) -> int:
        """How many lane windows are kept (for tests)."""
        return len(self._windows)

    def _bucket_name(self, route: Route) -> str:
        # Until Discord names its bucket, a route is its own bucket, as Discord documents it.
        return self._buckets.get(route, route.value)

    def _lane_window(self, lane: Lane) -> Window:
        key = f"{self._bucket_name(lane.route)}:{lane.major}"
        budget = self.budget(lane.route)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = Window(budget.limit, budget.per + self.margin)
        else:
            window.limit, window.per = max(1, budget.limit), budget.per + self.margin
        return window

    def _lane_ready_at(self, lane: Lane, priority: Priority, now: float) -> float:
        progress = priority is Priority.PROGRESS
        window = self._lane_window(lane)
        at = window.free_at(now, window.limit - LANE_RESERVE if progress else None)
        if lane.bot_token:
            at = max(at, self._global.free_at(now, self._progress_cap if progress else None))
        return at

    def _choice(self, request: _Request, now: float) -> tuple[int, float]:
        """The first of the request's options that can leave now (else the soonest one), and when."""
        best, best_at = 0, float("inf")
        for index, (lane, _) in enumerate(request.options):
            at = self._lane_ready_at(lane, request.priority, now)
            if at <= now:
                return index, at
            if at < best_at:
                best, best_at = index, at
        return best, best_at

    def next_request(self, now: float) -> tuple[_Request | None, float]:
        """The request to send now (best priority, then oldest, among those with budget), or None
        and when the first waiting one will have budget."""
        # A channel with a result waiting sends no progress edit until the result has left.
        results_waiting = {
            lane.major
            for request in self._waiting
            if request.priority is Priority.FINAL
            for lane, _ in request.options
            if lane.bot_token
        }
        best: _Request | None = None
        soonest = float("inf")
        for request in self._waiting:
            if (
                request.priority is Priority.PROGRESS
                and request.lane.bot_token
                and request.lane.major in results_waiting
            ):
                continue
            _, at = self._choice(request, now)
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
                request, option = await self._next_when_ready()
            except BaseException:
                self._slots.release()
                raise
            self._waiting.remove(request)
            if self._progress.get(request.job_id) is request:
                del self._progress[request.job_id]
            now = self.clock()
            if now - self._pruned_at >= _PRUNE_EVERY:
                self.prune(now)
            lane, send = request.options[option]
            self._lane_window(lane).take(now)
            if lane.bot_token:
                self._global.take(now)
            task = asyncio.create_task(
                self._deliver(request, send), name=f"discord-send-{request.job_id[:8]}"
            )
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _next_when_ready(self) -> tuple[_Request, int]:
        while True:
            self._wake.clear()
            now = self.clock()
            request, soonest = self.next_request(now)
            if request is not None:
                return request, self._choice(request, now)[0]
            timeout = None if soonest == float("inf") else max(0.01, soonest - now)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    async def _deliver(self, request: _Request, send: Sender) -> None:
        try:
            result = await send()
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


def rate_limit_trace(queue: SendQueue) -> Any:
    """An aiohttp `TraceConfig` that shows `queue` every answer discord.py's HTTP session gets (the
    bot-token routes and the interaction webhooks share that session): pass it to
    `discord.Client(http_trace=...)`. discord.py parses the same headers for its own buckets but
    exposes no hook for them."""
    import aiohttp  # discord.py's own HTTP library; imported here to keep the queue testable alone

    async def on_request_end(
        session: aiohttp.ClientSession, context: Any, params: aiohttp.TraceRequestEndParams
    ) -> None:
        try:
            queue.observe(params.method, params.url.path, params.response.status, params.response.headers)
        except Exception:  # learning must never break a request
            log.exception("reading Discord's rate-limit headers failed")

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace

"""A circuit breaker in front of AceData: when its balance is empty or it keeps failing, stop sending.

Closed is normal. An empty balance (`used_up`) opens the circuit at once; a run of outages (5xx,
connection failures, timeouts) opens it after `threshold` in a row. While open, new jobs are refused
before anything is reserved, queued jobs wait, and a free task query probes the service:

- after an outage, a probe that answers closes the circuit;
- after an empty balance a task query proves nothing about money, so a probe that answers lets ONE
  queued job through (half-open). Its create succeeding closes the circuit; `used_up` again opens it
  quietly (the job goes back to the queue) and the probes slow down.

Listeners hear OPENED once per incident and CLOSED when it is over, so the operator and the mod-logs
get one alert, not one per job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from bot.kling.errors import KlingError, NetworkError, OutOfCredits, ServiceError, SubmissionUnconfirmed
from bot.refusals import N_

log = logging.getLogger(__name__)

#: Outages in a row that open the circuit.
FAILURE_THRESHOLD = 5
#: Longest wait between two probes: the wait doubles after each probe or trial that fails.
MAX_PROBE_INTERVAL = 900.0


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class OpenReason(StrEnum):
    BALANCE = "balance"
    OUTAGE = "outage"


class CircuitEventKind(StrEnum):
    OPENED = "opened"
    #: Half-open: one queued job may go (only the runner cares).
    TRIAL = "trial"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CircuitEvent:
    kind: CircuitEventKind
    reason: OpenReason
    #: The service's own words for the failure that opened it, when there were any.
    detail: str = ""


Listener = Callable[[CircuitEvent], Awaitable[None]]

_REFUSALS = {
    OpenReason.BALANCE: N_(
        "The bot's video service account (AceData) has run out of credit, so no new videos can be "
        "started right now. Nothing was charged. The bot's operator has been alerted; please try again "
        "later."
    ),
    OpenReason.OUTAGE: N_(
        "The video service (AceData) is not responding right now, so no new videos are being started. "
        "Nothing was charged. The bot checks it regularly; please try again in a few minutes."
    ),
}


def is_outage(error: KlingError) -> bool:
    """A failure of the service itself (5xx, unreachable, no answer), not an answer about the request."""
    if isinstance(error, NetworkError):
        return True
    if isinstance(error, ServiceError | SubmissionUnconfirmed):
        return error.status is None or error.status >= 500
    return False


class Circuit:
    """Implements bot.kling.client.CallObserver: set it as the client's `observer`."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[Any]],
        *,
        probe_interval: float = 60.0,
        threshold: int = FAILURE_THRESHOLD,
        max_probe_interval: float = MAX_PROBE_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._probe = probe
        self.probe_interval = probe_interval
        self.threshold = threshold
        self.max_probe_interval = max(max_probe_interval, probe_interval)
        self._sleep = sleep
        self.state = CircuitState.CLOSED
        self.reason: OpenReason | None = None
        self._failures = 0
        self._interval = probe_interval
        self._trial_taken = False
        self._listeners: list[Listener] = []
        self._prober: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # --- what the rest of the bot asks ------------------------------------------------------
    def refusal(self) -> str | None:
        """What a member asking for a new video is told while the circuit is open; None when closed."""
        if self.state is CircuitState.OPEN and self.reason is not None:
            return _REFUSALS[self.reason]
        return None

    def may_submit(self) -> bool:
        """Whether one more create may be sent now. Half-open lets exactly one through (the trial);
        a caller that then has nothing to send gives it back with `release_trial`."""
        if self.state is CircuitState.CLOSED:
            return True
        if self.state is CircuitState.HALF_OPEN and not self._trial_taken:
            self._trial_taken = True
            return True
        return False

    def release_trial(self) -> None:
        if self.state is CircuitState.HALF_OPEN:
            self._trial_taken = False

    # --- CallObserver -------------------------------------------------------------------------
    def call_finished(self, kind: Literal["create", "query"], error: KlingError | None) -> None:
        if error is None:
            self._failures = 0
            # Only a create proves there is money again; any answer proves the service is back.
            if kind == "create" or self.reason is OpenReason.OUTAGE:
                self._close()
            return
        if isinstance(error, OutOfCredits):
            self._open(OpenReason.BALANCE, error)
        elif is_outage(error):
            self._failures += 1
            if self.state is CircuitState.HALF_OPEN or self._failures >= self.threshold:
                self._open(OpenReason.OUTAGE, error)
        else:
            # The service answered (a refused prompt, a bad option): it is up.
            self._failures = 0
            if kind == "create":
                self.release_trial()

    # --- transitions --------------------------------------------------------------------------
    def _open(self, reason: OpenReason, error: KlingError) -> None:
        first = self.state is CircuitState.CLOSED
        if self.state is CircuitState.HALF_OPEN:
            self._interval = min(self._interval * 2, self.max_probe_interval)
        self.state, self.reason, self._trial_taken = CircuitState.OPEN, reason, False
        if first:
            self._interval = self.probe_interval
            detail = error.detail or type(error).__name__
            log.error(
                "AceData circuit OPEN (%s): %s. New videos are refused and queued jobs wait; "
                "probing every %g s.",
                reason.value,
                detail,
                self._interval,
            )
            self._emit(CircuitEvent(CircuitEventKind.OPENED, reason, detail))
        else:
            log.info("AceData circuit still open (%s); next probe in %g s", reason.value, self._interval)
        if self._prober is None or self._prober.done():
            self._prober = asyncio.get_running_loop().create_task(
                self._probe_until_answered(), name="circuit"
            )

    def _close(self) -> None:
        if self.state is CircuitState.CLOSED:
            return
        reason = self.reason or OpenReason.OUTAGE
        self.state, self.reason, self._trial_taken = CircuitState.CLOSED, None, False
        self._interval = self.probe_interval
        log.warning("AceData circuit CLOSED: the service works again; new videos are accepted")
        self._emit(CircuitEvent(CircuitEventKind.CLOSED, reason))

    async def _probe_until_answered(self) -> None:
        while self.state is CircuitState.OPEN:
            await self._sleep(self._interval)
            if self.state is not CircuitState.OPEN:
                return
            try:
                await self._probe()  # through the client, so its outcome also reaches call_finished
            except KlingError as exc:
                self._interval = min(self._interval * 2, self.max_probe_interval)
                log.info("AceData probe failed (%s); next in %g s", type(exc).__name__, self._interval)
                continue
            except Exception:
                log.exception("AceData probe crashed; trying again later")
                continue
            if self.state is CircuitState.OPEN and self.reason is OpenReason.BALANCE:
                self.state, self._trial_taken = CircuitState.HALF_OPEN, False
                log.info("AceData answers again; letting one queued job try whether the balance is back")
                self._emit(CircuitEvent(CircuitEventKind.TRIAL, OpenReason.BALANCE))

    def _emit(self, event: CircuitEvent) -> None:
        for listener in self._listeners:
            task = asyncio.get_running_loop().create_task(self._tell(listener, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _tell(listener: Listener, event: CircuitEvent) -> None:
        try:
            await listener(event)
        except Exception:
            log.exception("a circuit listener failed on %s", event.kind.value)

    async def aclose(self) -> None:
        tasks = [t for t in (self._prober, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""Finding the task a lost create paid for, so it is adopted instead of written off.

AceData has no caller-chosen task id, but `retrieve_batch` without ids lists this token's tasks by
`created_at` window, and each record carries the create body it was made from (kling-api.md §2, §9).
A job whose create answer was lost (or that a restart found still submitting) is matched against the
tasks created while it was being sent: exactly one unclaimed match is its task; none or several, and
it cannot be confirmed. Guessing among several identical requests could hand one member another's
video while the other paid task is never delivered, so ambiguity is never resolved by guessing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.kling.tasks import Failed, NotFound, Running, Succeeded, TaskStatus

log = logging.getLogger(__name__)

#: Seconds allowed between our clock and AceData's, and for a record written a little late.
CLOCK_SLACK = 120.0
#: How long a create can be in flight: the client's whole-exchange deadline (KlingClient's default).
CREATE_DEADLINE = 60.0
PAGE_SIZE = 100
#: A window holds a few minutes of one token's tasks; more pages than this means something is odd.
MAX_PAGES = 20
#: Body keys that describe the exchange rather than the video: a record may drop or rewrite them.
_EXCHANGE_KEYS = frozenset({"async", "callback_url"})


class TaskLister(Protocol):
    async def retrieve_batch(
        self,
        task_ids: Sequence[str] = (),
        *,
        created_at_min: float | None = None,
        created_at_max: float | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> dict[str, TaskStatus]: ...


@dataclass(frozen=True, slots=True)
class Window:
    """When the lost task can have been created, in epoch seconds."""

    start: float
    end: float

    @classmethod
    def around_send(cls, sent_at: float) -> Window:
        return cls(sent_at - CLOCK_SLACK, sent_at + CREATE_DEADLINE + CLOCK_SLACK)

    def holds(self, created_at: float | None) -> bool:
        # A record without a time is judged by the server's filter alone.
        return created_at is None or self.start <= created_at <= self.end


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the listing found for one lost create."""

    #: The one matching task nobody holds, or None.
    task: Running | Succeeded | Failed | None
    #: How many unclaimed tasks matched (0: not found, 2+: ambiguous).
    matches: int


def request_matches(sent: Mapping[str, Any], recorded: Mapping[str, Any] | None) -> bool:
    """Whether a task record's `request` is the body we sent: every field of the video equal.

    Exchange fields (`async`, `callback_url`) are skipped: they do not say which video it is, and a
    record may leave them out.
    """
    if recorded is None:
        return False
    return all(recorded.get(key) == value for key, value in sent.items() if key not in _EXCHANGE_KEYS)


async def find_lost_task(
    kling: TaskLister,
    body: Mapping[str, Any],
    window: Window,
    known: Callable[[Sequence[str]], Awaitable[set[str]]],
) -> Lookup:
    """List the tasks created in `window`, page by page, and match them against `body`.

    Tasks some job already holds (`known`) are not candidates: a member's identical earlier request
    is not this job's task. Raises KlingError when the listing fails (the caller retries later).
    """
    seen: set[str] = set()
    candidates: dict[str, Running | Succeeded | Failed] = {}
    for page in range(MAX_PAGES):
        found = await kling.retrieve_batch(
            created_at_min=window.start,
            created_at_max=window.end,
            limit=PAGE_SIZE,
            offset=page * PAGE_SIZE,
        )
        fresh = {task_id: status for task_id, status in found.items() if task_id not in seen}
        seen.update(found)
        for task_id, status in fresh.items():
            if isinstance(status, NotFound) or not window.holds(status.created_at):
                continue
            if request_matches(body, status.request):
                candidates[task_id] = status
        # A short page is the last one; a page with nothing new means the server ignores `offset`.
        if len(found) < PAGE_SIZE or not fresh:
            break
    else:
        log.warning("lost-create lookup stopped after %d pages of tasks", MAX_PAGES)
    held = await known(list(candidates)) if candidates else set()
    free = [status for task_id, status in candidates.items() if task_id not in held]
    return Lookup(task=free[0] if len(free) == 1 else None, matches=len(free))

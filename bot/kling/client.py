"""Async client for AceData's Kling endpoints: one paid create, free task queries.

The two kinds of call fail differently. A create is paid, so it is sent at most once unless the
connection was never opened; any doubt after that becomes `SubmissionUnconfirmed`. Task queries are
free and idempotent, so they are retried with capped, jittered backoff that honours `Retry-After`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

import httpx
from pydantic import SecretStr

from bot.kling.errors import (
    AccountDisabled,
    AuthError,
    BadRequest,
    KlingError,
    NetworkError,
    OutOfCredits,
    RateLimited,
    ServiceError,
    SubmissionUnconfirmed,
    error_for_response,
    parse_error_body,
)
from bot.kling.models import VideoRequest
from bot.kling.tasks import NotFound, Submission, TaskStatus, parse_batch, parse_task_record

log = logging.getLogger(__name__)

VIDEOS_PATH = "/kling/videos"
TASKS_PATH = "/kling/tasks"
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
#: A syntactically valid id that can never be a task: the free query `check_token` sends.
PROBE_TASK_ID = "00000000-0000-0000-0000-000000000000"
#: The create `probe_create` sends: a model that does not exist, no prompt and a negative length, so
#: the service refuses it at validation ("model is invalid.", a 400) before any task or charge exists.
#: Getting that far proves the token is accepted for creates (kling-api.md §9: a task query does not).
CREATE_PROBE_BODY: dict[str, Any] = {
    "action": "text2video",
    "model": "kling-token-check-not-a-model",
    "duration": -1,
    "async": True,
}


class CreateAccess(StrEnum):
    """What `probe_create` learned about the token's right to submit."""

    ACCEPTED = "accepted"  # refused at validation: the token got past authorisation
    REFUSED = "refused"  # refused for the token or the account
    UNKNOWN = "unknown"  # the answer says nothing about the token (outage, rate limit, network)
    CREATED = "created"  # the service took the invalid body: the token can submit, but a task exists


@dataclass(frozen=True, slots=True)
class CreateProbe:
    access: CreateAccess
    detail: str = ""


# The connection was never opened, so the request cannot have reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter; `Retry-After` from the server wins when it is sane."""

    attempts: int = 4
    base: float = 1.0
    cap: float = 30.0
    #: Up to this fraction of the delay is added at random, so many clients do not retry in step.
    jitter: float = 0.25
    retry_after_min: float = 1.0
    retry_after_max: float = 120.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        raw = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return min(self.cap, raw + rng.uniform(0.0, raw * self.jitter))

    def clamp(self, seconds: float) -> float:
        return min(self.retry_after_max, max(self.retry_after_min, seconds))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delay-seconds or an HTTP-date, RFC 9110 §10.2.3).

    None when absent, unparsable, negative or already past, so the caller falls back to its backoff.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return seconds if seconds > 0 else None


class CallObserver(Protocol):
    """Told the outcome of every call to the service (the circuit breaker in bot/jobs/circuit.py)."""

    def call_finished(self, kind: Literal["create", "query"], error: KlingError | None) -> None: ...


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any  # decoded JSON, or None when the body was not JSON
    text: str
    retry_after: str | None


class KlingClient:
    """One shared `httpx.AsyncClient` for every call. Pass one in to share its pool, or let this make one."""

    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        base_url: str,
        token: SecretStr,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        deadline: float = 60.0,
        query_backoff: Backoff = Backoff(),
        connect_backoff: Backoff = Backoff(attempts=3, base=0.5, cap=4.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._deadline = deadline
        self._query_backoff = query_backoff
        self._connect_backoff = connect_backoff
        self._sleep = sleep
        self._rng = rng or random.Random()
        #: Set by whoever watches the service's health; told after each create and each task query.
        self.observer: CallObserver | None = None

    def __repr__(self) -> str:
        return f"KlingClient(base_url={self._base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it; a shared one belongs to its owner."""
        if self._owns_http:
            await self._http.aclose()

    # --- public calls -----------------------------------------------------------------------
    async def create_video(self, request: VideoRequest, *, callback_url: str | None = None) -> Submission:
        """Start one paid generation (always async). Never re-sent once the body may have arrived.

        `callback_url` (the bot's own per-job address) asks AceData to POST there when the task ends."""
        try:
            submission = await self._create(request, callback_url)
        except KlingError as exc:
            self._observe("create", exc)
            raise
        self._observe("create", None)
        return submission

    def _observe(self, kind: Literal["create", "query"], error: KlingError | None) -> None:
        if self.observer is not None:
            self.observer.call_finished(kind, error)

    async def _create(self, request: VideoRequest, callback_url: str | None) -> Submission:
        payload = request.to_payload()
        if callback_url:
            payload["callback_url"] = callback_url
        answer = await self._send_create(payload)
        if 200 <= answer.status < 300:
            return self._submission(answer)
        if answer.status >= 500:
            code, message, trace_id = parse_error_body(answer.body)
            raise SubmissionUnconfirmed(
                message or f"HTTP {answer.status}", code=code, status=answer.status, trace_id=trace_id
            )
        raise self._error(answer)

    async def retrieve(self, task_id: str) -> TaskStatus:
        """The status of one task; `NotFound` when the service has no record of it (yet)."""
        body = await self._query({"action": "retrieve", "id": task_id}, self._query_backoff.attempts)
        return parse_task_record(body, task_id)

    async def retrieve_batch(
        self,
        task_ids: Sequence[str] = (),
        *,
        created_at_min: float | None = None,
        created_at_max: float | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> dict[str, TaskStatus]:
        """Statuses of many tasks in ONE request.

        With ids, every asked id is in the answer (`NotFound` if unknown). Without ids but with list
        filters, it lists this token's tasks created in the window (kling-api.md §2 and §9): the way a
        create whose answer was lost is found again. Each status carries its record's `request`.
        """
        wanted = list(dict.fromkeys(task_ids))
        filters = {
            key: value
            for key, value in (
                ("created_at_min", created_at_min),
                ("created_at_max", created_at_max),
                ("limit", limit),
                ("offset", offset),
            )
            if value is not None
        }
        if not wanted and not filters:
            return {}
        payload: dict[str, Any] = {"action": "retrieve_batch", **filters}
        if wanted:
            payload["ids"] = wanted
        body = await self._query(payload, self._query_backoff.attempts)
        if not isinstance(body, dict):
            raise ServiceError("the task list answer was not a JSON object")
        found = parse_batch(body)
        if not wanted:
            return found
        return {task_id: found.get(task_id, NotFound(task_id)) for task_id in wanted}

    async def check_token(self) -> None:
        """A free task query for an id that cannot exist: raises AuthError etc. when the token is refused."""
        await self._query({"action": "retrieve", "id": PROBE_TASK_ID}, attempts=1)

    async def probe_create(self) -> CreateProbe:
        """Whether the token may submit, learned from a create the service refuses at validation.

        Sent once, never retried. Only a validation refusal counts as "accepted"; anything the answer
        cannot prove (5xx, 429, no answer) is reported as unknown rather than guessed.
        """
        try:
            answer = await self._post(VIDEOS_PATH, CREATE_PROBE_BODY)
        except httpx.HTTPError as exc:
            return CreateProbe(CreateAccess.UNKNOWN, f"no answer from AceData ({type(exc).__name__})")
        if 200 <= answer.status < 300:
            body = answer.body if isinstance(answer.body, dict) else {}
            task = body.get("task_id")
            return CreateProbe(CreateAccess.CREATED, f"task {task}" if isinstance(task, str) else "")
        error = self._error(answer)
        detail = error.detail or error.code or f"HTTP {answer.status}"
        if isinstance(error, AuthError | OutOfCredits | AccountDisabled):
            return CreateProbe(CreateAccess.REFUSED, detail)
        if answer.status == 403:
            return CreateProbe(CreateAccess.REFUSED, detail)
        if isinstance(error, BadRequest) or answer.status == 422:
            return CreateProbe(CreateAccess.ACCEPTED, detail)
        return CreateProbe(CreateAccess.UNKNOWN, f"HTTP {answer.status}: {detail}")

    # --- create ---------------------------------------------------------------------------------
    async def _send_create(self, payload: dict[str, Any]) -> _Answer:
        backoff = self._connect_backoff
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline
        for attempt in range(1, backoff.attempts + 1):
            try:
                async with asyncio.timeout_at(deadline):
                    return await self._post(VIDEOS_PATH, payload)
            except TimeoutError:
                # The deadline cut the exchange while the request may have been in flight.
                raise SubmissionUnconfirmed(f"no answer within {self._deadline:g} s") from None
            except _NOT_SENT as exc:
                wait = backoff.delay(attempt, self._rng)
                if attempt == backoff.attempts or loop.time() + wait >= deadline:
                    raise NetworkError(f"could not connect ({type(exc).__name__})") from None
                log.debug("create: could not connect (%s); retry in %.2f s", type(exc).__name__, wait)
                await self._sleep(wait)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                raise SubmissionUnconfirmed(f"the answer was lost ({type(exc).__name__})") from None
        raise AssertionError("unreachable: the loop returns or raises")

    def _submission(self, answer: _Answer) -> Submission:
        body = answer.body if isinstance(answer.body, dict) else {}
        task_id = body.get("task_id")
        trace_id = body.get("trace_id") if isinstance(body.get("trace_id"), str) else None
        if not isinstance(task_id, str) or not task_id.strip():
            raise SubmissionUnconfirmed("the answer had no task id", status=answer.status, trace_id=trace_id)
        log.debug("created task %s (trace %s)", task_id, trace_id)
        return Submission(task_id.strip(), trace_id)

    # --- queries ----------------------------------------------------------------------------
    async def _query(self, payload: dict[str, Any], attempts: int) -> Any:
        try:
            async with asyncio.timeout(self._deadline):
                body = await self._query_with_retries(payload, attempts)
        except TimeoutError:
            error = ServiceError(f"no answer to the task query within {self._deadline:g} s")
            self._observe("query", error)
            raise error from None
        except KlingError as exc:
            self._observe("query", exc)
            raise
        self._observe("query", None)
        return body

    async def _query_with_retries(self, payload: dict[str, Any], attempts: int) -> Any:
        backoff = self._query_backoff
        loop = asyncio.get_running_loop()
        started = loop.time()
        for attempt in range(1, attempts + 1):
            try:
                answer = await self._post(TASKS_PATH, payload)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                error: KlingError = (NetworkError if isinstance(exc, _NOT_SENT) else ServiceError)(
                    f"task query failed ({type(exc).__name__})"
                )
                wait = backoff.delay(attempt, self._rng)
            else:
                if 200 <= answer.status < 300:
                    if answer.body is None:
                        raise ServiceError("the task query answer was not JSON", status=answer.status)
                    return answer.body
                error = self._error(answer)
                if not (answer.status == 429 or answer.status >= 500):
                    raise error
                wait = self._wait_after(answer, attempt)
                if isinstance(error, RateLimited):
                    error.retry_after = wait
            remaining = self._deadline - (loop.time() - started)
            if attempt == attempts or wait >= remaining:
                raise error
            log.debug(
                "task query attempt %d failed (%s); retrying in %.2f s", attempt, type(error).__name__, wait
            )
            await self._sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _wait_after(self, answer: _Answer, attempt: int) -> float:
        told = parse_retry_after(answer.retry_after)
        if told is None:
            return self._query_backoff.delay(attempt, self._rng)
        return self._query_backoff.clamp(told)

    # --- HTTP ---------------------------------------------------------------------------------
    def _error(self, answer: _Answer) -> KlingError:
        retry_after = None
        if answer.status == 429:
            told = parse_retry_after(answer.retry_after)
            retry_after = self._query_backoff.clamp(told) if told is not None else self._query_backoff.base
        return error_for_response(answer.status, answer.body, answer.text, retry_after=retry_after)

    async def _post(self, path: str, payload: dict[str, Any]) -> _Answer:
        response = await self._http.post(
            f"{self._base_url}{path}",
            json=payload,
            headers={
                "authorization": f"Bearer {self._token.get_secret_value()}",
                "accept": "application/json",
                "content-type": "application/json",
            },
            timeout=self._timeout,
            follow_redirects=False,
        )
        text = self._scrub(response.text)
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
        log.debug("POST %s -> HTTP %d", path, response.status_code)
        return _Answer(response.status_code, body, text, response.headers.get("retry-after"))

    def _scrub(self, text: str) -> str:
        """A body that echoes the token (some gateways do) must not carry it into an error or a log."""
        secret = self._token.get_secret_value()
        return text.replace(secret, "***") if secret else text

"""Typed failures of the AceData Kling API, each one a thing a member can be told in plain words.

Every error carries the service's own reason (`detail`) and `trace_id` when it gave them. Messages
never contain the API token: the client builds them from response bodies only.
"""

from __future__ import annotations

import math


class KlingError(Exception):
    """Base class. `code` is AceData's error code when known, `status` the HTTP status."""

    #: Whether the paid request certainly did not create a task (so nothing can be charged).
    definitely_not_created: bool = True

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(detail or type(self).__name__)
        self.detail = detail
        self.code = code
        self.status = status
        self.trace_id = trace_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, trace_id={self.trace_id!r})"
        )


class AuthError(KlingError):
    """401, `invalid_token`, `token_expired`, `no_token`, `token_mismatched`: the operator must fix it."""


class OutOfCredits(KlingError):
    """403 `used_up`: the AceData balance is empty."""


class ContentRefused(KlingError):
    """Another 403 / `forbidden`: moderation refused the prompt or an image."""


class BadRequest(KlingError):
    """400: the service rejected a parameter. `detail` keeps its message."""


class AccountDisabled(KlingError):
    """`disabled`: the AceData application was disabled."""


class RateLimited(KlingError):
    """429: wait `retry_after` seconds (already parsed and clamped)."""

    def __init__(
        self,
        detail: str = "",
        *,
        retry_after: float,
        code: str | None = None,
        status: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(detail, code=code, status=status, trace_id=trace_id)
        self.retry_after = retry_after


class ServiceError(KlingError):
    """5xx / `api_error`, or a body that could not be understood."""


class NetworkError(KlingError):
    """The service could not be reached; no connection was opened."""


class SubmissionUnconfirmed(KlingError):
    """A create whose body may have reached the server but whose answer was lost.

    It must never be re-sent automatically: a second paid task could result.
    """

    definitely_not_created = False


# --- reading error bodies -------------------------------------------------------------------

#: Longest service text kept in an error's `detail`: enough to explain, short enough for a Discord line.
DETAIL_MAX = 300

AUTH_CODES = frozenset(
    {"invalid_token", "token_expired", "no_token", "token_mismatched", "authorization_missing"}
)


def clip(text: str, limit: int = DETAIL_MAX) -> str:
    """One line of at most `limit` characters, so a huge or multi-line body never floods a log or a reply."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def as_text(value: object) -> str | None:
    """A non-blank string (stripped) or a finite number as text; None for anything else."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    return None


def parse_error_body(body: object) -> tuple[str | None, str | None, str | None]:
    """`(code, message, trace_id)` from any error shape AceData uses, or Nones.

    Shapes: `{"error": {"code", "message"|"detail"}, "trace_id"}` (optionally with `"success": false`),
    `{"code", "detail"|"message"}`, `{"error": {"code"}}` without a message, and `"error"` as a bare string.
    """
    if not isinstance(body, dict):
        return None, None, None
    code = as_text(body.get("code"))
    message = as_text(body.get("detail")) or as_text(body.get("message"))
    error = body.get("error")
    if isinstance(error, dict):
        code = as_text(error.get("code")) or code
        message = as_text(error.get("message")) or as_text(error.get("detail")) or message
    elif isinstance(error, str) and error.strip():
        message = error.strip()
    return code, message and clip(message), as_text(body.get("trace_id"))


def error_for_response(
    status: int, body: object, raw_text: str = "", *, retry_after: float | None = None
) -> KlingError:
    """The typed error for a non-2xx answer. `body` is the decoded JSON, or None when it was not JSON."""
    code, message, trace_id = parse_error_body(body)
    if message is None and body is None and raw_text.strip():
        message = clip(raw_text)
    detail = message or ""
    kind: type[KlingError]
    if status == 401 or code in AUTH_CODES:
        kind = AuthError
    elif code == "used_up":
        kind = OutOfCredits
    elif code == "disabled":
        kind = AccountDisabled
    elif status == 429 or code == "too_many_requests":
        return RateLimited(
            detail,
            retry_after=retry_after if retry_after is not None else 0.0,
            code=code,
            status=status,
            trace_id=trace_id,
        )
    elif status == 403 or code == "forbidden":
        kind = ContentRefused
    elif status >= 500 or code == "api_error":
        kind = ServiceError
    elif status == 400 or code == "bad_request":
        kind = BadRequest
    else:
        # 404 `no_api`, an unfollowed redirect, an odd 4xx: the service, not the member, is at fault.
        kind = ServiceError
    return kind(detail, code=code, status=status, trace_id=trace_id)

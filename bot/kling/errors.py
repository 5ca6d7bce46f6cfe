"""Typed failures of the AceData Kling API, each one a thing a member can be told in plain words.

Every error carries the service's own reason (`detail`) and `trace_id` when it gave them. Messages
never contain the API token: the client builds them from response bodies only.
"""

from __future__ import annotations


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
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, trace_id={self.trace_id!r})"


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

    def __init__(self, detail: str = "", *, retry_after: float, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
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

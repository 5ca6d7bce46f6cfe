"""Why a job failed, as the codes stored in `Job.error_code`.

The pipeline records a code; the words members read live on the Discord side
(`bot/discord_app/job_embeds.py`), which must explain every member of this enum (a test checks it).
"""

from __future__ import annotations

from enum import StrEnum

from bot.kling.errors import (
    AccountDisabled,
    AuthError,
    BadRequest,
    ContentRefused,
    KlingError,
    NetworkError,
    OutOfCredits,
    RateLimited,
    ServiceError,
    SubmissionUnconfirmed,
)


class FailureCode(StrEnum):
    CONTENT_REFUSED = "content_refused"
    OUT_OF_CREDITS = "out_of_credits"
    TIMED_OUT = "timed_out"
    SERVICE = "service_error"
    UNCONFIRMED = "unconfirmed"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    BAD_REQUEST = "bad_request"
    NETWORK = "network"
    TASK_FAILED = "task_failed"
    CANCELLED = "cancelled"


# Checked in order with isinstance, so subclasses map like their parents.
_CODES: tuple[tuple[type[KlingError], FailureCode], ...] = (
    (SubmissionUnconfirmed, FailureCode.UNCONFIRMED),
    (ContentRefused, FailureCode.CONTENT_REFUSED),
    (OutOfCredits, FailureCode.OUT_OF_CREDITS),
    (AuthError, FailureCode.AUTH),
    (AccountDisabled, FailureCode.AUTH),
    (RateLimited, FailureCode.RATE_LIMITED),
    (BadRequest, FailureCode.BAD_REQUEST),
    (NetworkError, FailureCode.NETWORK),
    (ServiceError, FailureCode.SERVICE),
)


def failure_code_for(exc: KlingError) -> FailureCode:
    """The code to store for a failed call to the video service."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return FailureCode.SERVICE

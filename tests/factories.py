"""The one set of test factories: requests, stored jobs and new jobs with sensible defaults.

Every test module builds its data through these, overriding only what the test is about, so a new
required field on `VideoRequest`, `Job` or `NewJob` is added in one place.
"""

from __future__ import annotations

from typing import Any

from bot.kling.models import Action, Model, VideoRequest
from bot.storage.base import Job, JobState, NewJob

DEFAULT_PROMPT = "a red fox running through snow"
#: A fixed moment (2023-11-14) so day and month keys in the defaults agree with it.
T0 = 1_700_000_000.0


def video_request(prompt: str | None = DEFAULT_PROMPT, **fields: Any) -> VideoRequest:
    """A text-to-video request unless `fields` say otherwise (action, model, mode, frames …)."""
    values: dict[str, Any] = {"action": Action.TEXT2VIDEO, "prompt": prompt}
    return VideoRequest(**(values | fields))


def make_job(**fields: Any) -> Job:
    """A stored job; `request` defaults to `video_request()` on kling-v1."""
    values: dict[str, Any] = {
        "id": "0123456789abcdef0123456789abcdef",
        "interaction_id": 1,
        "guild_id": 42,
        "channel_id": 7,
        "message_id": 4,
        "member_id": 1001,
        "request": video_request(model=Model.V1),
        "cost": 1.0,
        "size_limit": 10 * 1024 * 1024,
        "day_key": "2023-11-14",
        "month_key": "2023-11",
        "state": JobState.RUNNING,
        "created_at": T0,
        "updated_at": T0,
    }
    return Job(**(values | fields))


def make_new_job(**fields: Any) -> NewJob:
    """A job about to be admitted."""
    values: dict[str, Any] = {
        "id": "job-1",
        "interaction_id": 10_001,
        "guild_id": 42,
        "channel_id": 7,
        "member_id": 1001,
        "request": video_request(model=Model.V1),
        "cost": 2.0,
        "size_limit": 10 * 1024 * 1024,
        "day_key": "2023-11-14",
        "month_key": "2023-11",
        "created_at": T0,
    }
    return NewJob(**(values | fields))

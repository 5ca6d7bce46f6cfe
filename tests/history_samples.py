"""Stored jobs and the server they belong to, for the /history and moderation tests."""

from __future__ import annotations

from typing import Any

from bot.kling.models import Model
from bot.storage.base import Job, JobState
from tests.factories import make_job, video_request

NOW = 1_700_000_000.0


GUILD = 42


MEMBER = 1001


def job(number: int, *, state: JobState = JobState.DELIVERED, **fields: Any) -> Job:
    base: dict[str, Any] = {
        "id": f"{number:032x}",
        "interaction_id": number,
        "guild_id": GUILD,
        "channel_id": 77,
        "message_id": 5000 + number,
        "member_id": MEMBER,
        "request": video_request(f"prompt {number}", model=Model.V3),
        "cost": 35.0,
        "state": state,
        "created_at": NOW - number,
        "updated_at": NOW,
    }
    return make_job(**(base | fields))

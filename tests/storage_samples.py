"""The server, member, periods and job builders the storage tests share."""

from __future__ import annotations

import itertools
from typing import Any

from bot.kling.models import Mode, Model, VideoRequest
from bot.quota.models import Decision, UsageSnapshot
from bot.storage import (
    JobState,
    NewJob,
    Store,
)
from tests.factories import make_new_job, video_request

GUILD = 42


MEMBER = 1001


def new_job(**fields: Any) -> NewJob:
    number = next(_ids)
    values: dict[str, Any] = {
        "id": f"job-{number}",
        "interaction_id": 10_000 + number,
        "guild_id": GUILD,
        "member_id": MEMBER,
        "request": request(),
        "day_key": DAY,
        "month_key": MONTH,
        "created_at": 1_000.0 + number,
    }
    return make_new_job(**(values | fields))


class FakeClock:
    def __init__(self, now: float = 5_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def admit_in_state(store: Store, state: JobState, **fields: Any) -> str:
    job_id = await admit(store, **fields)
    if state is not JobState.QUEUED:
        assert await store.transition(job_id, expect=[JobState.QUEUED], to=state) is not None
    return job_id


DAY = "2026-11-24"


NEXT_DAY = "2026-11-25"


MONTH = "2026-11"


_ids = itertools.count(1)


def request(model: Model = Model.V1, mode: Mode = Mode.STD, duration: int = 5) -> VideoRequest:
    return video_request("a red fox in snow", model=model, mode=mode, duration=duration)


async def admit(store: Store, **fields: Any) -> str:
    admission = await store.admit_job(new_job(**fields), allow)
    assert admission.job is not None
    return admission.job.id


def allow(_: UsageSnapshot) -> Decision:
    return Decision(allowed=True)

"""A populated database for the migration and backend tests: a server, a member, jobs in every state."""

from __future__ import annotations

from typing import Any

from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.models import Decision, UsageSnapshot
from bot.storage import (
    JobState,
    NewJob,
    Store,
)

GUILD = 42


MEMBER = 1001


DAY, MONTH = "2026-11-24", "2026-11"


def allow(_: UsageSnapshot) -> Decision:
    return Decision(allowed=True)


def new_job(number: int, *, model: Model = Model.V1, member_id: int = MEMBER) -> NewJob:
    return NewJob(
        id=f"job-{number}",
        interaction_id=500 + number,
        guild_id=GUILD,
        channel_id=7,
        member_id=member_id,
        request=VideoRequest(action=Action.TEXT2VIDEO, prompt=f"scene {number}", model=model, mode=Mode.PRO),
        cost=1.5 * number,
        size_limit=8 * 1024 * 1024,
        day_key=DAY,
        month_key=MONTH,
        created_at=1_000.0 + number,
    )


#: (state the job is left in, fields set on the way) for a database with work in progress.
IN_FLIGHT: list[tuple[JobState, dict[str, Any]]] = [
    (JobState.QUEUED, {}),
    (JobState.SUBMITTING, {}),
    (JobState.RUNNING, {"task_id": "task-3", "submitted_at": 1_010.0, "message_id": 903}),
    (JobState.SUCCEEDED, {"task_id": "task-4", "submitted_at": 1_010.0, "finished_at": 1_070.0}),
    (JobState.DELIVERED, {"task_id": "task-5", "submitted_at": 1_000.0, "finished_at": 1_090.0}),
    (JobState.FAILED, {"error_code": "content_rejected", "error_message": "Refused by moderation."}),
]


async def admit_in_flight(store: Store) -> None:
    """Admit the jobs of IN_FLIGHT (`job-1`, `job-2`, …, models alternating) and leave each in its state."""
    for number, (state, fields) in enumerate(IN_FLIGHT, start=1):
        admitted = await store.admit_job(new_job(number, model=Model.V3 if number % 2 else Model.V1), allow)
        assert admitted.job is not None
        if state is not JobState.QUEUED:
            await store.transition(admitted.job.id, expect=[JobState.QUEUED], to=state, **fields)

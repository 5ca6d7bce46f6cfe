"""`job_action_refusal`: every job button and modal checks the server, the member's right and the
message it sits on (issue 12). Through the real bot: tests/e2e/test_hardening.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.discord_app.access import JobRight, job_action_refusal
from tests.test_job_embeds import make_job

OWNER, STRANGER, GUILD, MESSAGE = 5, 6, 2, 4


def clicked(
    *,
    user: int = OWNER,
    guild: int | None = GUILD,
    message: int | None = MESSAGE,
    ephemeral: bool = False,
    permissions: discord.Permissions | None = None,
) -> Any:
    flags = SimpleNamespace(ephemeral=ephemeral)
    return SimpleNamespace(
        guild_id=guild,
        user=SimpleNamespace(id=user),
        message=None if message is None else SimpleNamespace(id=message, flags=flags),
        permissions=permissions or discord.Permissions.none(),
    )


@pytest.mark.parametrize("right", list(JobRight))
def test_the_owner_may_act_on_their_job_from_its_message(right: JobRight) -> None:
    assert job_action_refusal(clicked(), make_job(), right, action="rerun") is None


def test_nothing_works_from_another_server_or_someone_elses_dm() -> None:
    job = make_job()
    # In a DM (a result the bot could only deliver there) only the job's own member may act.
    assert job_action_refusal(clicked(guild=None), job, JobRight.OWNER_OR_MODERATOR, action="rerun") is None
    from_a_stranger = clicked(user=STRANGER, guild=None, permissions=discord.Permissions.all())
    assert "can't find" in str(job_action_refusal(from_a_stranger, job, JobRight.SERVER_MEMBER, action="x"))
    assert "can't find" in str(job_action_refusal(clicked(guild=99), job, JobRight.SERVER_MEMBER, action="x"))
    assert "can't find" in str(job_action_refusal(clicked(), None, JobRight.SERVER_MEMBER, action="x"))


def test_a_public_message_carries_only_its_own_jobs_buttons() -> None:
    job = make_job()
    refusal = job_action_refusal(clicked(message=77), job, JobRight.OWNER_OR_MODERATOR, action="delete")
    assert refusal is not None and "doesn't belong to this message" in refusal
    # A private /history page lists many jobs: only the member who asked can see it.
    assert (
        job_action_refusal(
            clicked(message=77, ephemeral=True), job, JobRight.OWNER_OR_MODERATOR, action="rerun"
        )
        is None
    )


def test_other_members_need_a_moderator_permission_for_owner_actions() -> None:
    job = make_job()
    refusal = job_action_refusal(clicked(user=STRANGER), job, JobRight.OWNER_OR_MODERATOR, action="delete")
    assert refusal == "Only the member who made this video or a moderator can delete it."
    assert job_action_refusal(clicked(user=STRANGER), job, JobRight.SERVER_MEMBER, action="extend") is None
    for moderator in (discord.Permissions(manage_messages=True), discord.Permissions(manage_guild=True)):
        who = clicked(user=STRANGER, permissions=moderator)
        assert job_action_refusal(who, job, JobRight.OWNER_OR_MODERATOR, action="delete") is None


async def test_a_job_form_answers_only_its_opener_from_its_message_until_it_expires() -> None:
    from bot.discord_app.access import FORM_SECONDS, JobForm

    job = make_job()
    form = JobForm(job, clicked(), kind="remix", title="Remix", right=JobRight.OWNER_OR_MODERATOR)
    assert form.custom_id.startswith(f"kling-remix-modal:{job.id}:{OWNER}:")
    assert form.refusal(clicked()) is None
    assert "belongs to the member who opened it" in str(form.refusal(clicked(user=STRANGER)))
    assert "doesn't belong to this message" in str(form.refusal(clicked(message=77)))
    assert "can't find" in str(form.refusal(clicked(guild=99)))
    later = form.issued_at + FORM_SECONDS + 1
    assert "expired" in str(form.refusal(clicked(), now=later))

"""Who may do what: moderators, the refusal every moderator and member command function raises, and
the checks every job button and modal makes before acting (`job_action_refusal`)."""

from __future__ import annotations

import time
from enum import Enum
from typing import Any

import discord
from discord import app_commands

from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.i18n import N_
from bot.discord_app.replies import refuse
from bot.refusals import MemberRefusal
from bot.storage.base import Job


class Refusal(MemberRefusal):
    """An input or request turned down before anything was stored. `str()` is what the member reads."""


#: The in-code check. `default_member_permissions` only hides commands by default: a server's admins
#: can override it per role or channel, so every moderator action checks this permission itself.
MODERATOR_PERMISSION = "manage_guild"

NO_JOB = N_("I can't find that job any more.")
WRONG_MESSAGE = N_("That button doesn't belong to this message, so I did nothing.")
WRONG_FORM = N_("That form doesn't belong to this message, so I did nothing.")
NOT_YOUR_FORM = N_("This form belongs to the member who opened it; use the button yourself to get your own.")
FORM_EXPIRED = N_("This form has expired. Press the button again to open a new one.")
#: "Only the member who made this video or a moderator can … it", one whole sentence per action word
#: (a translation can't be assembled from an English verb).
NOT_YOURS = {
    "rerun": N_("Only the member who made this video or a moderator can rerun it."),
    "remix": N_("Only the member who made this video or a moderator can remix it."),
    "add a next shot to": N_("Only the member who made this video or a moderator can add a next shot to it."),
    "stitch": N_("Only the member who made this video or a moderator can stitch it."),
    "delete": N_("Only the member who made this video or a moderator can delete it."),
    "cancel": N_("Only the member who made this video or a moderator can cancel it."),
    "extend": N_("Only the member who made this video or a moderator can extend it."),
}

#: Put on every moderator command; the tree's error handler turns its MissingPermissions into a refusal.
moderator_only = app_commands.checks.has_permissions(**{MODERATOR_PERMISSION: True})


def is_moderator(permissions: discord.Permissions) -> bool:
    """Manage Server, as `moderator_only` checks it (Discord sets every bit for administrators)."""
    return bool(getattr(permissions, MODERATOR_PERMISSION))


# --- buttons and modals on job messages -------------------------------------------------------------
#
# A component or modal interaction carries a custom id anyone can read and a client can replay: from
# another channel, another server, or another member's account. Every job button and modal therefore
# checks, before acting: the server (the job's own), the member's right for that action, and that the
# job is the one of the message the button sits on. New buttons (Next shot, Stitch, ...) call
# `job_action_refusal` with the `JobRight` they need.


class JobRight(Enum):
    #: Anyone in the job's server (Extend: the same rule as `/extend`, which lists the server's videos).
    SERVER_MEMBER = "server member"
    #: The member who made the job, or a moderator (Manage Messages or Manage Server): Rerun, Remix,
    #: Try again, Delete, Cancel. A repeat builds a job from the request's prompt and frames, which are
    #: the member's own; a moderator may act for them.
    OWNER_OR_MODERATOR = "owner or moderator"


def may_manage(user_id: int, permissions: discord.Permissions, owner_id: int) -> bool:
    return user_id == owner_id or bool(permissions.manage_messages) or is_moderator(permissions)


def _message_is_private(message: discord.Message) -> bool:
    return bool(message.flags.ephemeral)


def job_action_refusal(
    interaction: discord.Interaction[Any], job: Job | None, right: JobRight, *, action: str
) -> str | None:
    """Why this member may not use `action` on `job` from where they clicked, or None when they may.

    `action` is the button's word as the member reads it ("rerun", "delete"...), for the refusal.
    """
    if job is None:
        return NO_JOB
    if interaction.guild_id is None:
        # A result the bot sent by DM: only the member it was made for can use its buttons there.
        if interaction.user.id != job.member_id:
            return NO_JOB
    elif job.guild_id != interaction.guild_id:
        return NO_JOB
    message = interaction.message
    # A public message carries only its own job's buttons. Private (ephemeral) messages, such as
    # /history pages, list several jobs, and only the member who asked for them can see them; so
    # does a DM (a result the bot could only deliver there, whose id the job does not record).
    if (
        interaction.guild_id is not None
        and message is not None
        and job.message_id is not None
        and message.id != job.message_id
        and not _message_is_private(message)
    ):
        return WRONG_MESSAGE
    if right is JobRight.OWNER_OR_MODERATOR and not may_manage(
        interaction.user.id, interaction.permissions, job.member_id
    ):
        return NOT_YOURS.get(action, f"Only the member who made this video or a moderator can {action} it.")
    return None


#: How long a job's form (Remix, Next shot...) may stay open before it must be opened again.
FORM_SECONDS = 15 * 60


class JobForm(discord.ui.Modal):
    """A modal about one job, bound to the member who opened it, the message it was opened from and a
    deadline. discord.py finds a submitted modal by its custom id alone, so anyone replaying the id
    (another member, another server, a DM) would reach this object: `interaction_check` refuses them,
    and the form stays open for its opener. The custom id carries the opener and the issue time."""

    def __init__(
        self,
        job: Job,
        opener: discord.Interaction[Any],
        *,
        kind: str,
        title: str,
        right: JobRight,
        action: str | None = None,
    ) -> None:
        self.issued_at = int(time.time())
        super().__init__(
            title=title,
            custom_id=f"kling-{kind}-modal:{job.id}:{opener.user.id}:{self.issued_at}",
            timeout=FORM_SECONDS,
        )
        self.job = job
        self.kind = kind
        self.action = action or kind
        self.right = right
        self.opener_id = opener.user.id
        self.message_id = opener.message.id if opener.message is not None else None

    def refusal(self, interaction: discord.Interaction[Any], *, now: float | None = None) -> str | None:
        if interaction.user.id != self.opener_id:
            return NOT_YOUR_FORM
        if (now if now is not None else time.time()) - self.issued_at > FORM_SECONDS:
            return FORM_EXPIRED
        if interaction.message is not None and interaction.message.id != self.message_id:
            return WRONG_FORM
        return job_action_refusal(interaction, self.job, self.right, action=self.action)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        # discord.py would only log a form's error: answer it as the one error handler answers a
        # command's, so a refusal raised while launching reaches the member.
        try:
            await self.submit(interaction)
        except Exception as exc:
            await reply_to_error(interaction, exc)

    async def submit(self, interaction: discord.Interaction[Any]) -> None:
        """What the form does once its checks passed."""
        raise NotImplementedError

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        refusal = self.refusal(interaction)
        if refusal is None:
            return True
        # Refused, not stopped: the member who opened the form can still send it.
        await refuse(interaction, refusal)
        return False

"""Cost before paying: above the server's `confirm_above_credits`, the member sees the estimated cost
and what it leaves of their allowance, with **Confirm** / **Cancel**, before anything is reserved or
sent.

The prompt is ephemeral and lives in memory only: it expires after the `CONFIRM_TIMEOUT_SECONDS`
setting (the message then says so), and a restart simply forgets it. Either way nothing was
reserved, so nothing needs giving back. Confirm hands the same order to `launch` again with
`confirmed=True`, which runs every check once more (limits may have changed meanwhile) and reserves
in one transaction as usual.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.formatting import Locale, amount_text
from bot.discord_app.i18n import N_, t
from bot.discord_app.replies import refuse
from bot.quota.models import Allowance, Decision, LimitUnit

log = logging.getLogger(__name__)

#: How long the member has to confirm by default (the token that edits the prompt lasts 15 min).
CONFIRM_TIMEOUT_SECONDS = 120.0

EXPIRED_TEXT = N_(
    "This confirmation expired, so nothing was reserved or charged. Run the command again to make the video."
)
CANCELLED_TEXT = N_("Cancelled. Nothing was reserved or charged.")
CONFIRMED_TEXT = N_("Confirmed: starting your video.")
ALREADY_ANSWERED = N_("This was already answered.")
NOT_YOURS = N_("Only the member who asked for this video can confirm or cancel it.")
CONFIRM_LABEL = N_("Confirm")
CANCEL_LABEL = N_("Cancel")

#: What the quota rules call each allowance, by (whose, period, unit), as the member reads it.
ALLOWANCE_LABELS = {
    ("server", "daily", LimitUnit.VIDEOS): N_("Server videos today"),
    ("server", "daily", LimitUnit.CREDITS): N_("Server credits today"),
    ("server", "monthly", LimitUnit.VIDEOS): N_("Server videos this month"),
    ("server", "monthly", LimitUnit.CREDITS): N_("Server credits this month"),
    ("member", "daily", LimitUnit.VIDEOS): N_("Your videos today"),
    ("member", "daily", LimitUnit.CREDITS): N_("Your credits today"),
    ("member", "monthly", LimitUnit.VIDEOS): N_("Your videos this month"),
    ("member", "monthly", LimitUnit.CREDITS): N_("Your credits this month"),
    ("everyone", "daily", LimitUnit.CREDITS): N_("All servers' credits today"),
    ("everyone", "monthly", LimitUnit.CREDITS): N_("All servers' credits this month"),
    ("ceiling", "daily", LimitUnit.CREDITS): N_("Server credits today (operator's ceiling)"),
    ("ceiling", "monthly", LimitUnit.CREDITS): N_("Server credits this month (operator's ceiling)"),
}


def allowance_name(allowance: Allowance, locale: Locale = None) -> str:
    """The allowance's name as the quota rules word it ("Your credits today"), in the reader's language."""
    msgid = ALLOWANCE_LABELS.get((allowance.whose, allowance.period, allowance.unit or LimitUnit.CREDITS))
    return t(locale, msgid) if msgid is not None else allowance.label


#: What Confirm does: start the job through the click's interaction.
Start = Callable[[discord.Interaction[Any]], Awaitable[None]]


def _left_text(allowance: Allowance, locale: Locale) -> str | None:
    remaining = allowance.remaining
    if remaining is None:
        return None
    unit = allowance.unit or LimitUnit.CREDITS
    return t(
        locale,
        N_("• {allowance}: {amount} left after this video"),
        allowance=allowance_name(allowance, locale),
        amount=amount_text(locale, remaining, unit),
    )


def prompt_text(
    decision: Decision, *, timeout: float = CONFIRM_TIMEOUT_SECONDS, locale: Locale = None
) -> str:
    """The question: the estimated cost, then what each capped allowance would have left."""
    lines = [
        t(
            locale,
            N_("This video will cost about **{cost}** (an estimate: AceData bills the actual price)."),
            cost=amount_text(locale, decision.cost, LimitUnit.CREDITS),
        ),
    ]
    lines += [text for allowance in decision.allowances if (text := _left_text(allowance, locale))]
    within = (
        t(locale, N_("{count} minutes"), count=int(timeout // 60))
        if timeout >= 120
        else t(locale, N_("{count} seconds"), count=int(timeout))
    )
    lines.append(
        t(
            locale,
            N_("Nothing is reserved or sent until you press **Confirm** (within {within})."),
            within=within,
        )
    )
    return "\n".join(lines)


class ConfirmView(discord.ui.View):
    """Confirm / Cancel for one member's request; only that member can press them, once."""

    def __init__(
        self,
        member_id: int,
        start: Start,
        *,
        timeout: float = CONFIRM_TIMEOUT_SECONDS,
        locale: Locale = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.member_id = member_id
        self.start = start
        #: The asking member's language: the buttons and every later edit of the prompt use it.
        self.locale = locale
        self.confirm.label = t(locale, CONFIRM_LABEL)
        self.cancel.label = t(locale, CANCEL_LABEL)
        self.message: discord.WebhookMessage | None = None
        self.answered = False

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.member_id:
            await refuse(interaction, NOT_YOURS)
            return False
        if self.answered:
            await refuse(interaction, ALREADY_ANSWERED)
            return False
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]) -> None:
        # Set before any await, so a double click cannot start two jobs.
        self.answered = True
        self.stop()
        await self._close(t(self.locale, CONFIRMED_TEXT))
        await self.start(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]) -> None:
        self.answered = True
        self.stop()
        await interaction.response.edit_message(content=t(self.locale, CANCELLED_TEXT), view=None)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        # A refusal raised while starting the job (limits changed meanwhile) goes to the member.
        await reply_to_error(interaction, error)

    async def on_timeout(self) -> None:
        if not self.answered:
            self.answered = True
            await self._close(t(self.locale, EXPIRED_TEXT))

    async def _close(self, text: str) -> None:
        """Edit the prompt (no buttons any more); best effort, the token may be gone."""
        if self.message is None:
            return
        with contextlib.suppress(discord.HTTPException):
            await self.message.edit(content=text, view=None)


async def ask_to_confirm(
    interaction: discord.Interaction[Any],
    decision: Decision,
    start: Start,
    *,
    expires_after: float = CONFIRM_TIMEOUT_SECONDS,
) -> None:
    """Replace the public "thinking…" answer by the private Confirm / Cancel prompt."""
    if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
    view = ConfirmView(interaction.user.id, start, timeout=expires_after, locale=interaction.locale)
    try:
        view.message = await interaction.followup.send(
            prompt_text(decision, timeout=expires_after, locale=interaction.locale),
            view=view,
            ephemeral=True,
            wait=True,
        )
    except discord.HTTPException as exc:
        view.stop()
        log.info("could not ask for confirmation (HTTP %s)", exc.status)

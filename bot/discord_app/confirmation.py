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

from bot.discord_app.cost_texts import prompt_text as cost_prompt
from bot.discord_app.error_handler import reply_to_error
from bot.discord_app.i18n import N_, t
from bot.discord_app.replies import refuse
from bot.quota.models import Decision

log = logging.getLogger(__name__)

#: How long the member has to confirm by default (the token that edits the prompt lasts 15 min).
CONFIRM_TIMEOUT_SECONDS = 120.0

EXPIRED_TEXT = N_(
    "This confirmation expired, so nothing was reserved or charged. Run the command again to make the video."
)
CANCELLED_TEXT = N_("Cancelled. Nothing was reserved or charged.")
CONFIRMED_TEXT = N_("Confirmed: starting your video.")
NOT_YOURS = N_("Only the member who asked for this video can confirm or cancel it.")
ALREADY_ANSWERED = N_("This was already answered.")
CONFIRM_LABEL = N_("Confirm")
CANCEL_LABEL = N_("Cancel")

#: What Confirm does: start the job through the click's interaction.
Start = Callable[[discord.Interaction[Any]], Awaitable[None]]


def prompt_text(
    decision: Decision,
    *,
    timeout: float = CONFIRM_TIMEOUT_SECONDS,
    locale: discord.Locale | str | None = None,
) -> str:
    """The question in the member's language: the estimated cost, then what each capped allowance
    would have left (English when `locale` has no catalog)."""
    return cost_prompt(decision, timeout=timeout, locale=locale)


class ConfirmView(discord.ui.View):
    """Confirm / Cancel for one member's request; only that member can press them, once."""

    def __init__(
        self,
        member_id: int,
        start: Start,
        *,
        timeout: float = CONFIRM_TIMEOUT_SECONDS,
        locale: discord.Locale | str | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.member_id = member_id
        #: The asking member's language: the buttons, and the edit when the question expires.
        self.locale = locale
        # Only the labels change; the custom ids stay discord.py's own.
        self.confirm.label = t(locale, CONFIRM_LABEL)
        self.cancel.label = t(locale, CANCEL_LABEL)
        self.start = start
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
        await self._close(t(interaction.locale, CONFIRMED_TEXT))
        await self.start(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]) -> None:
        self.answered = True
        self.stop()
        await interaction.response.edit_message(content=t(interaction.locale, CANCELLED_TEXT), view=None)

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
    locale = interaction.locale
    view = ConfirmView(interaction.user.id, start, timeout=expires_after, locale=locale)
    try:
        view.message = await interaction.followup.send(
            prompt_text(decision, timeout=expires_after, locale=locale), view=view, ephemeral=True, wait=True
        )
    except discord.HTTPException as exc:
        view.stop()
        log.info("could not ask for confirmation (HTTP %s)", exc.status)

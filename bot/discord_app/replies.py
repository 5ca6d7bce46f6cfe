"""Replying to a member when the answer is "no": one helper that picks the right way to reply."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import discord

from bot.discord_app.i18n import t

log = logging.getLogger(__name__)

#: Discord's message limit is 2000; leave room so a refusal is never cut mid-sentence by Discord.
REFUSAL_LIMIT = 1900


async def refuse(interaction: discord.Interaction[Any], text: str, **values: object) -> None:
    """Tell only the member, in their language, whatever state the interaction is in
    (Red-DiscordBot's pattern). `text` is English with optional `{name}` fields from `values`.

    After a public defer the first follow-up would replace the public "thinking" message and
    ignore the ephemeral flag, so that message is deleted first.
    """
    text = t(interaction.locale, text, **values)[:REFUSAL_LIMIT]
    # A refusal may quote what the member typed (`bot.echo.excerpt`): it never pings anyone.
    quiet = discord.AllowedMentions.none()
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=quiet)
            return
        if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=quiet)
    except discord.HTTPException as exc:
        log.info("could not deliver a refusal (HTTP %s)", exc.status)

"""The one handler for errors raised by application commands (Red-DiscordBot's pattern): every
error becomes a reply the member can act on, sent the right way for the interaction's state."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord_app.i18n import N_
from bot.discord_app.permission_names import permission_names
from bot.discord_app.replies import refuse
from bot.echo import excerpt
from bot.refusals import MemberRefusal

log = logging.getLogger(__name__)

ONLY_WITH_PERMISSION = N_("Only members with **{permission}** can do that.")
ONLY_IN_A_SERVER = N_("This command only works in a server.")
NOT_HERE = N_("You can't use this command here.")
SLOW_DOWN = N_("Slow down: try again in {seconds} s.")
INVALID_VALUE = N_("{value} isn't a valid value there. Please pick or type it again.")
SOMETHING_WENT_WRONG = N_("Something went wrong on my side. Nothing was charged; please try again.")


async def on_app_command_error(
    interaction: discord.Interaction[Any], error: app_commands.AppCommandError
) -> None:
    """The command tree's error hook: unwraps the command's own exception and answers it."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    await reply_to_error(interaction, original)


async def reply_to_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """One place that turns an error into a reply the member can act on: slash commands (through
    the tree's hook), buttons and forms all end here."""
    if isinstance(error, MemberRefusal):
        # Rendered whole in the member's language (values may be translated phrases and lists).
        await refuse(interaction, "{refusal}", refusal=error.text)
        return
    if isinstance(error, app_commands.MissingPermissions):
        needed = permission_names(error.missing_permissions)
        await refuse(interaction, ONLY_WITH_PERMISSION, permission=needed)
        return
    if isinstance(error, app_commands.NoPrivateMessage):
        await refuse(interaction, ONLY_IN_A_SERVER)
        return
    if isinstance(error, app_commands.CheckFailure):
        await refuse(interaction, str(error) or NOT_HERE)
        return
    if isinstance(error, app_commands.TransformerError):
        # A value of the wrong kind or out of the declared range (Discord's client would not send it).
        await refuse(interaction, INVALID_VALUE, value=excerpt(str(error.value)))
        return
    if isinstance(error, app_commands.CommandOnCooldown):
        await refuse(interaction, SLOW_DOWN, seconds=f"{error.retry_after:.0f}")
        return
    what = f"command {interaction.command.name}" if interaction.command else "a button or form"
    log.error("%s failed", what, exc_info=error)
    await refuse(interaction, SOMETHING_WENT_WRONG)

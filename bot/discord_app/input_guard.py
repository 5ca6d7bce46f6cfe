"""Checks every slash command gets before its own code runs, whatever the command.

`guild_only()` and `@choices` only shape what Discord's client *offers*: a crafted payload, another
client or a future code path can still send a command from a DM or an option value that was never
offered. discord.py passes both through unchecked, and the command would then fail on an assertion
or an enum lookup ("Something went wrong"). `GuardedTree` refuses them first, with a sentence the
member can act on, through the tree's error handler.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.echo import excerpt


class OptionNotOffered(app_commands.CheckFailure):
    """An option value outside the command's declared choices. `str()` is what the member reads."""


def is_guild_only(command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu) -> bool:
    """`guild_only` as declared on the command or on its top-level group."""
    root = command.root_parent if isinstance(command, app_commands.Command) else None
    return bool(command.guild_only or (root is not None and root.guild_only))


def undeclared_choice(
    command: app_commands.Command[Any, ..., Any], values: dict[str, Any]
) -> tuple[str, str] | None:
    """(option, allowed values) for the first option whose value is not one of its declared choices."""
    for parameter in command.parameters:
        if not parameter.choices or parameter.display_name not in values:
            continue
        value = values[parameter.display_name]
        if value is None:
            continue
        allowed = [choice.value for choice in parameter.choices]
        if value not in allowed:
            return parameter.display_name, ", ".join(f"`{choice}`" for choice in allowed)
    return None


class GuardedTree(app_commands.CommandTree[Any]):
    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.type is not discord.InteractionType.application_command:
            return True  # autocomplete answers with suggestions; it can't show a refusal
        command = interaction.command
        if command is None:
            return True
        if interaction.guild_id is None and is_guild_only(command):
            raise app_commands.NoPrivateMessage()
        if isinstance(command, app_commands.Command):
            values = {name: value for name, value in interaction.namespace}
            problem = undeclared_choice(command, values)
            if problem is not None:
                option, allowed = problem
                raise OptionNotOffered(
                    f"{excerpt(str(values[option]))} is not a choice for **{option}**; pick one of {allowed}."
                )
        return True

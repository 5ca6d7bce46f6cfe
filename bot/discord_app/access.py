"""Who counts as a moderator, and the refusal every moderator and member command function raises."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.refusals import MemberRefusal


class Refusal(MemberRefusal):
    """An input or request turned down before anything was stored. `str()` is what the member reads."""


#: The in-code check. `default_member_permissions` only hides commands by default: a server's admins
#: can override it per role or channel, so every moderator action checks this permission itself.
MODERATOR_PERMISSION = "manage_guild"

#: Put on every moderator command; the tree's error handler turns its MissingPermissions into a refusal.
moderator_only = app_commands.checks.has_permissions(**{MODERATOR_PERMISSION: True})


def is_moderator(permissions: discord.Permissions) -> bool:
    """Manage Server, as `moderator_only` checks it (Discord sets every bit for administrators)."""
    return bool(getattr(permissions, MODERATOR_PERMISSION))

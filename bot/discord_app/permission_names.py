"""Discord permission names in a reader's language, for the refusals that say which ones the bot
lacks (`/video` in a channel it can't post in, a mod-log channel it can't post in).

Discord's own settings show these names translated, so a moderator finds the switch by the name
the bot gives. English is the bot's historical wording: "**View Channel**, **Embed Links**".
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.discord_app.i18n import N_
from bot.refusals import Lines, Text

#: Permission attribute (`discord.Permissions`) -> its name as Discord shows it.
PERMISSION_NAMES = {
    "view_channel": N_("View Channel"),
    "send_messages": N_("Send Messages"),
    "embed_links": N_("Embed Links"),
    "attach_files": N_("Attach Files"),
    # What the moderator commands ask for (bot.discord_app.access.MODERATOR_PERMISSION).
    "manage_guild": N_("Manage Server"),
}


def permission_names(names: Iterable[str]) -> Lines:
    """Permission attribute names ("manage_guild") as Discord shows them, joined by commas. One the
    table doesn't know reads as its attribute in title case ("Manage Guild" → "Manage Server"), as
    the bot always wrote it."""
    shown = [
        Text(PERMISSION_NAMES[name])
        if name in PERMISSION_NAMES
        else name.replace("_", " ").title().replace("Guild", "Server")
        for name in names
    ]
    return Lines(tuple(shown), separator=", ")


def bold_names(labels: Iterable[str]) -> Lines:
    """Names for a `**{permissions}**` field: each translated, joined by bold commas."""
    return Lines(tuple(Text(label) for label in labels), separator="**, **")

"""The one base class for every "no" a member or moderator can get.

A refusal is raised wherever the rule lives (the capability table, the attachment checks, the quota
policy, a moderator's input) and answered in one place: `bot.discord_app.error_handler.reply_to_error`,
which sends `str(refusal)` privately. Raising one means nothing was sent to AceData, nothing was
charged and nothing stored was changed.
"""

from __future__ import annotations


class MemberRefusal(Exception):
    """A request turned down before anything was spent. `str()` is the sentence the member reads."""

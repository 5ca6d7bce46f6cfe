"""The one base class for every "no" a member or moderator can get.

A refusal is raised wherever the rule lives (the capability table, the attachment checks, the quota
policy, a moderator's input) and answered in one place: `bot.discord_app.error_handler.reply_to_error`,
which sends `str(refusal)` privately. Raising one means nothing was sent to AceData, nothing was
charged and nothing stored was changed.
"""

from __future__ import annotations


class MemberRefusal(Exception):
    """A request turned down before anything was spent. `str()` is the sentence the member reads.

    `message` may hold `{name}` fields filled from `values`: the unfilled English text is the message
    id its translation is looked up by (mark it with `bot.discord_app.i18n.N_` where it is written
    if that module may be imported there, or list it in the catalog by hand).
    """

    def __init__(self, message: str = "", /, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message_id = message
        self.values = values

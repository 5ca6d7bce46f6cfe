"""Amounts as members read them ("1 video", "12.5 credits"), as translatable texts.

Kept in the domain because the quota refusals (raised here, shown by the Discord side in each
member's language) quote amounts; `bot.discord_app.formatting` shows the same in a reader's language.
"""

from __future__ import annotations

import math

from bot.quota.models import LimitUnit
from bot.refusals import N_, Text

#: (one, several) per unit; Chinese and Japanese need no plural, English does.
_NOUNS = {
    LimitUnit.VIDEOS: (N_("{count} video"), N_("{count} videos")),
    LimitUnit.CREDITS: (N_("{count} credit"), N_("{count} credits")),
}


def number_text(value: float) -> str:
    """At most two decimals, without trailing zeros: 12.5, 3, 0.25."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def amount(value: float, unit: LimitUnit) -> Text:
    """ "1 video", "3 videos", "12.5 credits" (translated when shown)."""
    number = number_text(value)
    one, several = _NOUNS[unit]
    return Text(one if number == "1" else several, {"count": number})


def format_amount(value: float, unit: LimitUnit) -> str:
    """An amount in English: "1 video", "3 videos", "12.5 credits"."""
    return amount(value, unit).render()


def discord_time(epoch: float) -> str:
    """A Discord timestamp each reader sees as "in 3 hours" in their own language and zone."""
    return f"<t:{math.ceil(epoch)}:R>"

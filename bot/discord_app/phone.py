"""Keeping lines readable on a phone: Discord's mobile embeds fit about 46 characters across.

Discord markup is shorter on screen than in the text (a timestamp shows as "3 hours ago", a link as its
label), so widths are estimated as displayed. Prose (a prompt) may wrap; lists of facts are packed
into lines that fit instead of one long line that wraps mid-fact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

PHONE_WIDTH = 46
SEPARATOR = " · "

#: Markup -> roughly how wide it is on screen.
_MARKUP: tuple[tuple[re.Pattern[str], int | None], ...] = (
    (re.compile(r"<t:-?\d+(?::[tTdDfFR])?>"), 14),  # "in 3 hours", "25 Nov 2026 18:00"
    (re.compile(r"<@[!&]?\d+>"), 16),  # "@Display Name"
    (re.compile(r"<#\d+>"), 16),  # "#channel-name"
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), None),  # a link shows its label
)


def display_width(text: str) -> int:
    """Roughly how many characters `text` takes on screen (markup shown as Discord renders it)."""
    width = 0
    rest = text.replace("\\", "").replace("**", "")
    for pattern, size in _MARKUP:
        for match in pattern.finditer(rest):
            width += len(match.group(1)) if size is None else size
        rest = pattern.sub("", rest)
    # Chinese and Japanese characters take two columns on screen.
    return width + sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in rest)


def pack(items: Iterable[str], *, width: int = PHONE_WIDTH, separator: str = SEPARATOR) -> str:
    """`items` joined by `separator`, starting a new line before an item that would not fit."""
    lines: list[str] = []
    for item in items:
        if lines and display_width(lines[-1] + separator + item) <= width:
            lines[-1] += separator + item
        else:
            lines.append(item)
    return "\n".join(lines)

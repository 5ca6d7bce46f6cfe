"""Quoting what a member typed back to them, safely: `excerpt(value)`.

A refusal that names the bad value helps ("`kling-v9` is not a model"), but the value is the member's:
it may be 6000 characters long, span lines, close the code span it sits in, or carry `@everyone`
and `<@&role>`. `excerpt` keeps a short, single-line, inert piece of it, so the explanation around it
is never pushed past Discord's cut and nothing in it renders or pings. Replies that quote it are
also sent with no allowed mentions (`bot.discord_app.replies.refuse`), the bot's default.

Pure text, no Discord import: the domain packages (`bot.jobs.orders`, `bot.quota.policy`) use it too.
"""

from __future__ import annotations

import unicodedata

#: Enough to recognise a model name, a time zone or a mistyped word.
EXCERPT_LIMIT = 40
_ELLIPSIS = "…"
_ZERO_WIDTH_SPACE = "\u200b"
_MARKDOWN = frozenset("\\*_~|[]()")  # those that work mid-line


def _visible(char: str) -> str:
    if char in "\r\n\t" or unicodedata.category(char) == "Zs":
        return " "
    if unicodedata.category(char) in {"Cc", "Cf"}:
        return ""
    # A backtick would close the code span the excerpt sits in; the modifier grave looks the same.
    return "ˋ" if char == "`" else char


def _short(value: str, limit: int) -> str:
    text = " ".join("".join(_visible(char) for char in value).split())
    if len(text) > limit:
        text = text[:limit].rstrip() + _ELLIPSIS
    # The zero-width space keeps `@everyone`, `<@id>` or `<#channel>` from ever becoming a mention.
    return text.replace("@", "@" + _ZERO_WIDTH_SPACE).replace("<", "<" + _ZERO_WIDTH_SPACE)


def excerpt(value: str, limit: int = EXCERPT_LIMIT) -> str:
    """`value` as an inline code span of at most `limit` visible characters (plus an ellipsis)."""
    return f"`{_short(value, limit) or ' '}`"


def quoted(value: str, limit: int = EXCERPT_LIMIT) -> str:
    """`value` between single quotes, markdown escaped, at most `limit` visible characters."""
    text = "".join("\\" + char if char in _MARKDOWN else char for char in _short(value, limit))
    return f"'{text}'"

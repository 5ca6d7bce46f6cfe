"""How the bot words lists, durations and long text, in one place for every module that shows them.

Plain text only: Discord escaping (mentions, markdown) is `bot.echo` and
`bot.discord_app.job_embeds.neutralise`.
"""

from __future__ import annotations

from collections.abc import Iterable

from babel.lists import format_list
from babel.units import format_unit

ELLIPSIS = "…"


def join_or(items: Iterable[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


#: Babel's locale for English: the hand-written style below, kept exactly as members know it.
ENGLISH_UNITS = "en"


def _units(parts: list[tuple[int, str, bool]], locale: str) -> str:
    """`(value, CLDR unit, zero-padded)` parts in `locale`'s short unit names, joined as that language
    joins units ("1 時間 30 分", "1小时30分钟")."""
    shown = [
        format_unit(value, unit, length="short", format="00" if padded else None, locale=locale)
        for value, unit, padded in parts
    ]
    return format_list(shown, style="unit-short", locale=locale)


def format_elapsed(seconds: float, locale: str = ENGLISH_UNITS) -> str:
    """A clock as a progress message shows it: `45 s`, `4 min 05 s`, `3 min`, `1 h 02 min`, in the
    units of `locale` (a Babel locale such as `ja` or `zh_CN`; English by default)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if locale != ENGLISH_UNITS:
        if hours:
            return _units([(hours, "duration-hour", False), (minutes, "duration-minute", True)], locale)
        if minutes:
            parts = [(minutes, "duration-minute", False)] + (
                [(secs, "duration-second", True)] if secs else []
            )
            return _units(parts, locale)
        return _units([(secs, "duration-second", False)], locale)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


def format_wait(seconds: int, locale: str = ENGLISH_UNITS) -> str:
    """A wait as a rule states it: `45 s`, `5 min`, `1 h 30 min`, in the units of `locale` (a Babel
    locale such as `ja` or `zh_CN`; English by default)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if locale != ENGLISH_UNITS:
        named = [(hours, "duration-hour"), (minutes, "duration-minute"), (secs, "duration-second")]
        return _units(
            [(value, unit, False) for value, unit in named if value] or [(0, "duration-second", False)],
            locale,
        )
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(part for part in parts if part) or "0 s"


def seconds_choices(durations: Iterable[int]) -> str:
    """`5 or 10` for a few lengths, `3–15` for a run of consecutive ones (in seconds)."""
    values = sorted(set(durations))
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}–{values[-1]}"
    return join_or(str(value) for value in values)

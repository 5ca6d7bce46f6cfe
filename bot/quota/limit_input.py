"""Moderators' input for `/limits set` and the panel's forms, parsed: caps, counts, waits, model and
mode lists, blocked words. Pure (no Discord), so the panel and the command share every rule.

A bad value raises `LimitInputError` (a `ValueError` carrying a translatable text): the Discord side
names the option it came from and shows the text in the moderator's language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from bot.echo import quoted
from bot.kling.models import Mode, Model, parse_model
from bot.quota.models import LimitUnit
from bot.quota.text import normalise_for_matching
from bot.refusals import N_, AnyOf, InvalidValue


class LimitInputError(InvalidValue):
    """A value a moderator typed that can't be used; `str()` is English, `text` translatable."""


NO_LIMIT_WORDS = frozenset({"", "none", "no limit", "unlimited", "off", "-", "∞"})
ALL_WORDS = frozenset({"", "all", "any", "*"})
_MAX_COOLDOWN_SECONDS = 7 * 24 * 3600
_COOLDOWN = re.compile(
    r"(?:(\d+)\s*h(?:ours?|rs?)?)?\s*(?:(\d+)\s*m(?:in(?:ute)?s?)?)?\s*(?:(\d+)\s*s(?:ec(?:ond)?s?)?)?"
)
_LIST_SEPARATORS = re.compile(r"[,;\s]+")
_E = TypeVar("_E")


def parse_limit_value(text: str) -> float | None:
    """A cap typed by a moderator: "10" -> 10.0, "2.5" -> 2.5, "0" -> 0.0 (nothing allowed),
    "none" / "" / "unlimited" -> None (no limit). ValueError with a friendly message otherwise."""
    cleaned = text.strip().lower()
    if cleaned in NO_LIMIT_WORDS:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise LimitInputError(
            N_("{value} isn't a number; type a number like 10, or none for no limit."),
            value=quoted(text.strip()),
        ) from None
    if not math.isfinite(value):
        raise LimitInputError(N_("Type a number like 10, or none for no limit."))
    if value < 0:
        raise LimitInputError(
            N_("A limit can't be negative; type 0 to stop all videos, or none for no limit.")
        )
    return value


def parse_whole_number(text: str) -> int | None:
    """Like `parse_limit_value` for counts (videos at once, seconds): whole numbers only."""
    value = parse_limit_value(text)
    if value is None:
        return None
    if not value.is_integer():
        raise LimitInputError(
            N_("Type a whole number, not {value}, or none for no limit."), value=quoted(text.strip())
        )
    return int(value)


def parse_cooldown(text: str) -> int:
    """Seconds between a member's videos: "0" / "none" -> 0, "30" / "30s" -> 30, "5m" -> 300,
    "1h30m" -> 5400; at most 7 days."""
    cleaned = text.strip().lower()
    if cleaned in NO_LIMIT_WORDS:
        return 0
    if cleaned.isdigit():
        seconds = int(cleaned)
    else:
        match = _COOLDOWN.fullmatch(cleaned)
        if match is None or not any(match.groups()):
            raise LimitInputError(
                N_("{value} isn't a wait I understand; type it like 30s, 5m or 1h30m, or 0 for none."),
                value=quoted(text.strip()),
            )
        hours, minutes, secs = (int(group or 0) for group in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds > _MAX_COOLDOWN_SECONDS:
        raise LimitInputError(N_("The wait between videos can be at most 7 days."))
    return seconds


def _parse_names(
    text: str, parse: Callable[[str], _E], known: Iterable[str], unknown: str
) -> frozenset[_E] | None:
    if text.strip().lower() in ALL_WORDS:
        return None
    chosen = set()
    for name in (part for part in _LIST_SEPARATORS.split(text.strip()) if part):
        try:
            chosen.add(parse(name))
        except ValueError:
            raise LimitInputError(unknown, name=quoted(name), known=AnyOf(known)) from None
    return frozenset(chosen)


def parse_models(text: str) -> frozenset[Model] | None:
    """Allowed models: "kling-v3, kling-video-o1" -> those; "all" / "" -> None (every model)."""
    return _parse_names(
        text,
        parse_model,
        [model.value for model in Model],
        N_("I don't know the model {name}; use {known}, or all for every model."),
    )


def parse_modes(text: str) -> frozenset[Mode] | None:
    """Allowed modes: "std, pro" -> those; "all" / "" -> None (every mode)."""
    return _parse_names(
        text,
        lambda name: Mode(name.lower()),
        [mode.value for mode in Mode],
        N_("I don't know the mode {name}; use {known}, or all for every mode."),
    )


def parse_unit(text: str) -> LimitUnit:
    try:
        return LimitUnit(text.strip().lower())
    except ValueError:
        raise LimitInputError(N_("Limits can count videos or credits; type videos or credits.")) from None


def parse_blocked_words(text: str) -> tuple[str, ...]:
    """Words or phrases separated by commas or new lines; blanks and repeats (after folding) dropped."""
    words: dict[str, str] = {}
    for raw in re.split(r"[,\n]", text):
        word = raw.strip()
        key = normalise_for_matching(word)
        if key and key not in words:
            words[key] = word
    return tuple(words.values())

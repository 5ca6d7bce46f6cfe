"""The sane range of every number a moderator can set, in one table.

`/limits set`, role caps and any other form that edits `GuildLimits` check a typed number with
`check_in_range(option, value)`, so a refusal always names the option and its range the same way.
`GuildLimits` clamps values into these ranges when it is read (`clamp`), so a value stored before the
ranges existed (a twenty-digit `guild_concurrent`, say) can never reach the database layer or the
scheduler: no job is ever admitted that the runner could not start.

The ranges are documented in README.md ("Limits a moderator can set"); keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.kling.capabilities import allowed_durations, allowed_modes
from bot.kling.models import Model
from bot.refusals import N_, InvalidValue, Text


@dataclass(frozen=True, slots=True)
class NumberRange:
    """Inclusive bounds of one setting, and the word for what it counts."""

    low: int
    high: int
    #: The range in words, a message id (`N_`) with `{low}` and `{high}`: "{low} to {high} seconds".
    #: Whole, so each language words the range with its unit as its grammar wants.
    wording: str
    whole: bool = True

    def describe(self) -> str:
        return self.text().render()

    def text(self) -> Text:
        """ "1 to 20 videos at once", translated when shown."""
        return Text(self.wording, {"low": f"{self.low:,}", "high": f"{self.high:,}"})

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def clamp(self, value: float) -> float:
        return min(max(value, self.low), self.high)


def _video_seconds() -> tuple[int, int]:
    """The shortest and longest video any model makes: a max_duration outside them means nothing."""
    durations = [
        seconds
        for model in Model
        for mode in allowed_modes(model)
        for seconds in allowed_durations(model, mode)
    ]
    return min(durations), max(durations)


OUT_OF_RANGE = N_("must be from {range}; {value} is out of range.")
_THAT_NUMBER = N_("that number")

#: A server of a few thousand active members making a video each per day stays far inside these.
_BUDGET_PER_DAY = NumberRange(0, 1_000_000, N_("{low} to {high} videos or credits"), whole=False)
_BUDGET_PER_MONTH = NumberRange(0, 30_000_000, N_("{low} to {high} videos or credits"), whole=False)

#: Option name (as the slash commands spell it) -> its range. The one table every form validates with.
LIMIT_RANGES: Mapping[str, NumberRange] = {
    "guild_daily": _BUDGET_PER_DAY,
    "guild_monthly": _BUDGET_PER_MONTH,
    "member_daily": _BUDGET_PER_DAY,
    "member_monthly": _BUDGET_PER_MONTH,
    # Role caps (`/limits roles cap daily:… monthly:…`) are member allowances.
    "daily": _BUDGET_PER_DAY,
    "monthly": _BUDGET_PER_MONTH,
    "member_concurrent": NumberRange(1, 20, N_("{low} to {high} videos at once")),
    # AceData renders a handful of tasks per account at once; more would only wait in its queue.
    "guild_concurrent": NumberRange(1, 100, N_("{low} to {high} videos at once")),
    "member_cooldown": NumberRange(0, 7 * 24 * 3600, N_("{low} to {high} seconds")),
    "max_duration": NumberRange(*_video_seconds(), N_("{low} to {high} seconds")),
}

#: `GuildLimits` field -> the option that sets it, where the names differ.
FIELD_OPTIONS: Mapping[str, str] = {"member_cooldown_seconds": "member_cooldown"}


def check_in_range(option: str, value: float | None) -> None:
    """`InvalidValue` (a ValueError with a translatable text) naming the range when `value`
    (None = no limit, always fine) is outside it."""
    if value is None:
        return
    bounds = LIMIT_RANGES[option]
    if not bounds.contains(value):
        shown: str | Text = f"{value:,.0f}" if abs(value) < 1e15 else Text(_THAT_NUMBER)
        raise InvalidValue(OUT_OF_RANGE, range=bounds.text(), value=shown)


def clamp_field(field: str, value: float | None) -> float | None:
    """A stored value brought back into its range (None stays None)."""
    if value is None:
        return None
    bounds = LIMIT_RANGES[FIELD_OPTIONS.get(field, field)]
    return bounds.clamp(value)

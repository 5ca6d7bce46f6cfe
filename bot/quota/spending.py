"""A server's spending per day, in the unit its limits count, and where the month is heading.

Pure functions of the per-day totals storage returns, so `/usage`'s chart and its sentence
("at this pace the monthly budget runs out on …") are tested without a database or Discord.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from bot.quota.amounts import format_amount
from bot.quota.models import LimitUnit


@dataclass(frozen=True, slots=True)
class DayTotal:
    """Spent videos and credits on one day (released jobs excluded)."""

    day: date
    videos: int
    credits: float

    def amount(self, unit: LimitUnit) -> float:
        return self.credits if unit is LimitUnit.CREDITS else float(self.videos)


@dataclass(frozen=True, slots=True)
class MonthProjection:
    """Where the month's spending heads if every day ahead spends the month's average so far."""

    spent: float
    limit: float | None
    today: date
    #: Average per day over the days of the month so far (today included).
    pace: float
    #: The day the budget runs out at this pace; None when there is no limit or it lasts the month.
    runs_out_on: date | None
    #: What the month would total at this pace by its last day.
    month_end_total: float

    @property
    def used_up(self) -> bool:
        return self.limit is not None and self.spent >= self.limit

    def sentence(self, unit: LimitUnit) -> str:
        if self.limit is None:
            return (
                f"No monthly limit is set; at this pace the month ends near "
                f"{format_amount(self.month_end_total, unit)}."
            )
        limit = format_amount(self.limit, unit)
        if self.used_up:
            return f"The monthly budget of {limit} is used up; it resets on {_day(next_month(self.today))}."
        if self.pace <= 0:
            return f"Nothing spent this month yet; the monthly budget is {limit}."
        if self.runs_out_on is None:
            return (
                f"At this pace the monthly budget lasts the month: about "
                f"{format_amount(self.month_end_total, unit)} of {limit} by its end."
            )
        return f"At this pace the monthly budget of {limit} runs out on {_day(self.runs_out_on)}."


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def last_day_of_month(day: date) -> date:
    return next_month(day) - timedelta(days=1)


def project_month(
    month_totals: Iterable[DayTotal], *, today: date, unit: LimitUnit, limit: float | None
) -> MonthProjection:
    """`month_totals`: the days of `today`'s month (others are ignored)."""
    spent = sum(
        t.amount(unit) for t in month_totals if (t.day.year, t.day.month) == (today.year, today.month)
    )
    elapsed = today.day
    pace = spent / elapsed
    month_end = last_day_of_month(today)
    month_end_total = spent + pace * (month_end - today).days
    runs_out_on = None
    if limit is not None and pace > 0 and spent < limit:
        # Spending `pace` a day from tomorrow on, the first day whose total reaches the limit.
        candidate = today + timedelta(days=max(1, math.ceil((limit - spent) / pace - 1e-9)))
        runs_out_on = candidate if candidate <= month_end else None
    return MonthProjection(spent, limit, today, pace, runs_out_on, month_end_total)


@dataclass(frozen=True, slots=True)
class SpendingWindow:
    """Everything the `/usage` chart draws: one bar per day and the month so far."""

    unit: LimitUnit
    #: Every day of the window, oldest first, with 0 for days without spending.
    days: tuple[DayTotal, ...]
    daily_limit: float | None
    monthly_limit: float | None
    #: Every day of the current month up to today (running total drawn against the monthly limit).
    month: tuple[DayTotal, ...]
    projection: MonthProjection


def window_start(today: date, days: int) -> date:
    """First day of a `days`-day window ending today; or the month's first day, if earlier, since the
    projection needs the whole month."""
    return min(today - timedelta(days=days - 1), today.replace(day=1))


def spending_window(
    totals: Mapping[date, DayTotal] | Iterable[DayTotal],
    *,
    today: date,
    days: int,
    unit: LimitUnit,
    daily_limit: float | None,
    monthly_limit: float | None,
) -> SpendingWindow:
    by_day = dict(totals) if isinstance(totals, Mapping) else {t.day: t for t in totals}

    def on(day: date) -> DayTotal:
        return by_day.get(day, DayTotal(day, 0, 0.0))

    window = tuple(on(today - timedelta(days=back)) for back in range(days - 1, -1, -1))
    month = tuple(on(today.replace(day=number)) for number in range(1, today.day + 1))
    projection = project_month(month, today=today, unit=unit, limit=monthly_limit)
    return SpendingWindow(unit, window, daily_limit, monthly_limit, month, projection)

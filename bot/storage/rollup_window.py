"""Which rollup rows answer a `/usage` window: shared by the SQLite and PostgreSQL backends.

A window runs from `since` to now. Its first, partial UTC day is read from the job rows by time; every
whole UTC day after it from the rollups (migrations 003 and 008). Whole months come from the per-month
rows. The days of the window's first month come from the per-day rows, either added (the days from
the first whole day to the month's end) or subtracted from that month's row (the days of the month
before the first whole day), whichever is fewer. So a member costs at most one row per month plus
fifteen day rows, whatever the window's length and however long the server's history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Sorts before every day and month key: "everything".
_BEGINNING = "0000-00-00"


@dataclass(frozen=True, slots=True)
class UsageWindow:
    """Query parameters: jobs with `since` <= created_at < `full_from` are read from the job rows;
    month rows with month >= `month_from` are added, day rows in [`add_from`, `add_to`) added and
    day rows in [`take_from`, `take_to`) subtracted (empty ranges when from == to)."""

    since: float
    full_from: float
    month_from: str
    add_from: str
    add_to: str
    take_from: str
    take_to: str

    def params(self) -> dict[str, float | str]:
        return {
            "since": self.since,
            "full_from": self.full_from,
            "month_from": self.month_from,
            "add_from": self.add_from,
            "add_to": self.add_to,
            "take_from": self.take_from,
            "take_to": self.take_to,
        }


def usage_window(since: float) -> UsageWindow:
    if not math.isfinite(since):
        return UsageWindow(since, since, _BEGINNING[:7], _BEGINNING, _BEGINNING, _BEGINNING, _BEGINNING)
    moment = datetime.fromtimestamp(since, UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    first_day = midnight if midnight == moment else midnight + timedelta(days=1)
    month_start = first_day.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    day_key = first_day.strftime("%Y-%m-%d")
    if first_day == month_start:
        return UsageWindow(since, first_day.timestamp(), day_key[:7], day_key, day_key, day_key, day_key)
    days_after = (next_month - first_day).days
    days_before = (first_day - month_start).days
    if days_after <= days_before:
        # Add the rest of this month day by day; months from the next one on.
        next_key = next_month.strftime("%Y-%m-%d")
        return UsageWindow(since, first_day.timestamp(), next_key[:7], day_key, next_key, day_key, day_key)
    # This month's row and every later one, minus the days of this month before the window.
    return UsageWindow(
        since,
        first_day.timestamp(),
        day_key[:7],
        day_key,
        day_key,
        month_start.strftime("%Y-%m-%d"),
        day_key,
    )

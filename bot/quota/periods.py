"""Quota periods: which day and month a moment belongs to in a server's time zone, and when they end.

A job is counted in the day and month of the moment it was reserved, as seen in the server's zone, so
"daily" resets at the server's midnight rather than UTC's. Time zones come from the IANA database
(`zoneinfo`): the system copy, or the `tzdata` package when installed. "UTC" never needs that data,
so a machine without any zone files still works with the default zone.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, tzinfo

from bot.echo import quoted
from bot.refusals import N_, InvalidValue

NO_ZONE_DATA = N_(
    "This machine has no time zone data, so only UTC can be used for now "
    "(the bot's operator can install the `tzdata` package to allow other zones)."
)
UNKNOWN_ZONE = N_(
    "I don't know the time zone {zone}. Use an IANA name such as Europe/Paris, America/New_York or "
    "Asia/Tokyo, or UTC."
)

# Names that mean UTC and are answered without zone files (compared case-insensitively).
_UTC_NAMES = {"utc": "UTC", "etc/utc": "UTC", "z": "UTC", "gmt": "UTC", "etc/gmt": "UTC", "zulu": "UTC"}


def _zone(name: str) -> tzinfo:
    """The tzinfo for `name`; ValueError with a friendly message when it is unknown."""
    if name.strip().lower() in _UTC_NAMES:
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return zoneinfo.ZoneInfo(validate_timezone(name))


def validate_timezone(name: str) -> str:
    """The canonical IANA name for `name` (any letter case), or `InvalidValue` (a ValueError with a
    friendly, translatable message)."""
    cleaned = name.strip()
    if cleaned.lower() in _UTC_NAMES:
        return _UTC_NAMES[cleaned.lower()]
    try:
        zoneinfo.ZoneInfo(cleaned)
        return cleaned
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    known = zoneinfo.available_timezones()
    if not known:
        raise InvalidValue(NO_ZONE_DATA)
    # Moderators type "europe/paris"; the database spells it "Europe/Paris".
    match = {key.casefold(): key for key in known}.get(cleaned.casefold())
    if match is None:
        raise InvalidValue(UNKNOWN_ZONE, zone=quoted(cleaned, 60))
    return match


def _local(now: datetime | float, tz: str) -> datetime:
    zone = _zone(tz)
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            # A naive datetime could be local time or UTC; guessing would shift quota days silently.
            raise ValueError("`now` must be a timezone-aware datetime or epoch seconds")
        return now.astimezone(zone)
    return datetime.fromtimestamp(now, zone)


def period_keys(now: datetime | float, tz: str) -> tuple[str, str]:
    """("YYYY-MM-DD", "YYYY-MM") of `now` (aware datetime or epoch seconds) in time zone `tz`."""
    local = _local(now, tz)
    return local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")


def _start_of(day: date, zone: tzinfo) -> float:
    # fold=0: when midnight is skipped by a DST jump this lands on the jump itself, and when midnight
    # happens twice it is the first one, so the new day starts at its earliest instant either way.
    return datetime.combine(day, time(0), tzinfo=zone).timestamp()


def next_resets(now: datetime | float, tz: str) -> tuple[float, float]:
    """Epoch seconds of the start of the next day and of the next month in time zone `tz`."""
    local = _local(now, tz)
    zone = local.tzinfo
    assert zone is not None
    today = local.date()
    tomorrow = date.fromordinal(today.toordinal() + 1)
    next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return _start_of(tomorrow, zone), _start_of(next_month, zone)


def local_date(now: datetime | float, tz: str) -> date:
    """The calendar day `now` falls on in time zone `tz`."""
    return _local(now, tz).date()


def day_start(day: date, tz: str) -> float:
    """Epoch seconds of the first instant of `day` in time zone `tz`."""
    return _start_of(day, _zone(tz))

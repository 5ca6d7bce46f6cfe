"""Quota periods: day and month keys in a server's time zone, and when they reset."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.quota import periods
from bot.quota.periods import next_resets, period_keys, validate_timezone

needs_zone_data = pytest.mark.skipif(
    not zoneinfo.available_timezones(), reason="this machine has no IANA time zone data"
)

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
# Chile moves its clocks from 24:00 to 01:00 when summer time starts: that midnight never happens.
SANTIAGO = "America/Santiago"


def at(tz: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zoneinfo.ZoneInfo(tz))


def test_epoch_seconds_in_utc() -> None:
    assert period_keys(0.0, "UTC") == ("1970-01-01", "1970-01")
    assert next_resets(0.0, "UTC") == (86400.0, 31 * 86400.0)


@needs_zone_data
def test_last_second_of_a_day_and_first_seconds_of_the_next() -> None:
    assert period_keys(at(PARIS, 2024, 3, 15, 23, 59, 59), PARIS) == ("2024-03-15", "2024-03")
    assert period_keys(at(PARIS, 2024, 3, 16, 0, 0, 5), PARIS) == ("2024-03-16", "2024-03")


@needs_zone_data
def test_day_follows_the_server_zone_not_utc() -> None:
    moment = at(PARIS, 2024, 3, 15, 0, 30)  # 23:30 UTC the day before
    assert period_keys(moment, PARIS) == ("2024-03-15", "2024-03")
    assert period_keys(moment, "UTC") == ("2024-03-14", "2024-03")
    assert period_keys(moment.timestamp(), PARIS) == ("2024-03-15", "2024-03")


@needs_zone_data
def test_month_end_in_a_zone_behind_utc() -> None:
    last = at(NEW_YORK, 2024, 1, 31, 23, 59, 59)
    assert period_keys(last, NEW_YORK) == ("2024-01-31", "2024-01")
    assert period_keys(last, "UTC") == ("2024-02-01", "2024-02")
    assert period_keys(at(NEW_YORK, 2024, 2, 1, 0, 0, 5), NEW_YORK) == ("2024-02-01", "2024-02")
    day_reset, month_reset = next_resets(last, NEW_YORK)
    assert day_reset == month_reset == at(NEW_YORK, 2024, 2, 1).timestamp() == last.timestamp() + 1


@needs_zone_data
@pytest.mark.parametrize(
    ("day", "hours"),
    [((2024, 3, 31), 23), ((2024, 10, 27), 25), ((2024, 3, 30), 24)],
    ids=["spring-forward", "fall-back", "ordinary"],
)
def test_days_across_a_dst_change_are_as_long_as_the_clock_says(
    day: tuple[int, int, int], hours: int
) -> None:
    morning = at(PARIS, *day, 1, 30)
    start, _ = next_resets(morning - timedelta(days=1), PARIS)
    end, _ = next_resets(morning, PARIS)
    assert end - start == hours * 3600
    assert period_keys(start, PARIS)[0] == "{:04d}-{:02d}-{:02d}".format(*day)
    assert period_keys(end - 1, PARIS)[0] == "{:04d}-{:02d}-{:02d}".format(*day)


@needs_zone_data
def test_a_skipped_midnight_starts_the_day_at_the_jump() -> None:
    day_reset, _ = next_resets(at(SANTIAGO, 2024, 9, 7, 12, 0), SANTIAGO)
    assert day_reset == datetime(2024, 9, 8, 4, 0, tzinfo=UTC).timestamp()
    assert period_keys(day_reset - 1, SANTIAGO)[0] == "2024-09-07"
    assert period_keys(day_reset, SANTIAGO)[0] == "2024-09-08"


@needs_zone_data
def test_next_month_across_the_year_end() -> None:
    _, month_reset = next_resets(at(PARIS, 2024, 12, 15, 10, 0), PARIS)
    assert month_reset == at(PARIS, 2025, 1, 1).timestamp()


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_keys(datetime(2024, 1, 1, 12, 0), "UTC")


@needs_zone_data
def test_validate_timezone_canonicalises_names() -> None:
    assert validate_timezone(" europe/paris ") == PARIS
    assert validate_timezone(PARIS) == PARIS
    assert validate_timezone("utc") == "UTC"
    assert validate_timezone("Etc/UTC") == "UTC"


@needs_zone_data
@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "../../etc/passwd", "", "Europe/"])
def test_unknown_zones_get_a_friendly_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="Europe/Paris"):
        validate_timezone(name)
    with pytest.raises(ValueError):
        period_keys(0.0, name)


@needs_zone_data
def test_period_functions_accept_a_zone_in_any_letter_case() -> None:
    assert period_keys(at(PARIS, 2024, 3, 15, 0, 30), "europe/paris") == ("2024-03-15", "2024-03")


def test_utc_works_without_any_zone_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_data(key: str) -> zoneinfo.ZoneInfo:
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(periods.zoneinfo, "ZoneInfo", no_data)
    monkeypatch.setattr(periods.zoneinfo, "available_timezones", set)
    assert validate_timezone("UTC") == "UTC"
    assert period_keys(86400 * 31 - 1, "UTC") == ("1970-01-31", "1970-01")
    assert next_resets(10.0, "UTC") == (86400.0, 31 * 86400.0)
    with pytest.raises(ValueError, match="tzdata"):
        validate_timezone(PARIS)


ZONES = [*sorted(zoneinfo.available_timezones() & {PARIS, NEW_YORK, SANTIAGO, "Asia/Kolkata"}), "UTC"]


@given(
    moment=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),  # 1970 .. 2100
    tz=st.sampled_from(ZONES),
)
def test_resets_are_the_first_instants_of_the_next_periods(moment: float, tz: str) -> None:
    day, month = period_keys(moment, tz)
    day_reset, month_reset = next_resets(moment, tz)
    assert moment < day_reset <= month_reset
    assert period_keys(day_reset - 0.001, tz)[0] == day
    assert period_keys(day_reset, tz)[0] > day
    assert period_keys(month_reset - 0.001, tz)[1] == month
    assert period_keys(month_reset, tz)[1] > month

"""`/usage` without Discord: the month's projection, the chart as a real PNG, the CSV parsed back."""

from __future__ import annotations

import csv
import io
import logging
import warnings
from datetime import date

import pytest
from PIL import Image

from bot.discord_app import chart_fonts, usage_chart
from bot.discord_app.usage_chart import BACKGROUND, ChartTexts, chart_texts, render_usage_chart
from bot.discord_app.usage_report import (
    CSV_COLUMNS,
    day_totals,
    projection_text,
    usage_csv,
    usage_embed,
)
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.models import LimitUnit
from bot.quota.spending import DayTotal, SpendingWindow, project_month, spending_window
from bot.storage.base import DayUsage, Job, JobState, UsageReport
from tests.cjk_font import require_cjk_font

TODAY = date(2026, 11, 10)


def days(*amounts: float, month: int = 11) -> list[DayTotal]:
    return [DayTotal(date(2026, month, n), int(a), float(a)) for n, a in enumerate(amounts, start=1)]


def test_the_projection_names_the_day_the_budget_runs_out() -> None:
    # 10 days at 10 credits a day: 100 of 150 spent, 5 more days of spending reach the limit.
    projection = project_month(days(*[10] * 10), today=TODAY, unit=LimitUnit.CREDITS, limit=150)
    assert projection.pace == 10 and projection.runs_out_on == date(2026, 11, 15)
    assert projection.sentence(LimitUnit.CREDITS) == (
        "At this pace the monthly budget of 150 credits runs out on Sun 15 Nov."
    )


def test_the_projection_when_the_budget_lasts_is_used_up_or_missing() -> None:
    lasting = project_month(days(*[1] * 10), today=TODAY, unit=LimitUnit.VIDEOS, limit=100)
    assert lasting.runs_out_on is None and lasting.month_end_total == 30
    assert "lasts the month: about 30 videos of 100 videos" in lasting.sentence(LimitUnit.VIDEOS)
    used_up = project_month(days(*[20] * 10), today=TODAY, unit=LimitUnit.VIDEOS, limit=100)
    assert used_up.used_up and "resets on Tue 1 Dec" in used_up.sentence(LimitUnit.VIDEOS)
    nothing = project_month([], today=TODAY, unit=LimitUnit.VIDEOS, limit=100)
    assert nothing.sentence(LimitUnit.VIDEOS).startswith("Nothing spent this month yet")
    unlimited = project_month(days(*[2] * 10), today=TODAY, unit=LimitUnit.VIDEOS, limit=None)
    assert unlimited.sentence(LimitUnit.VIDEOS).startswith("No monthly limit is set")
    # Days of last month never count toward this month's pace.
    other_month = project_month(days(*[50] * 5, month=10), today=TODAY, unit=LimitUnit.VIDEOS, limit=10)
    assert other_month.spent == 0


def test_the_window_fills_days_without_spending() -> None:
    window = spending_window(
        [DayTotal(date(2026, 11, 9), 2, 7.5)],
        today=TODAY,
        days=14,
        unit=LimitUnit.CREDITS,
        daily_limit=20,
        monthly_limit=300,
    )
    assert len(window.days) == 14 and window.days[0].day == date(2026, 10, 28)
    assert [d.amount(LimitUnit.CREDITS) for d in window.days[-3:]] == [0.0, 7.5, 0.0]
    assert len(window.month) == 10


def test_the_chart_is_a_real_png_of_sensible_size_on_a_dark_background() -> None:
    seeded = [DayUsage(f"2026-11-{n:02d}", n % 3, 3.5 * (n % 3)) for n in range(1, 11)]
    seeded.append(DayUsage("not-a-day", 1, 1.0))  # skipped, never a crash
    window = spending_window(
        day_totals(seeded),
        today=TODAY,
        days=30,
        unit=LimitUnit.CREDITS,
        daily_limit=8,
        monthly_limit=60,
    )
    png = render_usage_chart(window)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 10_000 < len(png) < 1_000_000
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG" and image.size == (900, 600)
        corner = image.convert("RGB").getpixel((2, 2))
    assert corner == tuple(int(BACKGROUND[i : i + 2], 16) for i in (1, 3, 5))


def test_the_chart_draws_an_empty_server_and_a_full_year() -> None:
    for span in (1, 365):
        window = spending_window(
            [], today=TODAY, days=span, unit=LimitUnit.VIDEOS, daily_limit=None, monthly_limit=None
        )
        with Image.open(io.BytesIO(render_usage_chart(window))) as image:
            assert image.size == (900, 600)


def job(number: int, state: JobState, prompt: str) -> Job:
    request = VideoRequest(
        action=Action.TEXT2VIDEO, prompt=prompt, model=Model.V1, mode=Mode.PRO, duration=10
    )
    return Job(
        id=f"job-{number}",
        interaction_id=None,
        guild_id=1,
        channel_id=2,
        message_id=None,
        member_id=300 + number,
        request=request,
        cost=3.5,
        size_limit=1,
        day_key="2026-11-10",
        month_key="2026-11",
        state=state,
        created_at=1_762_732_800.0 + number,
        updated_at=0.0,
        error_code="upstream_error" if state is JobState.FAILED else None,
    )


def test_the_csv_parses_back_with_one_row_per_job() -> None:
    jobs = [
        job(1, JobState.DELIVERED, 'a fox, "quoted"\nsecond line'),
        job(2, JobState.FAILED, "=HYPERLINK('x')"),
    ]
    data = usage_csv(jobs)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 2
    first, second = rows
    assert first["job_id"] == "job-1" and first["member_id"] == "301"
    assert first["prompt"] == 'a fox, "quoted"\nsecond line'
    assert (first["model"], first["mode"], first["duration_s"], first["cost_credits"]) == (
        "kling-v1",
        "pro",
        "10",
        "3.5",
    )
    assert (first["counted"], second["counted"], second["state"]) == ("yes", "no", "failed")
    assert first["created_at_utc"] == "2025-11-10 00:00:01"
    assert second["prompt"] == "'=HYPERLINK('x')"  # never run as a formula by a spreadsheet
    assert usage_csv([]).decode("utf-8-sig").strip() == ",".join(CSV_COLUMNS)


def test_the_embed_shows_the_projection_and_the_chart() -> None:
    report = UsageReport(since=0.0, total_videos=1, total_credits=2.0, failures=0)
    embed = usage_embed(report, days=7, projection="At this pace …", chart=True)
    assert "At this pace" in (embed.description or "")
    assert embed.image.url == "attachment://usage.png"


# --- the chart in the member's language ---------------------------------------------------------


def sample_window() -> SpendingWindow:
    seeded = [DayUsage(f"2026-11-{n:02d}", n % 3, 1_200.5 * (n % 3)) for n in range(1, 11)]
    return spending_window(
        day_totals(seeded),
        today=TODAY,
        days=30,
        unit=LimitUnit.CREDITS,
        daily_limit=3_000,
        monthly_limit=20_000,
    )


def render_recording_warnings(window: SpendingWindow, locale: str | None) -> tuple[bytes, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = render_usage_chart(window, locale=locale)
    return png, [str(warning.message) for warning in caught]


def test_english_chart_texts_are_the_ones_it_always_had() -> None:
    window = sample_window()
    texts = chart_texts(window, [date(2026, 10, 14), date(2026, 11, 10)])
    assert texts == ChartTexts(
        daily_title="Spending: credits per day",
        daily_axis="Credits per day",
        day_labels=("14 Oct", "10 Nov"),
        spent="Spent",
        daily_limit="Daily limit",
        pace="At this pace",
        monthly_limit="Monthly limit",
        month_axis="Day of November 2026",
        monthly_axis="Credits this month",
        projection=window.projection.sentence(LimitUnit.CREDITS),
    )
    videos = spending_window(
        [], today=TODAY, days=7, unit=LimitUnit.VIDEOS, daily_limit=None, monthly_limit=None
    )
    english_videos = chart_texts(videos, [])
    assert (english_videos.daily_title, english_videos.monthly_axis) == (
        "Spending: videos per day",
        "Videos this month",
    )
    # A language without a catalog (and no language at all) draws the very same English chart.
    english = render_usage_chart(window)
    assert render_usage_chart(window, locale="en-US") == english
    assert render_usage_chart(window, locale="fr") == english


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("ja", ("利用量：1日あたりのクレジット", "11月10日", "2026年11月の日付", "月間上限")),
        ("zh-CN", ("消耗：每日积分", "11月10日", "2026年11月的日期", "每月上限")),
    ],
)
def test_the_chart_speaks_japanese_and_chinese_with_a_real_font(locale: str, words: tuple[str, ...]) -> None:
    require_cjk_font()
    window = sample_window()
    texts = chart_texts(window, [date(2026, 11, 10)], locale)
    drawn = texts.joined()
    assert all(word in drawn for word in words), drawn
    assert texts.projection == projection_text(window.projection, LimitUnit.CREDITS, locale)

    png, messages = render_recording_warnings(window, locale)
    # matplotlib warns "Glyph … missing from font(s) …" for every character it draws as a box.
    assert not [m for m in messages if "missing from font" in m], messages
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG" and image.size == (900, 600)
    assert png != render_usage_chart(window)


def test_without_a_cjk_font_the_chart_is_drawn_in_english_and_the_operator_told_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No font but matplotlib's own (whose Last Resort "glyphs" are boxes, never counted).
    monkeypatch.setattr(chart_fonts, "installed_fonts", lambda: [])
    monkeypatch.setattr(chart_fonts, "scan_system_fonts", lambda: 0)
    monkeypatch.setattr(usage_chart, "_reported", set())
    window = sample_window()
    with caplog.at_level(logging.WARNING, logger=usage_chart.__name__):
        png, messages = render_recording_warnings(window, "ja")
        render_usage_chart(window, locale="ja")
    assert not [m for m in messages if "missing from font" in m], messages
    assert png == render_usage_chart(window)  # exactly the English chart, not boxes
    warned = [r.getMessage() for r in caplog.records if "fonts-droid-fallback" in r.getMessage()]
    assert len(warned) == 1 and "ja" in warned[0]


def test_a_font_counts_only_when_it_has_every_glyph(monkeypatch: pytest.MonkeyPatch) -> None:
    latin_only = chart_fonts.InstalledFont("Latin Only", "/nowhere/latin.ttf")
    monkeypatch.setattr(chart_fonts, "installed_fonts", lambda: [latin_only])
    monkeypatch.setattr(chart_fonts, "scan_system_fonts", lambda: 0)
    assert chart_fonts.font_families("Spent 1,200") == [chart_fonts.DEFAULT_FAMILY]
    assert chart_fonts.font_families("使用済み") is None  # an unreadable file covers nothing


def test_the_font_report_names_the_font_of_each_language(monkeypatch: pytest.MonkeyPatch) -> None:
    require_cjk_font()
    report = usage_chart.font_report(TODAY)
    assert set(report) == {"ja", "zh-CN"}
    assert all(
        families and families[0] == chart_fonts.DEFAULT_FAMILY and len(families) == 2
        for families in report.values()
    )
    monkeypatch.setattr(chart_fonts, "installed_fonts", lambda: [])
    monkeypatch.setattr(chart_fonts, "scan_system_fonts", lambda: 0)
    assert usage_chart.font_report(TODAY) == {"ja": None, "zh-CN": None}

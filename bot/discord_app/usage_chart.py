"""`/usage`'s chart: spending per day against the daily limit, and the month's running total against
the monthly limit with its projection, as PNG bytes.

Plain matplotlib on the Agg backend through `Figure` objects (never pyplot, whose global state is
not thread-safe), so the cog can render in a worker thread and tests can open the bytes with Pillow.
Colours are Discord's dark theme, where the image is usually seen; the figure has its own opaque
background so it stays legible in the light theme too.

The chart speaks the member's language (titles, axes, legend, dates and numbers through Babel) when
an installed font has its glyphs (`chart_fonts`); otherwise it is drawn in English, never in boxes,
and the operator is told once in the log how to fix it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import astuple, dataclass
from datetime import date
from typing import Any

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.discord_app import chart_fonts
from bot.discord_app.formatting import Locale
from bot.discord_app.i18n import N_, SHIPPED_LOCALES, babel_locale, t
from bot.discord_app.usage_report import projection_text
from bot.quota.models import LimitUnit
from bot.quota.spending import SpendingWindow, last_day_of_month, spending_window

log = logging.getLogger(__name__)

BACKGROUND = "#313338"  # Discord's dark chat background
PANEL = "#2b2d31"
TEXT = "#dbdee1"
GRID = "#4e5058"
BAR = "#5865f2"  # blurple
LIMIT = "#ed4245"  # red
RUNNING_TOTAL = "#57f287"  # green
PROJECTION = "#fee75c"  # yellow

WIDTH_INCHES, HEIGHT_INCHES, DPI = 9.0, 6.0, 100
#: Over this many days, bar labels would overlap: every n-th day is labelled instead.
_MAX_LABELS = 12


#: (credits, videos) wording of each label that names the unit.
_DAILY_TITLE = (N_("Spending: credits per day"), N_("Spending: videos per day"))
_DAILY_AXIS = (N_("Credits per day"), N_("Videos per day"))
_MONTHLY_AXIS = (N_("Credits this month"), N_("Videos this month"))
_MONTH_AXIS = N_("Day of {month}")
_SPENT = N_("Spent")
_DAILY_LIMIT = N_("Daily limit")
_PACE = N_("At this pace")
_MONTHLY_LIMIT = N_("Monthly limit")

#: Languages whose missing font was already reported (once per process each).
_reported: set[str] = set()


@dataclass(frozen=True, slots=True)
class ChartTexts:
    """Every word drawn on the chart, in one language."""

    daily_title: str
    daily_axis: str
    day_labels: tuple[str, ...]
    spent: str
    daily_limit: str
    pace: str
    monthly_limit: str
    month_axis: str
    monthly_axis: str
    projection: str

    def joined(self) -> str:
        return "".join(part if isinstance(part, str) else "".join(part) for part in astuple(self))


def _day_label(day: date, locale: Locale) -> str:
    if babel_locale(locale) == "en":
        return f"{day:%d %b}"
    return format_skeleton("MMMd", day, locale=babel_locale(locale))


def _month_name(day: date, locale: Locale) -> str:
    if babel_locale(locale) == "en":
        return f"{day:%B %Y}"
    return format_skeleton("yMMMM", day, locale=babel_locale(locale))


def chart_texts(window: SpendingWindow, labelled: list[date], locale: Locale = None) -> ChartTexts:
    """The chart's words in `locale` (English for None and any language without a catalog).
    `labelled`: the days under the daily bars that get a label."""
    which = 0 if window.unit is LimitUnit.CREDITS else 1
    today = window.month[-1].day
    english = babel_locale(locale) == "en"
    return ChartTexts(
        daily_title=t(locale, _DAILY_TITLE[which]),
        daily_axis=t(locale, _DAILY_AXIS[which]),
        day_labels=tuple(_day_label(day, locale) for day in labelled),
        spent=t(locale, _SPENT),
        daily_limit=t(locale, _DAILY_LIMIT),
        pace=t(locale, _PACE),
        monthly_limit=t(locale, _MONTHLY_LIMIT),
        month_axis=t(locale, _MONTH_AXIS, month=_month_name(today, locale)),
        monthly_axis=t(locale, _MONTHLY_AXIS[which]),
        # English keeps the projection's own sentence, as the chart always had it.
        projection=window.projection.sentence(window.unit)
        if english
        else projection_text(window.projection, window.unit, locale),
    )


def font_report(today: date) -> dict[str, list[str] | None]:
    """For `python -m bot check`: each shipped language -> the font families its chart is drawn
    with (None: no installed font has its glyphs, so its chart is drawn in English)."""
    window = spending_window([], today=today, days=30, unit=LimitUnit.CREDITS, daily_limit=1, monthly_limit=1)
    return {
        locale: chart_fonts.font_families(chart_texts(window, [today], locale).joined(), locale)
        for locale in SHIPPED_LOCALES
    }


def _families_for(
    window: SpendingWindow, labelled: list[date], locale: Locale
) -> tuple[ChartTexts, list[str] | None]:
    """The texts to draw and the font families that have their glyphs (None: matplotlib's default).
    Without a font for the member's language: the English texts, and one warning for the operator."""
    texts = chart_texts(window, labelled, locale)
    if babel_locale(locale) == "en":
        return texts, None
    families = chart_fonts.font_families(texts.joined(), str(locale))
    if families is None:
        if str(locale) not in _reported:
            _reported.add(str(locale))
            log.warning(
                "no installed font has the glyphs of %s: /usage charts are drawn in English for it. "
                "Install a CJK font (Debian: apt-get install fonts-droid-fallback) and restart the bot.",
                locale,
            )
        return chart_texts(window, labelled, None), None
    return texts, families if len(families) > 1 else None


def _style(axes: object) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    axes.set_facecolor(PANEL)
    for spine in axes.spines.values():
        spine.set_color(GRID)
    axes.tick_params(colors=TEXT, labelsize=10)
    axes.yaxis.label.set_color(TEXT)
    axes.grid(axis="y", color=GRID, linewidth=0.6, alpha=0.8)
    axes.set_axisbelow(True)


def render_usage_chart(window: SpendingWindow, *, locale: Locale = None) -> bytes:
    """A PNG (900×600) of `window`: bars per day with the daily limit, then the month so far, with
    its words in `locale` when an installed font can draw them (English otherwise)."""
    positions = list(range(len(window.days)))
    step = max(1, -(-len(positions) // _MAX_LABELS))
    ticks = positions[::-1][::step][::-1]
    texts, families = _families_for(window, [window.days[i].day for i in ticks], locale)
    # Only a language that needs another font changes the text's font: English stays as it was.
    font: dict[str, Any] = {"fontfamily": families} if families else {}

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    daily, monthly = figure.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1], "hspace": 0.55})
    _style(daily)
    _style(monthly)
    if babel_locale(locale) != "en" and families is not None:
        numbers = FuncFormatter(lambda value, _: format_decimal(value, locale=babel_locale(locale)))
        daily.yaxis.set_major_formatter(numbers)
        monthly.yaxis.set_major_formatter(numbers)

    amounts = [day.amount(window.unit) for day in window.days]
    daily.bar(positions, amounts, color=BAR, width=0.8, label=texts.spent)
    if window.daily_limit is not None:
        daily.axhline(window.daily_limit, color=LIMIT, linewidth=2, linestyle="--", label=texts.daily_limit)
    daily.set_xticks(ticks)
    daily.set_xticklabels(texts.day_labels, **font)
    daily.set_xlim(-0.6, len(positions) - 0.4)
    daily.set_ylim(bottom=0, top=max([*amounts, window.daily_limit or 0, 1]) * 1.15)
    daily.set_ylabel(texts.daily_axis, **font)
    daily.set_title(texts.daily_title, loc="left", fontsize=13, color=TEXT, **font)
    _legend(daily, families)

    month = window.month
    today = month[-1].day
    month_end = last_day_of_month(today)
    running, total = [], 0.0
    for day in month:
        total += day.amount(window.unit)
        running.append(total)
    days_of_month = [day.day.day for day in month]
    monthly.plot(
        days_of_month,
        running,
        color=RUNNING_TOTAL,
        linewidth=2.5,
        marker="o",
        markersize=3,
        label=texts.spent,
    )
    projection = window.projection
    end_total = projection.month_end_total
    if projection.pace > 0 and today < month_end:
        monthly.plot(
            [today.day, month_end.day],
            [total, end_total],
            color=PROJECTION,
            linewidth=2,
            linestyle=":",
            label=texts.pace,
        )
    if window.monthly_limit is not None:
        monthly.axhline(
            window.monthly_limit, color=LIMIT, linewidth=2, linestyle="--", label=texts.monthly_limit
        )
    if projection.runs_out_on is not None:
        monthly.axvline(projection.runs_out_on.day, color=PROJECTION, linewidth=1, alpha=0.7)
    monthly.set_xlim(0.5, month_end.day + 0.5)
    monthly.set_ylim(bottom=0, top=max(end_total, total, window.monthly_limit or 0, 1) * 1.15)
    monthly.set_xlabel(texts.month_axis, color=TEXT, **font)
    monthly.set_ylabel(texts.monthly_axis, **font)
    monthly.set_title(texts.projection, loc="left", fontsize=11, color=TEXT, wrap=True, **font)
    _legend(monthly, families)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=BACKGROUND)
    return buffer.getvalue()


def _legend(axes: object, families: list[str] | None) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    text: dict[str, Any] = {"prop": {"family": families, "size": 9}} if families else {"fontsize": 9}
    legend = axes.legend(loc="upper left", facecolor=BACKGROUND, edgecolor=GRID, labelcolor=TEXT, **text)
    legend.get_frame().set_alpha(0.9)

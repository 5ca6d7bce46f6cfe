"""`/usage`'s chart: spending per day against the daily limit, and the month's running total against
the monthly limit with its projection, as PNG bytes.

Plain matplotlib on the Agg backend through `Figure` objects (never pyplot, whose global state is
not thread-safe), so the cog can render in a worker thread and tests can open the bytes with Pillow.
Colours are Discord's dark theme, where the image is usually seen; the figure has its own opaque
background so it stays legible in the light theme too.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.quota.models import LimitUnit
from bot.quota.spending import SpendingWindow, last_day_of_month

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


def _unit_label(unit: LimitUnit) -> str:
    return "Credits" if unit is LimitUnit.CREDITS else "Videos"


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


def render_usage_chart(window: SpendingWindow, *, title: str = "Spending") -> bytes:
    """A PNG (900×600) of `window`: bars per day with the daily limit, then the month so far."""
    unit = _unit_label(window.unit)
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    daily, monthly = figure.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1], "hspace": 0.55})
    _style(daily)
    _style(monthly)

    positions = list(range(len(window.days)))
    amounts = [day.amount(window.unit) for day in window.days]
    daily.bar(positions, amounts, color=BAR, width=0.8, label="Spent")
    if window.daily_limit is not None:
        daily.axhline(window.daily_limit, color=LIMIT, linewidth=2, linestyle="--", label="Daily limit")
    step = max(1, -(-len(positions) // _MAX_LABELS))
    daily.set_xticks(positions[::-1][::step][::-1])
    daily.set_xticklabels([f"{window.days[i].day:%d %b}" for i in positions[::-1][::step][::-1]])
    daily.set_xlim(-0.6, len(positions) - 0.4)
    daily.set_ylim(bottom=0, top=max([*amounts, window.daily_limit or 0, 1]) * 1.15)
    daily.set_ylabel(f"{unit} per day")
    daily.set_title(f"{title}: {unit.lower()} per day", loc="left", fontsize=13, color=TEXT)
    _legend(daily)

    month = window.month
    today = month[-1].day
    month_end = last_day_of_month(today)
    running, total = [], 0.0
    for day in month:
        total += day.amount(window.unit)
        running.append(total)
    numbers = [day.day.day for day in month]
    monthly.plot(
        numbers, running, color=RUNNING_TOTAL, linewidth=2.5, marker="o", markersize=3, label="Spent"
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
            label="At this pace",
        )
    if window.monthly_limit is not None:
        monthly.axhline(window.monthly_limit, color=LIMIT, linewidth=2, linestyle="--", label="Monthly limit")
    if projection.runs_out_on is not None:
        monthly.axvline(projection.runs_out_on.day, color=PROJECTION, linewidth=1, alpha=0.7)
    monthly.set_xlim(0.5, month_end.day + 0.5)
    monthly.set_ylim(bottom=0, top=max(end_total, total, window.monthly_limit or 0, 1) * 1.15)
    monthly.set_xlabel(f"Day of {today:%B %Y}", color=TEXT)
    monthly.set_ylabel(f"{unit} this month")
    monthly.set_title(projection.sentence(window.unit), loc="left", fontsize=11, color=TEXT, wrap=True)
    _legend(monthly)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=BACKGROUND)
    return buffer.getvalue()


def _legend(axes: object) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    legend = axes.legend(loc="upper left", fontsize=9, facecolor=BACKGROUND, edgecolor=GRID, labelcolor=TEXT)
    legend.get_frame().set_alpha(0.9)

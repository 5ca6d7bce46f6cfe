"""`/usage`: what a server spent over the last days, per model and per member, the chart's data and
the CSV export of the period's jobs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime

import discord

from bot.discord_app.formatting import Locale, amount_text, day_text
from bot.discord_app.i18n import N_, SHIPPED_LOCALES, t
from bot.discord_app.job_embeds import FIELD_LIMIT
from bot.quota.models import LimitUnit
from bot.quota.spending import DayTotal, MonthProjection, next_month
from bot.storage.base import RELEASED_STATES, DayUsage, Job, UsageReport, UsageRow

#: Rows listed per table before "and N more".
TOP_ROWS = 10
DAY_SECONDS = 86_400
MAX_DAYS = 365
_USAGE_COLOUR = discord.Colour.blurple()


def usage_since(now: float, days: int) -> float:
    """Start of the report window; `days` outside 1..365 is refused by the command's option range."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    return now - days * DAY_SECONDS


def _row_text(row: UsageRow, locale: Locale = None) -> str:
    failed = " · " + t(locale, N_("{count} failed"), count=row.failures) if row.failures else ""
    videos = amount_text(locale, row.videos, LimitUnit.VIDEOS)
    return f"{videos} · {amount_text(locale, row.credits, LimitUnit.CREDITS)}{failed}"


def _table(rows: Sequence[UsageRow], label: Callable[[UsageRow], str], locale: Locale = None) -> str:
    """Biggest spenders first, cut to `TOP_ROWS` lines and to one embed field."""
    ordered = sorted(rows, key=lambda row: (-row.credits, -row.videos, row.key))
    lines = [f"{label(row)}: {_row_text(row, locale)}" for row in ordered[:TOP_ROWS]]
    hidden = len(ordered) - len(lines)
    while lines and len("\n".join(lines)) > FIELD_LIMIT - 40:
        lines.pop()
        hidden += 1
    if hidden:
        lines.append(t(locale, N_("…and {count} more"), count=hidden))
    return "\n".join(lines) or t(locale, N_("Nothing yet"))


def _member_label(row: UsageRow) -> str:
    # Keys are member ids as text; anything else is shown as code rather than trusted as a mention.
    return f"<@{row.key}>" if row.key.isdigit() else f"`{row.key[:40]}`"


def _model_label(row: UsageRow) -> str:
    return f"`{row.key[:40]}`"


CHART_FILENAME = "usage.png"
CSV_CUT = N_("The CSV lists the first {count} jobs of the period; ask for fewer days.")


def projection_text(projection: MonthProjection, unit: LimitUnit, locale: Locale = None) -> str:
    """Where the month is heading, in the reader's language (`Projection.sentence` in English)."""
    end_total = amount_text(locale, projection.month_end_total, unit)
    if projection.limit is None:
        return t(
            locale, N_("No monthly limit is set; at this pace the month ends near {total}."), total=end_total
        )
    limit = amount_text(locale, projection.limit, unit)
    if projection.used_up:
        return t(
            locale,
            N_("The monthly budget of {limit} is used up; it resets on {day}."),
            limit=limit,
            day=_day(locale, next_month(projection.today)),
        )
    if projection.pace <= 0:
        return t(locale, N_("Nothing spent this month yet; the monthly budget is {limit}."), limit=limit)
    if projection.runs_out_on is None:
        return t(
            locale,
            N_("At this pace the monthly budget lasts the month: about {total} of {limit} by its end."),
            total=end_total,
            limit=limit,
        )
    return t(
        locale,
        N_("At this pace the monthly budget of {limit} runs out on {day}."),
        limit=limit,
        day=_day(locale, projection.runs_out_on),
    )


def _day(locale: Locale, day: date) -> str:
    # English keeps the weekday form the projection always had ("Wed 25 Nov").
    if str(locale) not in SHIPPED_LOCALES:
        return f"{day:%a} {day.day} {day:%b}"
    return day_text(locale, day)


def usage_embed(
    report: UsageReport,
    *,
    days: int,
    projection: str | None = None,
    chart: bool = False,
    locale: Locale = None,
) -> discord.Embed:
    """The report; `projection` is the month's sentence, `chart` shows the attached `CHART_FILENAME`."""
    description = t(
        locale,
        N_("Since {when}. Credits are estimates from the bot's price table, not AceData's bill."),
        when=f"<t:{int(report.since)}:f>",
    )
    if projection:
        description += f"\n📈 {projection}"
    title = (
        N_("Video usage over the last {days} day")
        if days == 1
        else N_("Video usage over the last {days} days")
    )
    embed = discord.Embed(title=t(locale, title, days=days), description=description, colour=_USAGE_COLOUR)
    if chart:
        embed.set_image(url=f"attachment://{CHART_FILENAME}")
    embed.add_field(name=t(locale, N_("Videos")), value=str(report.total_videos))
    embed.add_field(
        name=t(locale, N_("Credits spent")),
        value=amount_text(locale, report.total_credits, LimitUnit.CREDITS),
    )
    embed.add_field(name=t(locale, N_("Failures")), value=str(report.failures))
    embed.add_field(
        name=t(locale, N_("By model")), value=_table(report.by_model, _model_label, locale), inline=False
    )
    embed.add_field(
        name=t(locale, N_("By member")), value=_table(report.by_member, _member_label, locale), inline=False
    )
    return embed


def day_totals(days: Iterable[DayUsage]) -> list[DayTotal]:
    """Storage's per-day rows as the spending module's values (unparseable keys skipped)."""
    totals = []
    for row in days:
        try:
            day = datetime.strptime(row.day_key, "%Y-%m-%d").date()
        except ValueError:
            continue
        totals.append(DayTotal(day, row.videos, row.credits))
    return totals


# --- CSV export -------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "created_at_utc",
    "job_id",
    "member_id",
    "channel_id",
    "model",
    "mode",
    "duration_s",
    "cost_credits",
    "counted",
    "state",
    "error_code",
    "prompt",
)
#: Spreadsheet apps run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str | None) -> str:
    value = text or ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def usage_csv(jobs: Iterable[Job]) -> bytes:
    """One row per job, oldest first, as UTF-8 with a BOM (so spreadsheet apps detect the encoding).
    `counted` says whether the job counts against the limits (released jobs cost nothing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for job in jobs:
        request = job.request
        writer.writerow(
            [
                datetime.fromtimestamp(job.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                job.id,
                job.member_id,
                job.channel_id,
                request.model.value,
                request.mode.value,
                request.duration,
                f"{job.cost:g}",
                "no" if job.state in RELEASED_STATES else "yes",
                job.state.value,
                _cell(job.error_code),
                _cell(request.prompt),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def csv_filename(guild_id: int, days: int, today: str) -> str:
    return f"kling-usage-{guild_id}-{days}d-{today}.csv"

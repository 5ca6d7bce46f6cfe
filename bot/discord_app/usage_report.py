"""`/usage`: what a server spent over the last days, per model and per member, the chart's data and
the CSV export of the period's jobs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime

import discord

from bot.discord_app.job_embeds import FIELD_LIMIT
from bot.quota.models import LimitUnit
from bot.quota.policy import format_amount
from bot.quota.spending import DayTotal
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


def _row_text(row: UsageRow) -> str:
    failed = f" · {row.failures} failed" if row.failures else ""
    videos = format_amount(row.videos, LimitUnit.VIDEOS)
    return f"{videos} · {format_amount(row.credits, LimitUnit.CREDITS)}{failed}"


def _table(rows: Sequence[UsageRow], label: Callable[[UsageRow], str]) -> str:
    """Biggest spenders first, cut to `TOP_ROWS` lines and to one embed field."""
    ordered = sorted(rows, key=lambda row: (-row.credits, -row.videos, row.key))
    lines = [f"{label(row)}: {_row_text(row)}" for row in ordered[:TOP_ROWS]]
    hidden = len(ordered) - len(lines)
    while lines and len("\n".join(lines)) > FIELD_LIMIT - 40:
        lines.pop()
        hidden += 1
    if hidden:
        lines.append(f"…and {hidden} more")
    return "\n".join(lines) or "Nothing yet"


def _member_label(row: UsageRow) -> str:
    # Keys are member ids as text; anything else is shown as code rather than trusted as a mention.
    return f"<@{row.key}>" if row.key.isdigit() else f"`{row.key[:40]}`"


def _model_label(row: UsageRow) -> str:
    return f"`{row.key[:40]}`"


CHART_FILENAME = "usage.png"


def usage_embed(
    report: UsageReport, *, days: int, projection: str | None = None, chart: bool = False
) -> discord.Embed:
    """The report; `projection` is the month's sentence, `chart` shows the attached `CHART_FILENAME`."""
    description = (
        f"Since <t:{int(report.since)}:f>. "
        "Credits are estimates from the bot's price table, not AceData's bill."
    )
    if projection:
        description += f"\n📈 {projection}"
    embed = discord.Embed(
        title=f"Video usage over the last {days} day{'s' if days != 1 else ''}",
        description=description,
        colour=_USAGE_COLOUR,
    )
    if chart:
        embed.set_image(url=f"attachment://{CHART_FILENAME}")
    embed.add_field(name="Videos", value=str(report.total_videos))
    embed.add_field(name="Credits spent", value=format_amount(report.total_credits, LimitUnit.CREDITS))
    embed.add_field(name="Failures", value=str(report.failures))
    embed.add_field(name="By model", value=_table(report.by_model, _model_label), inline=False)
    embed.add_field(name="By member", value=_table(report.by_member, _member_label), inline=False)
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
    "message_link",
)
#: Spreadsheet apps run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str | None) -> str:
    value = text or ""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def usage_csv(jobs: Iterable[Job], links: Mapping[str, str] | None = None) -> bytes:
    """One row per job, oldest first, as UTF-8 with a BOM (so spreadsheet apps detect the encoding).
    `counted` says whether the job counts against the limits (released jobs cost nothing);
    `message_link` comes from `links` (job id -> link, bot/discord_app/job_links.py: a DM job's link
    takes Discord's DM form), blank for a job without a message or not in `links`."""
    links = links or {}
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
                links.get(job.id, ""),
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def csv_filename(guild_id: int, days: int, today: str) -> str:
    return f"kling-usage-{guild_id}-{days}d-{today}.csv"

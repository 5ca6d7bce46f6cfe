"""`/usage`: what a server spent over the last days, per model and per member."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import discord

from bot.discord_app.job_embeds import FIELD_LIMIT
from bot.quota.models import LimitUnit
from bot.quota.policy import format_amount
from bot.storage.base import UsageReport, UsageRow

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


def usage_embed(report: UsageReport, *, days: int) -> discord.Embed:
    embed = discord.Embed(
        title=f"Video usage over the last {days} day{'s' if days != 1 else ''}",
        description=f"Since <t:{int(report.since)}:f>. Credits are estimates from the bot's price table, "
        "not AceData's bill.",
        colour=_USAGE_COLOUR,
    )
    embed.add_field(name="Videos", value=str(report.total_videos))
    embed.add_field(name="Credits spent", value=format_amount(report.total_credits, LimitUnit.CREDITS))
    embed.add_field(name="Failures", value=str(report.failures))
    embed.add_field(name="By model", value=_table(report.by_model, _model_label), inline=False)
    embed.add_field(name="By member", value=_table(report.by_member, _member_label), inline=False)
    return embed

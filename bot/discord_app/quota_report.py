"""`/quota`: what a member and their server have left today and this month, and when it resets."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace

import discord

from bot.discord_app.formatting import Locale, amount_text, relative_time
from bot.discord_app.i18n import N_, t
from bot.discord_app.phone import PHONE_WIDTH, display_width
from bot.quota.models import Allowance, GuildLimits, LimitUnit, OperatorBudget, UsageSnapshot
from bot.quota.policy import allowances, is_exempt, operator_allowances
from bot.refusals import Wait

#: The name of each allowance, by (whose, period) as `policy` keys them.
_LABELS = {
    ("member", "daily"): N_("You today"),
    ("member", "monthly"): N_("You this month"),
    ("server", "daily"): N_("Server today"),
    ("server", "monthly"): N_("Server this month"),
    ("everyone", "daily"): N_("All servers' credits today"),
    ("everyone", "monthly"): N_("All servers' credits this month"),
    ("ceiling", "daily"): N_("Server credits today (operator's ceiling)"),
    ("ceiling", "monthly"): N_("Server credits this month (operator's ceiling)"),
}

_QUOTA_COLOUR = discord.Colour.blurple()


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """Everything `/quota` shows, computed from one usage snapshot."""

    unit: LimitUnit
    exempt: bool
    member_today: Allowance
    member_month: Allowance
    server_today: Allowance
    server_month: Allowance
    active_jobs: int
    active_cap: int | None
    #: The wait between two of the member's videos (0 when none applies to them).
    cooldown_seconds: int
    #: When the member may start their next video because of the cooldown; None = not waiting.
    cooldown_ends_at: float | None
    server_running: int
    server_queued: int
    server_running_cap: int | None
    #: The operator's caps not folded into the server's own (all servers; the ceiling in credits).
    operator: tuple[Allowance, ...] = ()


def quota_status(
    limits: GuildLimits,
    usage: UsageSnapshot,
    *,
    member_role_ids: Collection[int],
    now: float,
    resets: tuple[float, float],
    budget: OperatorBudget | None = None,
    global_resets: tuple[float, float] | None = None,
) -> QuotaStatus:
    """The caps that apply to this member (role caps, exemption and the operator's caps included, as
    `policy.evaluate` applies them) next to what the snapshot says is used. `resets` is
    `periods.next_resets` in the server's zone, `global_resets` the same in UTC."""
    budget = budget or OperatorBudget()
    exempt = is_exempt(limits, member_role_ids)
    cooldown = 0 if exempt else limits.member_cooldown_seconds
    last = usage.member_last_job_at
    cooldown_ends_at = None
    if cooldown > 0 and last is not None and last + cooldown > now:
        cooldown_ends_at = last + cooldown
    server_today, server_month, member_today, member_month = allowances(
        limits, usage, member_role_ids=member_role_ids, resets=resets, budget=budget
    )
    operator = operator_allowances(
        limits, usage, resets=resets, global_resets=global_resets or resets, budget=budget
    )
    return QuotaStatus(
        unit=limits.unit,
        exempt=exempt,
        member_today=replace(member_today, label="You today"),
        member_month=replace(member_month, label="You this month"),
        server_today=replace(server_today, label="Server today"),
        server_month=replace(server_month, label="Server this month"),
        active_jobs=usage.member_active_jobs,
        active_cap=None if exempt else limits.member_concurrent,
        cooldown_seconds=cooldown,
        cooldown_ends_at=cooldown_ends_at,
        server_running=usage.guild_running_jobs,
        server_queued=usage.guild_queued_jobs,
        server_running_cap=limits.guild_concurrent,
        operator=operator,
    )


def allowance_label(allowance: Allowance, locale: Locale = None) -> str:
    """The allowance's name in the reader's language (the domain's English label when unkeyed)."""
    msgid = _LABELS.get((allowance.whose, allowance.period))
    return t(locale, msgid) if msgid is not None else allowance.label


def allowance_text(allowance: Allowance, unit: LimitUnit, locale: Locale = None) -> str:
    """ "3 videos left of 5 (2 used) · resets in 4 hours" or "No limit (2 videos used)"."""
    unit = allowance.unit or unit
    used = amount_text(locale, allowance.used, unit)
    remaining = allowance.remaining
    if allowance.limit is None or remaining is None:
        return t(locale, N_("No limit ({used} used)"), used=used)
    left = t(
        locale,
        N_("**{left} left** of {limit}"),
        left=amount_text(locale, remaining, unit),
        limit=amount_text(locale, allowance.limit, unit),
    )
    one_line = t(locale, N_("{left} ({used} used)"), left=left, used=used)
    # On one line when it fits a phone, else the usage goes below (credits make long numbers).
    text = (
        one_line
        if display_width(one_line) <= PHONE_WIDTH
        else t(locale, N_("{left}\n({used} used)"), left=left, used=used)
    )
    if allowance.resets_at is not None:
        text += "\n" + t(locale, N_("Resets {when}"), when=relative_time(allowance.resets_at))
    return text


def _in_progress_text(status: QuotaStatus, locale: Locale) -> str:
    count = amount_text(locale, status.active_jobs, LimitUnit.VIDEOS)
    if status.active_cap is None:
        return t(locale, N_("{count} (no limit)"), count=count)
    return t(locale, N_("{count} of {cap} at a time"), count=count, cap=status.active_cap)


def _allowances(status: QuotaStatus) -> tuple[Allowance, ...]:
    return (
        status.member_today,
        status.member_month,
        status.server_today,
        status.server_month,
        *status.operator,
    )


def _next_video_text(status: QuotaStatus, locale: Locale) -> str:
    used_up = [a for a in _allowances(status) if a.remaining is not None and a.remaining <= 0]
    if any(a.limit == 0 for a in used_up):
        return t(locale, N_("Not until a moderator raises a limit that is set to 0"))
    resets = [a.resets_at for a in used_up if a.resets_at is not None]
    if resets:
        # The latest one: until then at least one allowance stays used up.
        return t(locale, N_("After the reset {when}"), when=relative_time(max(resets)))
    if status.cooldown_ends_at is not None:
        return t(
            locale, N_("Cooldown: you can start one {when}"), when=relative_time(status.cooldown_ends_at)
        )
    if status.active_cap is not None and status.active_jobs >= status.active_cap:
        return t(locale, N_("Wait for one of your videos in progress to finish"))
    if status.cooldown_seconds:
        return t(locale, N_("Now (then wait {wait} between videos)"), wait=Wait(status.cooldown_seconds))
    return t(locale, N_("Now"))


def _server_queue_text(status: QuotaStatus, locale: Locale) -> str:
    cap = (
        t(locale, N_("no limit"))
        if status.server_running_cap is None
        else t(locale, N_("up to {cap} at once"), cap=status.server_running_cap)
    )
    return t(
        locale,
        N_("{running} rendering ({cap}), {waiting} waiting"),
        running=status.server_running,
        cap=cap,
        waiting=status.server_queued,
    )


_FOOTERS = {
    LimitUnit.VIDEOS: N_(
        "Limits count videos. Credits are estimates of AceData's price. "
        "A failed or cancelled video counts for nothing."
    ),
    LimitUnit.CREDITS: N_(
        "Limits count credits. Credits are estimates of AceData's price. "
        "A failed or cancelled video counts for nothing."
    ),
}


def quota_embed(status: QuotaStatus, locale: Locale = None) -> discord.Embed:
    """`/quota` in the reader's language (`interaction.locale`; English when None or not shipped)."""
    embed = discord.Embed(title=t(locale, N_("Your video allowance")), colour=_QUOTA_COLOUR)
    if status.exempt:
        embed.description = t(
            locale,
            N_("One of your roles is exempt from the member limits; the server's own limits still apply."),
        )
    for allowance in _allowances(status):
        embed.add_field(
            name=allowance_label(allowance, locale), value=allowance_text(allowance, status.unit, locale)
        )
    embed.add_field(name=t(locale, N_("Your videos in progress")), value=_in_progress_text(status, locale))
    embed.add_field(name=t(locale, N_("Your next video")), value=_next_video_text(status, locale))
    embed.add_field(name=t(locale, N_("Server queue")), value=_server_queue_text(status, locale))
    embed.set_footer(text=t(locale, _FOOTERS[status.unit]))
    return embed

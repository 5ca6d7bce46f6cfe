"""`/limits show` in words: one (name, value) line per setting. Also what `/limits set`, the panel
and the mod-log compare before and after a change, so they all use the same words."""

from __future__ import annotations

from bot.kling.models import Mode
from bot.quota.amounts import format_amount
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget, Preferences
from bot.quota.policy import effective_limits, permitted_modes
from bot.wording import format_wait


def _channels(ids: set[int] | frozenset[int]) -> str:
    return ", ".join(f"<#{channel}>" for channel in sorted(ids))


def _limit_text(value: float | None, unit: LimitUnit) -> str:
    return "No limit" if value is None else format_amount(value, unit)


def _count_text(value: int | None) -> str:
    return "No limit" if value is None else str(value)


def _role_cap_text(limits: GuildLimits) -> str:
    lines = []
    for role, cap in sorted(limits.role_caps.items()):
        daily = "default" if cap.member_daily is None else format_amount(cap.member_daily, limits.unit)
        monthly = "default" if cap.member_monthly is None else format_amount(cap.member_monthly, limits.unit)
        lines.append(f"<@&{role}>: {daily} a day, {monthly} a month")
    return "\n".join(lines) or "None"


def _ceiling_text(value: float | None, setting: str) -> str:
    if value is None:
        return f"None: `{setting}` is set to none, so this server's spending is not capped by the operator"
    amount = format_amount(value, LimitUnit.CREDITS)
    return f"{amount}, set by the bot's operator (`{setting}`); moderators can lower it"


def describe_limits(limits: GuildLimits, budget: OperatorBudget | None = None) -> list[tuple[str, str]]:
    """(name, value) lines for `/limits show`. Blocked words are counted, not listed.

    With `budget`, the operator's ceiling is shown too, with the setting it comes from, and when
    limits count credits the server's caps read as the tighter of its own and the ceiling."""
    unit = limits.unit
    shown = limits if budget is None else effective_limits(limits, budget)
    names = (
        sorted(model.value for model in limits.allowed_models) if limits.allowed_models is not None else None
    )
    modes = [mode.value for mode in Mode if mode in permitted_modes(limits)]
    lines = [
        ("Limits count", unit.value),
        ("Server per day", _limit_text(shown.guild_daily, unit)),
        ("Server per month", _limit_text(shown.guild_monthly, unit)),
        ("Each member per day", _limit_text(limits.member_daily, unit)),
        ("Each member per month", _limit_text(limits.member_monthly, unit)),
        ("Videos in progress per member", _count_text(limits.member_concurrent)),
        ("Wait between a member's videos", format_wait(limits.member_cooldown_seconds)),
        ("Videos rendering at once (then queued)", _count_text(limits.guild_concurrent)),
        ("Models", "All" if names is None else (", ".join(names) or "None")),
        ("Modes", ", ".join(modes) or "None"),
        ("Longest video", "No limit" if limits.max_duration is None else f"{limits.max_duration} s"),
        ("Generated sound", "Allowed" if limits.allow_audio else "Off"),
        ("4K", "Allowed" if limits.allow_4k else "Off"),
        ("Channels", _channels(limits.allowed_channels) or "Any channel"),
        ("Exempt roles", ", ".join(f"<@&{role}>" for role in sorted(limits.exempt_roles)) or "None"),
        ("Role caps", _role_cap_text(limits)),
        ("Blocked words", str(len(limits.blocked_words))),
        ("Mod-log channel", f"<#{limits.modlog_channel_id}>" if limits.modlog_channel_id else "Not set"),
        ("Time zone", limits.timezone),
        ("Server defaults", _server_defaults_text(limits)),
        ("Ask to confirm above", _confirm_text(limits.confirm_above_credits)),
    ]
    if budget is not None:
        lines[3:3] = [
            ("Ceiling per day", _ceiling_text(budget.server_daily, "SERVER_DAILY_CREDITS")),
            ("Ceiling per month", _ceiling_text(budget.server_monthly, "SERVER_MONTHLY_CREDITS")),
        ]
    return lines


def _confirm_text(threshold: float | None) -> str:
    if threshold is None:
        return "Never"
    return f"Videos estimated above {format_amount(threshold, LimitUnit.CREDITS)}"


def _server_defaults_text(limits: GuildLimits) -> str:
    defaults = Preferences(
        model=limits.default_model,
        mode=limits.default_mode,
        duration=limits.default_duration,
        aspect_ratio=limits.default_aspect_ratio,
    )
    return defaults.describe().replace("**", "").capitalize()

"""`/limits show` in words: one (name, value) line per setting. Also what `/limits set`, the panel
and the mod-log compare before and after a change, so they all use the same words."""

from __future__ import annotations

from bot.discord_app.formatting import Locale, amount_text
from bot.discord_app.i18n import N_, t
from bot.discord_app.saved_defaults import describe as describe_preferences
from bot.kling.models import Mode
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget, Preferences
from bot.quota.policy import effective_limits, permitted_modes
from bot.refusals import Wait


def _channels(ids: set[int] | frozenset[int]) -> str:
    return ", ".join(f"<#{channel}>" for channel in sorted(ids))


# Setting names, in `/limits show` order.
COUNT = N_("Limits count")
SERVER_DAY = N_("Server per day")
SERVER_MONTH = N_("Server per month")
CEILING_DAY = N_("Ceiling per day")
CEILING_MONTH = N_("Ceiling per month")
MEMBER_DAY = N_("Each member per day")
MEMBER_MONTH = N_("Each member per month")
MEMBER_RUNNING = N_("Videos in progress per member")
COOLDOWN = N_("Wait between a member's videos")
SERVER_RUNNING = N_("Videos rendering at once (then queued)")
MODELS = N_("Models")
MODES = N_("Modes")
LONGEST = N_("Longest video")
SOUND = N_("Generated sound")
FOUR_K = N_("4K")
CHANNELS = N_("Channels")
EXEMPT_ROLES = N_("Exempt roles")
ROLE_CAPS = N_("Role caps")
BLOCKED = N_("Blocked words")
MODLOG = N_("Mod-log channel")
TIME_ZONE = N_("Time zone")
SERVER_DEFAULTS = N_("Server defaults")
CONFIRM = N_("Ask to confirm above")
#: Settings whose value is a list, shown on their own line.
LONG_SETTINGS = frozenset({MODELS, CHANNELS, EXEMPT_ROLES, ROLE_CAPS, CEILING_DAY, CEILING_MONTH})

_NO_LIMIT = N_("No limit")
_NONE = N_("None")
_SECONDS = N_("{seconds} s")
_UNITS = {LimitUnit.VIDEOS: N_("videos"), LimitUnit.CREDITS: N_("credits")}


def _limit_text(value: float | None, unit: LimitUnit, locale: Locale) -> str:
    return t(locale, _NO_LIMIT) if value is None else amount_text(locale, value, unit)


def _count_text(value: int | None, locale: Locale) -> str:
    return t(locale, _NO_LIMIT) if value is None else str(value)


def _role_cap_text(limits: GuildLimits, locale: Locale) -> str:
    lines = []
    for role, cap in sorted(limits.role_caps.items()):
        default = t(locale, N_("default"))
        daily = default if cap.member_daily is None else amount_text(locale, cap.member_daily, limits.unit)
        monthly = (
            default if cap.member_monthly is None else amount_text(locale, cap.member_monthly, limits.unit)
        )
        lines.append(
            t(
                locale,
                N_("{role}: {daily} a day, {monthly} a month"),
                role=f"<@&{role}>",
                daily=daily,
                monthly=monthly,
            )
        )
    return "\n".join(lines) or t(locale, _NONE)


def _ceiling_text(value: float | None, setting: str, locale: Locale) -> str:
    if value is None:
        return t(
            locale,
            N_("None: `{setting}` is set to none, so this server's spending is not capped by the operator"),
            setting=setting,
        )
    return t(
        locale,
        N_("{amount}, set by the bot's operator (`{setting}`); moderators can lower it"),
        amount=amount_text(locale, value, LimitUnit.CREDITS),
        setting=setting,
    )


def _on_off(on: bool, locale: Locale) -> str:
    return t(locale, N_("Allowed") if on else N_("Off"))


def setting_lines(
    limits: GuildLimits, budget: OperatorBudget | None = None, locale: Locale = None
) -> list[tuple[str, str, str]]:
    """(message id of the name, name, value) for each setting, in the reader's language."""
    unit = limits.unit
    shown = limits if budget is None else effective_limits(limits, budget)
    names = (
        sorted(model.value for model in limits.allowed_models) if limits.allowed_models is not None else None
    )
    modes = [mode.value for mode in Mode if mode in permitted_modes(limits)]
    none = t(locale, _NONE)
    lines: list[tuple[str, str]] = [
        (COUNT, t(locale, _UNITS[unit])),
        (SERVER_DAY, _limit_text(shown.guild_daily, unit, locale)),
        (SERVER_MONTH, _limit_text(shown.guild_monthly, unit, locale)),
        (MEMBER_DAY, _limit_text(limits.member_daily, unit, locale)),
        (MEMBER_MONTH, _limit_text(limits.member_monthly, unit, locale)),
        (MEMBER_RUNNING, _count_text(limits.member_concurrent, locale)),
        (COOLDOWN, t(locale, "{wait}", wait=Wait(limits.member_cooldown_seconds))),
        (SERVER_RUNNING, _count_text(limits.guild_concurrent, locale)),
        (MODELS, t(locale, N_("All")) if names is None else (", ".join(names) or none)),
        (MODES, ", ".join(modes) or none),
        (
            LONGEST,
            t(locale, _NO_LIMIT)
            if limits.max_duration is None
            else t(locale, _SECONDS, seconds=limits.max_duration),
        ),
        (SOUND, _on_off(limits.allow_audio, locale)),
        (FOUR_K, _on_off(limits.allow_4k, locale)),
        (CHANNELS, _channels(limits.allowed_channels) or t(locale, N_("Any channel"))),
        (EXEMPT_ROLES, ", ".join(f"<@&{role}>" for role in sorted(limits.exempt_roles)) or none),
        (ROLE_CAPS, _role_cap_text(limits, locale)),
        (BLOCKED, str(len(limits.blocked_words))),
        (
            MODLOG,
            f"<#{limits.modlog_channel_id}>" if limits.modlog_channel_id else t(locale, N_("Not set")),
        ),
        (TIME_ZONE, limits.timezone),
        (SERVER_DEFAULTS, _server_defaults_text(limits, locale)),
        (CONFIRM, _confirm_text(limits.confirm_above_credits, locale)),
    ]
    if budget is not None:
        lines[3:3] = [
            (CEILING_DAY, _ceiling_text(budget.server_daily, "SERVER_DAILY_CREDITS", locale)),
            (CEILING_MONTH, _ceiling_text(budget.server_monthly, "SERVER_MONTHLY_CREDITS", locale)),
        ]
    return [(msgid, t(locale, msgid), value) for msgid, value in lines]


def describe_limits(
    limits: GuildLimits, budget: OperatorBudget | None = None, locale: Locale = None
) -> list[tuple[str, str]]:
    """(name, value) lines for `/limits show`. Blocked words are counted, not listed.

    With `budget`, the operator's ceiling is shown too, with the setting it comes from, and when
    limits count credits the server's caps read as the tighter of its own and the ceiling."""
    return [(name, value) for _msgid, name, value in setting_lines(limits, budget, locale)]


def _confirm_text(threshold: float | None, locale: Locale) -> str:
    if threshold is None:
        return t(locale, N_("Never"))
    return t(
        locale,
        N_("Videos estimated above {amount}"),
        amount=amount_text(locale, threshold, LimitUnit.CREDITS),
    )


def _server_defaults_text(limits: GuildLimits, locale: Locale) -> str:
    """ "Model kling-v3, mode pro, 10 s, aspect 16:9" in the reader's language, the words `/defaults`
    uses (no bold: the value is already a field of its own)."""
    defaults = Preferences(
        model=limits.default_model,
        mode=limits.default_mode,
        duration=limits.default_duration,
        aspect_ratio=limits.default_aspect_ratio,
    )
    return describe_preferences(defaults, locale).replace("**", "").capitalize()

"""Changing a server's limits: moderator input -> new `GuildLimits` + what changed, in words.

Every function takes the current limits and returns a `LimitsUpdate`, or raises `Refusal`; then nothing
is stored. `apply_form` names every bad option of `/limits set` at once, so a moderator fixes them in
one go rather than one per attempt.

What changed is found by comparing `limits_text.describe_limits` before and after, so `/limits show`, the
reply to a change and the mod-log post always use the same words. Blocked words are counted there, not
listed: the mod-log channel may be readable by more people than the moderators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

import discord

from bot.discord_app.access import Refusal
from bot.discord_app.formatting import Locale
from bot.discord_app.i18n import N_, t
from bot.discord_app.job_embeds import FIELD_LIMIT, neutralise
from bot.discord_app.limits_text import LONG_SETTINGS, describe_limits, setting_lines
from bot.kling.capabilities import allowed_durations, allowed_modes
from bot.kling.models import Mode, Model
from bot.quota.amounts import amount
from bot.quota.limit_input import (
    LimitInputError,
    parse_blocked_words,
    parse_cooldown,
    parse_limit_value,
    parse_models,
    parse_modes,
    parse_unit,
    parse_whole_number,
)
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget, RoleCap
from bot.quota.periods import validate_timezone
from bot.quota.policy import permitted_modes
from bot.quota.ranges import LIMIT_RANGES, check_in_range
from bot.quota.text import normalise_for_matching
from bot.refusals import InvalidValue, Lines, Text
from bot.wording import truncate

#: Caps on list sizes, so the settings row and `/limits show` stay within Discord's limits.
MAX_BLOCKED_WORDS = 200
MAX_BLOCKED_WORD_LENGTH = 100
MAX_CHANNELS = 50
MAX_ROLES = 50

_LIMITS_COLOUR = discord.Colour.blurple()

#: Channel kinds with a message stream: where videos and mod-log posts can appear.
MESSAGE_CHANNEL_TYPES = frozenset(
    {
        discord.ChannelType.text,
        discord.ChannelType.news,
        discord.ChannelType.voice,
        discord.ChannelType.stage_voice,
    }
)
NOT_A_MESSAGE_CHANNEL = N_("Pick a text channel: a category or forum can't hold messages itself.")


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """A channel picked in a command option: its id and kind."""

    id: int
    kind: discord.ChannelType = discord.ChannelType.text


@dataclass(frozen=True, slots=True)
class LimitsForm:
    """The options of `/limits set` exactly as typed; None means "not given, keep as is".

    Field names are the slash-command option names, so a refusal can name the option to fix.
    """

    unit: str | None = None
    guild_daily: str | None = None
    guild_monthly: str | None = None
    member_daily: str | None = None
    member_monthly: str | None = None
    member_concurrent: str | None = None
    member_cooldown: str | None = None
    guild_concurrent: str | None = None
    allowed_models: str | None = None
    allowed_modes: str | None = None
    max_duration: str | None = None
    allow_audio: bool | None = None
    allow_4k: bool | None = None
    modlog_channel: ChannelChoice | None = None
    timezone: str | None = None
    confirm_above_credits: str | None = None


@dataclass(frozen=True, slots=True)
class LimitsUpdate:
    """The limits to store and how they differ from before."""

    limits: GuildLimits
    #: "Setting: before → after" lines, in `/limits show` order; empty when nothing changed.
    changes: tuple[str, ...]
    #: Advice worth reading about the new settings (e.g. after switching units), as message ids
    #: (filled with `note_values`), shown in the moderator's language.
    notes: tuple[str, ...] = ()
    #: The settings before the change: the reply lists what changed in the moderator's language.
    before: GuildLimits | None = None
    note_values: dict[str, object] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def summary(self, locale: Locale = None) -> str:
        """One line for the mod-log, in the mod-log's language (the server's, not the moderator's)."""
        return "; ".join(change.replace("\n", ", ") for change in change_lines(self, locale))


# --- /limits set ---------------------------------------------------------------------------------


def _running_cap(text: str) -> int | None:
    value = parse_whole_number(text)
    if value == 0:
        raise LimitInputError(
            N_("Type at least 1, or none for no limit (to stop all videos, set guild_daily to 0 instead).")
        )
    return value


def _max_duration(text: str) -> int | None:
    value = parse_whole_number(text)
    if value == 0:
        raise LimitInputError(N_("Type a number of seconds like 10, or none for no limit."))
    return value


def _some_models(text: str) -> frozenset[Model] | None:
    models = parse_models(text)
    if models is not None and not models:
        raise LimitInputError(
            N_("Name at least one model, or all; to stop all videos, set guild_daily to 0.")
        )
    return models


def _some_modes(text: str) -> frozenset[Mode] | None:
    modes = parse_modes(text)
    if modes is not None and not modes:
        raise LimitInputError(N_("Name at least one mode, or all."))
    return modes


def _message_channel_id(channel: ChannelChoice) -> int:
    if channel.kind not in MESSAGE_CHANNEL_TYPES:
        raise LimitInputError(NOT_A_MESSAGE_CHANNEL)
    return channel.id


def _require_message_channel(channel: ChannelChoice) -> None:
    try:
        _message_channel_id(channel)
    except ValueError as exc:
        raise Refusal(N_("{problem} Nothing changed."), problem=_problem(exc)) from None


#: Option name -> (GuildLimits field, parser of the option's value). Options missing here are taken as given.
_PARSED_OPTIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "unit": ("unit", parse_unit),
    "guild_daily": ("guild_daily", parse_limit_value),
    "guild_monthly": ("guild_monthly", parse_limit_value),
    "member_daily": ("member_daily", parse_limit_value),
    "member_monthly": ("member_monthly", parse_limit_value),
    "member_concurrent": ("member_concurrent", _running_cap),
    "member_cooldown": ("member_cooldown_seconds", parse_cooldown),
    "guild_concurrent": ("guild_concurrent", _running_cap),
    "allowed_models": ("allowed_models", _some_models),
    "allowed_modes": ("allowed_modes", _some_modes),
    "max_duration": ("max_duration", _max_duration),
    "timezone": ("timezone", validate_timezone),
    "modlog_channel": ("modlog_channel_id", _message_channel_id),
    "confirm_above_credits": ("confirm_above_credits", parse_limit_value),
}
_PLAIN_OPTIONS = {"allow_audio": "allow_audio", "allow_4k": "allow_4k"}


def form_options() -> tuple[str, ...]:
    """The option names `LimitsForm` (and `/limits set`) knows, in declaration order."""
    return tuple(option.name for option in fields(LimitsForm))


def option_text(limits: GuildLimits, option: str) -> str:
    """The current value of `option` as a moderator would type it, so a pre-filled form field that
    is sent back unchanged parses to the same value ("none" for no limit, "30" for 30 seconds)."""
    target = _PARSED_OPTIONS[option][0] if option in _PARSED_OPTIONS else _PLAIN_OPTIONS.get(option, option)
    value = getattr(limits, target)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, frozenset | set | tuple | list):
        return ", ".join(sorted(str(getattr(item, "value", item)) for item in value))
    return str(value)


#: Server caps the operator's ceiling bounds: option -> (OperatorBudget field, setting, period words).
_CEILINGS = {
    "guild_daily": (
        "server_daily",
        "SERVER_DAILY_CREDITS",
        N_(
            "**{option}**: the bot's operator caps every server at {amount} a day (`{setting}`), so this "
            "server can't be given more; type {ceiling} or less, or none to use that ceiling."
        ),
    ),
    "guild_monthly": (
        "server_monthly",
        "SERVER_MONTHLY_CREDITS",
        N_(
            "**{option}**: the bot's operator caps every server at {amount} a month (`{setting}`), so this "
            "server can't be given more; type {ceiling} or less, or none to use that ceiling."
        ),
    ),
}


def _problem(error: ValueError) -> Text | str:
    """A parse error as a translatable text when it is one (`InvalidValue`: typed values, ranges,
    time zones), else its words."""
    return error.text if isinstance(error, InvalidValue) else str(error)


def _above_ceiling(before: GuildLimits, updates: dict[str, Any], budget: OperatorBudget | None) -> list[Text]:
    """Server caps typed above the operator's ceiling: moderators can tighten it, never raise it.
    Only comparable when limits count credits; in videos the ceiling stays a separate credit cap."""
    unit = updates.get("unit", before.unit)
    if budget is None or unit is not LimitUnit.CREDITS:
        return []
    problems = []
    for option, (cap, setting, message) in _CEILINGS.items():
        ceiling = getattr(budget, cap)
        value = updates.get(option)
        if ceiling is not None and value is not None and value > ceiling + 1e-9:
            values = {
                "option": option,
                "amount": amount(ceiling, LimitUnit.CREDITS),
                "setting": setting,
                "ceiling": f"{ceiling:g}",
            }
            problems.append(Text(message, values))
    return problems


def parse_option(option: str, raw: Any, parse: Callable[[Any], Any]) -> Any:
    """`parse(raw)`, then the option's range from `bot.quota.ranges.LIMIT_RANGES` (if it has one).
    ValueError's text is what the moderator reads after the option's name."""
    value = parse(raw)
    if option in LIMIT_RANGES:
        check_in_range(option, value)
    return value


def apply_form(
    limits: GuildLimits, form: LimitsForm, *, budget: OperatorBudget | None = None
) -> LimitsUpdate:
    """The limits after `/limits set`. Refusal lists every bad option (nothing is applied then).
    With `budget`, server caps above the operator's ceiling are refused too."""
    updates: dict[str, Any] = {}
    problems: list[Text] = []
    for option in fields(form):
        raw = getattr(form, option.name)
        if raw is None:
            continue
        if option.name in _PLAIN_OPTIONS:
            updates[_PLAIN_OPTIONS[option.name]] = raw
            continue
        target, parse = _PARSED_OPTIONS[option.name]
        try:
            updates[target] = parse_option(option.name, raw, parse)
        except ValueError as exc:
            problems.append(
                Text("**{option}**: {problem}", {"option": option.name, "problem": _problem(exc)})
            )
    if not problems:
        problems = _above_ceiling(limits, updates, budget)
    if problems:
        raise Refusal(
            N_("Nothing was changed. Please fix:\n• {problems}"), problems=Lines(tuple(problems), "\n• ")
        )
    if not updates:
        raise Refusal(N_("Give at least one option to change, e.g. `/limits set member_daily: 5`."))
    new = _replace(limits, updates)
    _check_offers_something(new)
    notes = []
    if new.unit is not limits.unit:
        notes.append(_UNIT_NOTES[new.unit])
    return LimitsUpdate(new, describe_changes(limits, new), tuple(notes), before=limits)


_UNIT_NOTES = {
    LimitUnit.VIDEOS: N_(
        "Limits now count videos: every number limit is read as videos from now on, "
        "so check that they still make sense."
    ),
    LimitUnit.CREDITS: N_(
        "Limits now count credits: every number limit is read as credits from now on, "
        "so check that they still make sense."
    ),
}


def _replace(limits: GuildLimits, updates: dict[str, Any]) -> GuildLimits:
    # Validating again (rather than model_copy) keeps a wrong type from ever being stored.
    return GuildLimits.model_validate(limits.model_dump() | updates)


def _check_offers_something(limits: GuildLimits) -> None:
    """Refuse settings under which no video at all could be made by accident: an allowed model with an
    allowed mode and a short enough duration must remain. (guild_daily 0 is the deliberate way.)"""
    models = limits.allowed_models if limits.allowed_models is not None else frozenset(Model)
    modes = permitted_modes(limits)
    pairs = [(model, mode) for model in models for mode in allowed_modes(model) if mode in modes]
    if not pairs:
        raise Refusal(
            N_(
                "Nothing was changed: none of the allowed models offers any of the allowed modes, so no "
                "video "
                "could be made. Allow more models or modes (or turn 4K on)."
            )
        )
    longest = limits.max_duration
    if longest is None:
        return
    shortest = min(min(allowed_durations(model, mode)) for model, mode in pairs)
    if shortest > longest:
        raise Refusal(
            N_(
                "Nothing was changed: the allowed models make no video of {longest} seconds or less. "
                "Set max_duration to at least {shortest}, or allow other models."
            ),
            longest=longest,
            shortest=shortest,
        )


def describe_changes(before: GuildLimits, after: GuildLimits) -> tuple[str, ...]:
    return tuple(
        f"{name}: {old} → {new}"
        for (name, old), (_same, new) in zip(describe_limits(before), describe_limits(after), strict=True)
        if old != new
    )


def _update(before: GuildLimits, updates: dict[str, Any], *, notes: Iterable[str] = ()) -> LimitsUpdate:
    after = _replace(before, updates)
    return LimitsUpdate(after, describe_changes(before, after), tuple(notes), before=before)


# --- roles ---------------------------------------------------------------------------------------


def _role_cap_value(text: str | None, option: str) -> float | None:
    if text is None or text.strip().lower() == "default":
        return None
    try:
        value: float | None = parse_option(option, text, parse_limit_value)
    except ValueError as exc:
        raise Refusal(
            N_("Nothing was changed. **{option}**: {problem}"), option=option, problem=_problem(exc)
        ) from None
    return value


def set_role_cap(
    limits: GuildLimits, role_id: int, *, daily: str | None, monthly: str | None
) -> LimitsUpdate:
    """Give a role its own daily and/or monthly allowance ("default"/"none" = the role has no say).

    An option left out keeps the role's current value for it.
    """
    if daily is None and monthly is None:
        raise Refusal(N_("Give daily, monthly or both, e.g. `daily: 10`; type default to clear one."))
    current = limits.role_caps.get(role_id, RoleCap())
    cap = RoleCap(
        member_daily=current.member_daily if daily is None else _role_cap_value(daily, "daily"),
        member_monthly=current.member_monthly if monthly is None else _role_cap_value(monthly, "monthly"),
    )
    caps = dict(limits.role_caps)
    if cap == RoleCap():
        caps.pop(role_id, None)
    else:
        if role_id not in caps and len(caps) >= MAX_ROLES:
            raise Refusal(
                N_("A server can give its own caps to at most {count} roles; remove one first."),
                count=MAX_ROLES,
            )
        caps[role_id] = cap
    notes: tuple[str, ...] = ()
    if role_id in limits.exempt_roles:
        notes = (N_("This role is exempt, so its members have no member limits whatever its caps say."),)
    return _update(limits, {"role_caps": caps}, notes=notes)


def remove_role_cap(limits: GuildLimits, role_id: int) -> LimitsUpdate:
    if role_id not in limits.role_caps:
        raise Refusal(N_("That role has no caps of its own; nothing to remove."))
    caps = {role: cap for role, cap in limits.role_caps.items() if role != role_id}
    return _update(limits, {"role_caps": caps})


def set_role_exempt(limits: GuildLimits, role_id: int, *, exempt: bool) -> LimitsUpdate:
    """Exempt roles skip the member's own limits (not the server's budget or rules)."""
    if exempt == (role_id in limits.exempt_roles):
        raise Refusal(
            N_("That role is already exempt; nothing changed.")
            if exempt
            else N_("That role is not exempt; nothing changed.")
        )
    if exempt and len(limits.exempt_roles) >= MAX_ROLES:
        raise Refusal(N_("At most {count} roles can be exempt; remove one first."), count=MAX_ROLES)
    roles = limits.exempt_roles | {role_id} if exempt else limits.exempt_roles - {role_id}
    return _update(limits, {"exempt_roles": roles})


def set_exempt_roles(limits: GuildLimits, role_ids: Iterable[int]) -> LimitsUpdate:
    """The whole list of exempt roles at once (the panel's role picker)."""
    roles = frozenset(role_ids)
    if len(roles) > MAX_ROLES:
        raise Refusal(N_("At most {count} roles can be exempt. Nothing changed."), count=MAX_ROLES)
    return _update(limits, {"exempt_roles": roles})


# --- channels ------------------------------------------------------------------------------------

ONLY_LISTED_CHANNELS = N_(
    "Videos can now be made only in the listed channels (moderators can still use any)."
)
ANY_CHANNEL_NOW = N_("The list is empty now, so videos can be made in any channel.")


def add_channel(limits: GuildLimits, channel: ChannelChoice) -> LimitsUpdate:
    """Allow /video in one more channel (an empty list means every channel)."""
    _require_message_channel(channel)
    channel_id = channel.id
    if channel_id in limits.allowed_channels:
        raise Refusal(N_("Videos are already allowed in that channel."))
    if len(limits.allowed_channels) >= MAX_CHANNELS:
        raise Refusal(N_("At most {count} channels can be listed; remove one first."), count=MAX_CHANNELS)
    notes: tuple[str, ...] = ()
    if not limits.allowed_channels:
        notes = (ONLY_LISTED_CHANNELS,)
    return _update(limits, {"allowed_channels": limits.allowed_channels | {channel_id}}, notes=notes)


def remove_channel(limits: GuildLimits, channel_id: int) -> LimitsUpdate:
    if channel_id not in limits.allowed_channels:
        raise Refusal(N_("That channel isn't in the list; nothing to remove."))
    remaining = limits.allowed_channels - {channel_id}
    notes = () if remaining else (ANY_CHANNEL_NOW,)
    return _update(limits, {"allowed_channels": remaining}, notes=notes)


def clear_channels(limits: GuildLimits) -> LimitsUpdate:
    if not limits.allowed_channels:
        raise Refusal(N_("Videos can already be made in any channel."))
    return _update(limits, {"allowed_channels": frozenset()})


def set_channels(limits: GuildLimits, channels: Iterable[ChannelChoice]) -> LimitsUpdate:
    """The whole list at once (the panel's channel picker); empty means every channel."""
    chosen = list(channels)
    for channel in chosen:
        _require_message_channel(channel)
    ids = frozenset(channel.id for channel in chosen)
    if len(ids) > MAX_CHANNELS:
        raise Refusal(N_("At most {count} channels can be listed. Nothing changed."), count=MAX_CHANNELS)
    notes: tuple[str, ...] = ()
    if ids and not limits.allowed_channels:
        notes = (ONLY_LISTED_CHANNELS,)
    elif limits.allowed_channels and not ids:
        notes = (ANY_CHANNEL_NOW,)
    return _update(limits, {"allowed_channels": ids}, notes=notes)


# --- blocked words --------------------------------------------------------------------------------


def _typed_words(text: str) -> tuple[str, ...]:
    words = parse_blocked_words(text)
    if not words:
        raise Refusal(N_("Type one or more words or phrases, separated by commas."))
    too_long = [word for word in words if len(word) > MAX_BLOCKED_WORD_LENGTH]
    if too_long:
        raise Refusal(
            N_("Each blocked word or phrase can be at most {count} characters."),
            count=MAX_BLOCKED_WORD_LENGTH,
        )
    return words


def add_blocked_words(limits: GuildLimits, text: str) -> LimitsUpdate:
    """Add comma-separated words; ones already blocked (in any letter case or width) are skipped."""
    known = {normalise_for_matching(word) for word in limits.blocked_words}
    new = [word for word in _typed_words(text) if normalise_for_matching(word) not in known]
    if not new:
        raise Refusal(N_("Those words are already blocked; nothing changed."))
    words = limits.blocked_words + tuple(new)
    if len(words) > MAX_BLOCKED_WORDS:
        raise Refusal(
            N_("A server can block at most {count} words; remove some first."), count=MAX_BLOCKED_WORDS
        )
    return _update(limits, {"blocked_words": words})


def remove_blocked_words(limits: GuildLimits, text: str) -> LimitsUpdate:
    gone = {normalise_for_matching(word) for word in _typed_words(text)}
    words = tuple(word for word in limits.blocked_words if normalise_for_matching(word) not in gone)
    if len(words) == len(limits.blocked_words):
        raise Refusal(N_("None of those words is on the blocked list; nothing changed."))
    return _update(limits, {"blocked_words": words})


def blocked_words_text(limits: GuildLimits, locale: Locale = None) -> str:
    """The list for moderators (ephemeral), inert and within one message."""
    if not limits.blocked_words:
        return t(locale, N_("No words are blocked on this server."))
    listed = ", ".join(neutralise(word, MAX_BLOCKED_WORD_LENGTH * 2) for word in limits.blocked_words)
    return truncate(
        t(locale, N_("Blocked words ({count}): {words}"), count=len(limits.blocked_words), words=listed), 1900
    )


# --- mod-log -------------------------------------------------------------------------------------


def set_modlog_channel(limits: GuildLimits, channel: ChannelChoice | None) -> LimitsUpdate:
    """Log to `channel`, or stop logging when it is None."""
    if channel is not None:
        _require_message_channel(channel)
    channel_id = None if channel is None else channel.id
    if channel_id == limits.modlog_channel_id:
        raise Refusal(N_("That is already the mod-log setting; nothing changed."))
    return _update(limits, {"modlog_channel_id": channel_id})


# --- /limits show ----------------------------------------------------------------------------------

LIMITS_TITLE = N_("Video limits on this server")
NOTHING_CHANGED = N_("Nothing changed: those were already the settings.")


def limits_embed(
    limits: GuildLimits,
    *,
    title: str = LIMITS_TITLE,
    budget: OperatorBudget | None = None,
    locale: Locale = None,
) -> discord.Embed:
    """`/limits show`; with `budget`, the operator's ceiling and where it comes from. `title` is a
    message id, shown in the reader's language like the rest."""
    embed = discord.Embed(title=t(locale, title), colour=_LIMITS_COLOUR)
    for msgid, name, value in setting_lines(limits, budget, locale):
        embed.add_field(name=name, value=truncate(value, FIELD_LIMIT), inline=msgid not in LONG_SETTINGS)
    embed.set_footer(
        text=t(locale, N_("Moderators change these with /limits set, roles, channels and words."))
    )
    return embed


def change_lines(update: LimitsUpdate, locale: Locale = None) -> tuple[str, ...]:
    """ "Setting: before → after" in the reader's language (`update.changes` is the English, for logs)."""
    if update.before is None or locale is None:
        return update.changes
    english = zip(setting_lines(update.before), setting_lines(update.limits), strict=True)
    shown = zip(
        setting_lines(update.before, locale=locale), setting_lines(update.limits, locale=locale), strict=True
    )
    return tuple(
        f"{name}: {old} → {new}"
        for ((_m, _n, old_en), (_m2, _n2, new_en)), ((_id, name, old), (_id2, _same, new)) in zip(
            english, shown, strict=True
        )
        if old_en != new_en
    )


def update_text(update: LimitsUpdate, locale: Locale = None) -> str:
    """The moderator's reply above the new settings."""
    lines = [t(locale, N_("Saved. Changed:")), *(f"• {change}" for change in change_lines(update, locale))]
    lines += [f"⚠️ {t(locale, note, **update.note_values)}" for note in update.notes]
    return truncate("\n".join(lines), 1900)


RESET_SUMMARY = N_(
    "reset the usage of {member} (their earlier videos no longer count toward their own limits)"
)
RESET_DONE = N_(
    "Done: {member}'s earlier videos no longer count toward their own daily and monthly limits. "
    "(The server's totals are unchanged.)"
)


def reset_summary(member_id: int, locale: Locale = None) -> str:
    """The mod-log line of `/limits reset-member`, in the mod-log's language."""
    return t(locale, RESET_SUMMARY, member=f"<@{member_id}>")

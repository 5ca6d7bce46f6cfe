"""`/defaults`: reading what a member or a moderator typed into saved defaults, and the replies.

Pure functions of the typed values and the server's limits, so the rules are tested without
Discord. The words members read are the constants at the top.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.discord_app.access import Refusal
from bot.discord_app.i18n import N_, join_parts, t
from bot.discord_app.video_choices import allowed_models, servable_durations, servable_modes
from bot.jobs.inline_flags import resolve_model
from bot.kling.models import AspectRatio, Mode, Model
from bot.quota.models import GuildLimits, Preferences
from bot.refusals import AnyOf, Text

NOTHING_GIVEN = N_("Pick at least one of model, mode, duration or aspect_ratio to save.")
UNKNOWN_MODEL = N_("`{value}` isn't a model I know. Pick one from the list as you type.")
MODEL_NOT_ALLOWED = N_("`{model}` isn't enabled on this server; pick one of {allowed}.")
MODE_NOT_ALLOWED = N_("`{model}` can't use {mode} mode here; pick {allowed}.")
UNKNOWN_MODE = N_("`{value}` isn't a mode; pick std, pro or 4k.")
DURATION_NOT_ALLOWED = N_("`{model}` makes {allowed}-second videos here, not {duration} seconds.")
UNKNOWN_ASPECT = N_("`{value}` isn't a frame shape; pick 16:9, 9:16 or 1:1.")
SAVED_MINE = N_(
    "Saved. Your videos in this server now default to {what}. Options and inline parameters still win."
)
CLEARED_MINE = N_("Your saved defaults are gone; you get the server's defaults again.")
SAVED_SERVER = N_("Saved. Members who don't choose get {what} (a member's own defaults still win).")
CLEARED_SERVER = N_("The server's defaults are cleared; members get {model} unless they saved their own.")
SHOW = N_("**Your defaults:** {mine}\n**This server's defaults:** {server}\n**Otherwise:** {fallback}")
SHOW_HINT = N_("Change yours with `/defaults set`; moderators change the server's with `/defaults server`.")
NONE = N_("none")
#: The same words as `/limits show`'s line (one message id, one translation).
SERVER_DEFAULTS_LINE = N_("Server defaults")
DESCRIBE_MODEL = N_("model **{model}**")
DESCRIBE_MODE = N_("mode **{mode}**")
DESCRIBE_DURATION = N_("**{seconds} s**")
DESCRIBE_ASPECT = N_("aspect **{aspect}**")
FALLBACK = N_("model **{model}**, std mode, 5 s, 16:9")


Locale = discord.Locale | str | None


@dataclass(frozen=True, slots=True)
class Typed:
    """What the member typed into `/defaults set` or `/defaults server` (all optional)."""

    model: str | None = None
    mode: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None

    def is_empty(self) -> bool:
        return self == Typed()


def _choices(items: list[str]) -> AnyOf | Text:
    """What may be picked, read as a list in the member's language ("`a`, `b` or `c`")."""
    return AnyOf(f"`{item}`" for item in items) if items else Text(NONE)


def read_preferences(typed: Typed, limits: GuildLimits, *, fallback_model: Model) -> Preferences:
    """Validate what was typed against the capability table and the server's rules."""
    if typed.is_empty():
        raise Refusal(NOTHING_GIVEN)
    model: Model | None = None
    if typed.model:
        model = resolve_model(typed.model)
        if model is None:
            raise Refusal(UNKNOWN_MODEL, value=typed.model[:40])
        allowed = allowed_models(limits)
        if model not in allowed:
            raise Refusal(MODEL_NOT_ALLOWED, model=model.value, allowed=_choices([m.value for m in allowed]))
    checked_model = model or fallback_model
    mode: Mode | None = None
    if typed.mode:
        try:
            mode = Mode(typed.mode.strip().lower())
        except ValueError:
            raise Refusal(UNKNOWN_MODE, value=typed.mode[:40]) from None
        modes = servable_modes(limits, checked_model)
        if mode not in modes:
            raise Refusal(
                MODE_NOT_ALLOWED,
                model=checked_model.value,
                mode=mode.value,
                allowed=_choices([m.value for m in modes]),
            )
    if typed.duration is not None:
        lengths = servable_durations(limits, checked_model, mode)
        if typed.duration not in lengths:
            raise Refusal(
                DURATION_NOT_ALLOWED,
                model=checked_model.value,
                allowed="/".join(str(d) for d in lengths) or "no",
                duration=typed.duration,
            )
    aspect: AspectRatio | None = None
    if typed.aspect_ratio:
        try:
            aspect = AspectRatio(typed.aspect_ratio.strip())
        except ValueError:
            raise Refusal(UNKNOWN_ASPECT, value=typed.aspect_ratio[:40]) from None
    return Preferences(model=model, mode=mode, duration=typed.duration, aspect_ratio=aspect)


def with_server_defaults(limits: GuildLimits, preferences: Preferences) -> GuildLimits:
    return limits.model_copy(
        update={
            "default_model": preferences.model,
            "default_mode": preferences.mode,
            "default_duration": preferences.duration,
            "default_aspect_ratio": preferences.aspect_ratio,
        }
    )


def describe(preferences: Preferences, locale: Locale = None) -> str:
    """`Preferences.describe()` in the member's language."""
    parts = [
        t(locale, DESCRIBE_MODEL, model=preferences.model.value) if preferences.model else None,
        t(locale, DESCRIBE_MODE, mode=preferences.mode.value) if preferences.mode else None,
        t(locale, DESCRIBE_DURATION, seconds=preferences.duration) if preferences.duration else None,
        t(locale, DESCRIBE_ASPECT, aspect=preferences.aspect_ratio.value)
        if preferences.aspect_ratio
        else None,
    ]
    shown = [p for p in parts if p]
    return join_parts(locale, shown) if shown else t(locale, NONE)


def server_defaults_summary(saved: Preferences, locale: Locale = None) -> str:
    """The mod-log line of `/defaults server`, in the mod-log's language (English as it always was)."""
    if locale is None:
        return f"Server defaults: {saved.describe()}"
    return f"{t(locale, SERVER_DEFAULTS_LINE)}: {describe(saved, locale)}"


def show_text(mine: Preferences, server: Preferences, *, fallback_model: Model, locale: Locale = None) -> str:
    fallback = t(locale, FALLBACK, model=fallback_model.value)
    shown = t(locale, SHOW, mine=describe(mine, locale), server=describe(server, locale), fallback=fallback)
    return shown + "\n" + t(locale, SHOW_HINT)

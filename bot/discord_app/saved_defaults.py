"""`/defaults`: reading what a member or a moderator typed into saved defaults, and the replies.

Pure functions of the typed values and the server's limits, so the rules are tested without
Discord. The words members read are the constants at the top.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.discord_app.access import Refusal
from bot.discord_app.video_choices import allowed_models, servable_durations, servable_modes
from bot.jobs.inline_flags import resolve_model
from bot.kling.models import AspectRatio, Mode, Model
from bot.quota.models import GuildLimits, Preferences

NOTHING_GIVEN = "Pick at least one of model, mode, duration or aspect_ratio to save."
UNKNOWN_MODEL = "`{value}` isn't a model I know. Pick one from the list as you type."
MODEL_NOT_ALLOWED = "`{model}` isn't enabled on this server; pick one of {allowed}."
MODE_NOT_ALLOWED = "`{model}` can't use {mode} mode here; pick {allowed}."
UNKNOWN_MODE = "`{value}` isn't a mode; pick std, pro or 4k."
DURATION_NOT_ALLOWED = "`{model}` makes {allowed}-second videos here, not {duration} seconds."
UNKNOWN_ASPECT = "`{value}` isn't a frame shape; pick 16:9, 9:16 or 1:1."
SAVED_MINE = (
    "Saved. Your videos in this server now default to {what}. Options and inline parameters still win."
)
CLEARED_MINE = "Your saved defaults are gone; you get the server's defaults again."
SAVED_SERVER = "Saved. Members who don't choose get {what} (a member's own defaults still win)."
CLEARED_SERVER = "The server's defaults are cleared; members get {model} unless they saved their own."
SHOW = "**Your defaults:** {mine}\n**This server's defaults:** {server}\n**Otherwise:** {fallback}"
SHOW_HINT = "Change yours with `/defaults set`; moderators change the server's with `/defaults server`."


@dataclass(frozen=True, slots=True)
class Typed:
    """What the member typed into `/defaults set` or `/defaults server` (all optional)."""

    model: str | None = None
    mode: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None

    def is_empty(self) -> bool:
        return self == Typed()


def _join(items: list[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) if items else "none"


def read_preferences(typed: Typed, limits: GuildLimits, *, fallback_model: Model) -> Preferences:
    """Validate what was typed against the capability table and the server's rules."""
    if typed.is_empty():
        raise Refusal(NOTHING_GIVEN)
    model: Model | None = None
    if typed.model:
        model = resolve_model(typed.model)
        if model is None:
            raise Refusal(UNKNOWN_MODEL.format(value=typed.model[:40]))
        allowed = allowed_models(limits)
        if model not in allowed:
            raise Refusal(
                MODEL_NOT_ALLOWED.format(model=model.value, allowed=_join([m.value for m in allowed]))
            )
    checked_model = model or fallback_model
    mode: Mode | None = None
    if typed.mode:
        try:
            mode = Mode(typed.mode.strip().lower())
        except ValueError:
            raise Refusal(UNKNOWN_MODE.format(value=typed.mode[:40])) from None
        modes = servable_modes(limits, checked_model)
        if mode not in modes:
            raise Refusal(
                MODE_NOT_ALLOWED.format(
                    model=checked_model.value, mode=mode.value, allowed=_join([m.value for m in modes])
                )
            )
    if typed.duration is not None:
        lengths = servable_durations(limits, checked_model, mode)
        if typed.duration not in lengths:
            raise Refusal(
                DURATION_NOT_ALLOWED.format(
                    model=checked_model.value,
                    allowed="/".join(str(d) for d in lengths) or "no",
                    duration=typed.duration,
                )
            )
    aspect: AspectRatio | None = None
    if typed.aspect_ratio:
        try:
            aspect = AspectRatio(typed.aspect_ratio.strip())
        except ValueError:
            raise Refusal(UNKNOWN_ASPECT.format(value=typed.aspect_ratio[:40])) from None
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


def show_text(mine: Preferences, server: Preferences, *, fallback_model: Model) -> str:
    fallback = f"model **{fallback_model.value}**, std mode, 5 s, 16:9"
    return SHOW.format(mine=mine.describe(), server=server.describe(), fallback=fallback) + "\n" + SHOW_HINT

"""Saved defaults: what a member gets for the settings they leave out.

Layers, first match wins: the option (or inline flag) the member gave, the member's own saved
defaults, the server's defaults (set by moderators), the operator's `DEFAULT_MODEL`, then the
spec's defaults (std, 5 s, 16:9). A saved default that doesn't fit the chosen model (a 15-second
default with a model that makes 5 or 10) is skipped rather than refused: defaults must never turn a
request that would work into a refusal.
"""

from __future__ import annotations

from bot.kling.capabilities import allowed_durations, allowed_modes
from bot.kling.models import Mode, Model
from bot.quota.models import GuildLimits, Preferences

__all__ = ["Preferences", "allowed_by_server", "pick_duration", "pick_mode", "server_preferences"]


def server_preferences(limits: GuildLimits) -> Preferences:
    return Preferences(
        model=limits.default_model,
        mode=limits.default_mode,
        duration=limits.default_duration,
        aspect_ratio=limits.default_aspect_ratio,
    )


def allowed_by_server(preferences: Preferences, limits: GuildLimits) -> Preferences:
    """Drop saved choices the server no longer allows, so they can't cause a refusal."""
    model = preferences.model
    if model is not None and limits.allowed_models is not None and model not in limits.allowed_models:
        model = None
    mode = preferences.mode
    if mode is not None and (
        (limits.allowed_modes is not None and mode not in limits.allowed_modes)
        or (mode is Mode.K4 and not limits.allow_4k)
    ):
        mode = None
    duration = preferences.duration
    if duration is not None and limits.max_duration is not None and duration > limits.max_duration:
        duration = None
    return Preferences(model, mode, duration, preferences.aspect_ratio)


def pick_mode(model: Model, preferred: Mode | None) -> Mode | None:
    return preferred if preferred is not None and preferred in allowed_modes(model) else None


def pick_duration(model: Model, mode: Mode, preferred: int | None) -> int | None:
    return preferred if preferred is not None and preferred in allowed_durations(model, mode) else None

"""What `/video` offers as choices, in words, and only what this server allows.

Lengths, modes and sound come from the capability table (`bot.kling.capabilities`), prices from the
cost table, and what the server allows from its limits (`bot.quota.policy.permitted_modes` and
friends), so nothing here restates a fact the bot already knows. Only the plain words live here
(`MODEL_STRENGTHS`, `MODE_WORDS`, `CAMERA_WORDS`...), in one module so they can be translated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import discord

from bot.discord_app.i18n import N_, t
from bot.kling.capabilities import (
    allowed_durations,
    allowed_modes,
    capabilities,
    models_where,
    supports_audio,
    supports_references,
)
from bot.kling.models import Action, AspectRatio, CameraType, Mode, Model, VideoRequest
from bot.quota.costs import CostTable
from bot.quota.models import GuildLimits
from bot.quota.policy import permitted_modes

#: What each model is good at, in a few words. A model missing here is still listed (with its facts).
MODEL_STRENGTHS: dict[str, str] = {
    "kling-v1": N_("the classic; camera moves"),
    "kling-v1-6": N_("better motion than v1"),
    "kling-v2-master": N_("rich detail"),
    "kling-v2-1-master": N_("detail and motion"),
    "kling-v2-5-turbo": N_("fast, good value"),
    "kling-v2-6": N_("natural motion"),
    "kling-v3": N_("best quality and motion"),
    "kling-v3-turbo": N_("v3 quality, faster"),
    "kling-v3-omni": N_("edit with references"),
    "kling-o1": N_("reference images and video"),
}

MODE_WORDS: dict[Mode, str] = {
    Mode.STD: "Standard — faster, cheaper",
    Mode.PRO: "Professional — sharper, costs more",
    Mode.K4: "4K — native 4K, slowest, costs most",
}

ASPECT_WORDS: dict[AspectRatio, str] = {
    AspectRatio.WIDE: N_("Wide 16:9 — landscape, YouTube"),
    AspectRatio.TALL: N_("Tall 9:16 — phone, Shorts, Reels"),
    AspectRatio.SQUARE: N_("Square 1:1"),
}

#: Camera choices: the four named moves, and simple moves written as strengths (`pan=…`).
CAMERA_WORDS: dict[str, str] = {
    CameraType.DOWN_BACK.value: "Pull back and rise",
    CameraType.FORWARD_UP.value: "Push in and rise",
    CameraType.LEFT_TURN_FORWARD.value: "Turn left while moving forward",
    CameraType.RIGHT_TURN_FORWARD.value: "Turn right while moving forward",
    "zoom=0.5": "Zoom in",
    "zoom=-0.5": "Zoom out",
    "pan=-0.5": "Pan left",
    "pan=0.5": "Pan right",
    "tilt=0.5": "Tilt up",
    "tilt=-0.5": "Tilt down",
    "roll=0.5": "Roll",
}

#: `/video` option descriptions (Discord allows 100 characters each).
VIDEO_OPTION_WORDS: dict[str, str] = {
    "prompt": "What happens in the video. Add --ar 9:16, --d 10, --m v3, --no blur… at the end (see /help)",
    "start_image": "A picture to start from (JPG or PNG, at least 300 px). Makes the picture move",
    "end_image": "A picture to end on (needs a start picture; not every model takes one)",
    "model": "Which Kling model; the list shows what each is good at and its cost",
    "mode": "Standard is faster and cheaper; Professional is sharper",
    "duration": "Length in seconds (the list shows what the model makes)",
    "aspect_ratio": "Frame shape: wide, tall (phones) or square",
    "negative_prompt": "Things you don't want to see, e.g. blur, text, extra fingers",
    "cfg_scale": "How closely to follow your words: 0 = freely, 1 = strictly",
    "camera": "A camera move (text-only videos on models that move the camera)",
    "generate_audio": "Make sound too (models that can; costs more)",
}
OMNI_OPTION_WORDS: dict[str, str] = {
    "prompt": "What happens; refer to your references, e.g. 'the cat from image 1 walks in'",
    "reference_video": "A video to edit or take style from (MP4/MOV, 3–10 s)",
    "reference_video_type": "Edit this video, or only borrow its style and motion",
    "keep_original_sound": "Keep the reference video's sound",
    "reference_image_1": "A picture of a person, object or place to use",
    "reference_image_2": "Another reference picture",
    "reference_image_3": "Another reference picture",
    "reference_image_4": "Another reference picture",
    "elements": "Element ids from your Kling subject library, separated by spaces",
    "model": "A model that takes references",
    "mode": "Standard is faster and cheaper; Professional is sharper",
    "duration": "Length in seconds",
    "aspect_ratio": "Frame shape: wide, tall (phones) or square",
    "start_image": "A picture to start from",
    "end_image": "A picture to end on",
    "generate_audio": "Make sound too (not with a reference video)",
}
REFERENCE_TYPE_WORDS: dict[str, str] = {
    "base": "Edit this video",
    "feature": "Only borrow its style and motion",
}

# Autocomplete labels, in the member's language (`interaction.locale`; None is English).
Locale = discord.Locale | str | None
SOUND = N_("sound")
REFERENCES = N_("references")
FROM_CREDITS = N_("from ~{price} credits (est.)")
SECONDS = N_("{seconds} seconds")
SPAN_RANGE = N_("{first}–{last} s")
SPAN_LIST = N_("{seconds} s")
#: Between the lengths of a model that makes, say, 5 or 10 second videos.
OR = N_(" or ")

CHOICE_NAME_LIMIT = 100
MAX_CHOICES = 25


@dataclass(frozen=True, slots=True)
class Offer:
    """One autocomplete entry: what the member reads and the value the command receives."""

    name: str
    value: str | int


def _span(durations: tuple[int, ...], locale: Locale = None) -> str:
    if not durations:
        return ""
    ordered = sorted(durations)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return t(locale, SPAN_RANGE, first=ordered[0], last=ordered[-1])
    return t(locale, SPAN_LIST, seconds=t(locale, OR).join(str(d) for d in ordered))


def allowed_models(limits: GuildLimits, candidates: Iterable[Model] | None = None) -> list[Model]:
    """Models the server allows that have at least one mode it allows."""
    permitted = permitted_modes(limits)
    models = list(candidates) if candidates is not None else list(Model)
    return [
        m
        for m in models
        if (limits.allowed_models is None or m in limits.allowed_models)
        and any(mode in permitted for mode in allowed_modes(m))
        and servable_durations(limits, m)
    ]


def servable_modes(limits: GuildLimits, model: Model) -> list[Mode]:
    permitted = permitted_modes(limits)
    return [mode for mode in allowed_modes(model) if mode in permitted]


def servable_durations(limits: GuildLimits, model: Model, mode: Mode | None = None) -> list[int]:
    modes = [mode] if mode is not None else allowed_modes(model)
    lengths = sorted({d for m in modes for d in allowed_durations(model, m)})
    return [d for d in lengths if limits.max_duration is None or d <= limits.max_duration]


def cheapest_cost(costs: CostTable, limits: GuildLimits, model: Model) -> float | None:
    """The price of the shortest clip in the cheapest mode this server allows (no sound)."""
    prices = []
    for mode in servable_modes(limits, model):
        lengths = servable_durations(limits, model, mode)
        if not lengths:
            continue
        request = VideoRequest(action=Action.TEXT2VIDEO, model=model, mode=mode, duration=lengths[0])
        try:
            prices.append(costs.cost(request))
        except ValueError:
            continue
    return min(prices) if prices else None


def model_label(model: Model, limits: GuildLimits, costs: CostTable, locale: Locale = None) -> str:
    """`kling-v3 · best quality, with sound · 3–15 s · sound · from ~4.2 credits (est.)`."""
    parts = [model.value]
    strength = MODEL_STRENGTHS.get(model.value)
    if strength:
        parts.append(t(locale, strength))
    parts.append(_span(tuple(servable_durations(limits, model)), locale))
    if limits.allow_audio and any(supports_audio(model, mode) for mode in servable_modes(limits, model)):
        parts.append(t(locale, SOUND))
    if capabilities(model).references:
        parts.append(t(locale, REFERENCES))
    price = cheapest_cost(costs, limits, model)
    if price is not None:
        parts.append(t(locale, FROM_CREDITS, price=f"{price:g}"))
    return " · ".join(p for p in parts if p)[:CHOICE_NAME_LIMIT]


def model_offers(
    limits: GuildLimits,
    costs: CostTable,
    typed: str,
    *,
    references_only: bool = False,
    locale: Locale = None,
) -> list[Offer]:
    candidates = models_where(supports_references) if references_only else None
    needle = typed.strip().lower()
    offers = []
    for model in allowed_models(limits, candidates):
        label = model_label(model, limits, costs, locale)
        if needle and needle not in label.lower():
            continue
        offers.append(Offer(label, model.value))
    return offers[:MAX_CHOICES]


def mode_offers(limits: GuildLimits, model: Model | None, locale: Locale = None) -> list[Offer]:
    if model is None:
        modes = [m for m in Mode if m in permitted_modes(limits)]
    else:
        modes = servable_modes(limits, model)
    return [Offer(t(locale, MODE_WORDS.get(mode, mode.value)), mode.value) for mode in modes]


def duration_offers(
    limits: GuildLimits, model: Model, mode: Mode | None, locale: Locale = None
) -> list[Offer]:
    lengths = servable_durations(limits, model, mode)
    return [Offer(t(locale, SECONDS, seconds=d), d) for d in lengths][:MAX_CHOICES]

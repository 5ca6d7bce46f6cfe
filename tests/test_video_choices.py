"""The words `/video` offers: from the capability and cost tables, only what the server allows."""

from __future__ import annotations

import pytest

from bot.discord_app.access import Refusal
from bot.discord_app.saved_defaults import Typed, read_preferences
from bot.discord_app.video_choices import (
    CAMERA_WORDS,
    OMNI_OPTION_WORDS,
    VIDEO_OPTION_WORDS,
    duration_offers,
    mode_offers,
    model_label,
    model_offers,
)
from bot.kling.capabilities import allowed_durations
from bot.kling.models import Mode, Model
from bot.quota.costs import load_cost_table
from bot.quota.models import GuildLimits

COSTS = load_cost_table(None)


def test_every_word_fits_discords_limits() -> None:
    for text in [*VIDEO_OPTION_WORDS.values(), *OMNI_OPTION_WORDS.values(), *CAMERA_WORDS.values()]:
        assert 1 <= len(text) <= 100, text
    for model in Model:
        assert len(model_label(model, GuildLimits(), COSTS)) <= 100


def test_the_model_list_says_lengths_sound_and_cost_from_the_tables() -> None:
    label = model_label(Model.V3, GuildLimits(), COSTS)
    durations = allowed_durations(Model.V3)
    assert f"{min(durations)}–{max(durations)} s" in label
    assert "· sound" in label and "credits" in label
    assert "· sound" not in model_label(Model.V1, GuildLimits(), COSTS)
    assert "· sound" not in model_label(Model.V3, GuildLimits(allow_audio=False), COSTS)


def test_only_what_the_server_allows_is_offered() -> None:
    limits = GuildLimits(
        allowed_models=frozenset({Model.V1, Model.V3}), allowed_modes=frozenset({Mode.STD}), max_duration=8
    )
    assert [o.value for o in model_offers(limits, COSTS, "")] == ["kling-v1", "kling-v3"]
    assert [o.value for o in mode_offers(limits, Model.V3)] == ["std"]
    assert [o.value for o in duration_offers(limits, Model.V3, Mode.STD)] == [3, 4, 5, 6, 7, 8]
    assert [o.value for o in duration_offers(limits, Model.V1, None)] == [5]
    assert mode_offers(GuildLimits(), Model.V1)[0].name.startswith("Standard — faster, cheaper")


def test_saved_defaults_are_checked_against_the_model_and_the_server() -> None:
    limits = GuildLimits(allowed_models=frozenset({Model.V1, Model.V3}))
    saved = read_preferences(Typed(model="v3", duration=15), limits, fallback_model=Model.V1)
    assert (saved.model, saved.duration) == (Model.V3, 15)
    with pytest.raises(Refusal, match="isn't enabled"):
        read_preferences(Typed(model="kling-v2-6"), limits, fallback_model=Model.V1)
    with pytest.raises(Refusal, match="5/10"):
        read_preferences(Typed(duration=15), limits, fallback_model=Model.V1)
    with pytest.raises(Refusal, match="at least one"):
        read_preferences(Typed(), limits, fallback_model=Model.V1)


def test_video_keeps_exactly_the_contract_options_and_omni_takes_the_references() -> None:
    from cogs.video import VideoCog

    video = [p.name for p in VideoCog.video.parameters]
    assert video == [
        "prompt",
        "start_image",
        "end_image",
        "model",
        "mode",
        "duration",
        "aspect_ratio",
        "negative_prompt",
        "cfg_scale",
        "camera",
        "generate_audio",
    ]
    omni = {p.name for p in VideoCog.video_omni.parameters}
    assert {
        "reference_video",
        "reference_video_type",
        "keep_original_sound",
        "reference_image_1",
        "reference_image_4",
        "elements",
    } <= omni
    camera = next(p for p in VideoCog.video.parameters if p.name == "camera")
    assert "Pull back and rise" in [c.name for c in camera.choices]

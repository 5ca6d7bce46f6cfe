"""Inline parameters in the prompt: parsed out, applied over the options, refused when unreadable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.jobs.inline_flags import flags_for, resolve_model, split_flags
from bot.jobs.orders import VideoOrder, build_request
from bot.kling.capabilities import RequestRefused
from bot.kling.models import AspectRatio, Mode, Model
from bot.quota.models import Preferences


def test_every_flag_is_taken_out_and_read() -> None:
    split = split_flags("a fox in snow --ar 9:16 --d 10 --m v3 --mode pro --no blur, text --cfg 0.4 --audio")
    assert split.prompt == "a fox in snow"
    flags = split.flags
    assert (flags.aspect_ratio, flags.duration, flags.model, flags.mode) == ("9:16", 10, "kling-v3", "pro")
    assert (flags.negative_prompt, flags.cfg_scale, flags.generate_audio) == ("blur, text", 0.4, True)


def test_flags_override_options_and_reach_the_request() -> None:
    order = VideoOrder(prompt="a lighthouse --ar 1:1 --d 10 --m v2.6", aspect_ratio="16:9", duration=5)
    request = build_request(order, default_model=Model.V1)
    assert request.prompt == "a lighthouse"
    assert (request.aspect_ratio, request.duration, request.model) == (AspectRatio.SQUARE, 10, Model.V2_6)


def test_text_between_flags_stays_in_the_prompt_and_phone_dashes_count() -> None:
    split = split_flags("a cat —ar 9:16 jumps over a wall --d 10 slowly")
    assert split.prompt == "a cat jumps over a wall slowly"
    assert (split.flags.aspect_ratio, split.flags.duration) == ("9:16", 10)


def test_audio_takes_an_optional_switch() -> None:
    assert split_flags("rain --audio").flags.generate_audio is True
    assert split_flags("rain --audio off").flags.generate_audio is False
    both = split_flags("rain --audio a dog barks")
    assert both.flags.generate_audio is True and both.prompt == "rain a dog barks"


def test_a_dash_inside_words_is_not_a_flag() -> None:
    assert split_flags("a well--known path and x --- y").prompt == "a well--known path and x --- y"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a fox --arr 9:16", "--ar"),  # typo: did you mean
        ("a fox --zoom 2", "I understand"),
        ("a fox --ar 4:3", "16:9"),
        ("a fox --d ten", "whole number"),
        ("a fox --m v9", "v3"),
        ("a fox --mode 8k", "std"),
        ("a fox --cfg 3", "from 0"),
        ("a fox --ar", "needs a value"),
        ("a fox --ar 9:16 --ar 1:1", "twice"),
        ("--ar 9:16 --d 10", "only inline parameters"),
    ],
)
def test_unreadable_flags_are_refused_with_advice(prompt: str, expected: str) -> None:
    with pytest.raises(RequestRefused, match=expected):
        build_request(VideoOrder(prompt=prompt), default_model=Model.V1)


def test_the_same_flag_twice_with_the_same_value_is_fine() -> None:
    assert split_flags("a fox --d 10 --duration 10").flags.duration == 10


def test_short_model_names() -> None:
    assert resolve_model("v3") is Model.V3
    assert resolve_model("V3-Omni") is Model.V3_OMNI
    assert resolve_model("v2.6") is Model.V2_6
    assert resolve_model("kling-v1-6") is Model.V1_6
    assert resolve_model("o1") is Model.O1
    assert resolve_model("v9") is None


def test_camera_strengths_mean_the_simple_move() -> None:
    request = build_request(VideoOrder(prompt="a city --camera zoom=0.5"), default_model=Model.V1)
    assert request.camera_control is not None and request.camera_control.type.value == "simple"
    assert request.camera_control.config is not None and request.camera_control.config.zoom == 0.5


_WORDS = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12)


@given(
    words=st.lists(_WORDS, min_size=1, max_size=8),
    aspect=st.sampled_from(list(AspectRatio)),
    duration=st.sampled_from([5, 10]),
    mode=st.sampled_from([Mode.STD, Mode.PRO]),
)
def test_any_prompt_with_flags_loses_exactly_the_flags(
    words: list[str], aspect: AspectRatio, duration: int, mode: Mode
) -> None:
    prompt = " ".join(words)
    split = split_flags(f"{prompt} --ar {aspect.value} --d {duration} --mode {mode.value}")
    assert split.prompt == prompt
    assert (split.flags.aspect_ratio, split.flags.duration, split.flags.mode) == (
        aspect.value,
        duration,
        mode.value,
    )


@given(words=st.lists(_WORDS, min_size=1, max_size=8))
def test_a_prompt_without_flags_is_untouched(words: list[str]) -> None:
    prompt = " ".join(words)
    split = split_flags(prompt)
    assert split.prompt == prompt and split.flags.is_empty()


@given(
    model=st.sampled_from([Model.V1, Model.V2_6, Model.V3]),
    aspect=st.sampled_from(list(AspectRatio)),
    cfg=st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.5, 1.0])),
    audio=st.booleans(),
)
def test_the_echo_reads_back_as_the_same_request(
    model: Model, aspect: AspectRatio, cfg: float | None, audio: bool
) -> None:
    """What the progress message shows, typed as a prompt, builds the very same request."""
    mode = Mode.PRO if audio else Mode.STD
    order = VideoOrder(
        prompt="a fox", model=model.value, mode=mode.value, aspect_ratio=aspect.value, cfg_scale=cfg
    )
    try:
        request = build_request(order, default_model=Model.V1)
    except RequestRefused:
        return
    echoed = build_request(VideoOrder(prompt=f"a fox {flags_for(request)}"), default_model=Model.V1)
    assert echoed == request


def test_saved_defaults_fill_only_what_is_unset_and_never_cause_a_refusal() -> None:
    saved = Preferences(model=Model.V3, mode=Mode.PRO, duration=15, aspect_ratio=AspectRatio.TALL)
    request = build_request(VideoOrder(prompt="a fox"), default_model=Model.V1, preferences=saved)
    assert (request.model, request.mode, request.duration, request.aspect_ratio) == (
        Model.V3,
        Mode.PRO,
        15,
        AspectRatio.TALL,
    )
    # kling-v1 makes 5 or 10 seconds: the 15-second default is skipped, not refused.
    other = build_request(VideoOrder(prompt="a fox --m v1"), default_model=Model.V1, preferences=saved)
    assert (other.model, other.duration, other.mode) == (Model.V1, 5, Mode.PRO)

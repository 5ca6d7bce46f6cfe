"""Issue 10: citations of omni references, closed elements, kling-v3-turbo, storyboards and the
DEFAULT_MODEL alias, each checked before anything is paid."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, load_settings
from bot.jobs.orders import AttachmentRef, VideoOrder, build_request, order_from_request, prompt_note
from bot.kling.capabilities import Problem, RequestRefused, check_request
from bot.kling.models import Action, Mode, Model, Shot, ShotType, VideoReference, VideoRequest
from bot.kling.storyboard import parse_storyboard, storyboard_text
from bot.quota.costs import CostTable


def _png(name: str) -> AttachmentRef:
    return AttachmentRef(url=f"https://cdn.example.test/{name}", filename=name, size=1000)


VIDEO = AttachmentRef(url="https://cdn.example.test/ref.mp4", filename="ref.mp4", size=5_000_000)


def build(**fields: Any) -> VideoRequest:
    return build_request(VideoOrder(**{"prompt": "a fox dances", **fields}), default_model=Model.V1)


def problems(**fields: Any) -> list[str]:
    with pytest.raises(RequestRefused) as caught:
        build(**fields)
    return [p.message for p in caught.value.problems]


# --- citations ------------------------------------------------------------------------------------


def test_uncited_references_are_cited_naturally_after_the_frames() -> None:
    order = VideoOrder(
        prompt="a fox dances",
        model="kling-v3-omni",
        start_image=_png("start.png"),
        reference_images=(_png("a.png"), _png("b.png")),
    )
    request = build_request(order, default_model=Model.V1)
    # The start frame is image 1, so the references are images 2 and 3.
    assert request.prompt == "a fox dances. Use <<<image_2>>> and <<<image_3>>> as references."
    note = prompt_note(order, request)
    assert note is not None and "Use <<<image_2>>> and <<<image_3>>> as references." in str(note)


def test_a_base_video_is_cited_as_the_video_to_edit() -> None:
    request = build(model="kling-o1", prompt="make it snow!", reference_video=VIDEO)
    assert request.prompt == "make it snow! Apply this to <<<video_1>>>."


def test_the_members_own_citations_are_kept_and_nothing_is_added() -> None:
    order = VideoOrder(
        prompt="<<<image_1>>> meets <<<image_2>>> in <<<video_1>>>",
        model="kling-v3-omni",
        reference_video=VIDEO,
        reference_video_type="feature",
        reference_images=(_png("a.png"), _png("b.png")),
    )
    request = build_request(order, default_model=Model.V1)
    assert request.prompt == order.prompt
    assert prompt_note(order, request) is None
    # Rerun does not cite twice.
    assert build_request(order_from_request(request), default_model=Model.V1) == request


def test_a_citation_of_a_missing_reference_is_refused() -> None:
    assert problems(
        model="kling-v3-omni", prompt="<<<image_2>>> dances", reference_images=(_png("a.png"),)
    ) == [
        "The prompt cites <<<image_2>>>, but this video has 1 image (start and end frames first) and "
        "0 reference videos: attach what it cites or remove the citation."
    ]
    assert problems(model="kling-v3", prompt="<<<video_1>>> again") == [
        "kling-v3 takes no references, so the prompt's <<<video_1>>> cites nothing: attach what it cites "
        "or remove the citation."
    ]


def test_citations_that_overflow_the_prompt_are_refused_with_the_count() -> None:
    [message] = problems(model="kling-v3-omni", prompt="x" * 2490, reference_images=(_png("a.png"),))
    assert "shorten it by 25 characters" in message


def test_an_uncited_reference_built_another_way_is_refused() -> None:
    request = VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.O1,
        prompt="a fox",
        video_list=(VideoReference(video_url="https://cdn.example.test/v.mp4", refer_type="feature"),),
    )
    assert check_request(request) == [
        Problem(
            "prompt",
            "Kling ignores references the prompt does not cite: mention <<<video_1>>> in the prompt.",
        )
    ]


# --- elements -------------------------------------------------------------------------------------


def test_elements_are_refused_unless_the_operator_opens_them() -> None:
    order = VideoOrder(prompt="a fox", model="kling-v3-omni", elements="el_1")
    with pytest.raises(RequestRefused, match="ENABLE_ELEMENT_LIST"):
        build_request(order, default_model=Model.V1)
    assert build_request(order, default_model=Model.V1, elements_enabled=True).element_list == ("el_1",)


def test_the_element_setting_defaults_to_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    settings = load_settings(DISCORD_TOKEN="d", ACEDATA_API_TOKEN="a")
    assert settings.ENABLE_ELEMENT_LIST is False


# --- DEFAULT_MODEL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "model"), [("kling-video-o1", Model.O1), (" KLING-V3-TURBO ", Model.V3_TURBO)]
)
def test_default_model_takes_the_same_names_as_the_model_option(
    monkeypatch: pytest.MonkeyPatch, value: str, model: Model
) -> None:
    monkeypatch.chdir("/")
    assert load_settings(DISCORD_TOKEN="d", ACEDATA_API_TOKEN="a", DEFAULT_MODEL=value).DEFAULT_MODEL is model


def test_an_unknown_default_model_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    with pytest.raises(ConfigError, match=r"DEFAULT_MODEL: .*kling-v3-turbo"):
        load_settings(DISCORD_TOKEN="d", ACEDATA_API_TOKEN="a", DEFAULT_MODEL="kling-v9")


# --- kling-v3-turbo -------------------------------------------------------------------------------


def test_turbo_always_sends_sound_on() -> None:
    request = build(model="kling-v3-turbo", duration=7, mode="pro")
    assert request.to_payload()["generate_audio"] is True
    image = build(model="kling-v3-turbo", start_image=_png("s.png"))
    assert image.action is Action.IMAGE2VIDEO and image.to_payload()["generate_audio"] is True


def test_turbo_refuses_what_it_cannot_do() -> None:
    assert problems(model="kling-v3-turbo", generate_audio=False) == [
        "kling-v3-turbo always makes sound: turn generate_audio on (or leave it out) or pick kling-v3 "
        "for a silent video."
    ]
    assert problems(model="kling-v3-turbo", negative_prompt="blur", cfg_scale=0.4) == [
        "kling-v3-turbo doesn't take negative_prompt: remove negative_prompt.",
        "kling-v3-turbo doesn't take cfg_scale: remove cfg_scale.",
    ]
    assert problems(model="kling-v3-turbo", start_image=_png("s.png"), end_image=_png("e.png")) == [
        "kling-v3-turbo can't use an end frame: remove end_image or pick kling-v3."
    ]
    [camera] = problems(model="kling-v3-turbo", camera="forward_up")
    assert camera.startswith("kling-v3-turbo can't move the camera")
    assert problems(model="kling-v3-turbo", mode="4k") == [
        "kling-v3-turbo takes mode std or pro, not 4k: set mode to std or pro, or pick kling-v3 for 4k."
    ]
    [duration] = problems(model="kling-v3-turbo", duration=16)
    assert "3 to 15 seconds" in duration


def test_turbo_has_a_price_in_both_modes() -> None:
    table = CostTable()
    std = table.cost(build(model="kling-v3-turbo", duration=5))
    pro = table.cost(build(model="kling-v3-turbo", duration=5, mode="pro"))
    assert 0 < std < pro


# --- a base edit is priced by the input video's length --------------------------------------------


def test_a_base_edit_costs_what_its_input_video_lasts() -> None:
    request = build(model="kling-v3-omni", reference_video=VIDEO, duration=5)
    long_input = request.model_copy(update={"input_video_seconds": 12.4})
    short_input = request.model_copy(update={"input_video_seconds": 3.02})
    table = CostTable()
    assert long_input.output_seconds == 13 and short_input.output_seconds == 3
    assert table.cost(long_input) == table.cost(request.model_copy(update={"duration": 13}))
    assert table.cost(short_input) < table.cost(request) < table.cost(long_input)
    feature = build(model="kling-v3-omni", reference_video=VIDEO, reference_video_type="feature")
    assert feature.model_copy(update={"input_video_seconds": 12.4}).output_seconds == 5
    assert "input_video_seconds" not in long_input.to_payload()


# --- storyboards ----------------------------------------------------------------------------------


def test_a_storyboard_is_read_one_shot_per_line() -> None:
    shots = parse_storyboard("4s: the fox leaps\n\n  3 sec - it lands in snow  \n2 seconds: it looks back")
    assert shots == (
        Shot(index=1, prompt="the fox leaps", duration=4),
        Shot(index=2, prompt="it lands in snow", duration=3),
        Shot(index=3, prompt="it looks back", duration=2),
    )
    assert (
        storyboard_text(shots) == "1. (4 s) the fox leaps\n2. (3 s) it lands in snow\n3. (2 s) it looks back"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "the fox leaps",
            "Line 1 (`the fox leaps`) is not a shot: write it like `4s: the fox leaps over the log`.",
        ),
        ("2.5s: the fox leaps", "Line 1 lasts 2.5 seconds: shots last whole seconds, like `4s:`."),
        ("   \n", "The storyboard is empty: write one shot per line, like `4s: the fox leaps over the log`."),
    ],
)
def test_a_storyboard_line_that_is_not_a_shot_says_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(RequestRefused) as caught:
        parse_storyboard(text)
    assert [p.message for p in caught.value.problems] == [message]


def storyboard(text: str, **fields: Any) -> VideoRequest:
    order = VideoOrder(
        prompt=None, multi_shot=True, shots=parse_storyboard(text), **{"model": "kling-v3", **fields}
    )
    return build_request(order, default_model=Model.V1)


def test_a_customised_storyboard_becomes_multi_prompt_with_the_total_duration() -> None:
    request = storyboard("4s: the fox leaps\n3s: it lands", mode="pro")
    payload = request.to_payload()
    assert payload["multi_shot"] is True and payload["shot_type"] == "customize"
    assert payload["duration"] == 7
    assert payload["multi_prompt"] == [
        {"index": 1, "prompt": "the fox leaps", "duration": 4},
        {"index": 2, "prompt": "it lands", "duration": 3},
    ]
    assert payload["prompt"] == "1. (4 s) the fox leaps\n2. (3 s) it lands"


def test_every_storyboard_rule_is_checked_before_paying() -> None:
    def refused(text: str, **fields: Any) -> list[str]:
        with pytest.raises(RequestRefused) as caught:
            storyboard(text, **fields)
        return [p.message for p in caught.value.problems]

    seven = "\n".join(f"2s: shot {n}" for n in range(7))
    assert refused(seven) == ["Write 1 to 6 shots, one per line: you wrote 7."]
    assert refused("1s: a\n1s: b") == [
        "kling-v3 makes videos of 3 to 15 seconds: set duration between 3 and 15."
    ]
    assert refused("4s: " + "x" * 513) == ["Shot 1 is 513 characters long: shorten it to 512 or fewer."]
    assert refused("0s: a\n5s: b") == ["Shot 1 must last at least 1 second: give it 1s or more."]
    assert refused("4s: a\n4s: b", duration=10) == [
        "The shots add up to 8 seconds but the video is 10: make them add up to 10 seconds, "
        "or set duration to 8."
    ]
    assert refused("5s: a", model="kling-v2-6") == [
        "kling-v2-6 can't make multi-shot videos: pick kling-v3 or kling-v3-omni."
    ]
    assert refused("5s: a", camera="forward_up") == [
        "Camera moves can't be combined with several shots: remove camera."
    ]


def test_intelligent_shots_take_the_prompt() -> None:
    order = VideoOrder(
        prompt="a chase, then calm",
        model="kling-v3-omni",
        multi_shot=True,
        shot_type="intelligence",
        duration=10,
    )
    payload = build_request(order, default_model=Model.V1).to_payload()
    assert (payload["shot_type"], payload["prompt"], payload["duration"]) == (
        "intelligence",
        "a chase, then calm",
        10,
    )
    assert "multi_prompt" not in payload


def test_a_storyboard_reruns_identically() -> None:
    request = storyboard("4s: the fox leaps\n3s: it lands", mode="4k", generate_audio=True)
    assert request.mode is Mode.K4 and request.shot_type is ShotType.CUSTOMIZE
    assert build_request(order_from_request(request), default_model=Model.V1) == request

"""From slash-command options to a validated VideoRequest, and back again for Rerun and Remix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.jobs.orders import (
    AttachmentRef,
    VideoOrder,
    build_request,
    extend_order,
    order_from_request,
    parse_camera_config,
)
from bot.kling.capabilities import RequestRefused
from bot.kling.models import Action, CameraType, Mode, Model

PNG = AttachmentRef(
    url="https://cdn.example/attachments/1/2/frame.png?ex=1&hm=2", filename="frame.png", size=1000
)


def test_action_is_inferred_from_the_start_image() -> None:
    assert build_request(VideoOrder(prompt="a fox"), default_model=Model.V1).action is Action.TEXT2VIDEO
    image = build_request(VideoOrder(prompt="a fox", start_image=PNG), default_model=Model.V1)
    assert image.action is Action.IMAGE2VIDEO and image.start_image_url == PNG.url


def test_defaults_come_from_the_operator_and_the_spec() -> None:
    request = build_request(VideoOrder(prompt="a fox"), default_model=Model.V2_6)
    assert (request.model, request.mode, request.duration, request.aspect_ratio.value) == (
        Model.V2_6,
        Mode.STD,
        5,
        "16:9",
    )


def test_the_spec_pages_old_model_name_is_accepted() -> None:
    request = build_request(VideoOrder(prompt="a fox", model="kling-video-o1"), default_model=Model.V1)
    assert request.model is Model.O1
    assert request.to_payload()["model"] == "kling-o1"


def test_unknown_model_and_mode_are_explained() -> None:
    with pytest.raises(RequestRefused, match="kling-v3"):
        build_request(VideoOrder(prompt="a fox", model="kling-v9"), default_model=Model.V1)
    with pytest.raises(RequestRefused, match="`std`"):
        build_request(VideoOrder(prompt="a fox", mode="8k"), default_model=Model.V1)


def test_capability_rules_apply_before_anything_is_sent() -> None:
    order = VideoOrder(prompt="a fox", model="kling-v1", duration=10, start_image=PNG, end_image=PNG)
    with pytest.raises(RequestRefused) as caught:
        build_request(order, default_model=Model.V1)
    assert "5" in str(caught.value) and "end" in str(caught.value).lower()


def test_a_prompt_of_invisible_characters_is_refused() -> None:
    with pytest.raises(RequestRefused):
        build_request(VideoOrder(prompt="\u200b\u200d\ufeff  "), default_model=Model.V1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pan=0.5, zoom=-0.2", {"pan": 0.5, "zoom": -0.2}),
        ("horizontal: 1 vertical: -1", {"horizontal": 1.0, "vertical": -1.0}),
        ("TILT=0.25;roll=0", {"tilt": 0.25, "roll": 0.0}),
    ],
)
def test_camera_config_is_read_in_friendly_forms(text: str, expected: dict[str, float]) -> None:
    assert parse_camera_config(text).model_dump(exclude_none=True) == expected


@pytest.mark.parametrize(
    ("text", "hint"), [("pan=2", "between -1 and 1"), ("spin=0.5", "not a camera axis"), ("pan", "zoom=0.5")]
)
def test_bad_camera_config_says_how_to_write_it(text: str, hint: str) -> None:
    with pytest.raises(RequestRefused, match=hint):
        parse_camera_config(text)


def test_camera_config_needs_a_camera_type() -> None:
    with pytest.raises(RequestRefused, match="camera"):
        build_request(VideoOrder(prompt="a fox", camera_config="pan=0.5"), default_model=Model.V1)


def test_reference_options_fill_the_omni_lists() -> None:
    video = AttachmentRef(url="https://cdn.example/ref.mp4", filename="ref.mp4", size=5_000_000)
    order = VideoOrder(
        prompt="the cat from <<<image_1>>> dances",
        model="kling-v3-omni",
        reference_video=video,
        reference_video_type="feature",
        keep_original_sound=False,
        reference_images=(PNG,),
        elements="el_1, el_2",
    )
    with pytest.raises(RequestRefused, match="ENABLE_ELEMENT_LIST"):
        build_request(order, default_model=Model.V1)
    payload = build_request(order, default_model=Model.V1, elements_enabled=True).to_payload()
    # The member cited the image; the bot cites the video it would otherwise ignore.
    assert payload["prompt"] == (
        "the cat from <<<image_1>>> dances. Follow the style and camera motion of <<<video_1>>>."
    )
    assert payload["video_list"] == [
        {"video_url": video.url, "refer_type": "feature", "keep_original_sound": "no"}
    ]
    assert payload["image_list"] == [{"image_url": PNG.url}]
    assert payload["element_list"] == [{"element_id": "el_1"}, {"element_id": "el_2"}]


def test_extend_keeps_the_shape_of_the_original() -> None:
    original = build_request(
        VideoOrder(prompt="a fox", model="kling-v1-6", mode="pro", aspect_ratio="9:16"),
        default_model=Model.V1,
    )
    extension = build_request(extend_order(original, "video-123"), default_model=Model.V1)
    assert extension.action is Action.EXTEND and extension.video_id == "video-123"
    assert (extension.model, extension.mode, extension.aspect_ratio) == (
        original.model,
        original.mode,
        original.aspect_ratio,
    )


orders = st.builds(
    VideoOrder,
    prompt=st.sampled_from(["a fox in snow", "city at night, rain"]),
    model=st.sampled_from([m.value for m in Model]),
    mode=st.sampled_from([m.value for m in Mode]),
    duration=st.sampled_from([3, 5, 10, 15]),
    aspect_ratio=st.sampled_from(["16:9", "9:16", "1:1"]),
    negative_prompt=st.none() | st.just("blur"),
    cfg_scale=st.none() | st.floats(0, 1),
    camera=st.none() | st.sampled_from([c.value for c in CameraType]),
    camera_config=st.none() | st.sampled_from(["pan=0.5, zoom=-0.25", "zoom=-0.25"]),
    generate_audio=st.booleans(),
    start_image=st.none() | st.just(PNG),
    end_image=st.none() | st.just(PNG),
)


@settings(max_examples=300, deadline=None)
@given(orders)
def test_rerun_rebuilds_exactly_the_same_request(order: VideoOrder) -> None:
    try:
        request = build_request(order, default_model=Model.V1)
    except RequestRefused:
        return
    assert build_request(order_from_request(request), default_model=Model.V1) == request
    remixed = build_request(order_from_request(request, prompt="something else"), default_model=Model.V1)
    assert (
        remixed.prompt == "something else"
        and remixed.model_copy(update={"prompt": request.prompt}) == request
    )

"""Every request the rules allow produces a body the published `/kling/videos` schema accepts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft7Validator

from bot.kling.capabilities import check_request
from bot.kling.models import (
    Action,
    CameraConfig,
    CameraControl,
    CameraType,
    ImageReference,
    Mode,
    Model,
    Shot,
    ShotType,
    VideoReference,
    VideoRequest,
)
from tests.openapi import body_errors, request_validator, schema_errors, uses_newest_guide
from tests.test_capabilities import allowed_requests, video_requests


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    return request_validator("/kling/videos")


def _errors(validator: Draft7Validator, payload: dict[str, Any]) -> list[str]:
    """Upstream document alone, or with the newest guide's additions for a body that uses them."""
    return body_errors(payload) if uses_newest_guide(payload) else schema_errors(validator, payload)


def test_the_schema_catches_a_bad_body(validator: Draft7Validator) -> None:
    # Proves the validator is not vacuous: each of these breaks one constraint of the schema.
    good = VideoRequest(action=Action.TEXT2VIDEO, prompt="a fox").to_payload()
    assert _errors(validator, good) == []
    for change in ({"cfg_scale": 1.5}, {"mode": "8k"}, {"duration": "5"}, {"model": "kling-v9"}):
        assert _errors(validator, {**good, **change}), change
    assert _errors(validator, {k: v for k, v in good.items() if k != "action"})


def test_every_allowed_generated_combination_matches_the_schema(validator: Draft7Validator) -> None:
    failures: list[str] = []
    count = newest = 0
    for request in allowed_requests():
        assert check_request(request) == []
        count += 1
        newest += uses_newest_guide(request.to_payload())
        if errors := _errors(validator, request.to_payload()):
            failures.append(f"{request!r}: {errors}")
    assert count > 1000
    assert not failures, "\n".join(failures[:10])
    assert newest > 100  # turbo and storyboards are among the allowed bodies


_URL = "https://cdn.example.test/a.png"
_RICH_ALLOWED = [
    VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3,
        mode=Mode.PRO,
        duration=15,
        prompt="a slow dolly across a misty lake",
        negative_prompt="text, watermark",
        cfg_scale=1,
        generate_audio=True,
        camera_control=CameraControl(
            type=CameraType.SIMPLE, config=CameraConfig(horizontal=-1, vertical=0, zoom=0, pan=0)
        ),
        callback_url="https://bot.example.test/kling/callback",
    ),
    VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3_OMNI,
        prompt="<<<image_1>>> and <<<image_2>>> dance in <<<video_1>>>",
        video_list=(VideoReference(video_url="https://cdn.example.test/ref.mp4", keep_original_sound="yes"),),
        image_list=(ImageReference(image_url=_URL), ImageReference(image_url=_URL + "?2")),
        element_list=("element-1", "element-2"),
    ),
    VideoRequest(
        action=Action.IMAGE2VIDEO,
        model=Model.O1,
        mode=Mode.PRO,
        prompt="the statue <<<image_3>>> wakes up like <<<video_1>>>",
        start_image_url=_URL,
        end_image_url=_URL + "?end",
        image_list=(ImageReference(image_url=_URL + "?3"),),
        video_list=(VideoReference(video_url="https://cdn.example.test/ref.mp4", refer_type="feature"),),
    ),
    VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3_OMNI,
        prompt="frames given as references",
        image_list=(
            ImageReference(image_url=_URL, type="first_frame"),
            ImageReference(image_url=_URL, type="end_frame"),
        ),
    ),
    VideoRequest(action=Action.EXTEND, model=Model.V2_5_TURBO, duration=10, video_id="900798310464749610"),
    VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V1,
        prompt="orbit",
        camera_control=CameraControl(type=CameraType.DOWN_BACK),
    ),
    VideoRequest(
        action=Action.IMAGE2VIDEO,
        model=Model.V3_TURBO,
        mode=Mode.PRO,
        duration=11,
        prompt="the kite climbs",
        start_image_url=_URL,
        generate_audio=True,
    ),
    VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3_OMNI,
        mode=Mode.K4,
        duration=15,
        prompt="a day in the life of a fox",
        generate_audio=True,
        multi_shot=True,
        shot_type=ShotType.CUSTOMIZE,
        multi_prompt=tuple(
            Shot(index=i, prompt=f"shot {i}", duration=d) for i, d in enumerate((5, 4, 3, 1, 1, 1), 1)
        ),
    ),
    VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3,
        prompt="a chase through the market, then a quiet ending",
        duration=10,
        multi_shot=True,
        shot_type=ShotType.INTELLIGENCE,
    ),
]


@pytest.mark.parametrize("request_", _RICH_ALLOWED, ids=lambda r: f"{r.model.value}-{r.action.value}")
def test_rich_allowed_requests_match_the_schema(validator: Draft7Validator, request_: VideoRequest) -> None:
    assert check_request(request_) == []
    assert _errors(validator, request_.to_payload()) == []


@settings(max_examples=300, deadline=None)
@given(video_requests)
def test_any_allowed_request_matches_the_schema(validator: Draft7Validator, request: VideoRequest) -> None:
    if not check_request(request):
        assert _errors(validator, request.to_payload()) == []


def test_the_newest_guide_additions_are_not_vacuous() -> None:
    turbo = VideoRequest(action=Action.TEXT2VIDEO, model=Model.V3_TURBO, prompt="a fox", generate_audio=True)
    assert body_errors(turbo.to_payload()) == []
    # The unmodified upstream document does not know kling-v3-turbo (hence the documented additions).
    assert schema_errors(request_validator("/kling/videos"), turbo.to_payload())
    story = VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3,
        prompt="a fox",
        duration=5,
        multi_shot=True,
        shot_type=ShotType.CUSTOMIZE,
        multi_prompt=(Shot(index=1, prompt="leaps", duration=2), Shot(index=2, prompt="lands", duration=3)),
    ).to_payload()
    assert body_errors(story) == []
    for bad in (
        {"shot_type": "random"},
        {"multi_prompt": []},
        {"multi_prompt": [{"index": 1, "prompt": "x" * 513, "duration": 5}]},
        {"multi_prompt": [{"index": 1, "prompt": "x", "duration": 2.5}]},
        {"multi_shot": "yes"},
    ):
        assert body_errors({**story, **bad}), bad

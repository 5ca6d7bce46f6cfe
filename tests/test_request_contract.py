"""What the client really puts on the wire matches AceData's published request schemas.

Requests covering every field of VideoRequest go through KlingClient to the fake server; each
recorded body is then validated against the OpenAPI file's `/kling/videos` and `/kling/tasks` schemas.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from bot.kling.client import KlingClient
from bot.kling.models import (
    Action,
    AspectRatio,
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
from tests.fakes.acedata import FakeAceData
from tests.openapi import LOCAL_SPEC, SHARED_SPEC, body_errors, request_validator, schema_errors

#: Sent by the client but not (yet) in the published schema (docs/reference/kling-api.md §1.1).
UNPUBLISHED_FIELDS = {"element_list"}

IMG = "https://cdn.example.com/frames"
REQUESTS: dict[str, VideoRequest] = {
    "text2video minimal": VideoRequest(action=Action.TEXT2VIDEO, prompt="a red fox running through snow"),
    "text2video tuned": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V1_6,
        prompt="a lighthouse in a storm",
        negative_prompt="blurry, text",
        cfg_scale=0.7,
        mode=Mode.PRO,
        aspect_ratio=AspectRatio.TALL,
        duration=10,
    ),
    "image2video with end frame": VideoRequest(
        action=Action.IMAGE2VIDEO,
        model=Model.V2_5_TURBO,
        mode=Mode.PRO,
        prompt="the flower opens",
        start_image_url=f"{IMG}/start.png",
        end_image_url=f"{IMG}/end.png",
        aspect_ratio=AspectRatio.SQUARE,
    ),
    "extend": VideoRequest(
        action=Action.EXTEND, model=Model.V1, prompt="keep walking", video_id="900798310464749610"
    ),
    "camera control with config": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3,
        prompt="a city at dusk",
        camera_control=CameraControl(
            type=CameraType.SIMPLE,
            # Kling's simple move: exactly one non-zero axis; zeros may be given for the others.
            config=CameraConfig(horizontal=0.5, vertical=0, pan=0, tilt=0, roll=0, zoom=0),
        ),
    ),
    "camera control preset": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V1,
        prompt="a forest path",
        camera_control=CameraControl(type=CameraType.FORWARD_UP),
    ),
    "omni references": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3_OMNI,
        prompt="<<<image_3>>> walks through <<<video_1>>>",
        duration=8,
        video_list=(
            VideoReference(
                video_url="https://cdn.example.com/ref.mp4", refer_type="feature", keep_original_sound="no"
            ),
        ),
        image_list=(
            ImageReference(image_url=f"{IMG}/a.png", type="first_frame"),
            ImageReference(image_url=f"{IMG}/b.png", type="end_frame"),
            ImageReference(image_url=f"{IMG}/c.png"),
        ),
        element_list=("element-1", "element-2"),
    ),
    "o1 base video": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.O1,
        prompt="restyle <<<video_1>>>",
        video_list=(VideoReference(video_url="https://cdn.example.com/base.mp4", keep_original_sound="yes"),),
        input_video_seconds=5.2,  # measured before paying; never sent
    ),
    "turbo": VideoRequest(
        action=Action.IMAGE2VIDEO,
        model=Model.V3_TURBO,
        mode=Mode.PRO,
        duration=7,
        prompt="the kite climbs",
        start_image_url=f"{IMG}/kite.png",
        generate_audio=True,
    ),
    "storyboard": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3,
        duration=6,
        prompt="1. (4 s) the fox leaps\n2. (2 s) it lands",
        multi_shot=True,
        shot_type=ShotType.CUSTOMIZE,
        multi_prompt=(
            Shot(index=1, prompt="the fox leaps", duration=4),
            Shot(index=2, prompt="it lands", duration=2),
        ),
    ),
    "audio": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V2_6,
        mode=Mode.PRO,
        prompt="rain on a tin roof",
        generate_audio=True,
    ),
    "4k with callback": VideoRequest(
        action=Action.TEXT2VIDEO,
        model=Model.V3,
        mode=Mode.K4,
        duration=15,
        prompt="mountains at sunrise",
        callback_url="https://bot.example.com/hooks/kling",
    ),
}


@pytest.fixture
async def client(fake_acedata: FakeAceData) -> AsyncIterator[KlingClient]:
    kling = KlingClient(base_url=fake_acedata.base_url, token=SecretStr(fake_acedata.token))
    yield kling
    await kling.aclose()


# --- the fixtures really cover the request model ---------------------------------------------
def fields_set(model: BaseModel, prefix: str = "") -> set[str]:
    """Every field given explicitly, nested ones as `parent.child`."""
    names = set()
    for name in model.model_fields_set:
        names.add(prefix + name)
        value = getattr(model, name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, BaseModel):
                names |= fields_set(item, f"{prefix}{name}.")
    return names


def all_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names = set()
    nested: dict[str, type[BaseModel]] = {
        "camera_control": CameraControl,
        "config": CameraConfig,
        "video_list": VideoReference,
        "image_list": ImageReference,
        "multi_prompt": Shot,
    }
    for name in model.model_fields:
        names.add(prefix + name)
        if name in nested:
            names |= all_fields(nested[name], f"{prefix}{name}.")
    return names


def test_requests_cover_every_field_and_value_kind() -> None:
    covered = set().union(*(fields_set(request) for request in REQUESTS.values()))
    assert all_fields(VideoRequest) - covered == set()
    assert {r.action for r in REQUESTS.values()} == set(Action)
    assert {r.mode for r in REQUESTS.values()} == set(Mode)
    assert {r.aspect_ratio for r in REQUESTS.values()} == set(AspectRatio)


# --- bodies on the wire --------------------------------------------------------------------
async def test_every_request_body_matches_the_videos_schema(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    validator = request_validator("/kling/videos", newest_guide=True)
    published = set(validator.schema["properties"])
    # The operator setting ENABLE_ELEMENT_LIST exists for an AceData that opens elements.
    fake_acedata.elements_open = True
    for name, request in REQUESTS.items():
        await client.create_video(request)
        sent = fake_acedata.requests_to("/kling/videos")[-1].json
        assert sent == request.to_payload(), name
        assert body_errors(sent) == [], name
        assert set(sent) - published <= UNPUBLISHED_FIELDS, name
    assert fake_acedata.created_tasks == len(REQUESTS)


async def test_task_query_bodies_match_the_tasks_schema(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    validator = request_validator("/kling/tasks")
    task = await client.create_video(REQUESTS["text2video minimal"])
    await client.retrieve(task.task_id)
    await client.retrieve_batch([task.task_id, "another"])
    await client.check_token()
    bodies = [r.json for r in fake_acedata.requests_to("/kling/tasks")]
    assert [body["action"] for body in bodies] == ["retrieve", "retrieve_batch", "retrieve"]
    for body in bodies:
        assert schema_errors(validator, body) == [], body


def test_the_schemas_are_not_vacuous() -> None:
    videos = request_validator("/kling/videos")
    good = REQUESTS["text2video tuned"].to_payload()
    bad_fields: list[dict[str, Any]] = [
        {"mode": "8k"},
        {"cfg_scale": 2},
        {"aspect_ratio": "4:3"},
        {"video_list": []},
    ]
    for bad in bad_fields:
        assert schema_errors(videos, {**good, **bad}), bad
    camera = REQUESTS["camera control with config"].to_payload()
    camera["camera_control"]["config"]["zoom"] = 3
    assert schema_errors(videos, camera)
    tasks = request_validator("/kling/tasks")
    assert schema_errors(tasks, {"action": "delete", "id": "x"})
    assert schema_errors(tasks, {"action": "retrieve_batch", "ids": "x"})


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no shared/ beside the repository")
def test_the_fallback_copy_matches_the_shared_reference() -> None:
    shared = json.loads(SHARED_SPEC.read_text(encoding="utf-8"))
    local = json.loads(LOCAL_SPEC.read_text(encoding="utf-8"))
    for path in ("/kling/videos", "/kling/tasks"):
        assert local["paths"][path]["post"]["requestBody"] == shared["paths"][path]["post"]["requestBody"]

"""The request rules, checked against an oracle written here from the capability matrix text.

The oracle parses `MATRIX` (copied from `docs/reference/kling-api.md` §1.2) and never reads
`bot.kling.capabilities`, so a wrong entry in the capability table makes these tests fail.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.kling.capabilities import (
    CAPABILITIES,
    Option,
    Problem,
    RequestRefused,
    allowed_durations,
    allowed_modes,
    check_request,
    models_for_action,
    models_where,
    supports_audio,
    supports_camera_control,
    supports_end_frame,
    supports_extend,
    supports_references,
    validate_request,
)
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

# --- The oracle: the matrix as written in the docs ---------------------------------------------------

# | Model | Modes | End frame | generate_audio | camera_control | Durations | Omni refs |
MATRIX = """
| kling-v1 | std, pro | yes, only when duration=5 | no | yes, only when duration=5 | 5/10 | no |
| kling-v1-6 | std | no | no | no | 5/10 | no |
| kling-v1-6 | pro | yes | no | no | 5/10 | no |
| kling-v2-master | single mode ("—") | no | no | no | 5/10 | no |
| kling-v2-1-master | single mode | no | no | no | 5/10 | no |
| kling-v2-5-turbo | std | no | no | no | 5/10 | no |
| kling-v2-5-turbo | pro | yes | no | no | 5/10 | no |
| kling-v2-6 | std | no | no | no | 5/10 | no |
| kling-v2-6 | pro | yes | **yes** | no | 5/10 | no |
| kling-v3 | std, pro | yes | yes | yes | 3–15 | no |
| kling-v3 | 4k | yes | yes | no | 3–15 | no |
| kling-v3-omni | std, pro, 4k | yes | yes | no | 3–15 | yes (no 4k with refs) |
| kling-o1 | std, pro | yes | no | no | 5 only | yes |
| kling-v3-turbo (new) | std (720p), pro (1080p) | no | always on; cannot be disabled | no | 3–15 | no |
"""
# "Safe choice: extend with kling-v1 / v1-6 / v2-5-turbo at 5 or 10 s."
EXTEND_MODELS = {"kling-v1", "kling-v1-6", "kling-v2-5-turbo"}
# kling-v1's extend takes neither negative_prompt nor cfg_scale.
EXTEND_WITHOUT_TUNING = {"kling-v1"}
# "Omni requests (o1 always; v3-omni when references are present)".
ALWAYS_OMNI = {"kling-o1"}
# §1.4: "kling-v3-turbo: ... No end frame, no camera_control, no negative_prompt, no cfg_scale."
NO_TUNING = {"kling-v3-turbo"}
# §1.4: "Multi-shot (kling-v3 and kling-v3-omni)". The project refuses it with camera, end frames and
# references (undocumented combinations, see bot.kling.capabilities).
MULTI_SHOT_MODELS = {"kling-v3", "kling-v3-omni"}


@dataclass(frozen=True)
class Feature:
    """A yes/no cell of the matrix; `only_at` is the one duration it is limited to; `always`: it cannot
    be turned off."""

    allowed: bool
    only_at: int | None = None
    always: bool = False

    def at(self, duration: int) -> bool:
        return self.allowed and (self.only_at is None or duration == self.only_at)


@dataclass(frozen=True)
class Row:
    end_frame: Feature
    audio: Feature
    camera: Feature


def _feature(cell: str) -> Feature:
    cell = cell.strip("* ")
    if cell == "no":
        return Feature(False)
    if cell.startswith("always on"):
        return Feature(True, always=True)
    limited = re.fullmatch(r"yes, only when duration=(\d+)", cell)
    return Feature(True, int(limited.group(1)) if limited else None)


def _durations(cell: str) -> tuple[int, ...]:
    if span := re.fullmatch(r"(\d+)–(\d+)", cell):
        return tuple(range(int(span.group(1)), int(span.group(2)) + 1))
    if only := re.fullmatch(r"(\d+) only", cell):
        return (int(only.group(1)),)
    return tuple(int(d) for d in cell.split("/"))


def _modes(cell: str) -> list[str]:
    # "single mode": the only mode AceData's own clients send is std; the project accepts std only.
    if cell.startswith("single mode"):
        return ["std"]
    return [re.sub(r"\s*\(.*\)", "", m).strip() for m in cell.split(",")]


def _parse_matrix() -> tuple[dict[tuple[str, str], Row], dict[str, tuple[int, ...]], set[str]]:
    rows: dict[tuple[str, str], Row] = {}
    durations: dict[str, tuple[int, ...]] = {}
    with_refs: set[str] = set()
    for line in MATRIX.strip().splitlines():
        model, modes, end, audio, camera, durs, refs = (c.strip() for c in line.strip("|").split("|"))
        model = model.removesuffix(" (new)")
        for mode in _modes(modes):
            rows[(model, mode)] = Row(_feature(end), _feature(audio), _feature(camera))
        durations[model] = _durations(durs)
        if refs.startswith("yes"):
            with_refs.add(model)
    return rows, durations, with_refs


ROWS, DURATIONS, REFERENCE_MODELS = _parse_matrix()

URL = "https://cdn.example.test/start.png"
END_URL = "https://cdn.example.test/end.png"
REF_URL = "https://cdn.example.test/ref.png"
VIDEO_URL = "https://cdn.example.test/ref.mp4"
CAMERA = CameraControl(type=CameraType.SIMPLE, config=CameraConfig(zoom=0.5))


@dataclass(frozen=True)
class Combo:
    model: Model
    mode: Mode
    duration: int
    action: Action
    end_frame: bool
    audio: bool
    camera: bool
    references: bool
    tuning: bool  # negative_prompt + cfg_scale
    multi_shot: bool = False  # a customised storyboard of two shots

    def request(self) -> VideoRequest:
        prompt = "a red fox running through snow"
        if self.references:
            # The reference is cited as AceData numbers it: after the start and end frames.
            frames = (self.action is Action.IMAGE2VIDEO) + self.end_frame
            prompt += f" with <<<image_{frames + 1}>>>"
        fields: dict[str, Any] = {
            "action": self.action,
            "model": self.model,
            "mode": self.mode,
            "duration": self.duration,
            "prompt": prompt,
            "generate_audio": self.audio,
        }
        if self.multi_shot:
            fields["multi_shot"] = True
            fields["shot_type"] = ShotType.CUSTOMIZE
            fields["multi_prompt"] = (
                Shot(index=1, prompt="the fox leaps", duration=1),
                Shot(index=2, prompt="it lands in the snow", duration=self.duration - 1),
            )
        if self.action is Action.IMAGE2VIDEO:
            fields["start_image_url"] = URL
        if self.action is Action.EXTEND:
            fields["video_id"] = "900798310464749610"
        if self.end_frame:
            fields["end_image_url"] = END_URL
        if self.camera:
            fields["camera_control"] = CAMERA
        if self.references:
            fields["image_list"] = (ImageReference(image_url=REF_URL),)
        if self.tuning:
            fields["negative_prompt"] = "blurry"
            fields["cfg_scale"] = 0.5
        return VideoRequest(**fields)


def oracle(c: Combo) -> tuple[bool, set[str]]:
    """Whether the matrix allows `c`, and the options a refusal must name."""
    model, mode, duration = c.model.value, c.mode.value, c.duration
    row = ROWS.get((model, mode))
    must: set[str] = set()
    refused = False

    def refuse(option: str | None) -> None:
        nonlocal refused
        refused = True
        if option:
            must.add(option)

    if row is None:
        refuse("mode")
    if duration not in DURATIONS[model]:
        refuse("duration")
    if c.action is Action.EXTEND and model not in EXTEND_MODELS:
        refuse("model")
    # An end frame needs image2video, and (when the mode exists) a matrix "yes" at this duration.
    if c.end_frame and (
        c.action is not Action.IMAGE2VIDEO or (row is not None and not row.end_frame.at(duration))
    ):
        refuse("end_image")
    if c.audio and row is not None and not row.audio.allowed:
        refuse("generate_audio")
    if not c.audio and row is not None and row.audio.always:
        refuse("generate_audio")
    # Camera moves: text2video only (Nexior's finding), and a matrix "yes" at this duration.
    if c.camera and (c.action is not Action.TEXT2VIDEO or (row is not None and not row.camera.at(duration))):
        refuse("camera")
    if c.references:
        if model not in REFERENCE_MODELS:
            refuse("reference_images")
        elif mode == "4k":
            refuse("mode")
    omni = model in ALWAYS_OMNI or (model in REFERENCE_MODELS and c.references)
    if c.tuning and (
        omni or model in NO_TUNING or (c.action is Action.EXTEND and model in EXTEND_WITHOUT_TUNING)
    ):
        refuse("negative_prompt")
        refuse("cfg_scale")
    if c.multi_shot:
        if model not in MULTI_SHOT_MODELS:
            refuse("model")
        if c.camera:
            refuse("camera")
        if c.end_frame:
            refuse("end_image")
        if c.references:
            refuse("reference_images")
    return not refused, must


def _table_durations() -> list[int]:
    known = sorted({d for m in CAPABILITIES for d in allowed_durations(m)})
    return [known[0] - 1, *known, known[-1] + 1]


def all_combos() -> Iterator[Combo]:
    """Every model of the table × every mode × every duration any model takes (and one past each end)."""
    yes_no = (False, True)
    for values in itertools.product(
        CAPABILITIES, Mode, _table_durations(), Action, yes_no, yes_no, yes_no, yes_no, yes_no, yes_no
    ):
        yield Combo(*values)


def allowed_requests() -> Iterator[VideoRequest]:
    """Every generated combination the oracle allows (the contract test sends these to the schema)."""
    for combo in all_combos():
        if oracle(combo)[0]:
            yield combo.request()


# --- The table against the oracle --------------------------------------------------------------------


def test_every_generated_combination_matches_the_matrix() -> None:
    mismatches: list[str] = []
    allowed_count = refused_count = 0
    for combo in all_combos():
        allowed, must = oracle(combo)
        problems = check_request(combo.request())
        fields = {p.field for p in problems}
        if allowed != (not problems) or not must <= fields:
            mismatches.append(f"{combo}: oracle allowed={allowed} must={must}, got {problems}")
        allowed_count += allowed
        refused_count += not allowed
    assert not mismatches, "\n".join(mismatches[:20])
    assert allowed_count > 1000
    assert refused_count > 1000


def test_the_table_lists_exactly_the_documented_models_and_modes() -> None:
    assert {m.value for m in CAPABILITIES} == set(DURATIONS)
    for model in CAPABILITIES:
        assert {m.value for m in allowed_modes(model)} == {
            mode for (name, mode) in ROWS if name == model.value
        }


@pytest.mark.parametrize("model", list(Model))
def test_helpers_agree_with_the_matrix(model: Model) -> None:
    for mode, duration in itertools.product(Mode, range(0, 20)):
        row = ROWS.get((model.value, mode.value))
        valid = row is not None and duration in DURATIONS[model.value]
        assert supports_end_frame(model, mode, duration) == (
            valid and row is not None and row.end_frame.at(duration)
        )
        assert supports_camera_control(model, mode, duration) == (
            valid and row is not None and row.camera.at(duration)
        )
        assert supports_audio(model, mode) == (row is not None and row.audio.allowed)
        expected = DURATIONS[model.value] if row is not None else ()
        assert allowed_durations(model, mode) == expected
    assert allowed_durations(model) == DURATIONS[model.value]
    assert supports_references(model) == (model.value in REFERENCE_MODELS)
    assert supports_extend(model) == (model.value in EXTEND_MODELS)


def test_choice_helpers_list_models_in_table_order() -> None:
    assert [m.value for m in models_for_action(Action.EXTEND)] == [
        "kling-v1",
        "kling-v1-6",
        "kling-v2-5-turbo",
    ]
    assert models_for_action(Action.TEXT2VIDEO) == tuple(Model)
    assert {m.value for m in models_where(supports_references)} == REFERENCE_MODELS


def test_single_mode_models_refuse_pro() -> None:
    for name in ("kling-v2-master", "kling-v2-1-master"):
        request = VideoRequest(action=Action.TEXT2VIDEO, model=Model(name), prompt="x", mode=Mode.PRO)
        assert check_request(request) == [
            Problem("mode", f"{name} has a single quality mode: set mode to std.")
        ]


# --- Exact wording of the main refusals --------------------------------------------------------------


def _messages(**fields: Any) -> list[str]:
    return [p.message for p in check_request(VideoRequest(**fields))]


def _i2v(**fields: Any) -> dict[str, Any]:
    return {"action": Action.IMAGE2VIDEO, "prompt": "a fox", "start_image_url": URL, **fields}


def _t2v(**fields: Any) -> dict[str, Any]:
    return {"action": Action.TEXT2VIDEO, "prompt": "a fox", **fields}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            _i2v(model=Model.V1, duration=10, end_image_url=END_URL),
            "kling-v1 takes an end frame only for 5-second videos: set duration to 5 or pick kling-v3.",
        ),
        (
            _i2v(model=Model.V1_6, end_image_url=END_URL),
            "kling-v1-6 takes an end frame only in pro mode: set mode to pro, or remove end_image.",
        ),
        (
            _i2v(model=Model.V2_MASTER, end_image_url=END_URL),
            "kling-v2-master can't use an end frame: remove end_image or pick kling-v3.",
        ),
        (
            _t2v(model=Model.O1, duration=10),
            "kling-o1 makes 5-second videos only: set duration to 5, or pick kling-v3 for 10 seconds.",
        ),
        (
            _t2v(model=Model.V1, duration=7),
            "kling-v1 makes 5- or 10-second videos: set duration to 5 or 10, or pick kling-v3 for 7 seconds.",
        ),
        (
            _t2v(model=Model.V3, duration=20),
            "kling-v3 makes videos of 3 to 15 seconds: set duration between 3 and 15.",
        ),
        (
            _t2v(model=Model.V1, mode=Mode.K4),
            "kling-v1 takes mode std or pro, not 4k: set mode to std or pro, or pick kling-v3 for 4k.",
        ),
        (
            _t2v(model=Model.V2_6, generate_audio=True),
            "kling-v2-6 makes sound only in pro mode: set mode to pro, or turn generate_audio off.",
        ),
        (
            _t2v(model=Model.V1, generate_audio=True),
            "kling-v1 can't make sound: turn generate_audio off or pick kling-v3.",
        ),
        (
            {"action": Action.EXTEND, "model": Model.V3, "video_id": "v1"},
            "kling-v3 can't extend videos: pick kling-v1, kling-v1-6 or kling-v2-5-turbo.",
        ),
        (
            _i2v(model=Model.V3, camera_control=CAMERA),
            "Camera moves work only for videos made from words alone: remove camera, or remove start_image.",
        ),
        (
            _t2v(model=Model.V1, duration=10, camera_control=CAMERA),
            "kling-v1 moves the camera only in 5-second videos: set duration to 5 or pick kling-v3.",
        ),
        (
            _t2v(model=Model.V3, mode=Mode.K4, camera_control=CAMERA),
            "kling-v3 can't move the camera in 4k mode: set mode to std or pro, or remove camera.",
        ),
        (
            _t2v(model=Model.V2_6, camera_control=CAMERA),
            "kling-v2-6 can't move the camera: remove camera or pick kling-v3.",
        ),
        ({"action": Action.TEXT2VIDEO}, "text2video needs a prompt: describe the video you want."),
        (
            _t2v(model=Model.V3, image_list=(ImageReference(image_url=REF_URL),)),
            "kling-v3 doesn't take reference images: pick kling-v3-omni or kling-o1, or remove them.",
        ),
        (
            _t2v(model=Model.O1, negative_prompt="blur"),
            "kling-o1 doesn't take negative_prompt: remove negative_prompt.",
        ),
    ],
)
def test_refusal_wording(fields: dict[str, Any], message: str) -> None:
    assert _messages(**fields) == [message]


def test_refused_str_is_the_message_alone_or_a_bulleted_list() -> None:
    single = RequestRefused([Problem("duration", "Set duration to 5.")])
    assert str(single) == "Set duration to 5."
    request = VideoRequest(**_i2v(model=Model.V2_MASTER, mode=Mode.PRO, end_image_url=END_URL))
    with pytest.raises(RequestRefused) as caught:
        validate_request(request)
    assert [p.field for p in caught.value.problems] == ["mode", "end_image"]
    assert str(caught.value) == (
        "This video can't be made as asked:\n"
        "• kling-v2-master has a single quality mode: set mode to std.\n"
        "• kling-v2-master can't use an end frame: remove end_image or pick kling-v3."
    )


def test_validate_request_returns_for_an_allowed_request() -> None:
    validate_request(VideoRequest(**_i2v(model=Model.V3, mode=Mode.K4, duration=12, end_image_url=END_URL)))


# --- Action-specific requirements --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "option"),
    [
        ({"action": Action.IMAGE2VIDEO, "prompt": "a fox"}, "start_image"),
        ({"action": Action.IMAGE2VIDEO, "start_image_url": URL}, "prompt"),
        (_t2v(start_image_url=URL), "start_image"),
        (_t2v(end_image_url=END_URL), "end_image"),
        ({"action": Action.EXTEND, "video_id": "v", "end_image_url": END_URL}, "end_image"),
        ({"action": Action.EXTEND, "video_id": "v", "start_image_url": URL}, "start_image"),
        ({"action": Action.EXTEND}, "video_id"),
        ({"action": Action.EXTEND, "video_id": "   "}, "video_id"),
        (_t2v(video_id="v"), "video_id"),
        (_i2v(video_id="v"), "video_id"),
        ({"action": Action.EXTEND, "video_id": "v", "model": Model.V3_OMNI}, "model"),
        ({"action": Action.EXTEND, "video_id": "v", "negative_prompt": "blur"}, "negative_prompt"),
        ({"action": Action.EXTEND, "video_id": "v", "cfg_scale": 0.5}, "cfg_scale"),
    ],
)
def test_action_requirements(fields: dict[str, Any], option: str) -> None:
    assert option in {p.field for p in check_request(VideoRequest(**fields))}


@pytest.mark.parametrize(
    "fields",
    [
        {"action": Action.EXTEND, "video_id": "900798310464749610"},
        {
            "action": Action.EXTEND,
            "video_id": "v",
            "model": Model.V1_6,
            "duration": 10,
            "negative_prompt": "blur",
        },
        {
            "action": Action.EXTEND,
            "video_id": "v",
            "model": Model.V2_5_TURBO,
            "prompt": "keep going",
            "cfg_scale": 1,
        },
        _i2v(model=Model.V1, end_image_url=END_URL),
        _t2v(model=Model.V1, camera_control=CAMERA, negative_prompt="blur", cfg_scale=0),
    ],
)
def test_action_requirements_allow(fields: dict[str, Any]) -> None:
    assert check_request(VideoRequest(**fields)) == []


def test_an_end_image_without_a_start_image_is_one_problem_about_the_start_image() -> None:
    problems = check_request(VideoRequest(action=Action.IMAGE2VIDEO, prompt="a fox", end_image_url=END_URL))
    assert [p.field for p in problems] == ["start_image"]


# --- Prompt, negative prompt, cfg_scale ---------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t", "\u200b\u200c\u200d", " \ufeff \u2060 "])
def test_blank_prompts_are_refused(prompt: str) -> None:
    for action_fields in (_t2v(prompt=prompt), _i2v(prompt=prompt)):
        problems = check_request(VideoRequest(**action_fields))
        assert problems == [Problem("prompt", "The prompt is empty: write a few words describing the video.")]


def test_extend_takes_no_prompt_but_refuses_a_blank_one() -> None:
    assert check_request(VideoRequest(action=Action.EXTEND, video_id="v")) == []
    assert [p.field for p in check_request(VideoRequest(action=Action.EXTEND, video_id="v", prompt=" "))] == [
        "prompt"
    ]


def test_an_overlong_prompt_is_refused_even_if_built_without_validation() -> None:
    request = VideoRequest.model_construct(**{**VideoRequest(**_t2v()).__dict__, "prompt": "x" * 2501})
    assert check_request(request) == [
        Problem("prompt", "The prompt is 2501 characters long: shorten it to 2500 or fewer.")
    ]
    assert check_request(VideoRequest(**_t2v(prompt="x" * 2500))) == []


def test_negative_prompt_length() -> None:
    assert check_request(VideoRequest(**_t2v(negative_prompt="n" * 200))) == []
    assert check_request(VideoRequest(**_t2v(negative_prompt="n" * 201))) == [
        Problem("negative_prompt", "negative_prompt is 201 characters long: shorten it to 200 or fewer.")
    ]


@pytest.mark.parametrize(("value", "ok"), [(0, True), (1, True), (0.5, True), (-0.01, False), (1.01, False)])
def test_cfg_scale_range(value: float, ok: bool) -> None:
    assert (check_request(VideoRequest(**_t2v(cfg_scale=value))) == []) == ok


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_cfg_scale_must_be_a_real_number(value: float) -> None:
    with pytest.raises(ValidationError):
        VideoRequest(**_t2v(cfg_scale=value))
    # Defence in depth: a request built without validation is still refused before sending.
    unchecked = VideoRequest(**_t2v()).model_copy(update={"cfg_scale": value})
    assert [p.field for p in check_request(unchecked)] == ["cfg_scale"]


# --- Camera control -----------------------------------------------------------------------------------


@pytest.mark.parametrize("camera_type", [t for t in CameraType if t is not CameraType.SIMPLE])
def test_camera_strengths_only_with_the_simple_type(camera_type: CameraType) -> None:
    with_config = CameraControl(type=camera_type, config=CameraConfig(pan=0.2))
    problems = check_request(VideoRequest(**_t2v(model=Model.V3, camera_control=with_config)))
    assert [p.field for p in problems] == ["camera_config"]
    assert f"not {camera_type.value}: set camera to simple or leave camera_config out" in problems[0].message
    for plain in (CameraControl(type=camera_type), CameraControl(type=camera_type, config=CameraConfig())):
        assert check_request(VideoRequest(**_t2v(model=Model.V3, camera_control=plain))) == []


def test_camera_strengths_out_of_range_are_refused_even_if_built_without_validation() -> None:
    config = CameraConfig.model_construct(zoom=1.5, pan=-2.0, roll=1.0)
    camera = CameraControl.model_construct(type=CameraType.DOWN_BACK, config=config)
    request = VideoRequest.model_construct(
        **{**VideoRequest(**_t2v(model=Model.V3)).__dict__, "camera_control": camera}
    )
    assert check_request(request)[-1] == Problem(
        "camera_config", "Camera pan or zoom must be between -1 and 1."
    )
    simple = CameraControl.model_construct(
        type=CameraType.SIMPLE, config=CameraConfig.model_construct(zoom=1.5)
    )
    request = request.model_copy(update={"camera_control": simple})
    assert check_request(request) == [Problem("camera_config", "Camera zoom must be between -1 and 1.")]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            None,
            "The simple camera move needs one direction in camera_config, such as zoom=0.5 (one of "
            "horizontal, vertical, pan, tilt, roll, zoom): add it, or pick another camera move.",
        ),
        (
            CameraConfig(zoom=0, pan=0),
            "The simple camera move needs one direction in camera_config, such as zoom=0.5 (one of "
            "horizontal, vertical, pan, tilt, roll, zoom): add it, or pick another camera move.",
        ),
        (
            CameraConfig(pan=0.5, zoom=-0.2),
            "The simple camera move takes exactly one direction, not 2 (pan, zoom): keep only one of "
            "them in camera_config.",
        ),
    ],
)
def test_the_simple_camera_move_takes_exactly_one_axis(config: CameraConfig | None, message: str) -> None:
    camera = CameraControl(type=CameraType.SIMPLE, config=config)
    assert _messages(**_t2v(model=Model.V3, camera_control=camera)) == [message]
    one_axis = CameraControl(type=CameraType.SIMPLE, config=CameraConfig(pan=0.5, zoom=0))
    assert _messages(**_t2v(model=Model.V3, camera_control=one_axis)) == []


# --- Omni references -----------------------------------------------------------------------------------


def _omni(**fields: Any) -> VideoRequest:
    """An omni request whose prompt cites every image (frames first) and video it carries."""
    images = bool(fields.get("start_image_url")) + bool(fields.get("end_image_url"))
    images += len(fields.get("image_list", ()))
    cites = [f"<<<image_{n}>>>" for n in range(1, images + 1)]
    cites += [f"<<<video_{n}>>>" for n in range(1, len(fields.get("video_list", ())) + 1)]
    prompt = " and ".join(cites or ["a fox"]) + " run"
    return VideoRequest(**{"action": Action.TEXT2VIDEO, "model": Model.V3_OMNI, "prompt": prompt, **fields})


def _images(n: int, kind: Any = None) -> tuple[ImageReference, ...]:
    return tuple(ImageReference(image_url=f"{REF_URL}?n={i}", type=kind) for i in range(n))


def _fields(request: VideoRequest) -> list[str]:
    return [p.field for p in check_request(request)]


def test_reference_counts_without_a_video() -> None:
    assert _fields(_omni(image_list=_images(7))) == []
    assert _fields(_omni(image_list=_images(4), element_list=("e1", "e2", "e3"))) == []
    assert _fields(_omni(image_list=_images(8))) == ["reference_images"]
    assert _fields(_omni(element_list=tuple(f"e{i}" for i in range(8)))) == ["elements"]
    # Start and end frames count toward the limit.
    frames = {"action": Action.IMAGE2VIDEO, "start_image_url": URL, "end_image_url": END_URL}
    assert _fields(_omni(**frames, image_list=_images(5))) == []
    assert _fields(_omni(**frames, image_list=_images(6))) == ["reference_images"]


def test_reference_counts_with_a_video() -> None:
    feature = (VideoReference(video_url=VIDEO_URL, refer_type="feature"),)
    assert _fields(_omni(video_list=feature, image_list=_images(3), element_list=("e",))) == []
    assert _fields(_omni(video_list=feature, image_list=_images(4), element_list=("e",))) == [
        "reference_images"
    ]
    with_start = _omni(
        action=Action.IMAGE2VIDEO, start_image_url=URL, video_list=feature, image_list=_images(4)
    )
    problems = check_request(with_start)
    assert problems == [
        Problem(
            "reference_images",
            "Use at most 4 images and elements together with a reference video (start and end frames count): "
            "you gave 5 images and 0 elements.",
        )
    ]


def test_one_reference_video_at_most() -> None:
    two = (VideoReference(video_url=VIDEO_URL), VideoReference(video_url=VIDEO_URL + "?2"))
    assert _fields(_omni(video_list=two)) == ["reference_video"]
    assert _fields(_omni(video_list=two[:1])) == []


@pytest.mark.parametrize(
    "frames",
    [
        {"action": Action.IMAGE2VIDEO, "start_image_url": URL},
        {"action": Action.IMAGE2VIDEO, "start_image_url": URL, "end_image_url": END_URL},
        {"image_list": _images(1, "first_frame")},
    ],
)
def test_a_base_video_excludes_start_and_end_frames(frames: dict[str, Any]) -> None:
    base = (VideoReference(video_url=VIDEO_URL),)  # refer_type defaults to base
    assert _fields(_omni(video_list=base, **frames)) == ["reference_video"]
    feature = (VideoReference(video_url=VIDEO_URL, refer_type="feature"),)
    assert _fields(_omni(video_list=feature, **frames)) == []


def test_frames_in_the_image_list() -> None:
    assert _fields(_omni(image_list=_images(1, "first_frame") + _images(1, "end_frame"))) == []
    assert _fields(_omni(image_list=_images(1, "end_frame"))) == ["reference_images"]
    assert _fields(_omni(image_list=_images(2, "first_frame"))) == ["reference_images"]
    start = {"action": Action.IMAGE2VIDEO, "start_image_url": URL}
    assert _fields(_omni(**start, image_list=_images(1, "first_frame"))) == ["reference_images"]
    assert _fields(_omni(**start, end_image_url=END_URL, image_list=_images(1, "end_frame"))) == [
        "reference_images"
    ]


@pytest.mark.parametrize("element", ["", "   "])
def test_element_ids_must_not_be_blank(element: str) -> None:
    assert _fields(_omni(element_list=("e1", element))) == ["elements"]


def test_no_audio_with_a_reference_video() -> None:
    video = (VideoReference(video_url=VIDEO_URL),)
    assert _fields(_omni(video_list=video, generate_audio=True)) == ["generate_audio"]
    assert _fields(_omni(image_list=_images(1), generate_audio=True)) == []


@pytest.mark.parametrize(
    "references",
    [
        {"image_list": _images(1)},
        {"video_list": (VideoReference(video_url=VIDEO_URL),)},
        {"element_list": ("element-1",)},
    ],
)
def test_omni_requests_refuse_tuning_and_4k(references: dict[str, Any]) -> None:
    assert _fields(_omni(negative_prompt="blur", cfg_scale=0.3, **references)) == [
        "negative_prompt",
        "cfg_scale",
    ]
    assert _fields(_omni(mode=Mode.K4, **references)) == ["mode"]
    # Without references, v3-omni is an ordinary model.
    assert _fields(_omni(negative_prompt="blur", cfg_scale=0.3, mode=Mode.K4)) == []
    # o1 is always omni.
    o1 = {"model": Model.O1, "negative_prompt": "blur", "cfg_scale": 0.3}
    assert _fields(_omni(**o1)) == ["negative_prompt", "cfg_scale"]
    assert _fields(_omni(**o1, **references)) == ["negative_prompt", "cfg_scale"]


# --- URLs ---------------------------------------------------------------------------------------------

BAD_URLS = [
    " https://cdn.example.test/a.png",
    "https://cdn.example.test/a.png\n",
    "https://cdn example.test/a.png",
    "ftp://cdn.example.test/a.png",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "not a url",
    "http://",
    "//x/y",
]


@pytest.mark.parametrize("bad", BAD_URLS)
def test_urls_must_be_http(bad: str) -> None:
    cases: list[tuple[VideoRequest, str]] = [
        (VideoRequest(**_i2v(start_image_url=bad)), "start_image"),
        (VideoRequest(**_i2v(model=Model.V3, end_image_url=bad)), "end_image"),
        (_omni(image_list=(ImageReference(image_url=bad),)), "reference_images"),
        (_omni(video_list=(VideoReference(video_url=bad),)), "reference_video"),
        (VideoRequest(**_t2v(callback_url=bad)), "callback_url"),
    ]
    for request, option in cases:
        assert check_request(request) == [
            Problem(option, f"{option} must be a web link starting with http:// or https://.")
        ]


@pytest.mark.parametrize(
    "good",
    ["http://127.0.0.1:8080/a.png", "https://cdn.discordapp.com/attachments/1/2/a.png?ex=65&is=66&hm=ab"],
)
def test_http_urls_pass(good: str) -> None:
    assert check_request(VideoRequest(**_i2v(start_image_url=good, callback_url=good))) == []


# --- Properties over arbitrary requests -------------------------------------------------------------------

_urls = st.none() | st.sampled_from([URL, "http://127.0.0.1/x.png", "ftp://a/b", "", "nope"])
_text = st.none() | st.text(max_size=40)
_cameras = st.none() | st.builds(
    CameraControl,
    type=st.sampled_from(CameraType),
    config=st.none()
    | st.builds(CameraConfig, zoom=st.none() | st.floats(-1, 1), pan=st.none() | st.floats(-1, 1)),
)
video_requests = st.builds(
    VideoRequest,
    action=st.sampled_from(Action),
    model=st.sampled_from(Model),
    mode=st.sampled_from(Mode),
    duration=st.integers(-1, 20),
    prompt=_text,
    negative_prompt=st.none() | st.text(max_size=220),
    cfg_scale=st.none() | st.floats(-1, 2, allow_nan=False, allow_infinity=False),
    start_image_url=_urls,
    end_image_url=_urls,
    video_id=_text,
    generate_audio=st.booleans(),
    camera_control=_cameras,
    video_list=st.lists(
        st.builds(
            VideoReference,
            video_url=st.sampled_from([VIDEO_URL, "x"]),
            refer_type=st.sampled_from(["base", "feature"]),
        ),
        max_size=2,
    ).map(tuple),
    image_list=st.lists(
        st.builds(
            ImageReference,
            image_url=st.sampled_from([REF_URL, "x"]),
            type=st.sampled_from([None, "first_frame", "end_frame"]),
        ),
        max_size=8,
    ).map(tuple),
    element_list=st.lists(st.text(max_size=5), max_size=8).map(tuple),
    callback_url=_urls,
)
OPTIONS = {o.value for o in Option}


@settings(max_examples=300, deadline=None)
@given(video_requests)
def test_any_request_gets_problems_that_name_an_option_and_say_what_to_do(request: VideoRequest) -> None:
    problems = check_request(request)
    for problem in problems:
        assert problem.field in OPTIONS
        assert problem.message.strip() and problem.message.endswith(".")
        assert problem.message[0].isupper() or problem.message.split()[0] in OPTIONS | {
            m.value for m in Model
        } | {a.value for a in Action} | {"4k"}
    if problems:
        with pytest.raises(RequestRefused) as caught:
            validate_request(request)
        assert caught.value.problems == tuple(problems)
        assert all(p.message in str(caught.value) for p in problems)
    else:
        validate_request(request)


@settings(max_examples=200, deadline=None)
@given(video_requests)
def test_the_verdict_survives_a_round_trip_through_storage(request: VideoRequest) -> None:
    assert check_request(VideoRequest.from_json(request.to_json())) == check_request(request)


@settings(max_examples=200, deadline=None)
@given(video_requests)
def test_an_allowed_request_respects_the_matrix(request: VideoRequest) -> None:
    if check_request(request):
        return
    row = ROWS[(request.model.value, request.mode.value)]
    assert request.duration in DURATIONS[request.model.value]
    assert not request.end_image_url or row.end_frame.at(request.duration)
    assert not request.generate_audio or row.audio.allowed
    assert request.camera_control is None or (
        row.camera.at(request.duration) and request.action is Action.TEXT2VIDEO
    )
    assert not request.has_references or request.model.value in REFERENCE_MODELS


# --- A refused request never reaches the network ----------------------------------------------------------


def submit_if_valid(client: httpx.Client, request: VideoRequest) -> httpx.Response:
    """What the submit path must do: validate first, then send."""
    validate_request(request)
    return client.post("/kling/videos", json=request.to_payload())


def _recording_client(calls: list[httpx.Request]) -> httpx.Client:
    def handler(sent: httpx.Request) -> httpx.Response:
        calls.append(sent)
        return httpx.Response(200, json={"task_id": "t-1"})

    return httpx.Client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler))


def test_a_refused_request_sends_nothing_and_an_allowed_one_is_sent_once() -> None:
    calls: list[httpx.Request] = []
    with _recording_client(calls) as client:
        refused = VideoRequest(**_i2v(model=Model.V1, duration=10, end_image_url=END_URL))
        with pytest.raises(RequestRefused):
            submit_if_valid(client, refused)
        assert calls == []
        allowed = VideoRequest(**_i2v(model=Model.V1, duration=5, end_image_url=END_URL))
        assert submit_if_valid(client, allowed).json() == {"task_id": "t-1"}
    assert len(calls) == 1
    assert calls[0].url.path == "/kling/videos"


@settings(max_examples=100, deadline=None)
@given(video_requests)
def test_no_refused_request_ever_makes_an_http_call(request: VideoRequest) -> None:
    calls: list[httpx.Request] = []
    with _recording_client(calls) as client:
        try:
            submit_if_valid(client, request)
        except RequestRefused:
            assert calls == []
        else:
            assert len(calls) == 1

"""The capability matrix as the docs write it, an oracle built from that text alone, and generators
of requests: shared by the capability tests and the OpenAPI contract tests.

The oracle parses `MATRIX` (copied from `docs/reference/kling-api.md` §1.2) and never reads
`bot.kling.capabilities`, so a wrong entry in the capability table makes the tests that compare the
two fail.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from bot.kling.capabilities import (
    CAPABILITIES,
    Option,
    allowed_durations,
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


# --- Arbitrary requests, for properties -----------------------------------------------------------

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

"""The `/kling/videos` request: every field of the spec page, as one immutable value.

Validation of *combinations* (which model takes which option) lives in `capabilities.py`; this
module only knows field types and single-field bounds, so a request can be built, stored as JSON
and turned into the exact body AceData receives.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NEGATIVE_PROMPT_MAX = 200
PROMPT_MAX = 2500


class Action(StrEnum):
    TEXT2VIDEO = "text2video"
    IMAGE2VIDEO = "image2video"
    EXTEND = "extend"


class Model(StrEnum):
    V1 = "kling-v1"
    V1_6 = "kling-v1-6"
    V2_MASTER = "kling-v2-master"
    V2_1_MASTER = "kling-v2-1-master"
    V2_5_TURBO = "kling-v2-5-turbo"
    V2_6 = "kling-v2-6"
    V3 = "kling-v3"
    V3_OMNI = "kling-v3-omni"
    #: Newest guide only (kling-api.md §1.4): not in the OpenAPI enum yet.
    V3_TURBO = "kling-v3-turbo"
    O1 = "kling-o1"


# Names members may type that mean a model above; the spec page still says `kling-video-o1`.
MODEL_ALIASES: dict[str, Model] = {"kling-video-o1": Model.O1}


def parse_model(name: str) -> Model:
    """Accept a model name or a known alias (case and surrounding blanks ignored)."""
    key = name.strip().lower()
    if key in MODEL_ALIASES:
        return MODEL_ALIASES[key]
    return Model(key)


class Mode(StrEnum):
    STD = "std"
    PRO = "pro"
    K4 = "4k"


class AspectRatio(StrEnum):
    WIDE = "16:9"
    TALL = "9:16"
    SQUARE = "1:1"


class CameraType(StrEnum):
    SIMPLE = "simple"
    DOWN_BACK = "down_back"
    FORWARD_UP = "forward_up"
    LEFT_TURN_FORWARD = "left_turn_forward"
    RIGHT_TURN_FORWARD = "right_turn_forward"


CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")


class ShotType(StrEnum):
    """How a multi-shot video is split (kling-api.md §1.4)."""

    INTELLIGENCE = "intelligence"  # the service splits the prompt into shots itself
    CUSTOMIZE = "customize"  # the member writes every shot (`multi_prompt`)


SHOT_PROMPT_MAX = 512
MAX_SHOTS = 6

_FROZEN = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class CameraConfig(BaseModel):
    model_config = _FROZEN

    horizontal: float | None = Field(default=None, ge=-1, le=1)
    vertical: float | None = Field(default=None, ge=-1, le=1)
    pan: float | None = Field(default=None, ge=-1, le=1)
    tilt: float | None = Field(default=None, ge=-1, le=1)
    roll: float | None = Field(default=None, ge=-1, le=1)
    zoom: float | None = Field(default=None, ge=-1, le=1)

    def is_empty(self) -> bool:
        return all(getattr(self, axis) is None for axis in CAMERA_AXES)

    def moving_axes(self) -> list[str]:
        """The axes with a non-zero strength (Kling's `simple` move takes exactly one)."""
        return [axis for axis in CAMERA_AXES if getattr(self, axis)]


class CameraControl(BaseModel):
    model_config = _FROZEN

    type: CameraType
    config: CameraConfig | None = None


class VideoReference(BaseModel):
    """One entry of `video_list`: a reference video for the omni models."""

    model_config = _FROZEN

    video_url: str = Field(min_length=1)
    refer_type: Literal["base", "feature"] = "base"
    keep_original_sound: Literal["yes", "no"] | None = None


class ImageReference(BaseModel):
    """One entry of `image_list`: a reference image for the omni models."""

    model_config = _FROZEN

    image_url: str = Field(min_length=1)
    type: Literal["first_frame", "end_frame"] | None = None


class Shot(BaseModel):
    """One entry of `multi_prompt`: a shot of a customised multi-shot video."""

    model_config = _FROZEN

    index: int
    prompt: str
    duration: int


class VideoRequest(BaseModel):
    """What a member asked for. Defaults are the spec page's defaults."""

    model_config = _FROZEN

    action: Action
    model: Model = Model.V1
    prompt: str | None = Field(default=None, max_length=PROMPT_MAX)
    negative_prompt: str | None = None
    cfg_scale: float | None = Field(default=None, allow_inf_nan=False)
    mode: Mode = Mode.STD
    aspect_ratio: AspectRatio = AspectRatio.WIDE
    duration: int = 5
    start_image_url: str | None = None
    end_image_url: str | None = None
    video_id: str | None = None
    generate_audio: bool = False
    camera_control: CameraControl | None = None
    video_list: tuple[VideoReference, ...] = ()
    image_list: tuple[ImageReference, ...] = ()
    element_list: tuple[str, ...] = ()
    callback_url: str | None = None
    multi_shot: bool = False
    shot_type: ShotType | None = None
    multi_prompt: tuple[Shot, ...] = ()
    #: Length of the reference video measured before paying (never sent): a `base` edit is as long
    #: as the video it edits, so that is the length it is priced by.
    input_video_seconds: float | None = None

    @field_validator("model", mode="before")
    @classmethod
    def _accept_alias(cls, value: Any) -> Any:
        return parse_model(value) if isinstance(value, str) else value

    @property
    def has_references(self) -> bool:
        return bool(self.video_list or self.image_list or self.element_list)

    @property
    def edits_a_video(self) -> bool:
        return any(v.refer_type == "base" for v in self.video_list)

    @property
    def output_seconds(self) -> int:
        """How long the video will be: `duration`, or the edited video's measured length (rounded up,
        ignoring the few milliseconds containers add)."""
        if self.edits_a_video and self.input_video_seconds is not None:
            return max(1, math.ceil(self.input_video_seconds - 0.05))
        return self.duration

    def to_payload(self) -> dict[str, Any]:
        """The JSON body for `POST /kling/videos`: always asynchronous, unset options left out."""
        body: dict[str, Any] = {
            "action": self.action.value,
            "model": self.model.value,
            "mode": self.mode.value,
            "aspect_ratio": self.aspect_ratio.value,
            "duration": self.duration,
            "async": True,
        }
        if self.prompt:
            body["prompt"] = self.prompt
        if self.negative_prompt:
            body["negative_prompt"] = self.negative_prompt
        if self.cfg_scale is not None:
            body["cfg_scale"] = self.cfg_scale
        for key in ("start_image_url", "end_image_url", "video_id", "callback_url"):
            value = getattr(self, key)
            if value:
                body[key] = value
        if self.generate_audio:
            body["generate_audio"] = True
        if self.camera_control is not None:
            camera: dict[str, Any] = {"type": self.camera_control.type.value}
            config = self.camera_control.config
            if config is not None and not config.is_empty():
                camera["config"] = config.model_dump(exclude_none=True)
            body["camera_control"] = camera
        if self.video_list:
            body["video_list"] = [v.model_dump(exclude_none=True) for v in self.video_list]
        if self.image_list:
            body["image_list"] = [i.model_dump(exclude_none=True) for i in self.image_list]
        if self.element_list:
            body["element_list"] = [{"element_id": e} for e in self.element_list]
        if self.multi_shot:
            body["multi_shot"] = True
            if self.shot_type is not None:
                body["shot_type"] = self.shot_type.value
            if self.multi_prompt:
                body["multi_prompt"] = [shot.model_dump() for shot in self.multi_prompt]
        return body

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str) -> VideoRequest:
        return cls.model_validate_json(raw)

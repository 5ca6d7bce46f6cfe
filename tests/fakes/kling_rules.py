"""The request rules the fake AceData enforces, written from the guide (kling-api.md §1.1, §1.4, §9),
never from the bot's own code, so the bot cannot agree with itself by accident.

`body_problem` answers what the real service would refuse with a 400; `ignored_references` what it
would silently drop (and still bill); `video_problem` what it would refuse about a reference video.
"""

from __future__ import annotations

import io
import re
from typing import Any

import av

CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
TURBO = "kling-v3-turbo"
MULTI_SHOT_MODELS = ("kling-v3", "kling-v3-omni")
# model -> (min s, max s, min side, max side, max pixels, min aspect, max aspect)
VIDEO_LIMITS: dict[str, tuple[float, float, int, int, int | None, float | None, float | None]] = {
    "kling-o1": (3, 10, 700, 2160, None, None, None),
    "kling-v3-omni": (3, 15.5, 700, 4553, 8_294_400, 0.4, 2.0),
}
_CITATION = re.compile(r"<<<(image|video)_(\d+)>>>")


def body_problem(body: dict[str, Any], *, elements_open: bool = False) -> str | None:
    """The validation error the service would answer for `body`, or None."""
    if "element_list" in body and not elements_open:
        return "element_list is not supported."
    camera = body.get("camera_control")
    if isinstance(camera, dict):
        config = camera.get("config") or {}
        moving = [axis for axis in CAMERA_AXES if config.get(axis)]
        if camera.get("type") == "simple" and len(moving) != 1:
            return "camera_control.config of a simple move must have exactly one non-zero axis."
        if camera.get("type") != "simple" and config:
            return f"camera_control type {camera.get('type')} does not take a config."
    if body.get("model") == TURBO:
        if body.get("action") not in ("text2video", "image2video"):
            return "kling-v3-turbo supports text2video and image2video only."
        for field in ("end_image_url", "camera_control", "negative_prompt", "cfg_scale"):
            if field in body:
                return f"{field} is not supported by kling-v3-turbo."
        if body.get("generate_audio") is False:
            return "kling-v3-turbo always generates audio."
        if body.get("mode", "std") not in ("std", "pro"):
            return "kling-v3-turbo supports std and pro."
        duration = body.get("duration", 5)
        if not isinstance(duration, int) or not 3 <= duration <= 15:
            return "kling-v3-turbo duration must be an integer between 3 and 15."
    if body.get("multi_shot"):
        return _multi_shot_problem(body)
    if "shot_type" in body or "multi_prompt" in body:
        return "shot_type and multi_prompt need multi_shot."
    return None


def _multi_shot_problem(body: dict[str, Any]) -> str | None:
    if body.get("model") not in MULTI_SHOT_MODELS:
        return "multi_shot is only supported by kling-v3 and kling-v3-omni."
    shot_type = body.get("shot_type")
    if shot_type not in ("intelligence", "customize"):
        return "shot_type must be intelligence or customize."
    if shot_type == "intelligence":
        return None
    shots = body.get("multi_prompt")
    if not isinstance(shots, list) or not 1 <= len(shots) <= 6:
        return "multi_prompt must have 1 to 6 items."
    for number, shot in enumerate(shots, start=1):
        if not isinstance(shot, dict) or shot.get("index") != number:
            return "multi_prompt indexes must be consecutive from 1."
        prompt = shot.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > 512:
            return "multi_prompt prompt must have 1 to 512 characters."
        duration = shot.get("duration")
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
            return "multi_prompt duration must be an integer of at least 1."
    if sum(shot["duration"] for shot in shots) != body.get("duration", 5):
        return "the multi_prompt durations must add up to duration."
    return None


def ignored_references(body: dict[str, Any]) -> list[str]:
    """References the prompt does not cite: the service ignores them (§9). Frames come first."""
    cited = {(kind, int(number)) for kind, number in _CITATION.findall(str(body.get("prompt") or ""))}
    frames = bool(body.get("start_image_url")) + bool(body.get("end_image_url"))
    ignored = []
    for position, image in enumerate(body.get("image_list") or [], start=1):
        number = frames + position
        if not image.get("type") and ("image", number) not in cited:
            ignored.append(f"image_{number}")
    for number, _ in enumerate(body.get("video_list") or [], start=1):
        if ("video", number) not in cited:
            ignored.append(f"video_{number}")
    return ignored


def video_problem(model: str, data: bytes) -> str | None:
    """Why the service would refuse this reference video for `model`, or None."""
    limits = VIDEO_LIMITS.get(model)
    if limits is None:
        return f"{model} does not take video_list."
    min_s, max_s, min_side, max_side, max_pixels, min_aspect, max_aspect = limits
    try:
        with av.open(io.BytesIO(data)) as container:
            if "mp4" not in container.format.name and "mov" not in container.format.name:
                return "video must be MP4 or MOV."
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            fps = float(stream.average_rate or 0)
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                seconds = (container.duration or 0) / 1_000_000
    except (av.FFmpegError, IndexError, ValueError):
        return "video could not be read."
    if not min_s <= seconds <= max_s:
        return f"video duration must be between {min_s:g} and {max_s:g} seconds."
    if not 24 <= fps <= 60:
        return "video frame rate must be between 24 and 60 fps."
    if not (min_side <= width <= max_side and min_side <= height <= max_side):
        return f"video sides must be between {min_side} and {max_side} px."
    if max_pixels is not None and width * height > max_pixels:
        return "video has too many pixels."
    if min_aspect is not None and max_aspect is not None and not min_aspect <= width / height <= max_aspect:
        return "video aspect ratio must be between 0.4 and 2."
    return None

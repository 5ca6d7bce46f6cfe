"""The walk over requests the commands can build (every model, mode, duration, frames, references,
camera, audio and tuning option), shared by the refusal wording and refusal translation tests."""

from __future__ import annotations

import itertools

from bot.kling.capabilities import CAPABILITIES
from bot.kling.models import (
    Action,
    CameraConfig,
    CameraControl,
    CameraType,
    ImageReference,
    Mode,
    VideoReference,
    VideoRequest,
)

PICTURE = "https://cdn.example.test/p.png"
CLIP = "https://cdn.example.test/v.mp4"


def walk_requests() -> list[VideoRequest]:
    cameras = [None, CameraControl(type=CameraType.SIMPLE, config=CameraConfig(zoom=0.5))]
    cameras.append(CameraControl(type=CameraType.DOWN_BACK))
    found = []
    for model, mode, duration, frames, references, camera, audio, extras in itertools.product(
        CAPABILITIES,
        Mode,
        (3, 5, 10, 15),
        ("none", "start", "both"),
        ("none", "images", "base video", "feature video", "elements"),
        cameras,
        (False, True),
        ("none", "negative", "cfg"),
    ):
        fields: dict[str, object] = {
            "action": Action.IMAGE2VIDEO if frames != "none" else Action.TEXT2VIDEO,
            "model": model,
            "mode": mode,
            "duration": duration,
            "prompt": "a lighthouse in a storm",
            "generate_audio": audio,
            "camera_control": camera,
        }
        if frames != "none":
            fields["start_image_url"] = PICTURE
        if frames == "both":
            fields["end_image_url"] = PICTURE
        if references == "images":
            fields["image_list"] = (ImageReference(image_url=PICTURE),)
        elif references.endswith("video"):
            fields["video_list"] = (VideoReference(video_url=CLIP, refer_type=references.split()[0]),)
        elif references == "elements":
            fields["element_list"] = ("element-1",)
        if extras == "negative":
            fields["negative_prompt"] = "blur"
        elif extras == "cfg":
            fields["cfg_scale"] = 0.5
        found.append(VideoRequest.model_validate(fields))
    for model, extras in itertools.product(CAPABILITIES, ("none", "negative", "cfg")):
        extend: dict[str, object] = {"action": Action.EXTEND, "model": model, "video_id": "earlier-video"}
        if extras == "negative":
            extend["negative_prompt"] = "blur"
        elif extras == "cfg":
            extend["cfg_scale"] = 0.5
        found.append(VideoRequest.model_validate(extend))
    return found

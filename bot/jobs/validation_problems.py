"""pydantic's validation errors of a request, as problems a member can act on.

`VideoRequest` and its parts check a few limits themselves (the prompt's length, a finite
`cfg_scale`, a reference video's kind). pydantic words those with the API's field names
("image_list.0.image_url: String should have at least 1 character"), in English only. Here each one
becomes a translatable `Problem` that names the command's option (shown as the reader's Discord
shows it, through `Term`) and says what to do; never an API field, never pydantic's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.kling.capabilities import Option, Problem
from bot.refusals import N_, Term

#: API field of `VideoRequest` -> the option a member sets it with (`cogs/video.py`, `/video-omni`,
#: `/storyboard`, `/extend`). Fields no option sets are left out: they get the generic problem.
FIELD_OPTIONS: Mapping[str, str] = {
    "model": "model",
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "cfg_scale": "cfg_scale",
    "mode": "mode",
    "aspect_ratio": "aspect_ratio",
    "duration": "duration",
    "start_image_url": "start_image",
    "end_image_url": "end_image",
    "video_id": "video",
    "generate_audio": "generate_audio",
    "camera_control": "camera",
    "video_list": "reference_video",
    "element_list": "elements",
    "shot_type": "shot_type",
}
#: Inside a reference video: its own options on `/video-omni`.
_REFERENCE_VIDEO_PARTS: Mapping[str, str] = {
    "refer_type": "reference_video_type",
    "keep_original_sound": "keep_original_sound",
}

TOO_LONG = N_(
    "**{option}** is {length} characters long; Kling takes at most {limit}. Shorten it and try again."
)
TOO_SHORT = N_("**{option}** is empty; fill it in or leave the option out.")
CFG_RANGE = N_("**{option}** must be a number from 0 (free) to 1 (strict), like 0.4.")
NUMBER_RANGE = N_("**{option}** must be between {low} and {high}.")
FILE_UNUSABLE = N_("The file given as **{option}** can't be used; attach it again and try again.")
NOT_VALID = N_("**{option}** has a value I can't use; pick or type it again.")
BAD_SHOT = N_("One of the shots can't be used; write each on its own line, like `3s: a fox jumps`.")
NOT_SENDABLE = N_(
    "Something in this request can't be sent as it is, so nothing was sent and nothing was charged; "
    "change an option and try again."
)


def _option_for(location: Sequence[object]) -> str | None:
    """The option behind an error's location (`("image_list", 0, "image_url")` -> `reference_image_1`)."""
    if not location:
        return None
    field = str(location[0])
    if field == "image_list":
        index = location[1] if len(location) > 1 and isinstance(location[1], int) else 0
        return f"reference_image_{index + 1}"
    if field == "video_list":
        part = str(location[-1]) if len(location) > 1 else ""
        return _REFERENCE_VIDEO_PARTS.get(part, "reference_video")
    if field == "camera_control" and "config" in location[1:]:
        return "camera"
    return FIELD_OPTIONS.get(field)


def _is_file(option: str) -> bool:
    return option in {"start_image", "end_image", "reference_video"} or option.startswith("reference_image_")


def problem_from_validation(error: Mapping[str, Any]) -> Problem:
    """One pydantic error (an item of `ValidationError.errors()`) as a problem worded for members."""
    location = tuple(error.get("loc", ()))
    kind = str(error.get("type", ""))
    context: Mapping[str, Any] = error.get("ctx") or {}
    if location and location[0] == "multi_prompt":
        return Problem(Option.SHOTS, BAD_SHOT)
    option = _option_for(location)
    if option is None:
        return Problem("request", NOT_SENDABLE)
    name = Term(option)
    if _is_file(option):
        return Problem(option, FILE_UNUSABLE, option=name)
    if kind == "string_too_long":
        given = error.get("input")
        length = len(given) if isinstance(given, str) else context.get("max_length", 0) + 1
        return Problem(option, TOO_LONG, option=name, length=length, limit=context.get("max_length", 0))
    if kind == "string_too_short":
        return Problem(option, TOO_SHORT, option=name)
    if option == "cfg_scale":
        return Problem(option, CFG_RANGE, option=name)
    if kind in {"greater_than_equal", "less_than_equal"} and option == "camera":
        return Problem(option, NUMBER_RANGE, option=name, low=-1, high=1)
    return Problem(option, NOT_VALID, option=name)

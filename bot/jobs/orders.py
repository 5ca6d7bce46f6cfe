"""Turn what a member typed into a `VideoRequest`, without Discord objects.

The cog copies the slash-command options into a `VideoOrder`; `build_request` infers the action,
applies defaults and parses the free-text options, raising `RequestRefused` with friendly problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import TypeVar

from pydantic import ValidationError

from bot.echo import excerpt
from bot.jobs.defaults import Preferences, pick_duration, pick_mode
from bot.jobs.inline_flags import InlineFlags, split_flags
from bot.kling.capabilities import (
    Option,
    Problem,
    RequestRefused,
    always_makes_sound,
    supports_references,
    validate_request,
)
from bot.kling.citations import cite_references
from bot.kling.models import (
    CAMERA_AXES,
    PROMPT_MAX,
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
    parse_model,
)
from bot.kling.storyboard import storyboard_text
from bot.quota.text import clean_prompt
from bot.refusals import N_, Text

#: Why elements are off unless the operator turns them on (kling-api.md §9).
ELEMENTS_CLOSED = N_(
    "Elements aren't available: AceData doesn't open the subject library to API users yet, so they would "
    "be dropped or refused. Remove elements (the bot's operator can turn them on with ENABLE_ELEMENT_LIST)."
)


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """An uploaded file as the interaction payload describes it (URL used exactly as given)."""

    url: str
    filename: str
    #: As Discord declared it; None for a reference rebuilt from a stored job (Rerun, Remix, Try
    #: again), whose size nobody declared: the capped download then enforces the limit instead.
    size: int | None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class VideoOrder:
    prompt: str | None
    model: str | None = None
    mode: str | None = None
    duration: int | None = None
    aspect_ratio: str | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    camera: str | None = None
    camera_config: str | None = None
    generate_audio: bool | None = None
    start_image: AttachmentRef | None = None
    end_image: AttachmentRef | None = None
    reference_video: AttachmentRef | None = None
    reference_video_type: str | None = None
    keep_original_sound: bool | None = None
    reference_images: tuple[AttachmentRef, ...] = field(default_factory=tuple)
    elements: str | None = None
    video_id: str | None = None  # set for extend
    #: A multi-shot video (`/storyboard`): `shots` are the member's own for `customize`.
    multi_shot: bool = False
    shot_type: str | None = None
    shots: tuple[Shot, ...] = ()

    @property
    def images(self) -> list[tuple[str, AttachmentRef]]:
        """Every image attachment with the option name a member knows it by."""
        named = [("start_image", self.start_image), ("end_image", self.end_image)]
        named += [(f"reference_image_{i}", ref) for i, ref in enumerate(self.reference_images, start=1)]
        return [(label, ref) for label, ref in named if ref is not None]


_AXES = ", ".join(CAMERA_AXES)
_PAIR = re.compile(r"^\s*([a-z]+)\s*[=:]\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_camera_config(text: str) -> CameraConfig:
    """`"zoom=0.5"` -> CameraConfig: six axes, each in [-1, 1] (the simple move takes exactly one)."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,;]|\s+(?=[a-z]+\s*[=:])", text.lower()))):
        match = _PAIR.match(part)
        if not match:
            raise RequestRefused(
                [
                    Problem(
                        "camera_config",
                        N_("I could not read {text}: write one direction and its strength, like `zoom=0.5`."),
                        text=excerpt(part),
                    )
                ]
            )
        axis, number = match.group(1), float(match.group(2))
        if axis not in CAMERA_AXES:
            raise RequestRefused(
                [
                    Problem(
                        "camera_config",
                        N_("{axis} is not a camera axis; use {axes}."),
                        axis=excerpt(axis),
                        axes=", ".join(CAMERA_AXES),
                    )
                ]
            )
        if not -1 <= number <= 1:
            raise RequestRefused(
                [
                    Problem(
                        "camera_config",
                        N_("{axis} must be between -1 and 1 (got {number})."),
                        axis=axis,
                        number=f"{number:g}",
                    )
                ]
            )
        values[axis] = number
    return CameraConfig(**values)


_E = TypeVar("_E", bound=StrEnum)
_D = TypeVar("_D")


def _choice(option: str, value: str | None, enum: type[_E], default: _D) -> _E | _D:
    if value is None or not value.strip():
        return default
    try:
        return enum(value.strip().lower())
    except ValueError:
        allowed = ", ".join(f"`{member.value}`" for member in enum)
        raise RequestRefused(
            [
                Problem(
                    option,
                    N_("{value} is not a {option}; pick one of {allowed}."),
                    value=excerpt(value),
                    option=option,
                    allowed=allowed,
                )
            ]
        ) from None


def with_inline_flags(order: VideoOrder) -> tuple[VideoOrder, InlineFlags]:
    """The order with the prompt's inline parameters taken out and applied over the options."""
    if not order.prompt:
        return order, InlineFlags()
    split = split_flags(order.prompt)
    if split.flags.is_empty():
        return order, split.flags
    changes: dict[str, object] = {"prompt": split.prompt}
    for item in fields(split.flags):
        value = getattr(split.flags, item.name)
        if value is None:
            continue
        changes[item.name] = value
    return replace(order, **changes), split.flags  # type: ignore[arg-type]


def build_request(
    order: VideoOrder,
    *,
    default_model: Model,
    preferences: Preferences | None = None,
    elements_enabled: bool = False,
) -> VideoRequest:
    """Build and fully validate the request. Raises RequestRefused listing every problem.

    Inline parameters in the prompt override the options; `preferences` (the member's and the
    server's saved defaults) fill what is still unset, before the operator's default model.
    Omni references the prompt does not cite are cited at its end (AceData ignores uncited ones);
    `prompt_note` tells the member. Elements are refused unless the operator turned them on.
    """
    if order.elements and order.elements.strip() and not elements_enabled:
        raise RequestRefused([Problem(Option.ELEMENTS, ELEMENTS_CLOSED)])
    order, _ = with_inline_flags(order)
    saved = preferences or Preferences()
    try:
        model = (
            parse_model(order.model) if order.model and order.model.strip() else saved.model or default_model
        )
    except ValueError:
        known = ", ".join(f"`{m.value}`" for m in Model)
        raise RequestRefused(
            [
                Problem(
                    "model",
                    N_("{model} is not a model I know; pick one of {known}."),
                    model=excerpt(order.model or ""),
                    known=known,
                )
            ]
        ) from None
    mode = _choice("mode", order.mode, Mode, pick_mode(model, saved.mode) or Mode.STD)
    aspect = _choice("aspect_ratio", order.aspect_ratio, AspectRatio, saved.aspect_ratio or AspectRatio.WIDE)
    duration = order.duration
    if duration is None:
        duration = pick_duration(model, mode, saved.duration) if isinstance(mode, Mode) else None
    camera = None
    camera_text, config_text = order.camera, order.camera_config
    if camera_text and "=" in camera_text:
        # `zoom=0.5` (a preset choice or `--camera`): strengths mean the simple move.
        camera_text, config_text = CameraType.SIMPLE.value, camera_text
    if camera_text and camera_text.strip():
        camera_type = _choice("camera", camera_text, CameraType, CameraType.SIMPLE)
        config = parse_camera_config(config_text) if config_text else None
        camera = CameraControl(type=camera_type, config=config)
    elif order.camera_config:
        raise RequestRefused(
            [
                Problem(
                    "camera_config",
                    N_("Pick a camera move to go with the strengths, like `--camera pan=0.5`."),
                )
            ]
        )

    if order.video_id:
        action = Action.EXTEND
    elif order.start_image is not None:
        action = Action.IMAGE2VIDEO
    else:
        action = Action.TEXT2VIDEO

    video_list: tuple[VideoReference, ...] = ()
    if order.reference_video is not None:
        video_list = (
            # Validated from plain values: a refer_type other than base/feature is refused below
            # like any other invalid option.
            VideoReference.model_validate(
                {
                    "video_url": order.reference_video.url,
                    "refer_type": (order.reference_video_type or "base").lower(),
                    "keep_original_sound": None
                    if order.keep_original_sound is None
                    else ("yes" if order.keep_original_sound else "no"),
                }
            ),
        )
    elements = tuple(e for e in re.split(r"[\s,]+", order.elements or "") if e)
    prompt = clean_prompt(order.prompt) if order.prompt else None
    negative = clean_prompt(order.negative_prompt) if order.negative_prompt else None
    shot_type = None
    if order.multi_shot:
        shot_type = ShotType(str(_choice("shot_type", order.shot_type, ShotType, ShotType.CUSTOMIZE)))
    if shot_type is ShotType.CUSTOMIZE and order.shots:
        # The global prompt of a customised storyboard is ignored upstream: it carries the shots for show.
        prompt = prompt or storyboard_text(order.shots)
        if order.duration is None:
            duration = sum(shot.duration for shot in order.shots)
    audio = order.generate_audio
    if audio is None:
        audio = always_makes_sound(model)
    try:
        request = VideoRequest(
            action=action,
            model=model,
            prompt=prompt or None,
            negative_prompt=negative or None,
            cfg_scale=order.cfg_scale,
            mode=mode,
            aspect_ratio=aspect,
            duration=duration if duration is not None else 5,
            start_image_url=order.start_image.url if order.start_image else None,
            end_image_url=order.end_image.url if order.end_image else None,
            video_id=order.video_id,
            generate_audio=audio,
            camera_control=camera,
            video_list=video_list,
            image_list=tuple(ImageReference(image_url=ref.url) for ref in order.reference_images),
            element_list=elements,
            multi_shot=order.multi_shot,
            shot_type=shot_type,
            multi_prompt=order.shots if shot_type is ShotType.CUSTOMIZE else (),
        )
    except ValidationError as exc:
        raise RequestRefused([_problem_from_validation(error) for error in exc.errors()]) from None
    cited = cite_references(request, takes_references=supports_references(model))
    if cited.overflow:
        raise RequestRefused(
            [
                Problem(
                    Option.PROMPT,
                    N_(
                        "Kling only uses references the prompt cites, and citing yours makes the prompt "
                        "{overflow} characters longer than {limit}: shorten it by {overflow} characters, "
                        "or cite them yourself (like <<<image_1>>>)."
                    ),
                    overflow=cited.overflow,
                    limit=PROMPT_MAX,
                )
            ]
        )
    request = cited.request
    validate_request(request)
    return request


#: The note after admission when references were cited for the member (`prompt_note`).
CITED_FOR_YOU = N_(
    "Kling only uses the references a prompt cites, so I added `{added}` "
    "to your prompt (the full prompt is on the progress message)."
)


def prompt_note(order: VideoOrder, request: VideoRequest) -> Text | None:
    """What to tell the member when the bot wrote into their prompt (citing their references), in
    their language when shown. What was added is quoted as sent: the prompt goes to Kling in English."""
    order, _ = with_inline_flags(order)
    if order.multi_shot or not order.prompt or not request.prompt:
        return None
    typed = clean_prompt(order.prompt)
    if request.prompt == typed or not request.prompt.startswith(typed.rstrip()):
        return None
    added = request.prompt[len(typed.rstrip()) :].lstrip(". ")
    # In code formatting: the `_` of `<<<image_1>>>` would otherwise turn into italics.
    return Text(CITED_FOR_YOU, {"added": added.replace("`", "")})


def _problem_from_validation(error: object) -> Problem:
    details = error if isinstance(error, dict) else {}
    location = details.get("loc", ("request",))
    name = str(location[0]) if location else "request"
    return Problem(name, N_("{name}: {detail}."), name=name, detail=details.get("msg", "is not valid"))


def _ref_from_url(url: str) -> AttachmentRef:
    """A stored URL as an attachment whose size is unknown (None, not 0, which would read as an empty
    file): the capped download and the decoding re-check everything the declared size would."""
    filename = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "image"
    return AttachmentRef(url=url, filename=filename, size=None)


def order_from_request(request: VideoRequest, *, prompt: str | None = None) -> VideoOrder:
    """The order that builds `request` again (Rerun and Remix), optionally with a new prompt."""
    camera = request.camera_control
    config = camera.config if camera is not None else None
    reference = request.video_list[0] if request.video_list else None
    return VideoOrder(
        prompt=prompt if prompt is not None else request.prompt,
        model=request.model.value,
        mode=request.mode.value,
        duration=request.duration,
        aspect_ratio=request.aspect_ratio.value,
        negative_prompt=request.negative_prompt,
        cfg_scale=request.cfg_scale,
        camera=camera.type.value if camera is not None else None,
        camera_config=", ".join(f"{k}={v:g}" for k, v in config.model_dump(exclude_none=True).items())
        if config is not None and not config.is_empty()
        else None,
        generate_audio=request.generate_audio,
        start_image=_ref_from_url(request.start_image_url) if request.start_image_url else None,
        end_image=_ref_from_url(request.end_image_url) if request.end_image_url else None,
        reference_video=_ref_from_url(reference.video_url) if reference is not None else None,
        reference_video_type=reference.refer_type if reference is not None else None,
        keep_original_sound=None
        if reference is None or reference.keep_original_sound is None
        else reference.keep_original_sound == "yes",
        reference_images=tuple(_ref_from_url(image.image_url) for image in request.image_list),
        elements=" ".join(request.element_list) or None,
        video_id=request.video_id,
        multi_shot=request.multi_shot,
        shot_type=request.shot_type.value if request.shot_type is not None else None,
        shots=request.multi_prompt,
    )


def extend_order(request: VideoRequest, video_id: str, *, prompt: str | None = None) -> VideoOrder:
    """Continue a finished video with the model, mode and frame shape it was made with."""
    return VideoOrder(
        prompt=prompt,
        model=request.model.value,
        mode=request.mode.value,
        aspect_ratio=request.aspect_ratio.value,
        video_id=video_id,
    )

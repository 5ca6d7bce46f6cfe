"""Which model takes which option: the capability table of `/kling/videos` and the request rules.

The table below is the single source of truth. `check_request` reads it to find every problem of a
request, and the helpers (`allowed_modes`, `allowed_durations`, ...) read it so the Discord layer can
offer only valid choices. Sources: the spec page (`docs/reference/kling-videos-api.txt`), the "Model
Capability Matrix" and the rules of AceData's SDK as summed up in `docs/reference/kling-api.md` §1.1/§1.2.

Decisions where the sources disagree or are silent (each one the conservative choice):
* kling-v2-master / kling-v2-1-master are "single mode" in the matrix, yet the schema enum lets a
  request say `pro`. What the server does with `pro` is unconfirmed (it may refuse, or silently bill
  and render something else), so only `std`, which AceData's own clients send, is accepted.
* End frames follow the newer matrix (v3 / v3-omni / o1 in every mode and duration, kling-v1 only at
  5 s), not the older spec sentence "requests that include tail frames only support 5 seconds".
* Extend is allowed only on kling-v1, kling-v1-6 and kling-v2-5-turbo: the set AceData's SDK enforces
  and the only one every source agrees on.
* A prompt is required for image2video as well as text2video, as AceData's SDK requires.
* v3-omni becomes an "omni request" when it carries any reference, elements included (the SDK only
  looks at images and videos; elements are the same kind of input, so they get the same limits).
* kling-v3-turbo (newest guide, §1.4): audio is always on, so a request that turns it off is refused
  rather than sent with `generate_audio: false`.
* Multi-shot (§1.4, v3 / v3-omni): the guide says nothing about combining it with camera moves, end
  frames or references, so those combinations are refused until it does. A start frame is allowed.
* Camera control (§9): `simple` takes exactly one non-zero axis; the other types take no config.
* References must be cited in the prompt (§9, see `citations`): an uncited one is ignored yet billed,
  and a citation of a reference that is not there is a mistake, so both are refused.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from bot.kling import citations
from bot.kling.models import (
    CAMERA_AXES,
    MAX_SHOTS,
    NEGATIVE_PROMPT_MAX,
    PROMPT_MAX,
    SHOT_PROMPT_MAX,
    Action,
    CameraType,
    Mode,
    Model,
    ShotType,
    VideoRequest,
)
from bot.refusals import MemberRefusal
from bot.wording import join_or


class Option(StrEnum):
    """The `/video` option a problem is about, named as the member sees it (see `cogs/video.py`).

    Reference images are one group here; the command spreads them over `reference_image_1..4`.
    """

    ACTION = "action"
    MODEL = "model"
    MODE = "mode"
    DURATION = "duration"
    PROMPT = "prompt"
    NEGATIVE_PROMPT = "negative_prompt"
    CFG_SCALE = "cfg_scale"
    START_IMAGE = "start_image"
    END_IMAGE = "end_image"
    VIDEO_ID = "video_id"
    AUDIO = "generate_audio"
    CAMERA = "camera"
    CAMERA_CONFIG = "camera_config"
    REFERENCE_IMAGES = "reference_images"
    REFERENCE_VIDEO = "reference_video"
    ELEMENTS = "elements"
    CALLBACK_URL = "callback_url"
    MULTI_SHOT = "multi_shot"
    SHOT_TYPE = "shot_type"
    SHOTS = "shots"


@dataclass(frozen=True)
class ModeCapabilities:
    """What a model can do in one mode."""

    end_frame: bool = False
    audio: bool = False
    camera_control: bool = False


@dataclass(frozen=True)
class ReferenceVideoLimits:
    """What a reference video in `video_list` must be for one model (kling-api.md §1.1 and §9)."""

    min_seconds: float
    max_seconds: float
    min_side: int
    max_side: int
    max_pixels: int | None = None
    #: width / height
    min_aspect: float | None = None
    max_aspect: float | None = None
    min_fps: float = 24
    max_fps: float = 60
    #: Container formats, as the file's own name says them.
    containers: tuple[str, ...] = ("MP4", "MOV")


@dataclass(frozen=True)
class ModelCapabilities:
    """One row group of the capability matrix."""

    modes: Mapping[Mode, ModeCapabilities]
    durations: tuple[int, ...]
    #: When set, end frames (resp. camera moves) work only at this duration (kling-v1: 5 s).
    end_frame_duration: int | None = None
    camera_duration: int | None = None
    #: Takes `image_list` / `video_list` / `element_list`.
    references: bool = False
    #: Every request is an omni request (kling-o1), not only those carrying references.
    always_omni: bool = False
    extend: bool = False
    #: kling-v1's extend takes neither negative_prompt nor cfg_scale (matrix of the newest guide).
    extend_takes_tuning: bool = True
    #: Takes negative_prompt and cfg_scale at all (kling-v3-turbo does not).
    takes_tuning: bool = True
    #: Sound is always generated and cannot be turned off (kling-v3-turbo).
    audio_always: bool = False
    #: Takes `multi_shot` storyboards (kling-v3, kling-v3-omni).
    multi_shot: bool = False
    #: Limits of the reference video (models that take `video_list`).
    reference_video: ReferenceVideoLimits | None = None


_NOTHING = ModeCapabilities()
_END_FRAME = ModeCapabilities(end_frame=True)
_FIVE_OR_TEN = (5, 10)
_THREE_TO_FIFTEEN = tuple(range(3, 16))
_SOUND = ModeCapabilities(audio=True)


def _modes(entries: dict[Mode, ModeCapabilities]) -> Mapping[Mode, ModeCapabilities]:
    return MappingProxyType(entries)


CAPABILITIES: Mapping[Model, ModelCapabilities] = MappingProxyType(
    {
        Model.V1: ModelCapabilities(
            modes=_modes(
                {m: ModeCapabilities(end_frame=True, camera_control=True) for m in (Mode.STD, Mode.PRO)}
            ),
            durations=_FIVE_OR_TEN,
            end_frame_duration=5,
            camera_duration=5,
            extend=True,
            extend_takes_tuning=False,
        ),
        Model.V1_6: ModelCapabilities(
            modes=_modes({Mode.STD: _NOTHING, Mode.PRO: _END_FRAME}), durations=_FIVE_OR_TEN, extend=True
        ),
        # "Single mode" models: std only, see the module docstring for why pro is refused.
        Model.V2_MASTER: ModelCapabilities(modes=_modes({Mode.STD: _NOTHING}), durations=_FIVE_OR_TEN),
        Model.V2_1_MASTER: ModelCapabilities(modes=_modes({Mode.STD: _NOTHING}), durations=_FIVE_OR_TEN),
        Model.V2_5_TURBO: ModelCapabilities(
            modes=_modes({Mode.STD: _NOTHING, Mode.PRO: _END_FRAME}), durations=_FIVE_OR_TEN, extend=True
        ),
        Model.V2_6: ModelCapabilities(
            modes=_modes({Mode.STD: _NOTHING, Mode.PRO: ModeCapabilities(end_frame=True, audio=True)}),
            durations=_FIVE_OR_TEN,
        ),
        Model.V3: ModelCapabilities(
            modes=_modes(
                {
                    Mode.STD: ModeCapabilities(end_frame=True, audio=True, camera_control=True),
                    Mode.PRO: ModeCapabilities(end_frame=True, audio=True, camera_control=True),
                    # Native 4K is "incompatible with motion control" (spec page, `mode`).
                    Mode.K4: ModeCapabilities(end_frame=True, audio=True),
                }
            ),
            durations=_THREE_TO_FIFTEEN,
            multi_shot=True,
        ),
        Model.V3_OMNI: ModelCapabilities(
            modes=_modes({m: ModeCapabilities(end_frame=True, audio=True) for m in Mode}),
            durations=_THREE_TO_FIFTEEN,
            references=True,
            multi_shot=True,
            reference_video=ReferenceVideoLimits(
                min_seconds=3,
                max_seconds=15.5,
                min_side=700,
                max_side=4553,
                max_pixels=8_294_400,
                min_aspect=0.4,
                max_aspect=2.0,
            ),
        ),
        # std = 720p, pro = 1080p; text2video and first-frame image2video only (§1.4).
        Model.V3_TURBO: ModelCapabilities(
            modes=_modes({Mode.STD: _SOUND, Mode.PRO: _SOUND}),
            durations=_THREE_TO_FIFTEEN,
            takes_tuning=False,
            audio_always=True,
        ),
        Model.O1: ModelCapabilities(
            modes=_modes({Mode.STD: _END_FRAME, Mode.PRO: _END_FRAME}),
            durations=(5,),
            references=True,
            always_omni=True,
            reference_video=ReferenceVideoLimits(min_seconds=3, max_seconds=10, min_side=700, max_side=2160),
        ),
    }
)

#: Actions whose request must carry a prompt (AceData's SDK refuses both without one).
PROMPT_REQUIRED_ACTIONS = frozenset({Action.TEXT2VIDEO, Action.IMAGE2VIDEO})
#: Camera moves only with text2video: Nexior found the upstream worker refuses them with a start image.
CAMERA_ACTIONS = frozenset({Action.TEXT2VIDEO})
#: Reference images + elements allowed in one request, with and without a reference video.
REFERENCE_LIMIT_WITH_VIDEO = 4
REFERENCE_LIMIT = 7
MAX_REFERENCE_VIDEOS = 1

#: When a fix means "pick another model", the first of these that fits is named.
_SUGGESTION_ORDER = (
    Model.V3,
    Model.V3_OMNI,
    Model.V2_6,
    Model.O1,
    Model.V2_5_TURBO,
    Model.V1_6,
    Model.V1,
    Model.V2_1_MASTER,
    Model.V2_MASTER,
    Model.V3_TURBO,
)


# --- Questions the Discord layer asks (choices, autocomplete) ---------------------------------------


def capabilities(model: Model) -> ModelCapabilities:
    return CAPABILITIES[model]


def allowed_modes(model: Model) -> tuple[Mode, ...]:
    return tuple(CAPABILITIES[model].modes)


def allowed_durations(model: Model, mode: Mode | None = None) -> tuple[int, ...]:
    """Durations the model takes; empty when `mode` is given and the model does not take it."""
    caps = CAPABILITIES[model]
    if mode is not None and mode not in caps.modes:
        return ()
    return caps.durations


def _at_duration(limit: int | None, duration: int) -> bool:
    return limit is None or duration == limit


def supports_end_frame(model: Model, mode: Mode, duration: int) -> bool:
    caps = CAPABILITIES[model]
    mode_caps = caps.modes.get(mode)
    return (
        mode_caps is not None
        and mode_caps.end_frame
        and duration in caps.durations
        and _at_duration(caps.end_frame_duration, duration)
    )


def supports_audio(model: Model, mode: Mode) -> bool:
    mode_caps = CAPABILITIES[model].modes.get(mode)
    return mode_caps is not None and mode_caps.audio


def supports_camera_control(model: Model, mode: Mode, duration: int) -> bool:
    caps = CAPABILITIES[model]
    mode_caps = caps.modes.get(mode)
    return (
        mode_caps is not None
        and mode_caps.camera_control
        and duration in caps.durations
        and _at_duration(caps.camera_duration, duration)
    )


def supports_references(model: Model) -> bool:
    return CAPABILITIES[model].references


def supports_extend(model: Model) -> bool:
    return CAPABILITIES[model].extend


def supports_multi_shot(model: Model) -> bool:
    return CAPABILITIES[model].multi_shot


def always_makes_sound(model: Model) -> bool:
    return CAPABILITIES[model].audio_always


def reference_video_limits(model: Model) -> ReferenceVideoLimits | None:
    return CAPABILITIES[model].reference_video


def models_where(feature: Callable[[Model], bool]) -> tuple[Model, ...]:
    """Models for which `feature` holds, in table order (e.g. `models_where(supports_references)`)."""
    return tuple(m for m in CAPABILITIES if feature(m))


def models_for_action(action: Action) -> tuple[Model, ...]:
    """Models that can run `action` at all (extend is limited; the others work everywhere)."""
    return models_where(supports_extend) if action is Action.EXTEND else tuple(CAPABILITIES)


def takes_start_frame(model: Model) -> bool:
    """Whether the model makes image-to-video (a start frame): what Next shot needs."""
    return model in models_for_action(Action.IMAGE2VIDEO)


def is_omni_request(request: VideoRequest) -> bool:
    """o1 always; v3-omni once it carries references. Omni requests refuse the prompt-tuning options."""
    caps = CAPABILITIES[request.model]
    return caps.always_omni or (caps.references and request.has_references)


# --- Problems and refusal ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason a request cannot be sent: the option to change and what to do, in plain words."""

    field: str
    message: str


class RequestRefused(MemberRefusal):
    """The request breaks the rules; nothing was sent and nothing was charged.

    `str()` is the friendly text to show the member; `problems` keeps each reason with its option.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].message
        return "\n".join(["This video can't be made as asked:", *(f"• {p.message}" for p in self.problems)])


def check_request(request: VideoRequest) -> list[Problem]:
    """Every problem of `request` (empty when it may be sent)."""
    problems: list[Problem] = []
    for rule in _RULES:
        problems.extend(rule(request))
    return problems


def validate_request(request: VideoRequest) -> None:
    """Raise `RequestRefused` with every problem, or return when the request may be sent."""
    problems = check_request(request)
    if problems:
        raise RequestRefused(tuple(problems))


# --- Wording helpers --------------------------------------------------------------------------------


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _suggest(fits: Callable[[Model], bool]) -> Model | None:
    return next((m for m in _SUGGESTION_ORDER if fits(m)), None)


def _or_pick(fits: Callable[[Model], bool]) -> str:
    model = _suggest(fits)
    return f" or pick {model.value}" if model is not None else ""


def _modes_with(model: Model, has: Callable[[ModeCapabilities], bool]) -> list[Mode]:
    return [mode for mode, caps in CAPABILITIES[model].modes.items() if has(caps)]


def _visible_text(text: str) -> str:
    """The text without blanks and invisible format characters (zero-width spaces, joiners, BOM)."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _is_http_url(value: str) -> bool:
    # pydantic tolerates surrounding blanks, but the service would receive the string exactly as given.
    if value != value.strip():
        return False
    try:
        _HTTP_URL.validate_python(value)
    except ValidationError:
        return False
    return True


# --- Rules: each takes the request and yields its problems ------------------------------------------


#: How a refusal names what the member is doing, in their words rather than the API's action.
_ACTION_WORDS = {
    Action.TEXT2VIDEO: "when the video is made from words alone",
    Action.IMAGE2VIDEO: "here",
    Action.EXTEND: "when extending a video",
}


def _action_rules(r: VideoRequest) -> Iterable[Problem]:
    if r.action is Action.IMAGE2VIDEO and not r.start_image_url:
        yield Problem(Option.START_IMAGE, "Bringing a picture to life needs one: add start_image.")
    if r.start_image_url and r.action is not Action.IMAGE2VIDEO:
        yield Problem(
            Option.START_IMAGE,
            f"start_image can't be used {_ACTION_WORDS[r.action]}: remove start_image.",
        )
    # With image2video but no start image, the start_image problem above already says what to add.
    if r.end_image_url and r.action is not Action.IMAGE2VIDEO:
        yield Problem(
            Option.END_IMAGE,
            "end_image needs a start_image to go with it: add start_image, or remove end_image.",
        )
    if r.action is Action.EXTEND:
        if not (r.video_id and r.video_id.strip()):
            yield Problem(Option.VIDEO_ID, "Pick the earlier video to continue in /extend's video option.")
        if not supports_extend(r.model):
            names = join_or(m.value for m in models_for_action(Action.EXTEND))
            yield Problem(Option.MODEL, f"{r.model.value} can't extend videos: pick {names}.")
        elif not CAPABILITIES[r.model].extend_takes_tuning:
            if r.negative_prompt:
                yield Problem(
                    Option.NEGATIVE_PROMPT,
                    f"{r.model.value} doesn't take negative_prompt when extending: remove negative_prompt.",
                )
            if r.cfg_scale is not None:
                yield Problem(
                    Option.CFG_SCALE,
                    f"{r.model.value} doesn't take cfg_scale when extending: remove cfg_scale.",
                )
    elif r.video_id:
        yield Problem(
            Option.VIDEO_ID,
            "Only /extend continues an earlier video: use /extend to pick it.",
        )


def _prompt_rules(r: VideoRequest) -> Iterable[Problem]:
    required = r.action in PROMPT_REQUIRED_ACTIONS
    if r.prompt is None:
        if required:
            yield Problem(Option.PROMPT, f"{r.action.value} needs a prompt: describe the video you want.")
    elif not _visible_text(r.prompt):
        yield Problem(Option.PROMPT, "The prompt is empty: write a few words describing the video.")
    elif len(r.prompt) > PROMPT_MAX:
        yield Problem(
            Option.PROMPT,
            f"The prompt is {len(r.prompt)} characters long: shorten it to {PROMPT_MAX} or fewer.",
        )
    if r.negative_prompt is not None and len(r.negative_prompt) > NEGATIVE_PROMPT_MAX:
        yield Problem(
            Option.NEGATIVE_PROMPT,
            f"negative_prompt is {len(r.negative_prompt)} characters long: shorten it to "
            f"{NEGATIVE_PROMPT_MAX} or fewer.",
        )
    if r.cfg_scale is not None and not (math.isfinite(r.cfg_scale) and 0 <= r.cfg_scale <= 1):
        yield Problem(Option.CFG_SCALE, "cfg_scale must be between 0 and 1: pick a value such as 0.5.")


def _mode_and_duration_rules(r: VideoRequest) -> Iterable[Problem]:
    caps = CAPABILITIES[r.model]
    if r.mode not in caps.modes:
        modes = join_or(m.value for m in caps.modes)
        if len(caps.modes) == 1:
            text = f"{r.model.value} has a single quality mode: set mode to {modes}."
        else:
            text = f"{r.model.value} takes mode {modes}, not {r.mode.value}: set mode to {modes}"
            pick = _suggest(lambda m: r.mode in CAPABILITIES[m].modes)
            text += f", or pick {pick.value} for {r.mode.value}." if pick is not None else "."
        yield Problem(Option.MODE, text)
    if r.duration not in caps.durations:
        durations = caps.durations
        if len(durations) == 1:
            text = f"{r.model.value} makes {durations[0]}-second videos only: set duration to {durations[0]}"
        elif durations == tuple(range(durations[0], durations[-1] + 1)):
            low, high = durations[0], durations[-1]
            text = f"{r.model.value} makes videos of {low} to {high} seconds: "
            text += f"set duration between {low} and {high}"
        else:
            listed = join_or(str(d) for d in durations)
            text = f"{r.model.value} makes {listed.replace(' or ', '- or ')}-second videos: "
            text += f"set duration to {listed}"
        pick = _suggest(lambda m: r.duration in CAPABILITIES[m].durations)
        if pick is not None:
            text += f", or pick {pick.value} for {r.duration} seconds"
        yield Problem(Option.DURATION, text + ".")


def _end_frame_rules(r: VideoRequest) -> Iterable[Problem]:
    if not (r.end_image_url and r.action is Action.IMAGE2VIDEO):
        return
    if supports_end_frame(r.model, r.mode, r.duration):
        return
    caps = CAPABILITIES[r.model]
    name = r.model.value
    with_end = _modes_with(r.model, lambda c: c.end_frame)
    pick = _or_pick(lambda m: supports_end_frame(m, r.mode, r.duration))
    if not with_end:
        text = f"{name} can't use an end frame: remove end_image{pick}."
    elif r.mode in caps.modes and r.mode not in with_end:
        modes = join_or(m.value for m in with_end)
        text = f"{name} takes an end frame only in {modes} mode: set mode to {modes}, or remove end_image."
    elif caps.end_frame_duration is not None and r.duration != caps.end_frame_duration:
        d = caps.end_frame_duration
        text = f"{name} takes an end frame only for {d}-second videos: set duration to {d}{pick}."
    else:
        return  # the mode or duration itself is invalid, and that problem is already reported
    yield Problem(Option.END_IMAGE, text)


def _audio_rules(r: VideoRequest) -> Iterable[Problem]:
    if not r.generate_audio:
        if CAPABILITIES[r.model].audio_always:
            pick = _or_pick(lambda m: not CAPABILITIES[m].audio_always and r.mode in CAPABILITIES[m].modes)
            yield Problem(
                Option.AUDIO,
                f"{r.model.value} always makes sound: turn generate_audio on (or leave it out){pick} "
                "for a silent video.",
            )
        return
    if r.video_list:
        yield Problem(
            Option.AUDIO,
            "Sound can't be generated with a reference video: turn generate_audio off or remove the video.",
        )
    if supports_audio(r.model, r.mode):
        return
    name = r.model.value
    with_audio = _modes_with(r.model, lambda c: c.audio)
    if not with_audio:
        pick = _or_pick(lambda m: supports_audio(m, r.mode))
        text = f"{name} can't make sound: turn generate_audio off{pick}."
    elif r.mode in CAPABILITIES[r.model].modes:
        modes = join_or(m.value for m in with_audio)
        text = f"{name} makes sound only in {modes} mode: set mode to {modes}, or turn generate_audio off."
    else:
        return
    yield Problem(Option.AUDIO, text)


def _camera_rules(r: VideoRequest) -> Iterable[Problem]:
    camera = r.camera_control
    if camera is None:
        return
    if r.action not in CAMERA_ACTIONS:
        yield Problem(
            Option.CAMERA,
            "Camera moves work only for videos made from words alone: remove camera, or remove start_image.",
        )
    elif not supports_camera_control(r.model, r.mode, r.duration):
        caps = CAPABILITIES[r.model]
        name = r.model.value
        pick = _or_pick(lambda m: supports_camera_control(m, r.mode, r.duration))
        with_camera = _modes_with(r.model, lambda c: c.camera_control)
        if not with_camera:
            yield Problem(Option.CAMERA, f"{name} can't move the camera: remove camera{pick}.")
        elif r.mode in caps.modes and r.mode not in with_camera:
            modes = join_or(m.value for m in with_camera)
            yield Problem(
                Option.CAMERA,
                f"{name} can't move the camera in {r.mode.value} mode: "
                f"set mode to {modes}, or remove camera.",
            )
        elif caps.camera_duration is not None and r.duration != caps.camera_duration:
            d = caps.camera_duration
            yield Problem(
                Option.CAMERA,
                f"{name} moves the camera only in {d}-second videos: set duration to {d}{pick}.",
            )
    config = camera.config
    if camera.type is CameraType.SIMPLE:
        moving = config.moving_axes() if config is not None else []
        if not moving:
            yield Problem(
                Option.CAMERA_CONFIG,
                f"The simple camera move needs one direction in camera_config, such as zoom=0.5 "
                f"(one of {', '.join(CAMERA_AXES)}): add it, or pick another camera move.",
            )
        elif len(moving) > 1:
            yield Problem(
                Option.CAMERA_CONFIG,
                f"The simple camera move takes exactly one direction, not {len(moving)} "
                f"({', '.join(moving)}): keep only one of them in camera_config.",
            )
    if config is None or config.is_empty():
        return
    if camera.type is not CameraType.SIMPLE:
        yield Problem(
            Option.CAMERA_CONFIG,
            f"Camera strengths ({', '.join(CAMERA_AXES)}) only apply to the simple camera move, not "
            f"{camera.type.value}: set camera to simple or leave camera_config out.",
        )
    out_of_range = [a for a in CAMERA_AXES if (v := getattr(config, a)) is not None and not -1 <= v <= 1]
    if out_of_range:
        yield Problem(Option.CAMERA_CONFIG, f"Camera {join_or(out_of_range)} must be between -1 and 1.")


_REFERENCE_WORDS = {
    Option.REFERENCE_IMAGES: "reference images",
    Option.REFERENCE_VIDEO: "a reference video",
    Option.ELEMENTS: "elements",
}


def _reference_fields(r: VideoRequest) -> list[Option]:
    present = (
        (bool(r.image_list), Option.REFERENCE_IMAGES),
        (bool(r.video_list), Option.REFERENCE_VIDEO),
        (bool(r.element_list), Option.ELEMENTS),
    )
    return [option for given, option in present if given]


def _reference_rules(r: VideoRequest) -> Iterable[Problem]:
    first_frames = bool(r.start_image_url) + sum(i.type == "first_frame" for i in r.image_list)
    end_frames = bool(r.end_image_url) + sum(i.type == "end_frame" for i in r.image_list)
    if first_frames > 1 or end_frames > 1:
        yield Problem(
            Option.REFERENCE_IMAGES,
            "Use at most one start frame and one end frame: remove the extra first_frame or end_frame image.",
        )
    if r.image_list and end_frames and not first_frames:
        yield Problem(
            Option.REFERENCE_IMAGES, "An end frame needs a start frame too: add one or remove the end frame."
        )

    fields = _reference_fields(r)
    if not fields:
        return
    name = r.model.value
    if not supports_references(r.model):
        refs = join_or(_REFERENCE_WORDS[f] for f in fields)
        models = join_or(m.value for m in models_where(supports_references))
        yield Problem(fields[0], f"{name} doesn't take {refs}: pick {models}, or remove them.")
        return
    if r.mode is Mode.K4:
        refs = join_or(_REFERENCE_WORDS[f] for f in fields)
        yield Problem(Option.MODE, f"4k can't be used with {refs}: set mode to std or pro.")
    if len(r.video_list) > MAX_REFERENCE_VIDEOS:
        yield Problem(
            Option.REFERENCE_VIDEO,
            f"Use at most {MAX_REFERENCE_VIDEOS} reference video: remove the others.",
        )
    if any(v.refer_type == "base" for v in r.video_list) and (first_frames or end_frames):
        yield Problem(
            Option.REFERENCE_VIDEO,
            "A reference video you edit can't be combined with start or end frames: set "
            "reference_video_type to “Only borrow its style and motion”, or remove the frames.",
        )
    # Start/end frames count as reference images (docs/reference/kling-api.md §1.1, image_list).
    images = len(r.image_list) + bool(r.start_image_url) + bool(r.end_image_url)
    limit = REFERENCE_LIMIT_WITH_VIDEO if r.video_list else REFERENCE_LIMIT
    if images + len(r.element_list) > limit:
        context = "with a reference video" if r.video_list else "per video"
        yield Problem(
            Option.REFERENCE_IMAGES if r.image_list or not r.element_list else Option.ELEMENTS,
            f"Use at most {limit} images and elements together {context} (start and end frames count): "
            f"you gave {_count(images, 'image')} and {_count(len(r.element_list), 'element')}.",
        )
    if any(not element.strip() for element in r.element_list):
        yield Problem(Option.ELEMENTS, "An element id is empty: remove it or fill in the element's id.")


def _omni_rules(r: VideoRequest) -> Iterable[Problem]:
    # camera_control and 4k are refused for omni requests too; the table (no camera on o1 / v3-omni,
    # no 4k on o1) and the reference rule (no 4k with references) already report them.
    caps = CAPABILITIES[r.model]
    if caps.always_omni or not caps.takes_tuning:
        why = r.model.value
    elif is_omni_request(r):
        why = f"{r.model.value} with references"
    else:
        return
    if r.negative_prompt:
        yield Problem(Option.NEGATIVE_PROMPT, f"{why} doesn't take negative_prompt: remove negative_prompt.")
    if r.cfg_scale is not None:
        yield Problem(Option.CFG_SCALE, f"{why} doesn't take cfg_scale: remove cfg_scale.")


def _citation_rules(r: VideoRequest) -> Iterable[Problem]:
    takes = supports_references(r.model)
    if not takes and _reference_fields(r):
        return  # the reference rule already says this model takes none
    refs = citations.numbered(r, takes_references=takes)
    dangling = citations.dangling(r, refs)
    if dangling:
        if not takes:
            text = f"{r.model.value} takes no references, so the prompt's {join_or(dangling)} cites nothing"
        else:
            text = (
                f"The prompt cites {join_or(dangling)}, but this video has "
                f"{_count(refs.images, 'image')} (start and end frames first) and "
                f"{_count(refs.videos, 'reference video')}"
            )
        yield Problem(Option.PROMPT, f"{text}: attach what it cites or remove the citation.")
    uncited = citations.uncited(r, refs)
    if uncited:
        yield Problem(
            Option.PROMPT,
            f"Kling ignores references the prompt does not cite: mention {join_or(uncited)} in the prompt.",
        )


def _multi_shot_rules(r: VideoRequest) -> Iterable[Problem]:
    if not r.multi_shot:
        if r.shot_type is not None or r.multi_prompt:
            yield Problem(
                Option.SHOT_TYPE,
                "shot_type and shots only apply to a multi-shot video: turn multi_shot on or leave them out.",
            )
        return
    name = r.model.value
    if not supports_multi_shot(r.model):
        models = join_or(m.value for m in models_where(supports_multi_shot))
        yield Problem(Option.MODEL, f"{name} can't make multi-shot videos: pick {models}.")
    if r.camera_control is not None:
        yield Problem(Option.CAMERA, "Camera moves can't be combined with several shots: remove camera.")
    if r.end_image_url:
        yield Problem(
            Option.END_IMAGE, "An end frame can't be combined with several shots: remove end_image."
        )
    fields = _reference_fields(r)
    if fields:
        refs = join_or(_REFERENCE_WORDS[f] for f in fields)
        yield Problem(fields[0], f"A video of several shots can't use {refs}: remove them.")
    if r.shot_type is None:
        yield Problem(
            Option.SHOT_TYPE,
            "A multi-shot video needs shot_type: intelligence (Kling splits your prompt into shots) or "
            "customize (you write each shot).",
        )
    elif r.shot_type is ShotType.INTELLIGENCE:
        if r.multi_prompt:
            yield Problem(
                Option.SHOTS,
                "With shot_type intelligence Kling writes the shots from the prompt: leave the shots out, "
                "or set shot_type to customize.",
            )
    else:
        yield from _shot_list_rules(r)


def _shot_list_rules(r: VideoRequest) -> Iterable[Problem]:
    shots = r.multi_prompt
    if not 1 <= len(shots) <= MAX_SHOTS:
        yield Problem(Option.SHOTS, f"Write 1 to {MAX_SHOTS} shots, one per line: you wrote {len(shots)}.")
        if not shots:
            return
    if [shot.index for shot in shots] != list(range(1, len(shots) + 1)):
        yield Problem(Option.SHOTS, "Shots must be numbered 1, 2, 3… in order: renumber them.")
    for number, shot in enumerate(shots, start=1):
        if not _visible_text(shot.prompt):
            yield Problem(Option.SHOTS, f"Shot {number} has no description: write what happens in it.")
        elif len(shot.prompt) > SHOT_PROMPT_MAX:
            yield Problem(
                Option.SHOTS,
                f"Shot {number} is {len(shot.prompt)} characters long: shorten it to {SHOT_PROMPT_MAX} "
                "or fewer.",
            )
        if shot.duration < 1:
            yield Problem(Option.SHOTS, f"Shot {number} must last at least 1 second: give it 1s or more.")
    total = sum(shot.duration for shot in shots)
    if total != r.duration:
        yield Problem(
            Option.DURATION,
            f"The shots add up to {_count(total, 'second')} but the video is {r.duration}: make them add "
            f"up to {r.duration} seconds, or set duration to {total}.",
        )


def _url_rules(r: VideoRequest) -> Iterable[Problem]:
    urls: list[tuple[Option, str | None]] = [
        (Option.START_IMAGE, r.start_image_url),
        (Option.END_IMAGE, r.end_image_url),
        *((Option.REFERENCE_IMAGES, i.image_url) for i in r.image_list),
        *((Option.REFERENCE_VIDEO, v.video_url) for v in r.video_list),
        (Option.CALLBACK_URL, r.callback_url),
    ]
    reported: set[Option] = set()
    for option, url in urls:
        if url and option not in reported and not _is_http_url(url):
            reported.add(option)
            yield Problem(option, f"{option.value} must be a web link starting with http:// or https://.")


_RULES: tuple[Callable[[VideoRequest], Iterable[Problem]], ...] = (
    _action_rules,
    _prompt_rules,
    _mode_and_duration_rules,
    _end_frame_rules,
    _audio_rules,
    _camera_rules,
    _reference_rules,
    _omni_rules,
    _citation_rules,
    _multi_shot_rules,
    _url_rules,
)

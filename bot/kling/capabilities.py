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
from dataclasses import field as dataclass_field
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
from bot.refusals import N_, AnyOf, Lines, MemberRefusal, Text


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


@dataclass(frozen=True, init=False)
class Problem:
    """One reason a request cannot be sent: the option to change and what to do, in plain words.

    `message` is the English sentence; `text` the same as a translatable message id with its values
    (compared by `message`, so two problems that read the same are equal)."""

    field: str
    message: str
    text: Text = dataclass_field(compare=False, repr=False)

    def __init__(self, option: str, message: str, /, **values: object) -> None:
        text = Text(message, values)
        object.__setattr__(self, "field", option)
        object.__setattr__(self, "message", text.render())
        object.__setattr__(self, "text", text)


CANT_BE_MADE = N_("This video can't be made as asked:\n• {problems}")


class RequestRefused(MemberRefusal):
    """The request breaks the rules; nothing was sent and nothing was charged.

    `str()` is the friendly text to show the member; `problems` keeps each reason with its option.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if len(self.problems) == 1:
            only = self.problems[0].text
            super().__init__(only.msgid, **only.values)
        else:
            listed = Lines(tuple(p.text for p in self.problems), separator="\n• ")
            super().__init__(CANT_BE_MADE, problems=listed)


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

#: "1 image" / "3 images": (one, several) per noun a refusal counts.
_COUNTED = {
    "image": (N_("{count} image"), N_("{count} images")),
    "element": (N_("{count} element"), N_("{count} elements")),
    "second": (N_("{count} second"), N_("{count} seconds")),
    "reference video": (N_("{count} reference video"), N_("{count} reference videos")),
}


def _count(number: int, noun: str) -> Text:
    one, several = _COUNTED[noun]
    return Text(one if number == 1 else several, {"count": number})


def _suggest(fits: Callable[[Model], bool]) -> Model | None:
    return next((m for m in _SUGGESTION_ORDER if fits(m)), None)


OR_PICK = N_(" or pick {model}")


def _or_pick(fits: Callable[[Model], bool]) -> Text | str:
    """ " or pick kling-v3" when a model fits, else nothing (a value for a `{pick}` field)."""
    model = _suggest(fits)
    return Text(OR_PICK, {"model": model.value}) if model is not None else ""


def _names(models: Iterable[Model]) -> AnyOf:
    return AnyOf(m.value for m in models)


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
    Action.TEXT2VIDEO: Text(N_("when the video is made from words alone")),
    Action.IMAGE2VIDEO: Text(N_("here")),
    Action.EXTEND: Text(N_("when extending a video")),
}


def _action_rules(r: VideoRequest) -> Iterable[Problem]:
    if r.action is Action.IMAGE2VIDEO and not r.start_image_url:
        yield Problem(Option.START_IMAGE, N_("Bringing a picture to life needs one: add start_image."))
    if r.start_image_url and r.action is not Action.IMAGE2VIDEO:
        yield Problem(
            Option.START_IMAGE,
            N_("start_image can't be used {where}: remove start_image."),
            where=_ACTION_WORDS[r.action],
        )
    # With image2video but no start image, the start_image problem above already says what to add.
    if r.end_image_url and r.action is not Action.IMAGE2VIDEO:
        yield Problem(
            Option.END_IMAGE,
            N_("end_image needs a start_image to go with it: add start_image, or remove end_image."),
        )
    if r.action is Action.EXTEND:
        if not (r.video_id and r.video_id.strip()):
            yield Problem(
                Option.VIDEO_ID, N_("Pick the earlier video to continue in /extend's video option.")
            )
        model = r.model.value
        if not supports_extend(r.model):
            names = _names(models_for_action(Action.EXTEND))
            yield Problem(
                Option.MODEL, N_("{model} can't extend videos: pick {models}."), model=model, models=names
            )
        elif not CAPABILITIES[r.model].extend_takes_tuning:
            if r.negative_prompt:
                yield Problem(
                    Option.NEGATIVE_PROMPT,
                    N_("{model} doesn't take negative_prompt when extending: remove negative_prompt."),
                    model=model,
                )
            if r.cfg_scale is not None:
                yield Problem(
                    Option.CFG_SCALE,
                    N_("{model} doesn't take cfg_scale when extending: remove cfg_scale."),
                    model=model,
                )
    elif r.video_id:
        yield Problem(Option.VIDEO_ID, N_("Only /extend continues an earlier video: use /extend to pick it."))


def _prompt_rules(r: VideoRequest) -> Iterable[Problem]:
    required = r.action in PROMPT_REQUIRED_ACTIONS
    if r.prompt is None:
        if required:
            yield Problem(
                Option.PROMPT,
                N_("{action} needs a prompt: describe the video you want."),
                action=r.action.value,
            )
    elif not _visible_text(r.prompt):
        yield Problem(Option.PROMPT, N_("The prompt is empty: write a few words describing the video."))
    elif len(r.prompt) > PROMPT_MAX:
        yield Problem(
            Option.PROMPT,
            N_("The prompt is {length} characters long: shorten it to {limit} or fewer."),
            length=len(r.prompt),
            limit=PROMPT_MAX,
        )
    if r.negative_prompt is not None and len(r.negative_prompt) > NEGATIVE_PROMPT_MAX:
        yield Problem(
            Option.NEGATIVE_PROMPT,
            N_("negative_prompt is {length} characters long: shorten it to {limit} or fewer."),
            length=len(r.negative_prompt),
            limit=NEGATIVE_PROMPT_MAX,
        )
    if r.cfg_scale is not None and not (math.isfinite(r.cfg_scale) and 0 <= r.cfg_scale <= 1):
        yield Problem(Option.CFG_SCALE, N_("cfg_scale must be between 0 and 1: pick a value such as 0.5."))


def _mode_and_duration_rules(r: VideoRequest) -> Iterable[Problem]:
    caps = CAPABILITIES[r.model]
    model = r.model.value
    if r.mode not in caps.modes:
        modes = AnyOf(m.value for m in caps.modes)
        pick = _suggest(lambda m: r.mode in CAPABILITIES[m].modes)
        if len(caps.modes) == 1:
            yield Problem(
                Option.MODE,
                N_("{model} has a single quality mode: set mode to {modes}."),
                model=model,
                modes=modes,
            )
        elif pick is not None:
            yield Problem(
                Option.MODE,
                N_("{model} takes mode {modes}, not {mode}: set mode to {modes}, or pick {pick} for {mode}."),
                model=model,
                modes=modes,
                mode=r.mode.value,
                pick=pick.value,
            )
        else:
            yield Problem(
                Option.MODE,
                N_("{model} takes mode {modes}, not {mode}: set mode to {modes}."),
                model=model,
                modes=modes,
                mode=r.mode.value,
            )
    if r.duration not in caps.durations:
        durations = caps.durations
        pick = _suggest(lambda m: r.duration in CAPABILITIES[m].durations)
        values: dict[str, object] = {"model": model}
        if len(durations) == 1:
            values["seconds"] = durations[0]
            msgid = (
                N_("{model} makes {seconds}-second videos only: set duration to {seconds}.")
                if pick is None
                else N_(
                    "{model} makes {seconds}-second videos only: set duration to {seconds}, "
                    "or pick {pick} for {duration} seconds."
                )
            )
        elif durations == tuple(range(durations[0], durations[-1] + 1)):
            values["low"], values["high"] = durations[0], durations[-1]
            msgid = (
                N_("{model} makes videos of {low} to {high} seconds: set duration between {low} and {high}.")
                if pick is None
                else N_(
                    "{model} makes videos of {low} to {high} seconds: set duration between {low} and {high}, "
                    "or pick {pick} for {duration} seconds."
                )
            )
        else:
            values["lengths"] = AnyOf((str(d) for d in durations), compound=True)
            values["listed"] = AnyOf(str(d) for d in durations)
            msgid = (
                N_("{model} makes {lengths}-second videos: set duration to {listed}.")
                if pick is None
                else N_(
                    "{model} makes {lengths}-second videos: set duration to {listed}, "
                    "or pick {pick} for {duration} seconds."
                )
            )
        if pick is not None:
            values["pick"], values["duration"] = pick.value, r.duration
        yield Problem(Option.DURATION, msgid, **values)


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
        yield Problem(
            Option.END_IMAGE,
            N_("{model} can't use an end frame: remove end_image{pick}."),
            model=name,
            pick=pick,
        )
    elif r.mode in caps.modes and r.mode not in with_end:
        yield Problem(
            Option.END_IMAGE,
            N_("{model} takes an end frame only in {modes} mode: set mode to {modes}, or remove end_image."),
            model=name,
            modes=AnyOf(m.value for m in with_end),
        )
    elif caps.end_frame_duration is not None and r.duration != caps.end_frame_duration:
        yield Problem(
            Option.END_IMAGE,
            N_(
                "{model} takes an end frame only for {seconds}-second videos: set duration to "
                "{seconds}{pick}."
            ),
            model=name,
            seconds=caps.end_frame_duration,
            pick=pick,
        )
    # else the mode or duration itself is invalid, and that problem is already reported


def _audio_rules(r: VideoRequest) -> Iterable[Problem]:
    if not r.generate_audio:
        if CAPABILITIES[r.model].audio_always:
            pick = _or_pick(lambda m: not CAPABILITIES[m].audio_always and r.mode in CAPABILITIES[m].modes)
            yield Problem(
                Option.AUDIO,
                N_(
                    "{model} always makes sound: turn generate_audio on (or leave it out){pick} for a "
                    "silent video."
                ),
                model=r.model.value,
                pick=pick,
            )
        return
    if r.video_list:
        yield Problem(
            Option.AUDIO,
            N_(
                "Sound can't be generated with a reference video: turn generate_audio off or remove the "
                "video."
            ),
        )
    if supports_audio(r.model, r.mode):
        return
    name = r.model.value
    with_audio = _modes_with(r.model, lambda c: c.audio)
    if not with_audio:
        pick = _or_pick(lambda m: supports_audio(m, r.mode))
        yield Problem(
            Option.AUDIO,
            N_("{model} can't make sound: turn generate_audio off{pick}."),
            model=name,
            pick=pick,
        )
    elif r.mode in CAPABILITIES[r.model].modes:
        yield Problem(
            Option.AUDIO,
            N_("{model} makes sound only in {modes} mode: set mode to {modes}, or turn generate_audio off."),
            model=name,
            modes=AnyOf(m.value for m in with_audio),
        )


def _camera_rules(r: VideoRequest) -> Iterable[Problem]:
    camera = r.camera_control
    if camera is None:
        return
    if r.action not in CAMERA_ACTIONS:
        yield Problem(
            Option.CAMERA,
            N_(
                "Camera moves work only for videos made from words alone: remove camera, or remove "
                "start_image."
            ),
        )
    elif not supports_camera_control(r.model, r.mode, r.duration):
        caps = CAPABILITIES[r.model]
        name = r.model.value
        pick = _or_pick(lambda m: supports_camera_control(m, r.mode, r.duration))
        with_camera = _modes_with(r.model, lambda c: c.camera_control)
        if not with_camera:
            yield Problem(
                Option.CAMERA,
                N_("{model} can't move the camera: remove camera{pick}."),
                model=name,
                pick=pick,
            )
        elif r.mode in caps.modes and r.mode not in with_camera:
            yield Problem(
                Option.CAMERA,
                N_("{model} can't move the camera in {mode} mode: set mode to {modes}, or remove camera."),
                model=name,
                mode=r.mode.value,
                modes=AnyOf(m.value for m in with_camera),
            )
        elif caps.camera_duration is not None and r.duration != caps.camera_duration:
            yield Problem(
                Option.CAMERA,
                N_(
                    "{model} moves the camera only in {seconds}-second videos: set duration to "
                    "{seconds}{pick}."
                ),
                model=name,
                seconds=caps.camera_duration,
                pick=pick,
            )
    config = camera.config
    axes = ", ".join(CAMERA_AXES)
    if camera.type is CameraType.SIMPLE:
        moving = config.moving_axes() if config is not None else []
        if not moving:
            yield Problem(
                Option.CAMERA_CONFIG,
                N_(
                    "The simple camera move needs one direction in camera_config, such as zoom=0.5 "
                    "(one of {axes}): add it, or pick another camera move."
                ),
                axes=axes,
            )
        elif len(moving) > 1:
            yield Problem(
                Option.CAMERA_CONFIG,
                N_(
                    "The simple camera move takes exactly one direction, not {count} "
                    "({moving}): keep only one of them in camera_config."
                ),
                count=len(moving),
                moving=", ".join(moving),
            )
    if config is None or config.is_empty():
        return
    if camera.type is not CameraType.SIMPLE:
        yield Problem(
            Option.CAMERA_CONFIG,
            N_(
                "Camera strengths ({axes}) only apply to the simple camera move, not "
                "{camera}: set camera to simple or leave camera_config out."
            ),
            axes=axes,
            camera=camera.type.value,
        )
    out_of_range = [a for a in CAMERA_AXES if (v := getattr(config, a)) is not None and not -1 <= v <= 1]
    if out_of_range:
        yield Problem(
            Option.CAMERA_CONFIG, N_("Camera {axes} must be between -1 and 1."), axes=AnyOf(out_of_range)
        )


_REFERENCE_WORDS = {
    Option.REFERENCE_IMAGES: Text(N_("reference images")),
    Option.REFERENCE_VIDEO: Text(N_("a reference video")),
    Option.ELEMENTS: Text(N_("elements")),
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
            N_(
                "Use at most one start frame and one end frame: remove the extra first_frame or end_frame "
                "image."
            ),
        )
    if r.image_list and end_frames and not first_frames:
        yield Problem(
            Option.REFERENCE_IMAGES,
            N_("An end frame needs a start frame too: add one or remove the end frame."),
        )

    fields = _reference_fields(r)
    if not fields:
        return
    name = r.model.value
    refs = AnyOf(_REFERENCE_WORDS[f] for f in fields)
    if not supports_references(r.model):
        yield Problem(
            fields[0],
            N_("{model} doesn't take {references}: pick {models}, or remove them."),
            model=name,
            references=refs,
            models=_names(models_where(supports_references)),
        )
        return
    if r.mode is Mode.K4:
        yield Problem(
            Option.MODE, N_("4k can't be used with {references}: set mode to std or pro."), references=refs
        )
    if len(r.video_list) > MAX_REFERENCE_VIDEOS:
        yield Problem(
            Option.REFERENCE_VIDEO,
            N_("Use at most {count} reference video: remove the others."),
            count=MAX_REFERENCE_VIDEOS,
        )
    if any(v.refer_type == "base" for v in r.video_list) and (first_frames or end_frames):
        yield Problem(
            Option.REFERENCE_VIDEO,
            N_(
                "A reference video you edit can't be combined with start or end frames: set "
                "reference_video_type to “Only borrow its style and motion”, or remove the frames."
            ),
        )
    # Start/end frames count as reference images (docs/reference/kling-api.md §1.1, image_list).
    images = len(r.image_list) + bool(r.start_image_url) + bool(r.end_image_url)
    limit = REFERENCE_LIMIT_WITH_VIDEO if r.video_list else REFERENCE_LIMIT
    if images + len(r.element_list) > limit:
        msgid = (
            N_(
                "Use at most {limit} images and elements together with a reference video (start and end "
                "frames count): you gave {images} and {elements}."
            )
            if r.video_list
            else N_(
                "Use at most {limit} images and elements together per video (start and end frames count): "
                "you gave {images} and {elements}."
            )
        )
        yield Problem(
            Option.REFERENCE_IMAGES if r.image_list or not r.element_list else Option.ELEMENTS,
            msgid,
            limit=limit,
            images=_count(images, "image"),
            elements=_count(len(r.element_list), "element"),
        )
    if any(not element.strip() for element in r.element_list):
        yield Problem(Option.ELEMENTS, N_("An element id is empty: remove it or fill in the element's id."))


def _omni_rules(r: VideoRequest) -> Iterable[Problem]:
    # camera_control and 4k are refused for omni requests too; the table (no camera on o1 / v3-omni,
    # no 4k on o1) and the reference rule (no 4k with references) already report them.
    caps = CAPABILITIES[r.model]
    if caps.always_omni or not caps.takes_tuning:
        why: Text | str = r.model.value
    elif is_omni_request(r):
        why = Text(N_("{model} with references"), {"model": r.model.value})
    else:
        return
    if r.negative_prompt:
        yield Problem(
            Option.NEGATIVE_PROMPT,
            N_("{model} doesn't take negative_prompt: remove negative_prompt."),
            model=why,
        )
    if r.cfg_scale is not None:
        yield Problem(Option.CFG_SCALE, N_("{model} doesn't take cfg_scale: remove cfg_scale."), model=why)


def _citation_rules(r: VideoRequest) -> Iterable[Problem]:
    takes = supports_references(r.model)
    if not takes and _reference_fields(r):
        return  # the reference rule already says this model takes none
    refs = citations.numbered(r, takes_references=takes)
    dangling = citations.dangling(r, refs)
    if dangling:
        if not takes:
            yield Problem(
                Option.PROMPT,
                N_(
                    "{model} takes no references, so the prompt's {citations} cites nothing: attach what it "
                    "cites or remove the citation."
                ),
                model=r.model.value,
                citations=AnyOf(dangling),
            )
        else:
            yield Problem(
                Option.PROMPT,
                N_(
                    "The prompt cites {citations}, but this video has {images} (start and end frames first) "
                    "and {videos}: attach what it cites or remove the citation."
                ),
                citations=AnyOf(dangling),
                images=_count(refs.images, "image"),
                videos=_count(refs.videos, "reference video"),
            )
    uncited = citations.uncited(r, refs)
    if uncited:
        yield Problem(
            Option.PROMPT,
            N_("Kling ignores references the prompt does not cite: mention {citations} in the prompt."),
            citations=AnyOf(uncited),
        )


def _multi_shot_rules(r: VideoRequest) -> Iterable[Problem]:
    if not r.multi_shot:
        if r.shot_type is not None or r.multi_prompt:
            yield Problem(
                Option.SHOT_TYPE,
                N_(
                    "shot_type and shots only apply to a multi-shot video: turn multi_shot on or leave them "
                    "out."
                ),
            )
        return
    name = r.model.value
    if not supports_multi_shot(r.model):
        yield Problem(
            Option.MODEL,
            N_("{model} can't make multi-shot videos: pick {models}."),
            model=name,
            models=_names(models_where(supports_multi_shot)),
        )
    if r.camera_control is not None:
        yield Problem(Option.CAMERA, N_("Camera moves can't be combined with several shots: remove camera."))
    if r.end_image_url:
        yield Problem(
            Option.END_IMAGE, N_("An end frame can't be combined with several shots: remove end_image.")
        )
    fields = _reference_fields(r)
    if fields:
        yield Problem(
            fields[0],
            N_("A video of several shots can't use {references}: remove them."),
            references=AnyOf(_REFERENCE_WORDS[f] for f in fields),
        )
    if r.shot_type is None:
        yield Problem(
            Option.SHOT_TYPE,
            N_(
                "A multi-shot video needs shot_type: intelligence (Kling splits your prompt into shots) or "
                "customize (you write each shot)."
            ),
        )
    elif r.shot_type is ShotType.INTELLIGENCE:
        if r.multi_prompt:
            yield Problem(
                Option.SHOTS,
                N_(
                    "With shot_type intelligence Kling writes the shots from the prompt: leave the shots "
                    "out, "
                    "or set shot_type to customize."
                ),
            )
    else:
        yield from _shot_list_rules(r)


def _shot_list_rules(r: VideoRequest) -> Iterable[Problem]:
    shots = r.multi_prompt
    if not 1 <= len(shots) <= MAX_SHOTS:
        yield Problem(
            Option.SHOTS,
            N_("Write 1 to {limit} shots, one per line: you wrote {count}."),
            limit=MAX_SHOTS,
            count=len(shots),
        )
        if not shots:
            return
    if [shot.index for shot in shots] != list(range(1, len(shots) + 1)):
        yield Problem(Option.SHOTS, N_("Shots must be numbered 1, 2, 3… in order: renumber them."))
    for number, shot in enumerate(shots, start=1):
        if not _visible_text(shot.prompt):
            yield Problem(
                Option.SHOTS, N_("Shot {number} has no description: write what happens in it."), number=number
            )
        elif len(shot.prompt) > SHOT_PROMPT_MAX:
            yield Problem(
                Option.SHOTS,
                N_("Shot {number} is {length} characters long: shorten it to {limit} or fewer."),
                number=number,
                length=len(shot.prompt),
                limit=SHOT_PROMPT_MAX,
            )
        if shot.duration < 1:
            yield Problem(
                Option.SHOTS,
                N_("Shot {number} must last at least 1 second: give it 1s or more."),
                number=number,
            )
    total = sum(shot.duration for shot in shots)
    if total != r.duration:
        yield Problem(
            Option.DURATION,
            N_(
                "The shots add up to {total} but the video is {duration}: make them add up to {duration} "
                "seconds, or set duration to {seconds}."
            ),
            total=_count(total, "second"),
            duration=r.duration,
            seconds=total,
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
            yield Problem(
                option,
                N_("{option} must be a web link starting with http:// or https://."),
                option=option.value,
            )


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

"""Midjourney-style parameters typed inside a prompt: `a fox in snow --ar 9:16 --d 10 --no blur`.

`split_flags` takes them out of the prompt and returns what they set; `VideoOrder` options are then
overridden by them (`build_request` does that). A flag the parser cannot read — unknown name, missing
or bad value, the same flag twice with different values — raises `RequestRefused`, so a typo is
answered before anything is paid for.

Syntax: a flag starts with `--` (or the `—` a phone keyboard makes of it) at the start of a word and
is followed by a letter. `--no` and `--camera` take every word up to the next flag; `--audio` takes an
optional on/off; every other flag takes one word. Text between flags stays in the prompt.

The words members read are the constants below (whole sentences with `{fields}`), translated on the
Discord side.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, fields

from bot.kling.capabilities import Problem, RequestRefused
from bot.kling.models import AspectRatio, Mode, Model, VideoRequest, parse_model

# --- member-visible words ---------------------------------------------------------------------------
# Each is one whole sentence with `{fields}` (never glued from pieces), so a translation can reorder it:
# the refusal carries the English text as its message id plus the values, and the Discord side
# translates it (`bot.discord_app.domain_texts` marks these for the catalogs).
UNKNOWN_FLAG = "I don't know the inline parameter `{flag}`. I understand: {known}."
UNKNOWN_FLAG_HINT = (
    "I don't know the inline parameter `{flag}`. Did you mean `{suggestion}`? I understand: {known}."
)
NEEDS_VALUE = "`{flag}` needs a value, for example `{example}`."
TWICE = "`{flag}` is given twice with different values ({first} and {second}): keep one."
BAD_ASPECT = "`{flag} {value}` isn't something I can use: write one of {choices}."
BAD_DURATION = "`{flag} {value}` isn't something I can use: write a whole number of seconds, like `--d 10`."
BAD_MODEL = "`{flag} {value}` isn't something I can use: write a model such as {choices}."
BAD_MODE = "`{flag} {value}` isn't something I can use: write `std`, `pro` or `4k`."
BAD_CFG = (
    "`{flag} {value}` isn't something I can use: "
    "write a number from 0 (free) to 1 (strict), like `--cfg 0.4`."
)
BAD_AUDIO = "`{flag} {value}` isn't something I can use: write `--audio` (or `--audio off`)."
ONLY_FLAGS = "Your prompt has only inline parameters: add a few words describing the video."
#: Every text above, for the translation catalogs.
MEMBER_TEXTS = (
    UNKNOWN_FLAG,
    UNKNOWN_FLAG_HINT,
    NEEDS_VALUE,
    TWICE,
    BAD_ASPECT,
    BAD_DURATION,
    BAD_MODEL,
    BAD_MODE,
    BAD_CFG,
    BAD_AUDIO,
    ONLY_FLAGS,
)


@dataclass(frozen=True, slots=True)
class InlineFlags:
    """What the flags set; `None` means "not given, keep the option"."""

    aspect_ratio: str | None = None
    duration: int | None = None
    model: str | None = None
    mode: str | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    generate_audio: bool | None = None
    camera: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True, slots=True)
class SplitPrompt:
    prompt: str
    flags: InlineFlags


@dataclass(frozen=True, slots=True)
class _Flag:
    field: str
    example: str
    #: Takes every word up to the next flag (`--no`, `--camera`) rather than one word.
    greedy: bool = False
    #: The value may be left out (`--audio`).
    optional_value: bool = False


_FLAGS: dict[str, _Flag] = {
    "ar": _Flag("aspect_ratio", "--ar 9:16"),
    "aspect": _Flag("aspect_ratio", "--aspect 9:16"),
    "d": _Flag("duration", "--d 10"),
    "duration": _Flag("duration", "--duration 10"),
    "m": _Flag("model", "--m v3"),
    "model": _Flag("model", "--model kling-v3"),
    "mode": _Flag("mode", "--mode pro"),
    "no": _Flag("negative_prompt", "--no blur, text", greedy=True),
    "cfg": _Flag("cfg_scale", "--cfg 0.4"),
    "audio": _Flag("generate_audio", "--audio", optional_value=True),
    "sound": _Flag("generate_audio", "--sound", optional_value=True),
    "camera": _Flag("camera", "--camera down_back", greedy=True),
}
#: Shown in the "I understand" list (one spelling per setting).
_SHOWN = ("--ar", "--d", "--m", "--mode", "--no", "--cfg", "--audio", "--camera")

# A flag: `--name` or `—name` at the start of the text or after whitespace.
_FLAG = re.compile(r"(?:(?<=\s)|^)(?:--|—|–)(?P<name>[A-Za-z][A-Za-z0-9_-]*)")
_ON = {"on", "yes", "true", "1"}
_OFF = {"off", "no", "false", "0"}
_MODE_WORDS = {
    "std": Mode.STD,
    "standard": Mode.STD,
    "fast": Mode.STD,
    "pro": Mode.PRO,
    "professional": Mode.PRO,
    "4k": Mode.K4,
}
_ASPECT_WORDS = {
    **{a.value: a for a in AspectRatio},
    **{a.value.replace(":", "x"): a for a in AspectRatio},
    **{a.value.replace(":", "/"): a for a in AspectRatio},
    "wide": AspectRatio.WIDE,
    "landscape": AspectRatio.WIDE,
    "tall": AspectRatio.TALL,
    "portrait": AspectRatio.TALL,
    "vertical": AspectRatio.TALL,
    "square": AspectRatio.SQUARE,
}


def short_model_name(model: Model) -> str:
    """`kling-v3` -> `v3`: what `--m` accepts besides the full name."""
    return model.value.removeprefix("kling-")


def resolve_model(text: str) -> Model | None:
    """A full name, an alias or a short name (`v3`, `v2.6`, `V3-Omni`), or None."""
    key = text.strip().lower().replace(".", "-").replace("_", "-")
    for candidate in (key, f"kling-{key}", f"kling-{key.removeprefix('kling')}".replace("--", "-")):
        try:
            return parse_model(candidate)
        except ValueError:
            continue
    return None


def _refuse(field: str, message: str, **values: object) -> RequestRefused:
    return RequestRefused([Problem(field, message, **values)])


def _known() -> str:
    return ", ".join(f"`{name}`" for name in _SHOWN)


def _parse_value(name: str, flag: _Flag, raw: str) -> object:
    value = raw.strip()
    display = f"--{name}"
    if not value and not flag.optional_value:
        raise _refuse(flag.field, NEEDS_VALUE, flag=display, example=flag.example)

    def bad(message: str, **values: object) -> RequestRefused:
        return _refuse(flag.field, message, flag=display, value=value[:40], **values)

    match flag.field:
        case "aspect_ratio":
            aspect = _ASPECT_WORDS.get(value.lower())
            if aspect is None:
                raise bad(BAD_ASPECT, choices=", ".join(f"`{a.value}`" for a in AspectRatio))
            return aspect.value
        case "duration":
            digits = value.lower().removesuffix("seconds").removesuffix("s").strip()
            if not digits.isdigit() or not 1 <= int(digits) <= 60:
                raise bad(BAD_DURATION)
            return int(digits)
        case "model":
            model = resolve_model(value)
            if model is None:
                names = ", ".join(f"`{short_model_name(m)}`" for m in Model)
                raise bad(BAD_MODEL, choices=names)
            return model.value
        case "mode":
            mode = _MODE_WORDS.get(value.lower())
            if mode is None:
                raise bad(BAD_MODE)
            return mode.value
        case "cfg_scale":
            try:
                number = float(value)
            except ValueError:
                raise bad(BAD_CFG) from None
            if not 0 <= number <= 1:
                raise bad(BAD_CFG)
            return number
        case "generate_audio":
            if not value or value.lower() in _ON:
                return True
            if value.lower() in _OFF:
                return False
            raise bad(BAD_AUDIO)
        case "negative_prompt" | "camera":
            return " ".join(value.split())
    raise AssertionError(f"no parser for {flag.field}")  # pragma: no cover


def split_flags(text: str) -> SplitPrompt:
    """Take the inline parameters out of `text`. Raises RequestRefused for anything unreadable."""
    matches = list(_FLAG.finditer(text))
    if not matches:
        return SplitPrompt(text, InlineFlags())
    pieces = [text[: matches[0].start()]]
    found: dict[str, tuple[str, object]] = {}
    for index, match in enumerate(matches):
        name = match["name"].lower()
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        tail = text[match.end() : end]
        flag = _FLAGS.get(name)
        if flag is None:
            close = difflib.get_close_matches(name, list(_FLAGS), n=1, cutoff=0.5)
            if close:
                raise _refuse(
                    "prompt",
                    UNKNOWN_FLAG_HINT,
                    flag=f"--{name}"[:40],
                    suggestion=f"--{close[0]}",
                    known=_known(),
                )
            raise _refuse("prompt", UNKNOWN_FLAG, flag=f"--{name}"[:40], known=_known())
        words = tail.split(None, 1) if not flag.greedy else [tail.strip()]
        raw = words[0] if words and words[0] else ""
        rest = words[1] if len(words) > 1 else ""
        if flag.optional_value and raw and raw.lower() not in _ON | _OFF:
            raw, rest = "", tail  # `--audio a dog barking`: the words belong to the prompt
        value = _parse_value(name, flag, raw)
        previous = found.get(flag.field)
        if previous is not None and previous[1] != value:
            first_name, first_value = previous
            raise _refuse(
                flag.field,
                TWICE,
                flag=f"--{name}",
                first=f"`{first_name} {first_value}`",
                second=f"`--{name} {raw}`",
            )
        found[flag.field] = (f"--{name}", value)
        pieces.append(rest)
    prompt = " ".join(piece.strip() for piece in pieces if piece.strip())
    flags = InlineFlags(**{field: value for field, (_, value) in found.items()})  # type: ignore[arg-type]
    if not prompt.strip():
        raise _refuse("prompt", ONLY_FLAGS)
    return SplitPrompt(prompt, flags)


def flags_for(request: VideoRequest) -> str:
    """The request's settings written as inline parameters (echoed on the progress message, and a
    member can copy them into a new prompt)."""
    parts = [
        f"--m {short_model_name(request.model)}",
        f"--mode {request.mode.value}",
        f"--d {request.duration}",
        f"--ar {request.aspect_ratio.value}",
    ]
    if request.negative_prompt:
        parts.append(f"--no {request.negative_prompt}")
    if request.cfg_scale is not None:
        parts.append(f"--cfg {request.cfg_scale:g}")
    if request.generate_audio:
        parts.append("--audio")
    if request.camera_control is not None and request.camera_control.config is None:
        parts.append(f"--camera {request.camera_control.type.value}")
    return " ".join(parts)

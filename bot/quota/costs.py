"""What a video costs in AceData credits, for quotas counted in credits and for showing the price.

**The built-in prices are defaults, not AceData's price list.** AceData publishes no per-model price
table for `/kling/videos` (prices are served dynamically; see `docs/reference/kling-api.md` §6), so the
defaults below are estimates built from the few documented hints:

* kling-v2-1-master costs about 14 credits for 5 s (talking-photo = image2video + lip-sync:
  16.45 - 2.45). The master models are single-mode, so std and pro share that price.
* "pro mode costs roughly 2x std".
* The v3 family is billed per second and costs more per second than v2-6; native 4K costs more again.
* Sound is billed on top, per second (v2-6 voices: 1.68 credits/s; here sound roughly doubles a clip).

The operator replaces any of them with a JSON file named by `CREDIT_COSTS_FILE`; check your account's
real prices and write them there. Format (every key optional)::

    {
      "kling-v3":    {"std": {"per_second": 1.4, "audio_per_second": 0.7},
                      "4k":  {"per_second": 6.0}},
      "kling-v2-6":  {"pro": {"per_duration": {"5": 7, "10": 14}, "audio_per_second": 1.4}}
    }

Top-level keys are model names (the alias `kling-video-o1` is accepted), then modes (`std`, `pro`,
`4k`). A mode's price has:

* `per_second`: credits per second of video;
* `per_duration`: exact credits for clips of the listed lengths in seconds; it wins over
  `per_second` for those lengths. A length it does not list costs `per_second` x seconds, or, when
  the entry has no `per_second`, is priced pro rata from the nearest listed length;
* `audio_per_second`: surcharge per second when sound is generated.

Fields given in the file replace the same fields of the default; fields left out keep the default
value. An `extend` job costs what a normal clip of its model, mode and duration costs. A `base`
reference-video edit is priced by the length of the input video (measured before paying, rounded up
to a whole second), since that is the length of the output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from bot.kling.models import Mode, Model, VideoRequest, parse_model

_Credits = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ModePrice(BaseModel):
    """The price of one model in one mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_second: _Credits | None = None
    per_duration: dict[PositiveInt, _Credits] = Field(default_factory=dict)
    audio_per_second: _Credits = 0.0

    @model_validator(mode="after")
    def _has_a_price(self) -> ModePrice:
        if self.per_second is None and not self.per_duration:
            raise ValueError("needs per_second or per_duration")
        return self

    def video_cost(self, seconds: int) -> float:
        if seconds in self.per_duration:
            return self.per_duration[seconds]
        if self.per_second is not None:
            return self.per_second * seconds
        nearest = min(self.per_duration, key=lambda listed: (abs(listed - seconds), listed))
        return self.per_duration[nearest] / nearest * seconds

    def cost(self, seconds: int, *, audio: bool) -> float:
        return self.video_cost(seconds) + (self.audio_per_second * seconds if audio else 0.0)


def _per_clip(std_5s: float, pro_5s: float | None = None, *, audio_5s: float = 0.0) -> dict[Mode, ModePrice]:
    """Prices for models sold as 5 s / 10 s clips, given per 5 s (10 s costs twice as much)."""
    pro = 2 * std_5s if pro_5s is None else pro_5s
    return {
        Mode.STD: ModePrice(per_second=std_5s / 5, audio_per_second=audio_5s / 5),
        Mode.PRO: ModePrice(per_second=pro / 5, audio_per_second=audio_5s / 5),
    }


def _per_second(std: float, *, audio: float) -> dict[Mode, ModePrice]:
    """Prices for the per-second v3 family: pro is 2x std, native 4K 2x pro."""
    return {
        Mode.STD: ModePrice(per_second=std, audio_per_second=audio),
        Mode.PRO: ModePrice(per_second=2 * std, audio_per_second=2 * audio),
        Mode.K4: ModePrice(per_second=4 * std, audio_per_second=2 * audio),
    }


def _frozen(table: Mapping[Model, Mapping[Mode, ModePrice]]) -> Mapping[Model, Mapping[Mode, ModePrice]]:
    return MappingProxyType({model: MappingProxyType(dict(modes)) for model, modes in table.items()})


#: Estimated credits; see the module docstring. Every model/mode the capability table allows is here.
DEFAULT_PRICES = _frozen(
    {
        Model.V1: _per_clip(2.0),
        Model.V1_6: _per_clip(2.5),
        Model.V2_MASTER: _per_clip(14.0, 14.0),
        Model.V2_1_MASTER: _per_clip(14.0, 14.0),
        Model.V2_5_TURBO: _per_clip(3.5),
        Model.V2_6: _per_clip(3.5, audio_5s=7.0),
        Model.V3: _per_second(1.4, audio=0.7),
        Model.V3_OMNI: _per_second(1.4, audio=0.7),
        Model.O1: _per_clip(7.0),
        # Sound is always on and included in the price; pro (1080p) about 1.33x std (720p).
        Model.V3_TURBO: {
            Mode.STD: ModePrice(per_second=1.5),
            Mode.PRO: ModePrice(per_second=2.0),
        },
    }
)


@dataclass(frozen=True)
class CostTable:
    """Credit prices per model and mode. Build with `load_cost_table`."""

    prices: Mapping[Model, Mapping[Mode, ModePrice]] = field(default_factory=lambda: DEFAULT_PRICES)

    def price(self, model: Model, mode: Mode) -> ModePrice:
        try:
            return self.prices[model][mode]
        except KeyError:
            # Only reachable for a combination the request rules refuse before pricing.
            raise ValueError(f"no credit price for {model.value} in {mode.value} mode") from None

    def cost(self, request: VideoRequest) -> float:
        """Credits this request costs, rounded to 2 decimals."""
        price = self.price(request.model, request.mode)
        # A `base` edit is as long as the video it edits: priced by that measured length.
        return round(price.cost(request.output_seconds, audio=request.generate_audio), 2)


class _Overrides(BaseModel):
    """The override file: model name -> mode -> the price fields to replace."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, dict[Mode, dict[str, object]]]


def _merge(path: Path, raw: object) -> dict[Model, dict[Mode, ModePrice]]:
    if not isinstance(raw, dict):
        raise ValueError(f"cost file {path}: the top level must be a JSON object of model names")
    try:
        overrides = _Overrides(models=raw)
    except ValidationError as exc:
        raise ValueError(f"cost file {path}: {_describe(exc)}") from None
    merged = {model: dict(modes) for model, modes in DEFAULT_PRICES.items()}
    for name, modes in overrides.models.items():
        try:
            model = parse_model(name)
        except ValueError:
            known = ", ".join(m.value for m in Model)
            raise ValueError(f"cost file {path}: unknown model {name!r}; use one of {known}") from None
        for mode, fields in modes.items():
            default = merged[model].get(mode)
            base = default.model_dump() if default is not None else {}
            try:
                merged[model][mode] = ModePrice.model_validate({**base, **fields})
            except ValidationError as exc:
                raise ValueError(f"cost file {path}: {name}.{mode.value}: {_describe(exc)}") from None
    return merged


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as "where: what" without echoing the rejected values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"] if part not in {"models", "[key]"})
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(problems)


def load_cost_table(path: Path | None) -> CostTable:
    """The default table, with the operator's overrides from `path` when given (see module docstring).

    Raises ValueError naming the file and the problem when it cannot be read or is invalid.
    """
    if path is None:
        return CostTable()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"cost file {path} cannot be read: {reason}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"cost file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    merged = _merge(path, raw)
    return CostTable(_frozen(merged))

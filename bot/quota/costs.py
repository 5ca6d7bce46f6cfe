"""What a video costs in AceData credits, for quotas counted in credits and for showing the price.

**The built-in prices are estimates, not AceData's price list**, and every place that shows one says
so. AceData publishes no per-model price table for `/kling/videos` (prices are served dynamically;
see `docs/reference/kling-api.md` §6), so the defaults follow the documented price *ratios* of §9:

* One anchor in credits: kling-v2-1-master costs about 14 credits for 5 s (talking-photo =
  image2video + lip-sync: 16.45 - 2.45, §6), and v2 master is listed at 0.96 USD per 5 s, so
  1 USD of the listed prices is taken as 14 / 0.96 ≈ 14.58 credits (`CREDITS_PER_USD`).
* Relative prices per 5 s (piapi.ai, §9): v1.6 0.26; v2.5 turbo 0.20 std / 0.33 pro; v2.6 0.20 std,
  0.33 pro, 0.66 pro with audio; O1 0.39 std; v3 0.10 USD per second std.
* Kling 3.0 (and v3-omni): pro ≈ 1.33× std, audio ≈ 1.5× (a surcharge of half the video price),
  4K ≈ 2.5× std with no audio surcharge.
* Kling 1.0: pro ≈ 3.5× std; its std price is not listed, so v1.6's is used.
* Where no ratio is documented (v1.6 pro, O1 pro) pro is taken as 2× std ("pro mode costs roughly
  2x std", §6). The master models are single-mode.
* Extending a pro source costs ≈ 3.5× std (reseller list, §9): `extend_per_second` of the pro mode of
  the models that can extend. A std extend costs what a std clip of that length costs.

The operator replaces any of them with a JSON file named by `CREDIT_COSTS_FILE` (an example is
`docs/credit-costs.example.json`); check your account's real prices and write them there. Format
(every key optional)::

    {
      "kling-v3":    {"std": {"per_second": 1.4, "audio_per_second": 0.7},
                      "4k":  {"per_second": 6.0}},
      "kling-v2-6":  {"pro": {"per_duration": {"5": 7, "10": 14}, "audio_per_second": 1.4}},
      "kling-v1-6":  {"pro": {"extend_per_second": 2.6}}
    }

Top-level keys are model names (the alias `kling-video-o1` is accepted), then modes (`std`, `pro`,
`4k`). A mode's price has:

* `per_second`: credits per second of video;
* `per_duration`: exact credits for clips of the listed lengths in seconds; it wins over
  `per_second` for those lengths. A length it does not list costs `per_second` x seconds, or, when
  the entry has no `per_second`, is priced pro rata from the nearest listed length;
* `audio_per_second`: surcharge per second when sound is generated;
* `extend_per_second`: credits per second of an `extend` job in this mode (default: priced like a
  normal clip).

Fields given in the file replace the same fields of the default; fields left out keep the default
value. A `base` reference-video edit is priced by the length of the input video (measured before
paying, rounded up to a whole second), since that is the length of the output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from bot.kling.models import Action, Mode, Model, VideoRequest, parse_model

_Credits = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ModePrice(BaseModel):
    """The price of one model in one mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_second: _Credits | None = None
    per_duration: dict[PositiveInt, _Credits] = Field(default_factory=dict)
    audio_per_second: _Credits = 0.0
    extend_per_second: _Credits | None = None

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

    def cost(self, seconds: int, *, audio: bool, extend: bool = False) -> float:
        video = (
            self.extend_per_second * seconds
            if extend and self.extend_per_second is not None
            else self.video_cost(seconds)
        )
        return video + (self.audio_per_second * seconds if audio else 0.0)


#: Credits per US dollar of the listed reseller prices, from the one documented credit price (see above).
CREDITS_PER_USD = 14.0 / 0.96


def _credits_per_second(usd: float, seconds: int = 5) -> float:
    return usd * CREDITS_PER_USD / seconds


def _per_clip(
    std_usd_5s: float,
    pro_usd_5s: float | None = None,
    *,
    pro_audio_usd_5s: float = 0.0,
    extendable: bool = False,
) -> dict[Mode, ModePrice]:
    """Prices for models sold as 5 s / 10 s clips, from listed USD per 5 s (10 s costs twice as much).

    `pro_audio_usd_5s` is the listed pro price *with* sound; `extendable` prices a pro extend at 3.5x std."""
    std = _credits_per_second(std_usd_5s)
    pro = _credits_per_second(2 * std_usd_5s if pro_usd_5s is None else pro_usd_5s)
    audio = _credits_per_second(pro_audio_usd_5s) - pro if pro_audio_usd_5s else 0.0
    return {
        Mode.STD: ModePrice(per_second=std),
        Mode.PRO: ModePrice(
            per_second=pro, audio_per_second=audio, extend_per_second=3.5 * std if extendable else None
        ),
    }


def _per_second(std_usd: float) -> dict[Mode, ModePrice]:
    """The per-second Kling 3.0 family: pro 1.33x std, sound +50 %, 4K 2.5x std without a sound surcharge."""
    std = _credits_per_second(std_usd, 1)
    return {
        Mode.STD: ModePrice(per_second=std, audio_per_second=0.5 * std),
        Mode.PRO: ModePrice(per_second=1.33 * std, audio_per_second=0.5 * 1.33 * std),
        Mode.K4: ModePrice(per_second=2.5 * std),
    }


def _frozen(table: Mapping[Model, Mapping[Mode, ModePrice]]) -> Mapping[Model, Mapping[Mode, ModePrice]]:
    return MappingProxyType({model: MappingProxyType(dict(modes)) for model, modes in table.items()})


#: Estimated credits; see the module docstring. Every model/mode the capability table allows is here.
DEFAULT_PRICES = _frozen(
    {
        Model.V1: _per_clip(0.26, 3.5 * 0.26, extendable=True),
        Model.V1_6: _per_clip(0.26, extendable=True),
        Model.V2_MASTER: _per_clip(0.96, 0.96),
        Model.V2_1_MASTER: _per_clip(0.96, 0.96),
        Model.V2_5_TURBO: _per_clip(0.20, 0.33, extendable=True),
        Model.V2_6: _per_clip(0.20, 0.33, pro_audio_usd_5s=0.66),
        Model.V3: _per_second(0.10),
        Model.V3_OMNI: _per_second(0.10),
        Model.O1: _per_clip(0.39),
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
        extend = request.action is Action.EXTEND
        # A `base` edit is as long as the video it edits: priced by that measured length.
        seconds = request.output_seconds
        return round(price.cost(seconds, audio=request.generate_audio, extend=extend), 2)


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

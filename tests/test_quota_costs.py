"""Credit prices: the default table, operator overrides and bad override files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.kling.capabilities import CAPABILITIES, allowed_durations, always_makes_sound, supports_audio
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.costs import CostTable, load_cost_table
from tests.factories import video_request


def request(model: Model, mode: Mode = Mode.STD, duration: int = 5, *, audio: bool = False) -> VideoRequest:
    return video_request("a cat", model=model, mode=mode, duration=duration, generate_audio=audio)


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "costs.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


DEFAULTS = CostTable()


@pytest.mark.parametrize("model", list(Model))
def test_every_allowed_request_has_a_positive_default_price(model: Model) -> None:
    for mode in CAPABILITIES[model].modes:
        for duration in allowed_durations(model, mode):
            assert DEFAULTS.cost(request(model, mode, duration)) > 0, (model, mode, duration)


def test_documented_hint_v2_1_master_costs_about_14_credits_for_5_seconds() -> None:
    assert DEFAULTS.cost(request(Model.V2_1_MASTER, Mode.STD, 5)) == 14
    assert DEFAULTS.cost(request(Model.V2_1_MASTER, Mode.STD, 10)) == 28


# The documented price ratios of shared/docs/kling-api.md section 9 (estimates).
@pytest.mark.parametrize(
    ("model", "mode", "ratio"),
    [
        (Model.V3, Mode.PRO, 1.33),
        (Model.V3, Mode.K4, 2.5),
        (Model.V3_OMNI, Mode.PRO, 1.33),
        (Model.V1, Mode.PRO, 3.5),
        (Model.V2_5_TURBO, Mode.PRO, 0.33 / 0.20),
        (Model.V2_6, Mode.PRO, 0.33 / 0.20),
    ],
)
def test_mode_prices_follow_the_documented_ratios(model: Model, mode: Mode, ratio: float) -> None:
    std = DEFAULTS.cost(request(model, Mode.STD, 10))
    assert DEFAULTS.cost(request(model, mode, 10)) == pytest.approx(ratio * std, rel=0.01)


def test_relative_prices_per_5_seconds_follow_the_listed_ones() -> None:
    v2_master = DEFAULTS.cost(request(Model.V2_MASTER, Mode.STD, 5))
    for model, usd in [(Model.V1_6, 0.26), (Model.V2_5_TURBO, 0.20), (Model.V2_6, 0.20), (Model.O1, 0.39)]:
        assert DEFAULTS.cost(request(model, Mode.STD, 5)) == pytest.approx(v2_master * usd / 0.96, rel=0.01)
    assert DEFAULTS.cost(request(Model.V3, Mode.STD, 5)) == pytest.approx(
        v2_master * 0.10 * 5 / 0.96, rel=0.01
    )
    pro_with_sound = DEFAULTS.cost(request(Model.V2_6, Mode.PRO, 5, audio=True))
    assert pro_with_sound == pytest.approx(v2_master * 0.66 / 0.96, rel=0.01)


def test_v3_is_priced_per_second_and_4k_costs_more() -> None:
    per_second = DEFAULTS.cost(request(Model.V3, Mode.STD, 3)) / 3
    assert DEFAULTS.cost(request(Model.V3, Mode.STD, 7)) == pytest.approx(7 * per_second, abs=0.01)
    assert DEFAULTS.cost(request(Model.V3, Mode.K4, 5)) > DEFAULTS.cost(request(Model.V3, Mode.PRO, 5))
    assert DEFAULTS.cost(request(Model.V3, Mode.PRO, 5)) > DEFAULTS.cost(request(Model.V3, Mode.STD, 5))


@pytest.mark.parametrize(
    ("model", "mode"),
    [
        (m, mode)
        for m in Model
        for mode in CAPABILITIES[m].modes
        # A model that always makes sound has no silent price to compare with.
        if supports_audio(m, mode) and not always_makes_sound(m)
    ],
)
def test_sound_adds_a_surcharge_except_in_4k(model: Model, mode: Mode) -> None:
    duration = allowed_durations(model, mode)[0]
    with_sound = DEFAULTS.cost(request(model, mode, duration, audio=True))
    without = DEFAULTS.cost(request(model, mode, duration))
    if mode is Mode.K4:
        assert with_sound == without  # section 9: 4K has no audio surcharge
    elif model in (Model.V3, Model.V3_OMNI):
        assert with_sound == pytest.approx(1.5 * without, rel=0.01)
    else:
        assert with_sound > without


def test_extending_a_pro_video_costs_about_3_5_times_std() -> None:
    for model in (Model.V1, Model.V1_6, Model.V2_5_TURBO):
        extend = VideoRequest(action=Action.EXTEND, model=model, mode=Mode.PRO, duration=5, video_id="v1")
        assert DEFAULTS.cost(extend) == pytest.approx(
            3.5 * DEFAULTS.cost(request(model, Mode.STD, 5)), rel=0.01
        )
        std_extend = VideoRequest(action=Action.EXTEND, model=model, mode=Mode.STD, duration=5, video_id="v1")
        assert DEFAULTS.cost(std_extend) == DEFAULTS.cost(request(model, Mode.STD, 5))


def test_the_example_cost_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "docs" / "credit-costs.example.json"
    table = load_cost_table(example)
    assert table.cost(request(Model.V3, Mode.STD, 5)) > 0


def test_no_file_means_the_defaults() -> None:
    assert load_cost_table(None) == DEFAULTS


def test_override_file_replaces_only_what_it_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "kling-v3": {"std": {"per_second": 2, "audio_per_second": 1}},
            "kling-v2-6": {"pro": {"per_duration": {"5": 6, "10": 11}}},
            "kling-video-o1": {"pro": {"audio_per_second": 0.5}},
        },
    )
    table = load_cost_table(path)
    assert table.cost(request(Model.V3, Mode.STD, 4)) == 8
    assert table.cost(request(Model.V3, Mode.STD, 4, audio=True)) == 12
    assert table.cost(request(Model.V3, Mode.PRO, 4)) == DEFAULTS.cost(request(Model.V3, Mode.PRO, 4))
    assert table.cost(request(Model.V2_6, Mode.PRO, 5)) == 6
    assert table.cost(request(Model.V2_6, Mode.PRO, 10)) == 11
    # Fields left out keep the default: the v2-6 pro sound surcharge and the o1 clip price.
    surcharge = DEFAULTS.cost(request(Model.V2_6, Mode.PRO, 5, audio=True)) - DEFAULTS.cost(
        request(Model.V2_6, Mode.PRO)
    )
    assert table.cost(request(Model.V2_6, Mode.PRO, 5, audio=True)) == pytest.approx(6 + surcharge)
    assert (
        table.cost(request(Model.O1, Mode.PRO, 5, audio=True))
        == DEFAULTS.cost(request(Model.O1, Mode.PRO)) + 2.5
    )
    assert table.cost(request(Model.V1, Mode.STD)) == DEFAULTS.cost(request(Model.V1, Mode.STD))


def test_unlisted_duration_is_priced_pro_rata_from_the_nearest(tmp_path: Path) -> None:
    table = load_cost_table(write(tmp_path, {"kling-v1": {"4k": {"per_duration": {"5": 10, "10": 30}}}}))
    assert table.cost(request(Model.V1, Mode.K4, 5)) == 10
    assert table.cost(request(Model.V1, Mode.K4, 6)) == 12  # nearest is 5 s: 2 credits/s
    assert table.cost(request(Model.V1, Mode.K4, 9)) == 27  # nearest is 10 s: 3 credits/s


def test_costs_are_rounded_to_two_decimals(tmp_path: Path) -> None:
    table = load_cost_table(
        write(tmp_path, {"kling-v3": {"std": {"per_second": 0.333, "audio_per_second": 0}}})
    )
    assert table.cost(request(Model.V3, Mode.STD, 5)) == 1.67


def test_a_pair_without_any_price_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"kling-v1 in 4k"):
        DEFAULTS.cost(request(Model.V1, Mode.K4))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "top level must be a JSON object"),
        ({"kling-v9": {"std": {"per_second": 1}}}, "unknown model 'kling-v9'"),
        ({"kling-v3": {"8k": {"per_second": 1}}}, r"kling-v3\.8k"),
        ({"kling-v3": {"std": {"per_second": -1}}}, r"kling-v3\.std: per_second"),
        ({"kling-v3": {"std": {"per_second": "cheap"}}}, r"kling-v3\.std: per_second"),
        ({"kling-v3": {"std": {"per_secnd": 1}}}, "per_secnd"),
        ({"kling-v1": {"4k": {}}}, "needs per_second or per_duration"),
        ({"kling-v1": {"std": {"per_duration": {"0": 3}}}}, "per_duration"),
        ({"kling-v1": ["std"]}, "kling-v1"),
    ],
)
def test_bad_override_file_names_the_file_and_the_problem(
    tmp_path: Path, content: object, problem: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValueError, match=problem) as caught:
        load_cost_table(path)
    assert str(path) in str(caught.value)


def test_missing_override_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(ValueError, match="cannot be read") as caught:
        load_cost_table(path)
    assert str(path) in str(caught.value)

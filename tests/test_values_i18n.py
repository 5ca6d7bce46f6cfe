"""The values inside translated sentences are in the reader's language too: lengths of time, the
server's defaults, a request's validation problems, ranges and time zones. English stays exactly as
members always read it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app.i18n import t
from bot.discord_app.limit_settings import LimitsForm, apply_form, reset_summary
from bot.discord_app.limits_text import SERVER_DEFAULTS, describe_limits
from bot.discord_app.saved_defaults import Typed, describe, read_preferences, server_defaults_summary
from bot.jobs.orders import AttachmentRef, VideoOrder, build_request
from bot.jobs.validation_problems import FIELD_OPTIONS, problem_from_validation
from bot.kling.capabilities import RequestRefused
from bot.kling.models import PROMPT_MAX, AspectRatio, Mode, Model
from bot.quota.models import GuildLimits, Preferences, UsageSnapshot
from bot.quota.policy import evaluate
from bot.refusals import MemberRefusal, Wait
from bot.wording import format_elapsed, format_wait

CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
LATIN_UNIT = re.compile(r"\d+\s*(?:s|min|h)\b")
LOCALES = ("ja", "zh-CN")


# --- lengths of time ---------------------------------------------------------------------------------
def _wait_before(seconds: int) -> str:
    """`format_wait` as it was before it learned other languages: English must not change."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(part for part in parts if part) or "0 s"


def _elapsed_before(seconds: float) -> str:
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


def test_english_waits_are_byte_identical_over_a_range() -> None:
    for seconds in [*range(0, 4000), *range(4000, 8 * 24 * 3600, 997), 7 * 24 * 3600]:
        assert format_wait(seconds) == _wait_before(seconds)
        assert format_wait(seconds, "en") == _wait_before(seconds)
        assert format_elapsed(seconds) == _elapsed_before(seconds)
        assert format_elapsed(seconds + 0.7) == _elapsed_before(seconds + 0.7)
    assert format_elapsed(-5) == _elapsed_before(-5) == "0 s"


@given(st.integers(min_value=0, max_value=10**7))
def test_english_waits_never_change(seconds: int) -> None:
    assert format_wait(seconds) == _wait_before(seconds)
    assert str(Wait(seconds)) == _wait_before(seconds)


@pytest.mark.parametrize(
    ("formatter", "seconds", "ja", "zh"),
    [
        (format_wait, 45, "45 秒", "45秒"),
        (format_wait, 300, "5 分", "5分钟"),
        (format_wait, 5400, "1 時間 30 分", "1小时30分钟"),
        (format_wait, 3661, "1 時間 1 分 1 秒", "1小时1分钟1秒"),
        (format_wait, 0, "0 秒", "0秒"),
        (format_elapsed, 245, "4 分 05 秒", "4分钟05秒"),
        (format_elapsed, 180, "3 分", "3分钟"),
        (format_elapsed, 3720, "1 時間 02 分", "1小时02分钟"),
    ],
)
def test_lengths_of_time_in_japanese_and_chinese(
    formatter: Callable[[int, str], str], seconds: int, ja: str, zh: str
) -> None:
    assert formatter(seconds, "ja") == ja
    assert formatter(seconds, "zh_CN") == zh


@given(st.integers(min_value=0, max_value=10**7))
def test_no_latin_unit_in_a_japanese_or_chinese_wait(seconds: int) -> None:
    for locale in ("ja", "zh_CN"):
        shown = format_wait(seconds, locale)
        assert CJK.search(shown) and not LATIN_UNIT.search(shown), shown


def test_the_cooldown_refusal_states_its_wait_in_the_members_units() -> None:
    limits = GuildLimits(member_cooldown_seconds=5400)
    usage = UsageSnapshot(member_last_job_at=1_000.0)
    decision = evaluate(
        limits, usage, cost=1.0, member_role_ids=(), now=1_060.0, resets=(90_000.0, 2_000_000.0)
    )
    assert not decision.allowed and decision.refusal is not None
    assert "1 h 30 min" in decision.refusal.render()
    assert "1 時間 30 分" in t("ja", "{r}", r=decision.refusal)
    assert "1小时30分钟" in t("zh-CN", "{r}", r=decision.refusal)


# --- /limits show -------------------------------------------------------------------------------
def _defaults_line(locale: str | None) -> str:
    limits = GuildLimits(
        default_model=Model.V1,
        default_mode=Mode.PRO,
        default_duration=10,
        default_aspect_ratio=AspectRatio.WIDE,
        member_cooldown_seconds=300,
        max_duration=10,
    )
    lines = dict(describe_limits(limits, locale=locale))
    return lines[t(locale, SERVER_DEFAULTS)]


def test_the_server_defaults_line_keeps_its_english() -> None:
    assert _defaults_line(None) == f"Model {Model.V1.value}, mode pro, 10 s, aspect 16:9"
    assert dict(describe_limits(GuildLimits(), locale=None))["Server defaults"] == "None"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_server_defaults_line_is_translated(locale: str) -> None:
    line = _defaults_line(locale)
    assert CJK.search(line), line
    for english in ("Model ", "mode ", "aspect ", "10 s"):
        assert english not in line, line
    limits = GuildLimits(member_cooldown_seconds=300, max_duration=10)
    values = " ".join(value for _name, value in describe_limits(limits, locale=locale))
    assert "5 min" not in values and "10 s" not in values, values
    assert dict(describe_limits(GuildLimits(), locale=locale))[t(locale, SERVER_DEFAULTS)] != "None"


# --- validation problems ------------------------------------------------------------------------
API_FIELDS = re.compile(
    r"\b(image_list|video_list|element_list|multi_prompt|start_image_url|end_image_url|refer_type|"
    r"camera_control|callback_url|image_url|video_url)\b"
)
PYDANTIC = re.compile(r"String should|Input should|validation error|errors\.pydantic", re.IGNORECASE)


def _refusal(order: VideoOrder) -> RequestRefused:
    with pytest.raises(RequestRefused) as caught:
        build_request(order, default_model=Model.V1)
    return caught.value


@pytest.mark.parametrize(
    "order",
    [
        VideoOrder(prompt="a" * (PROMPT_MAX + 100)),
        VideoOrder(prompt="a cat", cfg_scale=float("inf")),
        VideoOrder(prompt="x", model="kling-v3-omni", reference_video=AttachmentRef("", "a.mp4", 3)),
        VideoOrder(
            prompt="x",
            model="kling-v3-omni",
            reference_video=AttachmentRef("https://cdn.example/a.mp4", "a.mp4", 3),
            reference_video_type="sideways",
        ),
    ],
    ids=["prompt-too-long", "cfg-not-finite", "empty-reference-video", "unknown-reference-type"],
)
def test_validation_problems_name_options_in_the_members_words(order: VideoOrder) -> None:
    refusal = _refusal(order)
    english = str(refusal)
    assert not API_FIELDS.search(english) and not PYDANTIC.search(english), english
    for locale in LOCALES:
        shown = t(locale, "{r}", r=refusal.text)
        assert CJK.search(shown) and not PYDANTIC.search(shown), shown
        assert not API_FIELDS.search(shown), shown


def test_a_too_long_prompt_says_how_long_and_the_limit() -> None:
    refusal = _refusal(VideoOrder(prompt="a" * (PROMPT_MAX + 100)))
    assert str(refusal) == (
        f"**prompt** is {PROMPT_MAX + 100} characters long; Kling takes at most {PROMPT_MAX}. "
        "Shorten it and try again."
    )


@pytest.mark.parametrize(
    "location",
    [
        *((name,) for name in FIELD_OPTIONS),
        ("image_list", 2, "image_url"),
        ("video_list", 0, "refer_type"),
        ("video_list", 0, "keep_original_sound"),
        ("camera_control", "config", "zoom"),
        ("multi_prompt", 0, "prompt"),
        ("callback_url",),
        ("action",),
        (),
    ],
)
@pytest.mark.parametrize("kind", ["string_too_long", "string_too_short", "literal_error", "finite_number"])
def test_no_validation_problem_names_an_api_field(location: tuple[object, ...], kind: str) -> None:
    problem = problem_from_validation(
        {
            "loc": location,
            "type": kind,
            "msg": "Input should be nice",
            "input": "x" * 9,
            "ctx": {"max_length": 5},
        }
    )
    assert not API_FIELDS.search(problem.message), problem.message
    assert not PYDANTIC.search(problem.message), problem.message
    for locale in LOCALES:
        assert CJK.search(t(locale, "{p}", p=problem.text))


# --- ranges and time zones ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("form", "english"),
    [
        (LimitsForm(member_concurrent="50"), "must be from 1 to 20 videos at once; 50 is out of range."),
        (
            LimitsForm(guild_daily="2000000"),
            "must be from 0 to 1,000,000 videos or credits; 2,000,000 is out",
        ),
        (LimitsForm(timezone="Mars/Olympus"), "I don't know the time zone"),
    ],
)
def test_range_and_time_zone_refusals_are_translated(form: LimitsForm, english: str) -> None:
    with pytest.raises(MemberRefusal) as caught:
        apply_form(GuildLimits(), form)
    assert english in str(caught.value)
    for locale in LOCALES:
        shown = t(locale, "{r}", r=caught.value.text)
        assert CJK.search(shown), shown
        for words in ("out of range", "videos at once", "videos or credits", "I don't know"):
            assert words not in shown, shown


# --- /defaults: lists in the reader's language --------------------------------------------------
def _refusal_text(locale: str | None, typed: Typed, limits: GuildLimits) -> str:
    with pytest.raises(MemberRefusal) as refused:
        read_preferences(typed, limits, fallback_model=Model.V1)
    return t(locale, "{r}", r=refused.value.text)


def test_a_described_default_keeps_english_commas_and_uses_the_readers_list() -> None:
    saved = Preferences(model=Model.V1, mode=Mode.PRO, duration=10)
    english = describe(saved, None)
    assert english.count(", ") == 2 and "、" not in english
    japanese = describe(saved, "ja")
    assert ", " not in japanese and "、" in japanese, japanese


@pytest.mark.parametrize("locale", [None, *LOCALES])
def test_a_refused_default_lists_what_may_be_picked_in_the_readers_words(locale: str | None) -> None:
    limits = GuildLimits(allowed_models=frozenset({Model.V1, Model.V1_6}))
    text = _refusal_text(locale, Typed(model="kling-v3"), limits)
    assert f"`{Model.V1.value}`" in text and f"`{Model.V1_6.value}`" in text, text
    if locale is None:
        assert " or `" in text, text
    else:
        assert " or " not in text and CJK.search(text), text


# --- mod-log settings entries: in the server's language -----------------------------------------
def test_a_settings_entry_is_worded_in_the_mod_logs_language() -> None:
    update = apply_form(GuildLimits(), LimitsForm(member_daily="5"))
    assert update.summary() == update.summary(None) == "; ".join(update.changes)
    assert "Each member per day" in update.summary()
    for locale in LOCALES:
        shown = update.summary(locale)
        assert CJK.search(shown) and "Each member per day" not in shown and "5" in shown, shown
        assert "<@42>" in reset_summary(42, locale) and CJK.search(reset_summary(42, locale))
    assert reset_summary(42) == (
        "reset the usage of <@42> (their earlier videos no longer count toward their own limits)"
    )
    saved = Preferences(model=Model.V1, mode=Mode.PRO)
    assert server_defaults_summary(saved, None) == f"Server defaults: {saved.describe()}"
    assert CJK.search(server_defaults_summary(saved, "ja")) and "Server defaults" not in (
        server_defaults_summary(saved, "ja")
    )

"""Server rules and quota decisions: every rule at and just below its boundary."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app.limits_text import describe_limits
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.limit_input import (
    parse_blocked_words,
    parse_cooldown,
    parse_limit_value,
    parse_models,
    parse_modes,
    parse_unit,
    parse_whole_number,
)
from bot.quota.models import Decision, GuildLimits, LimitUnit, RoleCap, UsageSnapshot
from bot.quota.policy import blocked_word_in_request, check_server_policy, evaluate, member_caps

NOW = 1_700_000_000.0
DAY_RESET = NOW + 3_600
MONTH_RESET = NOW + 10 * 86_400
RESETS = (DAY_RESET, MONTH_RESET)
CHANNEL = 111
OTHER_CHANNEL = 222
VIP = 900
NEWCOMER = 901
EXEMPT = 902


def video(**fields: Any) -> VideoRequest:
    base: dict[str, Any] = {"action": Action.TEXT2VIDEO, "model": Model.V3, "prompt": "a cat on a boat"}
    return VideoRequest(**(base | fields))


def policy(limits: GuildLimits, request: VideoRequest | None = None, **kwargs: Any) -> str | None:
    options: dict[str, Any] = {"channel_id": CHANNEL, "member_role_ids": (), "is_moderator": False} | kwargs
    return check_server_policy(limits, request or video(), **options)


def snapshot(fields: dict[str, Any]) -> UsageSnapshot:
    return UsageSnapshot(**fields)


def decide(
    limits: GuildLimits, usage: UsageSnapshot | None = None, *, cost: float = 7.0, roles: tuple[int, ...] = ()
) -> Decision:
    return evaluate(
        limits, usage or UsageSnapshot(), cost=cost, member_role_ids=roles, now=NOW, resets=RESETS
    )


OPEN = GuildLimits(member_concurrent=None, guild_concurrent=None)


# --- Server rules -----------------------------------------------------------------------------


def test_no_rules_allow_everything() -> None:
    assert policy(GuildLimits(), video(mode=Mode.K4, duration=15, generate_audio=True)) is None


def test_channel_rule_names_the_allowed_channels() -> None:
    limits = GuildLimits(allowed_channels=frozenset({OTHER_CHANNEL, 333}))
    refusal = policy(limits)
    assert refusal is not None
    assert "<#222>, <#333>" in refusal
    assert policy(limits, channel_id=OTHER_CHANNEL) is None


def test_moderators_may_use_any_channel_but_not_other_rules() -> None:
    limits = GuildLimits(allowed_channels=frozenset({OTHER_CHANNEL}), allow_audio=False)
    assert policy(limits, is_moderator=True) is None
    assert policy(limits, video(generate_audio=True), is_moderator=True) is not None


def test_exempt_roles_do_not_bypass_server_rules() -> None:
    limits = GuildLimits(allowed_channels=frozenset({OTHER_CHANNEL}), exempt_roles=frozenset({EXEMPT}))
    assert policy(limits, member_role_ids=(EXEMPT,)) is not None


def test_model_rule_lists_the_allowed_models() -> None:
    limits = GuildLimits(allowed_models=frozenset({Model.V1, Model.V2_6}))
    refusal = policy(limits, video(model=Model.V3))
    assert refusal is not None
    assert "`kling-v3`" in refusal
    assert "`kling-v1` or `kling-v2-6`" in refusal
    assert policy(limits, video(model=Model.V2_6)) is None


def test_empty_model_list_refuses_every_model() -> None:
    refusal = policy(GuildLimits(allowed_models=frozenset()))
    assert refusal is not None
    assert "No video models" in refusal


def test_mode_rule_suggests_modes_the_model_has() -> None:
    limits = GuildLimits(allowed_modes=frozenset({Mode.STD}))
    refusal = policy(limits, video(mode=Mode.PRO))
    assert refusal is not None
    assert "`pro` mode isn't enabled" in refusal
    assert "pick `std` mode" in refusal
    assert policy(limits, video(mode=Mode.STD)) is None


def test_mode_rule_when_the_model_has_no_permitted_mode() -> None:
    refusal = policy(GuildLimits(allowed_modes=frozenset({Mode.K4})), video(model=Model.V1, mode=Mode.STD))
    assert refusal is not None
    assert "pick another model" in refusal


def test_4k_switch() -> None:
    refusal = policy(GuildLimits(allow_4k=False), video(mode=Mode.K4))
    assert refusal is not None
    assert "4K videos are turned off" in refusal
    assert "`std` or `pro`" in refusal
    assert policy(GuildLimits(allow_4k=True), video(mode=Mode.K4)) is None


def test_duration_at_the_maximum_is_allowed_one_above_is_not() -> None:
    limits = GuildLimits(max_duration=8)
    assert policy(limits, video(duration=8)) is None
    refusal = policy(limits, video(duration=9))
    assert refusal is not None
    assert "up to 8 seconds" in refusal
    assert "pick 8 seconds or less" in refusal


def test_duration_shorter_than_any_clip_of_the_model() -> None:
    refusal = policy(GuildLimits(max_duration=4), video(model=Model.V1, duration=5))
    assert refusal is not None
    assert "pick another model" in refusal


def test_audio_switch() -> None:
    refusal = policy(GuildLimits(allow_audio=False), video(generate_audio=True))
    assert refusal is not None
    assert "turn audio off" in refusal
    assert policy(GuildLimits(allow_audio=False), video(generate_audio=False)) is None


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"prompt": "a ＧＯ\u200dＲＥ scene"}, "Your prompt contains"),
        ({"negative_prompt": "no go\u0301re"}, "Your negative prompt contains"),
        ({"prompt": "gore", "negative_prompt": "GORE"}, "Your prompt and negative prompt contain"),
    ],
)
def test_blocked_words_are_refused_without_naming_them(fields: dict[str, str], where: str) -> None:
    limits = GuildLimits(blocked_words=("gore",))
    refusal = policy(limits, video(**fields))
    assert refusal is not None
    assert refusal.startswith(where)
    assert "gore" not in refusal.lower()
    assert blocked_word_in_request(limits, video(**fields)) == "gore"


def test_clean_prompt_passes_the_blocked_word_rule() -> None:
    limits = GuildLimits(blocked_words=("gore",))
    assert policy(limits, video(prompt="a gorgeous sunset")) is None
    assert blocked_word_in_request(limits, video(prompt="a gorgeous sunset")) is None


def test_every_broken_rule_is_reported_at_once() -> None:
    limits = GuildLimits(max_duration=5, allow_audio=False, allowed_models=frozenset({Model.V3}))
    refusal = policy(limits, video(duration=10, generate_audio=True))
    assert refusal is not None
    assert "up to 5 seconds" in refusal
    assert "turn audio off" in refusal


# --- Quotas: caps --------------------------------------------------------------------------------

CAPS = [
    # (limit field, usage videos field, usage credits field, reset shown)
    ("guild_daily", "guild_day_videos", "guild_day_credits", DAY_RESET),
    ("guild_monthly", "guild_month_videos", "guild_month_credits", MONTH_RESET),
    ("member_daily", "member_day_videos", "member_day_credits", DAY_RESET),
    ("member_monthly", "member_month_videos", "member_month_credits", MONTH_RESET),
]


@pytest.mark.parametrize(("limit_field", "videos_field", "credits_field", "reset"), CAPS)
def test_video_caps_one_below_is_allowed_at_the_limit_is_refused(
    limit_field: str, videos_field: str, credits_field: str, reset: float
) -> None:
    limits = OPEN.model_copy(update={limit_field: 3})
    assert decide(limits, snapshot({videos_field: 2, credits_field: 999.0})).allowed
    refused = decide(limits, snapshot({videos_field: 3}))
    assert not refused.allowed
    assert "limit of 3 videos" in refused.reason
    assert f"<t:{int(reset)}:R>" in refused.reason


@pytest.mark.parametrize(("limit_field", "videos_field", "credits_field", "reset"), CAPS)
def test_credit_caps_count_the_cost(
    limit_field: str, videos_field: str, credits_field: str, reset: float
) -> None:
    limits = OPEN.model_copy(update={limit_field: 20, "unit": LimitUnit.CREDITS})
    exactly = decide(limits, snapshot({credits_field: 13.0, videos_field: 500}), cost=7.0)
    assert exactly.allowed
    short = decide(limits, snapshot({credits_field: 13.5}), cost=7.0)
    assert not short.allowed
    assert "6.5 credits left" in short.reason
    assert "costs 7 credits" in short.reason
    assert f"<t:{int(reset)}:R>" in short.reason
    used_up = decide(limits, snapshot({credits_field: 20.0}), cost=0.0)
    assert not used_up.allowed
    assert "used all of" in used_up.reason


def test_credit_sums_that_drift_still_fit_exactly() -> None:
    limits = OPEN.model_copy(update={"unit": LimitUnit.CREDITS, "member_daily": 0.6})
    assert decide(limits, UsageSnapshot(member_day_credits=0.1 + 0.2), cost=0.3).allowed


def test_zero_limit_says_videos_are_off() -> None:
    refused = decide(OPEN.model_copy(update={"guild_daily": 0}))
    assert not refused.allowed
    assert "daily limit of 0 videos" in refused.reason
    assert "ask a moderator" in refused.reason


def test_the_longest_blocking_cap_is_reported() -> None:
    limits = OPEN.model_copy(update={"guild_monthly": 10, "member_daily": 1})
    refused = decide(limits, UsageSnapshot(guild_month_videos=10, member_day_videos=1))
    assert "This server has used all of its monthly limit" in refused.reason
    assert f"<t:{int(MONTH_RESET)}:R>" in refused.reason


# --- Quotas: roles ------------------------------------------------------------------------------

ROLE_LIMITS = OPEN.model_copy(
    update={
        "member_daily": 3,
        "member_monthly": 30,
        "role_caps": {
            VIP: RoleCap(member_daily=10),
            NEWCOMER: RoleCap(member_daily=1, member_monthly=5),
            EXEMPT + 1: RoleCap(member_daily=100),
        },
        "exempt_roles": frozenset({EXEMPT}),
    }
)


@pytest.mark.parametrize(
    ("roles", "caps"),
    [
        ((), (3, 30)),
        ((VIP,), (10, 30)),  # a role leaving the monthly cap unset keeps the default
        ((NEWCOMER,), (1, 5)),  # a role cap replaces the default even when lower
        ((VIP, NEWCOMER), (10, 5)),  # the most generous role wins, per cap
        ((12345,), (3, 30)),  # roles without caps change nothing
    ],
)
def test_role_caps(roles: tuple[int, ...], caps: tuple[float, float]) -> None:
    assert member_caps(ROLE_LIMITS, roles) == caps
    daily = int(caps[0])
    assert decide(ROLE_LIMITS, UsageSnapshot(member_day_videos=daily - 1), roles=roles).allowed
    assert not decide(ROLE_LIMITS, UsageSnapshot(member_day_videos=daily), roles=roles).allowed


def test_exempt_roles_skip_member_limits_concurrency_and_cooldown() -> None:
    limits = ROLE_LIMITS.model_copy(update={"member_concurrent": 1, "member_cooldown_seconds": 600})
    busy = UsageSnapshot(
        member_day_videos=50, member_month_videos=500, member_active_jobs=4, member_last_job_at=NOW
    )
    assert not decide(limits, busy).allowed
    decision = decide(limits, busy, roles=(EXEMPT,))
    assert decision.allowed
    assert [a.limit for a in decision.allowances[2:]] == [None, None]


def test_exempt_roles_do_not_skip_the_server_budget() -> None:
    limits = ROLE_LIMITS.model_copy(update={"guild_daily": 5})
    refused = decide(limits, UsageSnapshot(guild_day_videos=5), roles=(EXEMPT,))
    assert not refused.allowed
    assert "This server has used all of its daily limit" in refused.reason


# --- Quotas: activity and queue --------------------------------------------------------------------


def test_member_concurrency_boundary() -> None:
    limits = OPEN.model_copy(update={"member_concurrent": 2})
    assert decide(limits, UsageSnapshot(member_active_jobs=1)).allowed
    refused = decide(limits, UsageSnapshot(member_active_jobs=2))
    assert not refused.allowed
    assert "2 videos in progress" in refused.reason


def test_cooldown_boundary_and_when_to_come_back() -> None:
    limits = OPEN.model_copy(update={"member_cooldown_seconds": 300})
    assert decide(limits, UsageSnapshot(member_last_job_at=NOW - 300)).allowed
    refused = decide(limits, UsageSnapshot(member_last_job_at=NOW - 299.5))
    assert not refused.allowed
    assert f"<t:{int(NOW + 1)}:R>" in refused.reason
    assert "5 min" in refused.reason
    assert decide(limits, UsageSnapshot(member_last_job_at=None)).allowed


def test_full_running_cap_queues_instead_of_refusing() -> None:
    limits = OPEN.model_copy(update={"guild_concurrent": 3})
    free = decide(limits, UsageSnapshot(guild_running_jobs=2, guild_queued_jobs=0))
    assert free.allowed
    assert not free.queued
    assert free.queue_position == 0
    full = decide(limits, UsageSnapshot(guild_running_jobs=3, guild_queued_jobs=4))
    assert full.allowed
    assert full.queued
    assert full.queue_position == 5


def test_no_running_cap_never_queues() -> None:
    assert not decide(OPEN, UsageSnapshot(guild_running_jobs=1000, guild_queued_jobs=10)).queued


def test_allowances_show_what_is_left_after_this_video() -> None:
    limits = OPEN.model_copy(
        update={"unit": LimitUnit.CREDITS, "guild_daily": 100, "guild_monthly": 1000, "member_daily": 20}
    )
    usage = UsageSnapshot(
        guild_day_credits=10, guild_month_credits=200, member_day_credits=5, member_month_credits=9
    )
    decision = decide(limits, usage, cost=7.0)
    assert decision.cost == 7.0
    assert [(a.label, a.used, a.limit, a.resets_at, a.remaining) for a in decision.allowances] == [
        ("Server credits today", 17, 100, DAY_RESET, 83),
        ("Server credits this month", 207, 1000, MONTH_RESET, 793),
        ("Your credits today", 12, 20, DAY_RESET, 8),
        ("Your credits this month", 16, None, MONTH_RESET, None),
    ]


def test_refused_allowances_are_not_charged() -> None:
    limits = OPEN.model_copy(update={"member_daily": 2})
    refused = decide(limits, UsageSnapshot(member_day_videos=2))
    assert [a.used for a in refused.allowances] == [0, 0, 2, 0]


usage_counts = st.integers(min_value=0, max_value=50)
credit_sums = st.floats(min_value=0, max_value=500, allow_nan=False)
limit_values = st.none() | st.integers(min_value=0, max_value=50).map(float)


@given(
    unit=st.sampled_from(LimitUnit),
    limit_values=st.tuples(limit_values, limit_values, limit_values, limit_values),
    videos=st.tuples(usage_counts, usage_counts, usage_counts, usage_counts),
    credits=st.tuples(credit_sums, credit_sums, credit_sums, credit_sums),
    cost=st.floats(min_value=0, max_value=60, allow_nan=False),
    exempt=st.booleans(),
)
def test_a_job_is_allowed_only_if_it_fits_every_cap(
    unit: LimitUnit,
    limit_values: tuple[float | None, ...],
    videos: tuple[int, ...],
    credits: tuple[float, ...],
    cost: float,
    exempt: bool,
) -> None:
    fields = dict(zip([c[0] for c in CAPS], limit_values, strict=True))
    limits = OPEN.model_copy(update={"unit": unit, "exempt_roles": frozenset({EXEMPT}), **fields})
    usage = snapshot(
        dict(zip([c[1] for c in CAPS], videos, strict=True))
        | dict(zip([c[2] for c in CAPS], credits, strict=True))
    )
    decision = decide(limits, usage, cost=cost, roles=(EXEMPT,) if exempt else ())
    amount = 1.0 if unit is LimitUnit.VIDEOS else cost
    used = videos if unit is LimitUnit.VIDEOS else credits
    checked = range(2) if exempt else range(4)

    def fits_cap(limit: float | None, spent: float) -> bool:
        # Sums of float credits are compared with a tolerance far below a cent.
        return limit is None or (spent < limit - 1e-9 and spent + amount <= limit + 1e-9)

    fits = all(fits_cap(limit_values[i], used[i]) for i in checked)
    assert decision.allowed == fits
    assert bool(decision.reason) != fits
    if decision.allowed:
        assert all(a.remaining is None or a.remaining >= 0 for a in decision.allowances)


@given(used=usage_counts, limit=st.integers(min_value=0, max_value=50), extra=st.integers(0, 5))
def test_never_allowed_when_used_reaches_the_limit(used: int, limit: int, extra: int) -> None:
    usage = UsageSnapshot(member_month_videos=limit + extra, member_day_videos=used)
    assert not decide(OPEN.model_copy(update={"member_monthly": limit}), usage).allowed
    snapshot = replace(usage, member_month_videos=0)
    assert decide(OPEN.model_copy(update={"member_monthly": limit}), snapshot).allowed == (limit > 0)


# --- /limits show and /limits set ------------------------------------------------------------------


def test_describe_limits() -> None:
    limits = GuildLimits(
        unit=LimitUnit.CREDITS,
        guild_daily=100,
        member_cooldown_seconds=5400,
        allowed_models=frozenset({Model.V3, Model.V1}),
        allow_4k=False,
        max_duration=10,
        allowed_channels=frozenset({5, 4}),
        exempt_roles=frozenset({EXEMPT}),
        role_caps={VIP: RoleCap(member_daily=10)},
        blocked_words=("gore", "blood"),
        timezone="Europe/Paris",
    )
    lines = dict(describe_limits(limits))
    assert lines["Limits count"] == "credits"
    assert lines["Server per day"] == "100 credits"
    assert lines["Server per month"] == "No limit"
    assert lines["Wait between a member's videos"] == "1 h 30 min"
    assert lines["Videos in progress per member"] == "2"
    assert lines["Models"] == "kling-v1, kling-v3"
    assert lines["Modes"] == "std, pro"
    assert lines["4K"] == "Off"
    assert lines["Longest video"] == "10 s"
    assert lines["Channels"] == "<#4>, <#5>"
    assert lines["Exempt roles"] == f"<@&{EXEMPT}>"
    assert lines["Role caps"] == f"<@&{VIP}>: 10 credits a day, default a month"
    assert lines["Blocked words"] == "2"
    assert "gore" not in " ".join(value for _, value in describe_limits(limits))
    assert lines["Time zone"] == "Europe/Paris"


def test_describe_default_limits() -> None:
    lines = dict(describe_limits(GuildLimits()))
    assert lines["Models"] == "All"
    assert lines["Channels"] == "Any channel"
    assert lines["Wait between a member's videos"] == "0 s"
    assert lines["Mod-log channel"] == "Not set"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("none", None),
        ("", None),
        ("Unlimited", None),
        ("off", None),
    ],
)
def test_parse_limit_value(text: str, value: float | None) -> None:
    assert parse_limit_value(text) == value


@pytest.mark.parametrize(
    ("text", "problem"),
    [("ten", "isn't a number"), ("-1", "can't be negative"), ("inf", "like 10"), ("nan", "like 10")],
)
def test_parse_limit_value_errors(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_limit_value(text)


def test_parse_whole_number() -> None:
    assert parse_whole_number("3") == 3
    assert parse_whole_number("none") is None
    with pytest.raises(ValueError, match="whole number"):
        parse_whole_number("2.5")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("none", 0),
        ("45", 45),
        ("30s", 30),
        ("5m", 300),
        ("5 min", 300),
        ("1h30m", 5400),
        ("2 hours", 7200),
    ],
)
def test_parse_cooldown(text: str, seconds: int) -> None:
    assert parse_cooldown(text) == seconds


@pytest.mark.parametrize(("text", "problem"), [("soon", "30s, 5m or 1h30m"), ("8000h", "at most 7 days")])
def test_parse_cooldown_errors(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_cooldown(text)


def test_parse_models_accepts_lists_and_the_alias() -> None:
    assert parse_models("kling-v3, kling-v2-6") == {Model.V3, Model.V2_6}
    assert parse_models("Kling-Video-O1 kling-v1") == {Model.O1, Model.V1}
    assert parse_models("all") is None
    assert parse_models("") is None


def test_parse_models_names_the_unknown_one_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'kling-v9'.*kling-v1, .* or kling-o1"):
        parse_models("kling-v3, kling-v9")


def test_parse_modes() -> None:
    assert parse_modes("STD,pro") == {Mode.STD, Mode.PRO}
    assert parse_modes("any") is None
    with pytest.raises(ValueError, match="'8k'"):
        parse_modes("8k")


def test_parse_unit() -> None:
    assert parse_unit(" Credits ") is LimitUnit.CREDITS
    with pytest.raises(ValueError, match="videos or credits"):
        parse_unit("dollars")


def test_parse_blocked_words_splits_and_removes_repeats() -> None:
    assert parse_blocked_words("gore, Blood\nbad thing,, ＧＯＲＥ, \u200b") == ("gore", "Blood", "bad thing")

"""The operator's money: settings, the ceiling moderators cannot raise, the global cap in the one
atomic reservation, the confirmation threshold, and the usage ledger staying true to the job rows
whatever path a job takes (written against the `Store` protocol)."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, load_settings
from bot.discord_app.access import Refusal
from bot.discord_app.confirmation import prompt_text
from bot.discord_app.limit_settings import LimitsForm, apply_form
from bot.discord_app.limits_text import describe_limits
from bot.jobs.service import Refused, Requester, VideoService
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.costs import CostTable
from bot.quota.models import Decision, GuildLimits, LimitUnit, OperatorBudget, UsageSnapshot
from bot.quota.policy import effective_limits, evaluate, needs_confirmation
from bot.storage import RELEASED_STATES, JobState, NewJob, Store, open_store

NOW = 1_795_500_000.0  # 2026-11-24 UTC
RESETS = (NOW + 3_600, NOW + 86_400)
V1_STD_5S = CostTable().cost(
    VideoRequest(action=Action.TEXT2VIDEO, prompt="x", model=Model.V1, mode=Mode.STD, duration=5)
)


def request() -> VideoRequest:
    return VideoRequest(action=Action.TEXT2VIDEO, prompt="a heron", model=Model.V1, mode=Mode.STD, duration=5)


# --- settings ------------------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no developer .env
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret")
    monkeypatch.setenv("ACEDATA_API_TOKEN", "acedata-secret")
    for name in (
        "ALLOWED_GUILD_IDS",
        "SERVER_DAILY_CREDITS",
        "SERVER_MONTHLY_CREDITS",
        "GLOBAL_DAILY_CREDITS",
        "GLOBAL_MONTHLY_CREDITS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_a_small_documented_budget(env: pytest.MonkeyPatch) -> None:
    loaded = load_settings()
    assert (loaded.SERVER_DAILY_CREDITS, loaded.SERVER_MONTHLY_CREDITS) == (20.0, 200.0)
    assert (loaded.GLOBAL_DAILY_CREDITS, loaded.GLOBAL_MONTHLY_CREDITS) == (50.0, 500.0)
    assert frozenset() == loaded.ALLOWED_GUILD_IDS
    warnings = loaded.spending_warnings()
    assert not any("UNLIMITED" in warning for warning in warnings)
    assert any("Public Bot" in warning for warning in warnings)


def test_none_removes_a_cap_and_the_warning_is_loud(env: pytest.MonkeyPatch) -> None:
    for name in ("SERVER_DAILY_CREDITS", "SERVER_MONTHLY_CREDITS", "GLOBAL_DAILY_CREDITS"):
        env.setenv(name, "none")
    env.setenv("GLOBAL_MONTHLY_CREDITS", " Unlimited ")
    env.setenv("ALLOWED_GUILD_IDS", "123456789012345678, 223456789012345678,")
    loaded = load_settings()
    assert loaded.uncapped_spending == [
        "SERVER_DAILY_CREDITS",
        "SERVER_MONTHLY_CREDITS",
        "GLOBAL_DAILY_CREDITS",
        "GLOBAL_MONTHLY_CREDITS",
    ]
    assert any("SPENDING IS UNLIMITED" in warning for warning in loaded.spending_warnings())
    assert {123456789012345678, 223456789012345678} == loaded.ALLOWED_GUILD_IDS


def test_a_blank_cap_keeps_the_default(env: pytest.MonkeyPatch) -> None:
    env.setenv("GLOBAL_DAILY_CREDITS", "  ")
    env.setenv("SERVER_DAILY_CREDITS", "7.5")
    loaded = load_settings()
    assert (loaded.GLOBAL_DAILY_CREDITS, loaded.SERVER_DAILY_CREDITS) == (50.0, 7.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVER_DAILY_CREDITS", "lots"),
        ("SERVER_MONTHLY_CREDITS", "-1"),
        ("GLOBAL_DAILY_CREDITS", "inf"),
        ("GLOBAL_MONTHLY_CREDITS", "nan"),
        ("ALLOWED_GUILD_IDS", "my-server"),
        ("ALLOWED_GUILD_IDS", "123"),
    ],
)
def test_a_malformed_value_is_refused_naming_the_setting(
    env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


# --- policy: ceiling, global caps, confirmation ------------------------------------------------


def decide(limits: GuildLimits, usage: UsageSnapshot, budget: OperatorBudget, cost: float = 4.0) -> Decision:
    return evaluate(
        limits,
        usage,
        cost=cost,
        member_role_ids=(),
        now=NOW,
        resets=RESETS,
        budget=budget,
        global_resets=RESETS,
    )


def test_a_new_server_starts_with_the_ceiling_as_its_budget() -> None:
    budget = OperatorBudget(server_daily=10.0, server_monthly=100.0)
    credits = GuildLimits(unit=LimitUnit.CREDITS)
    assert effective_limits(credits, budget).guild_daily == 10.0
    assert effective_limits(credits.model_copy(update={"guild_daily": 6.0}), budget).guild_daily == 6.0
    assert effective_limits(credits.model_copy(update={"guild_daily": 60.0}), budget).guild_daily == 10.0
    # Counting videos, the ceiling stays a separate cap in credits.
    assert decide(GuildLimits(), UsageSnapshot(guild_day_credits=6.0), budget, cost=4.0).allowed
    refused = decide(GuildLimits(), UsageSnapshot(guild_day_credits=6.5), budget, cost=4.0)
    assert not refused.allowed and "set by the bot's operator" in refused.reason


def test_the_global_cap_refuses_across_servers_and_says_whose_it_is() -> None:
    budget = OperatorBudget(global_daily=50.0, global_monthly=500.0)
    assert decide(GuildLimits(), UsageSnapshot(global_day_credits=46.0), budget).allowed
    refused = decide(GuildLimits(), UsageSnapshot(global_day_credits=46.5), budget)
    assert not refused.allowed and "across all servers" in refused.reason and "<t:" in refused.reason
    month = decide(GuildLimits(), UsageSnapshot(global_day_credits=60.0, global_month_credits=500.0), budget)
    assert "monthly" in month.reason  # the cap that blocks for longest is named
    labels = [allowance.label for allowance in decide(GuildLimits(), UsageSnapshot(), budget).allowances]
    assert "All servers' credits today" in labels


def test_limits_show_says_where_the_ceiling_comes_from() -> None:
    lines = dict(describe_limits(GuildLimits(unit=LimitUnit.CREDITS), OperatorBudget(server_daily=20.0)))
    assert "SERVER_DAILY_CREDITS" in lines["Ceiling per day"] and "20 credits" in lines["Ceiling per day"]
    assert lines["Server per day"] == "20 credits"
    assert (
        "SERVER_MONTHLY_CREDITS" in lines["Ceiling per month"] and "not capped" in lines["Ceiling per month"]
    )


def test_moderators_can_tighten_the_ceiling_but_never_raise_it() -> None:
    budget = OperatorBudget(server_daily=20.0, server_monthly=200.0)
    tightened = apply_form(GuildLimits(), LimitsForm(unit="credits", guild_daily="5"), budget=budget)
    assert tightened.limits.guild_daily == 5.0
    with pytest.raises(Refusal, match="SERVER_DAILY_CREDITS") as raised:
        apply_form(GuildLimits(), LimitsForm(unit="credits", guild_daily="20.5"), budget=budget)
    assert "Nothing was changed" in str(raised.value)
    with pytest.raises(Refusal, match="SERVER_MONTHLY_CREDITS"):
        apply_form(GuildLimits(unit=LimitUnit.CREDITS), LimitsForm(guild_monthly="1000"), budget=budget)
    # "none" means: up to the ceiling (the cap that applies is still the ceiling).
    open_ended = apply_form(
        GuildLimits(unit=LimitUnit.CREDITS, guild_daily=5), LimitsForm(guild_daily="none"), budget=budget
    )
    assert effective_limits(open_ended.limits, budget).guild_daily == 20.0
    # Counting videos the numbers are not credits; the ceiling then applies on its own.
    assert apply_form(GuildLimits(), LimitsForm(guild_daily="50"), budget=budget).limits.guild_daily == 50


def test_the_confirmation_threshold_is_set_and_read() -> None:
    update = apply_form(GuildLimits(), LimitsForm(confirm_above_credits="3"))
    assert update.limits.confirm_above_credits == 3.0
    assert needs_confirmation(update.limits, 3.01) and not needs_confirmation(update.limits, 3.0)
    assert not needs_confirmation(GuildLimits(), 10_000)
    off = apply_form(update.limits, LimitsForm(confirm_above_credits="none"))
    assert off.limits.confirm_above_credits is None
    with pytest.raises(Refusal, match="confirm_above_credits"):
        apply_form(GuildLimits(), LimitsForm(confirm_above_credits="cheap"))


def test_the_confirmation_shows_the_estimate_and_what_it_leaves() -> None:
    limits = GuildLimits(unit=LimitUnit.CREDITS, member_daily=10.0)
    decision = decide(limits, UsageSnapshot(member_day_credits=2.0), OperatorBudget(global_daily=50.0))
    text = prompt_text(decision)
    assert "about **4 credits**" in text and "estimate" in text
    assert "Your credits today: 4 credits left" in text
    assert "All servers' credits today: 46 credits left" in text


# --- admission: one atomic reservation ----------------------------------------------------------

_interactions = itertools.count(1)


def requester(guild_id: int, member_id: int) -> Requester:
    return Requester(guild_id=guild_id, channel_id=7, member_id=member_id, interaction_id=next(_interactions))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def service(store: Store, http: httpx.AsyncClient, budget: OperatorBudget, **kwargs: Any) -> VideoService:
    return VideoService(
        store=store,
        http=http,
        costs=CostTable(),
        default_model=Model.V1,
        budget=budget,
        clock=lambda: NOW,
        **kwargs,
    )


async def test_parallel_admissions_against_the_last_global_credits_admit_exactly_one(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    """Twenty admissions from twenty servers, through two stores on one file (two processes), race for
    credits that cover one video: exactly one is admitted, the others are refused naming the cap."""
    path = tmp_path / "bot.sqlite3"
    budget = OperatorBudget(global_daily=V1_STD_5S * 1.5)
    first, second = await open_store(path), await open_store(path)
    try:
        services = [service(first, http, budget), service(second, http, budget)]

        async def attempt(number: int) -> str:
            try:
                await services[number % 2].admit(requester(1000 + number, 5000 + number), request())
            except Refused as exc:
                return str(exc)
            return "admitted"

        outcomes = await asyncio.gather(*(attempt(number) for number in range(20)))
        assert outcomes.count("admitted") == 1, outcomes
        assert all("across all servers" in outcome for outcome in outcomes if outcome != "admitted")
        usage = await first.usage_snapshot(
            1, 1, "x", "y", global_day_key="2026-11-24", global_month_key="2026-11"
        )
        assert usage.global_day_credits == pytest.approx(V1_STD_5S)
        assert await first.ledger_consistency() == []
    finally:
        await first.close()
        await second.close()


async def test_a_released_job_gives_its_credits_back_to_the_global_cap(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    store = await open_store(tmp_path / "bot.sqlite3")
    try:
        videos = service(store, http, OperatorBudget(global_daily=V1_STD_5S))
        admitted = await videos.admit(requester(1, 1), request())
        with pytest.raises(Refused, match="across all servers"):
            await videos.admit(requester(2, 2), request())
        assert admitted.job is not None
        await store.transition(admitted.job.id, expect=[JobState.QUEUED], to=JobState.FAILED)
        await store.transition(admitted.job.id, expect=[JobState.QUEUED], to=JobState.FAILED)  # no-op
        await videos.admit(requester(2, 2), request())
        assert await store.ledger_consistency() == []
    finally:
        await store.close()


async def test_a_server_outside_the_allow_list_is_refused_before_anything_is_stored(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    store = await open_store(tmp_path / "bot.sqlite3")
    try:
        videos = service(store, http, OperatorBudget(), allowed_guilds=frozenset({1}))
        assert videos.guild_allowed(1) and not videos.guild_allowed(2) and not videos.guild_allowed(None)
        with pytest.raises(Refused, match="isn't enabled on this server"):
            await videos.admit(requester(2, 2), request())
        with pytest.raises(Refused, match="isn't enabled on this server"):
            await videos.quote(requester(2, 2), request())
        assert await store.history(2) == []
        await videos.admit(requester(1, 1), request())
    finally:
        await store.close()


async def test_quote_reserves_nothing(tmp_path: Path, http: httpx.AsyncClient) -> None:
    store = await open_store(tmp_path / "bot.sqlite3")
    try:
        videos = service(store, http, OperatorBudget(global_daily=100.0))
        quote = await videos.quote(requester(1, 1), request())
        assert quote.decision.allowed and quote.decision.cost == V1_STD_5S
        assert await store.history(1) == []
        usage = await store.usage_snapshot(1, 1, "2026-11-24", "2026-11", global_day_key="2026-11-24")
        assert usage == UsageSnapshot()
    finally:
        await store.close()


# --- the ledger stays true to the job rows -------------------------------------------------------

_STATES = list(JobState)

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("admit"),
            st.sampled_from([1, 2]),  # guild
            st.sampled_from([10, 20]),  # member
            st.sampled_from(["2026-11-24", "2026-11-25"]),  # server day
            st.integers(0, 3),  # cost in halves
            st.integers(0, 3 * 86_400),  # created_at offset: several UTC days
        ),
        st.tuples(
            st.just("move"),
            st.integers(0, 30),  # which job (modulo those admitted)
            st.lists(st.sampled_from(_STATES), min_size=1, max_size=3),  # expected states
            st.sampled_from(_STATES),  # target
        ),
        st.tuples(
            st.just("reset"), st.sampled_from([1, 2]), st.sampled_from([10, 20]), st.integers(0, 3 * 86_400)
        ),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=operations, since_offset=st.integers(-86_400, 3 * 86_400))
def test_the_ledger_and_rollups_match_the_job_rows_on_every_path(
    steps: list[tuple[Any, ...]], since_offset: int
) -> None:
    """Admissions, guarded transitions (releases, double releases, a released job coming back) and
    member resets in any order: the ledger equals what the job rows say, and /usage's rollups
    equal a plain count over the job rows."""
    base = 1_795_478_400.0  # 2026-11-24 00:00 UTC

    async def scenario(folder: Path) -> None:
        store = await open_store(folder / "bot.sqlite3")
        try:
            ids: list[str] = []
            for step in steps:
                if step[0] == "admit":
                    _, guild, member, day, halves, offset = step
                    new = NewJob(
                        id=f"job-{len(ids)}",
                        interaction_id=None,
                        guild_id=guild,
                        channel_id=7,
                        member_id=member,
                        request=VideoRequest(
                            action=Action.TEXT2VIDEO,
                            prompt="x",
                            model=Model.V3 if len(ids) % 2 else Model.V1,
                            mode=Mode.STD,
                            duration=5,
                        ),
                        cost=halves / 2,
                        size_limit=1,
                        day_key=day,
                        month_key=day[:7],
                        created_at=base + offset,
                    )
                    admission = await store.admit_job(new, lambda _usage: Decision(allowed=True))
                    assert admission.job is not None
                    ids.append(admission.job.id)
                elif step[0] == "move" and ids:
                    _, which, expect, target = step
                    await store.transition(ids[which % len(ids)], expect=expect, to=target)
                elif step[0] == "reset":
                    _, guild, member, offset = step
                    await store.reset_member_usage(guild, member, base + offset)
            assert await store.ledger_consistency() == []
            for guild in (1, 2):
                jobs = await store.history(guild, limit=1000)
                since = base + since_offset
                window = [job for job in jobs if job.created_at >= since]
                report = await store.usage_report(guild, since)
                spent = [job for job in window if job.state not in RELEASED_STATES]
                failed = [
                    job
                    for job in window
                    if job.state in {JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT}
                ]
                assert report.total_videos == len(spent)
                assert report.total_credits == pytest.approx(sum(job.cost for job in spent))
                assert report.failures == len(failed)
                by_member = {row.key: (row.videos, row.failures) for row in report.by_member}
                expected = {
                    str(member): (
                        sum(1 for job in spent if job.member_id == member),
                        sum(1 for job in failed if job.member_id == member),
                    )
                    for member in {job.member_id for job in spent + failed}
                }
                assert by_member == expected
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(Path(folder)))

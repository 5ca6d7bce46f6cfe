"""Moderator and member commands' logic (bot/admin): limit changes, /quota, /history, /usage, and the
permission rules of the command definitions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import app_commands

from bot.discord_app.access import Refusal, is_moderator
from bot.discord_app.history_pages import (
    PAGE_SIZE,
    HistoryQuery,
    HistoryStatus,
    clamp_page,
    history_page,
    history_query,
    page_count,
    result_link,
)
from bot.discord_app.limit_settings import (
    MAX_BLOCKED_WORDS,
    ChannelChoice,
    LimitsForm,
    add_blocked_words,
    add_channel,
    apply_form,
    blocked_words_text,
    clear_channels,
    limits_embed,
    remove_blocked_words,
    remove_channel,
    remove_role_cap,
    set_modlog_channel,
    set_role_cap,
    set_role_exempt,
)
from bot.discord_app.quota_report import quota_embed, quota_status
from bot.discord_app.usage_report import TOP_ROWS, usage_embed, usage_since
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.models import GuildLimits, LimitUnit, RoleCap, UsageSnapshot
from bot.storage.base import Job, JobState, UsageReport, UsageRow
from cogs.limits import LimitsCog
from cogs.members import HistoryView, MembersCog
from tests.history_samples import GUILD, MEMBER, NOW, job

DAY_RESET = NOW + 3_600
MONTH_RESET = NOW + 20 * 86_400
RESETS = (DAY_RESET, MONTH_RESET)
OTHER = 1002
ROLE = 900
TEXT = discord.ChannelType.text


def refusal_of(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(Refusal) as caught:
        call(*args, **kwargs)
    return str(caught.value)


# --- /limits set -------------------------------------------------------------------------------------


def test_set_parses_every_option_and_leaves_the_rest() -> None:
    before = GuildLimits(member_monthly=40, blocked_words=("spam",))
    form = LimitsForm(
        unit="Credits",
        guild_daily="100",
        guild_monthly="none",
        member_daily="12.5",
        member_concurrent="3",
        member_cooldown="1h30m",
        guild_concurrent="off",
        allowed_models="kling-v3, kling-video-o1",
        allowed_modes="std,pro",
        max_duration="10",
        allow_audio=False,
        allow_4k=False,
        modlog_channel=ChannelChoice(555, TEXT),
        timezone="europe/paris",
    )
    after = apply_form(before, form).limits
    assert after.unit is LimitUnit.CREDITS
    assert (after.guild_daily, after.guild_monthly, after.member_daily) == (100, None, 12.5)
    assert (after.member_concurrent, after.member_cooldown_seconds, after.guild_concurrent) == (3, 5400, None)
    assert after.allowed_models == {Model.V3, Model.O1}
    assert after.allowed_modes == {Mode.STD, Mode.PRO}
    assert (after.max_duration, after.allow_audio, after.allow_4k) == (10, False, False)
    assert (after.modlog_channel_id, after.timezone) == (555, "Europe/Paris")
    # Options not given keep their values.
    assert after.member_monthly == 40
    assert after.blocked_words == ("spam",)


def test_set_describes_each_change_before_and_after() -> None:
    update = apply_form(GuildLimits(), LimitsForm(member_daily="5", timezone="UTC", allow_audio=False))
    assert update.changes == ("Each member per day: No limit → 5 videos", "Generated sound: Allowed → Off")
    assert update.summary() == "Each member per day: No limit → 5 videos; Generated sound: Allowed → Off"


def test_setting_the_current_value_changes_nothing() -> None:
    update = apply_form(GuildLimits(member_daily=5), LimitsForm(member_daily="5"))
    assert not update.changed
    assert update.limits == GuildLimits(member_daily=5)


def test_every_bad_option_is_named_and_nothing_applies() -> None:
    form = LimitsForm(
        guild_daily="lots",
        member_concurrent="0",
        member_cooldown="soon",
        allowed_models="kling-v9",
        timezone="Mars/Olympus",
        member_daily="5",
    )
    text = refusal_of(apply_form, GuildLimits(), form)
    assert text.startswith("Nothing was changed.")
    for option in ("guild_daily", "member_concurrent", "member_cooldown", "allowed_models", "timezone"):
        assert f"**{option}**" in text
    assert "member_daily" not in text
    assert "'lots' isn't a number" in text


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (LimitsForm(), "at least one option"),
        (LimitsForm(guild_concurrent="0"), "at least 1"),
        (LimitsForm(max_duration="0"), "number of seconds"),
        (LimitsForm(guild_daily="-1"), "can't be negative"),
        (LimitsForm(member_concurrent="2.5"), "whole number"),
        (LimitsForm(unit="coins"), "videos or credits"),
        (LimitsForm(allowed_models=","), "at least one model"),
        (LimitsForm(modlog_channel=ChannelChoice(9, discord.ChannelType.category)), "text channel"),
    ],
)
def test_bad_inputs_are_refused_with_advice(form: LimitsForm, expected: str) -> None:
    assert expected in refusal_of(apply_form, GuildLimits(), form)


def test_zero_still_means_nothing_allowed_for_budgets() -> None:
    assert apply_form(GuildLimits(), LimitsForm(guild_daily="0")).limits.guild_daily == 0


def test_settings_that_leave_no_possible_video_are_refused() -> None:
    no_mode = LimitsForm(allowed_models="kling-v1", allowed_modes="4k")
    assert "no video" in refusal_of(apply_form, GuildLimits(), no_mode)
    # kling-v3 makes 4K, but 4K is switched off.
    assert "no video" in refusal_of(apply_form, GuildLimits(allow_4k=False), no_mode)
    too_short = LimitsForm(max_duration="4")
    text = refusal_of(apply_form, GuildLimits(allowed_models=frozenset({Model.V1, Model.O1})), too_short)
    assert "at least 5" in text
    # The same cap is fine when a model makes 3-second clips.
    assert apply_form(GuildLimits(), too_short).limits.max_duration == 4


def test_switching_units_warns_to_check_the_numbers() -> None:
    update = apply_form(GuildLimits(member_daily=5), LimitsForm(unit="credits"))
    assert any("count credits" in note for note in update.notes)
    assert apply_form(GuildLimits(), LimitsForm(member_daily="5")).notes == ()


# --- roles, channels, words, mod-log --------------------------------------------------------------


def test_role_cap_sets_one_period_and_keeps_the_other() -> None:
    limits = GuildLimits(role_caps={ROLE: RoleCap(member_daily=3, member_monthly=30)})
    after = set_role_cap(limits, ROLE, daily="10", monthly=None).limits
    assert after.role_caps[ROLE] == RoleCap(member_daily=10, member_monthly=30)


def test_role_cap_back_to_default_removes_the_role() -> None:
    limits = GuildLimits(role_caps={ROLE: RoleCap(member_daily=3)})
    update = set_role_cap(limits, ROLE, daily="default", monthly=None)
    assert ROLE not in update.limits.role_caps
    assert update.changes == (f"Role caps: <@&{ROLE}>: 3 videos a day, default a month → None",)


def test_role_cap_refusals() -> None:
    assert "daily, monthly or both" in refusal_of(set_role_cap, GuildLimits(), ROLE, daily=None, monthly=None)
    assert "**daily**" in refusal_of(set_role_cap, GuildLimits(), ROLE, daily="many", monthly=None)
    assert "no caps of its own" in refusal_of(remove_role_cap, GuildLimits(), ROLE)


def test_role_cap_on_an_exempt_role_says_it_has_no_effect() -> None:
    update = set_role_cap(GuildLimits(exempt_roles=frozenset({ROLE})), ROLE, daily="1", monthly=None)
    assert any("exempt" in note for note in update.notes)


def test_exempting_and_unexempting_a_role() -> None:
    exempt = set_role_exempt(GuildLimits(), ROLE, exempt=True).limits
    assert ROLE in exempt.exempt_roles
    assert "already exempt" in refusal_of(set_role_exempt, exempt, ROLE, exempt=True)
    assert ROLE not in set_role_exempt(exempt, ROLE, exempt=False).limits.exempt_roles
    assert "not exempt" in refusal_of(set_role_exempt, GuildLimits(), ROLE, exempt=False)


def test_channel_list() -> None:
    first = add_channel(GuildLimits(), ChannelChoice(7, TEXT))
    assert first.limits.allowed_channels == {7}
    assert any("only in the listed channels" in note for note in first.notes)
    assert "already allowed" in refusal_of(add_channel, first.limits, ChannelChoice(7, TEXT))
    assert "text channel" in refusal_of(
        add_channel, GuildLimits(), ChannelChoice(8, discord.ChannelType.forum)
    )
    emptied = remove_channel(first.limits, 7)
    assert emptied.limits.allowed_channels == frozenset()
    assert any("any channel" in note for note in emptied.notes)
    assert "isn't in the list" in refusal_of(remove_channel, first.limits, 8)
    assert clear_channels(first.limits).limits.allowed_channels == frozenset()
    assert "already" in refusal_of(clear_channels, GuildLimits())


def test_blocked_words_skip_repeats_in_any_form() -> None:
    limits = GuildLimits(blocked_words=("bad",))
    update = add_blocked_words(limits, "ＢＡＤ, worse,  worse , awful")
    assert update.limits.blocked_words == ("bad", "worse", "awful")
    # The count changes; the words themselves never reach the mod-log.
    assert update.changes == ("Blocked words: 1 → 3",)
    assert "already blocked" in refusal_of(add_blocked_words, limits, "BAD")
    assert "one or more words" in refusal_of(add_blocked_words, limits, " , ,")


def test_blocked_word_list_has_a_size_cap() -> None:
    full = GuildLimits(blocked_words=tuple(f"word{n}" for n in range(MAX_BLOCKED_WORDS)))
    assert f"at most {MAX_BLOCKED_WORDS}" in refusal_of(add_blocked_words, full, "one more")


def test_removing_blocked_words_ignores_case() -> None:
    limits = GuildLimits(blocked_words=("Bad", "worse"))
    assert remove_blocked_words(limits, "bad").limits.blocked_words == ("worse",)
    assert "None of those" in refusal_of(remove_blocked_words, limits, "nice")


def test_blocked_word_list_is_inert() -> None:
    text = blocked_words_text(GuildLimits(blocked_words=("@everyone", "<@123>", "**x**")))
    assert "@everyone" not in text
    assert "<@123>" not in text
    assert "**x**" not in text
    assert "Blocked words (3)" in text
    assert blocked_words_text(GuildLimits()) == "No words are blocked on this server."


def test_modlog_channel_set_and_cleared() -> None:
    on = set_modlog_channel(GuildLimits(), ChannelChoice(5, TEXT))
    assert on.limits.modlog_channel_id == 5
    assert set_modlog_channel(on.limits, None).limits.modlog_channel_id is None
    assert "already" in refusal_of(set_modlog_channel, GuildLimits(), None)


def test_limits_embed_shows_every_setting_within_discord_limits() -> None:
    caps = {role: RoleCap(member_daily=role) for role in range(1, 51)}
    embed = limits_embed(GuildLimits(role_caps=caps, modlog_channel_id=77))
    values = {field.name: field.value for field in embed.fields}
    assert values["Mod-log channel"] == "<#77>"
    assert all(field.value is not None and len(field.value) <= 1024 for field in embed.fields)
    assert len(embed) <= 6000


# --- /quota ---------------------------------------------------------------------------------------


def status(limits: GuildLimits, usage: UsageSnapshot | None = None, roles: tuple[int, ...] = ()) -> Any:
    return quota_status(limits, usage or UsageSnapshot(), member_role_ids=roles, now=NOW, resets=RESETS)


def test_quota_counts_videos_or_credits_per_the_unit() -> None:
    usage = UsageSnapshot(member_day_videos=2, member_day_credits=70.0, guild_month_videos=9)
    videos = status(GuildLimits(member_daily=5, guild_monthly=10), usage)
    assert (videos.member_today.used, videos.member_today.remaining) == (2, 3)
    assert videos.server_month.remaining == 1
    assert videos.member_today.resets_at == DAY_RESET
    assert videos.server_month.resets_at == MONTH_RESET
    credits = status(GuildLimits(unit=LimitUnit.CREDITS, member_daily=100), usage)
    assert credits.member_today.remaining == 30


def test_quota_applies_role_caps_and_exemption_like_admission() -> None:
    limits = GuildLimits(
        member_daily=2, role_caps={ROLE: RoleCap(member_daily=8)}, exempt_roles=frozenset({7})
    )
    assert status(limits, roles=(ROLE,)).member_today.limit == 8
    exempt = status(limits, roles=(7,))
    assert exempt.exempt
    assert exempt.member_today.limit is None
    assert exempt.active_cap is None


def test_quota_embed_shows_what_is_left_and_when_it_resets() -> None:
    usage = UsageSnapshot(
        member_day_videos=1, member_active_jobs=1, guild_running_jobs=3, guild_queued_jobs=2
    )
    embed = quota_embed(status(GuildLimits(member_daily=4, guild_concurrent=3), usage))
    fields = {field.name: field.value or "" for field in embed.fields}
    assert "**3 videos left** of 4 videos" in fields["You today"]
    assert f"<t:{int(DAY_RESET)}:R>" in fields["You today"]
    assert fields["You this month"].startswith("No limit")
    assert fields["Your videos in progress"] == "1 video of 2 at a time"
    assert fields["Server queue"] == "3 rendering (up to 3 at once), 2 waiting"
    assert fields["Your next video"] == "Now"


@pytest.mark.parametrize(
    ("limits", "usage", "expected"),
    [
        (GuildLimits(member_daily=1), UsageSnapshot(member_day_videos=1), f"<t:{int(DAY_RESET)}:R>"),
        # Both used up: the day reset alone would not help, the month reset does.
        (
            GuildLimits(member_daily=1, guild_monthly=3),
            UsageSnapshot(member_day_videos=1, guild_month_videos=3),
            f"<t:{int(MONTH_RESET)}:R>",
        ),
        (GuildLimits(guild_daily=0), UsageSnapshot(), "raises a limit"),
        (
            GuildLimits(member_cooldown_seconds=600),
            UsageSnapshot(member_last_job_at=NOW - 60),
            f"Cooldown: you can start one <t:{int(NOW + 540)}:R>",
        ),
        (
            GuildLimits(member_cooldown_seconds=600),
            UsageSnapshot(member_last_job_at=NOW - 600),
            "Now (then wait",
        ),
        (GuildLimits(member_concurrent=1), UsageSnapshot(member_active_jobs=1), "Wait for one"),
    ],
)
def test_quota_says_when_the_next_video_can_start(
    limits: GuildLimits, usage: UsageSnapshot, expected: str
) -> None:
    fields = {field.name: field.value or "" for field in quota_embed(status(limits, usage)).fields}
    assert expected in fields["Your next video"]


# --- /history ---------------------------------------------------------------------------------------


def test_members_see_only_their_own_history() -> None:
    own = history_query(guild_id=GUILD, invoker_id=MEMBER, invoker_is_moderator=False, member_id=MEMBER)
    assert own.member_id == MEMBER
    for ask in ({"member_id": OTHER}, {"everyone": True}):
        text = refusal_of(history_query, guild_id=GUILD, invoker_id=MEMBER, invoker_is_moderator=False, **ask)
        assert "Only moderators" in text


def test_moderators_filter_by_member_status_or_everyone() -> None:
    other = history_query(
        guild_id=GUILD,
        invoker_id=MEMBER,
        invoker_is_moderator=True,
        member_id=OTHER,
        status=HistoryStatus.FAILED,
    )
    assert other.member_id == OTHER
    assert other.states == (JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT)
    everyone = history_query(guild_id=GUILD, invoker_id=MEMBER, invoker_is_moderator=True, everyone=True)
    assert everyone.member_id is None
    assert everyone.states is None
    with pytest.raises(Refusal):
        history_query(
            guild_id=GUILD, invoker_id=MEMBER, invoker_is_moderator=True, member_id=OTHER, everyone=True
        )


def test_history_statuses_cover_every_job_state_once() -> None:
    covered = [state for status in HistoryStatus for state in status.states]
    assert sorted(covered) == sorted(JobState)


def test_history_page_numbers_links_and_buttons() -> None:
    jobs = [job(n) for n in range(6, 11)]
    query = HistoryQuery(GUILD, MEMBER, MEMBER)
    page = history_page(query, jobs, page=1, total=12)
    assert [entry.number for entry in page.entries] == [6, 7, 8, 9, 10]
    assert [entry.job_id for entry in page.entries] == [j.id for j in jobs]
    assert (page.page, page.pages) == (1, 3)
    first = page.embed.fields[0]
    assert first.name is not None and first.name.startswith("6. ✅ Delivered · kling-v3 std 5 s")
    assert f"[Open](https://discord.com/channels/{GUILD}/77/5006)" in (first.value or "")
    assert page.embed.footer.text == "Page 2 of 3 · 12 videos"


def test_history_entries_are_inert_and_show_failures() -> None:
    hostile = VideoRequest(action=Action.TEXT2VIDEO, model=Model.V1, prompt="@everyone <@123> **loud**")
    failed = job(1, state=JobState.FAILED, request=hostile, message_id=None, error_code="content_refused")
    page = history_page(HistoryQuery(GUILD, MEMBER, None), [failed], page=0, total=1)
    value = page.embed.fields[0].value or ""
    assert "@everyone" not in value
    assert "<@123>" not in value
    assert "reason: content\\_refused" in value
    assert "[Open]" not in value
    assert f"by <@{MEMBER}>" in value  # the whole-server view says whose job it was


def test_empty_history_and_page_arithmetic() -> None:
    page = history_page(HistoryQuery(GUILD, MEMBER, MEMBER, HistoryStatus.FAILED), [], page=0, total=0)
    assert page.embed.description == "No videos match."
    assert page.entries == ()
    assert page_count(0) == 1
    assert page_count(PAGE_SIZE) == 1
    assert page_count(PAGE_SIZE + 1) == 2
    assert clamp_page(-1, 12) == 0
    assert clamp_page(9, 12) == 2
    assert result_link(job(1, message_id=None)) is None


class FakeHistoryStore:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.calls: list[dict[str, Any]] = []

    async def count_history(self, guild_id: int, **filters: Any) -> int:
        return len(self.jobs)

    async def history(self, guild_id: int, *, limit: int, offset: int, **filters: Any) -> list[Job]:
        self.calls.append({"guild_id": guild_id, "limit": limit, "offset": offset, **filters})
        after = filters.get("after")
        if after is not None:  # keyset: the jobs after that one
            offset += [job.id for job in self.jobs].index(after) + 1
        return self.jobs[offset : offset + limit]

    async def story_parents(self, job_ids: Any) -> dict[str, str]:
        return {}


async def test_history_view_has_rerun_buttons_and_page_buttons_at_the_bounds() -> None:
    store = FakeHistoryStore([job(n) for n in range(1, 8)])
    query = HistoryQuery(GUILD, MEMBER, MEMBER, HistoryStatus.DELIVERED)
    view = HistoryView(store, query)  # type: ignore[arg-type]
    await view.load(0)
    ids = [getattr(item, "custom_id", None) for item in view.children]
    assert ids[:PAGE_SIZE] == [f"kling:rerun:{n:032x}" for n in range(1, 6)]
    labels = {getattr(item, "label", None): item for item in view.children}
    assert getattr(labels["Previous"], "disabled", None) is True
    assert getattr(labels["Next"], "disabled", None) is False
    assert store.calls[-1] == {
        "guild_id": GUILD,
        "limit": PAGE_SIZE,
        "offset": 0,
        "member_id": MEMBER,
        "states": (JobState.DELIVERED,),
    }
    shown = await view.load(5)  # past the end: the last page
    assert shown.page == 1
    assert [entry.number for entry in shown.entries] == [6, 7]
    labels = {getattr(item, "label", None): item for item in view.children}
    assert getattr(labels["Next"], "disabled", None) is True
    assert (
        sum(1 for item in view.children if str(getattr(item, "custom_id", "")).startswith("kling:rerun")) == 2
    )
    view.stop()


# --- /usage ---------------------------------------------------------------------------------------


def test_usage_lists_the_biggest_spenders_first_and_cuts_the_rest() -> None:
    members = [
        UsageRow(key=str(1000 + n), videos=n, credits=float(n * 10), failures=n % 2) for n in range(15)
    ]
    models = [UsageRow(key="kling-v1", videos=2, credits=20, failures=0), UsageRow("kling-v3", 1, 35.5, 1)]
    report = UsageReport(
        since=NOW - 7 * 86_400,
        total_videos=105,
        total_credits=1050.0,
        failures=7,
        by_model=models,
        by_member=members,
    )
    embed = usage_embed(report, days=7)
    fields = {field.name: field.value or "" for field in embed.fields}
    assert (fields["Videos"], fields["Credits spent"], fields["Failures"]) == ("105", "1050 credits", "7")
    member_lines = fields["By member"].splitlines()
    assert member_lines[0] == "<@1014>: 14 videos · 140 credits"
    assert member_lines[1] == "<@1013>: 13 videos · 130 credits · 1 failed"
    assert len(member_lines) == TOP_ROWS + 1
    assert member_lines[-1] == f"…and {15 - TOP_ROWS} more"
    assert fields["By model"].splitlines()[0] == "`kling-v3`: 1 video · 35.5 credits · 1 failed"
    assert embed.title == "Video usage over the last 7 days"


def test_usage_window() -> None:
    assert usage_since(NOW, 30) == NOW - 30 * 86_400
    with pytest.raises(ValueError):
        usage_since(NOW, 0)


# --- permissions of the command definitions ---------------------------------------------------------


def command_tree() -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    bot: Any = SimpleNamespace()
    return [LimitsCog(bot).__cog_app_commands_group__, *MembersCog(bot).__cog_app_commands__]  # type: ignore[list-item]


def leaves(command: Any) -> list[app_commands.Command[Any, ..., Any]]:
    if isinstance(command, app_commands.Group):
        return [leaf for child in command.commands for leaf in leaves(child)]
    return [command]


def interaction_with(permissions: discord.Permissions) -> Any:
    return SimpleNamespace(permissions=permissions)


MODERATOR_COMMANDS = {"limits", "usage"}


async def passes_checks(
    command: app_commands.Command[Any, ..., Any], permissions: discord.Permissions
) -> bool:
    for check in command.checks:
        try:
            if not await discord.utils.maybe_coroutine(check, interaction_with(permissions)):
                return False
        except app_commands.MissingPermissions:
            return False
    return True


async def test_every_moderator_command_checks_manage_server_in_code() -> None:
    moderator_leaves = [
        leaf for top in command_tree() if top.name in MODERATOR_COMMANDS for leaf in leaves(top)
    ]
    assert len(moderator_leaves) >= 14
    member = discord.Permissions(send_messages=True, manage_messages=True)
    for leaf in moderator_leaves:
        assert not await passes_checks(leaf, member), leaf.qualified_name
        assert await passes_checks(leaf, discord.Permissions(manage_guild=True)), leaf.qualified_name


async def test_member_commands_need_no_permission() -> None:
    member_leaves = [top for top in command_tree() if top.name not in MODERATOR_COMMANDS]
    assert {leaf.name for leaf in member_leaves} == {"quota", "history"}
    for leaf in member_leaves:
        assert await passes_checks(leaf, discord.Permissions.none())  # type: ignore[arg-type]


def test_commands_are_guild_only_and_hidden_from_members_by_default() -> None:
    for top in command_tree():
        assert top.guild_only, top.name
        assert top.allowed_installs is not None and top.allowed_installs.guild, top.name
        assert not top.allowed_installs.user, top.name
        expected = discord.Permissions(manage_guild=True) if top.name in MODERATOR_COMMANDS else None
        assert top.default_permissions == expected, top.name


def test_is_moderator_matches_the_in_code_check() -> None:
    assert is_moderator(discord.Permissions(manage_guild=True))
    assert not is_moderator(discord.Permissions(manage_messages=True, ban_members=True))


def test_command_texts_fit_discord_limits() -> None:
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    payloads = [top.to_dict(tree) for top in command_tree()]

    def walk(node: dict[str, Any]) -> None:
        assert 1 <= len(node["description"]) <= 100, node["name"]
        assert node["description"] != "…", f"{node['name']} has no description"
        for child in node.get("options", []):
            walk(child)

    for payload in payloads:
        walk(payload)


def test_limits_form_fields_are_the_set_command_options() -> None:
    """A renamed option would otherwise silently stop reaching apply_form's error messages."""
    set_command = next(leaf for leaf in leaves(command_tree()[0]) if leaf.name == "set")
    options = {parameter.name for parameter in set_command.parameters}
    assert options == set(LimitsForm.__dataclass_fields__)

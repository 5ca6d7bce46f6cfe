"""The moderators' tools without Discord: the panel's forms and selects, presets, the mod-log's
entries and refusal kinds, and lines that fit on a phone."""

from __future__ import annotations

import pytest

from bot.discord_app.access import Refusal
from bot.discord_app.history_pages import HistoryQuery, history_page
from bot.discord_app.limit_presets import PRESETS, apply_preset, preset_named
from bot.discord_app.limit_settings import (
    ChannelChoice,
    LimitsForm,
    apply_form,
    form_options,
    option_text,
    set_channels,
    set_exempt_roles,
)
from bot.discord_app.limits_panel import (
    FORMS,
    available_forms,
    models_change,
    modes_change,
    toggle_change,
    typed_changes,
)
from bot.discord_app.modlog import Attempt, Outcome, RefusalKind, attempt_entry, job_entry, refusal_kind
from bot.discord_app.phone import PHONE_WIDTH, display_width, pack
from bot.discord_app.quota_report import quota_embed, quota_status
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.quota.models import GuildLimits, LimitUnit, UsageSnapshot
from bot.storage.base import JobState
from tests.history_samples import GUILD, MEMBER, NOW, job

TEXT = __import__("discord").ChannelType.text
CATEGORY = __import__("discord").ChannelType.category


# --- the panel's forms ------------------------------------------------------------------------------


def test_every_declared_field_fits_discord_and_known_ones_are_offered() -> None:
    for form in FORMS:
        assert len(form.title) <= 45 and len(form.fields) <= 5
        assert all(len(field.label) <= 45 for field in form.fields)
    known = set(form_options()) | set(GuildLimits.model_fields)
    offered = [field.option for form in available_forms() for field in form.available()]
    assert offered and set(offered) <= known
    assert {"guild_daily", "member_cooldown", "timezone", "default_model"} <= set(offered)


def submitted(limits: GuildLimits, edits: dict[str, str]) -> GuildLimits | None:
    """Every available form filled in as the panel pre-fills it, with `edits` typed over it."""
    after = limits
    for form in available_forms():
        prefilled = {field.option: option_text(after, field.option) for field in form.available()}
        typed = prefilled | {k: v for k, v in edits.items() if k in prefilled}
        change = form.change(prefilled, typed, Model.V1)
        if change is not None:
            after = change(after).limits
    return after


@pytest.mark.parametrize(
    "limits",
    [
        GuildLimits(),
        GuildLimits(unit=LimitUnit.CREDITS, guild_daily=12.5, member_daily=0, member_cooldown_seconds=5400),
        GuildLimits(member_concurrent=None, guild_concurrent=1, max_duration=10, timezone="Europe/Paris"),
        GuildLimits(default_model=Model.V3, default_mode=Mode.PRO, default_duration=10),
    ],
)
def test_prefilled_text_sent_back_changes_nothing(limits: GuildLimits) -> None:
    for form in available_forms():
        prefilled = {field.option: option_text(limits, field.option) for field in form.available()}
        assert form.change(prefilled, dict(prefilled), Model.V1) is None
    # And the texts parse back to the same values when they are applied.
    options = [f.option for form in available_forms() for f in form.available() if f.option in form_options()]
    assert apply_form(limits, LimitsForm(**{o: option_text(limits, o) for o in options})).limits == limits


def test_only_edited_fields_are_applied() -> None:
    prefilled = {"guild_daily": "none", "member_daily": "3"}
    assert typed_changes(prefilled, {"guild_daily": "none", "member_daily": " 3 "}) is None
    assert typed_changes(prefilled, {"guild_daily": "none", "member_daily": "5"}) == {"member_daily": "5"}
    # Clearing a field means "no limit", like typing none.
    assert typed_changes(prefilled, {"guild_daily": "none", "member_daily": ""}) == {"member_daily": ""}
    after = submitted(GuildLimits(member_daily=3, guild_daily=9), {"member_daily": "5"})
    assert after is not None and (after.member_daily, after.guild_daily) == (5, 9)


def test_server_defaults_follow_the_defaults_rules() -> None:
    after = submitted(GuildLimits(), {"default_model": "kling-v2-6", "default_duration": "10"})
    assert after is not None and (after.default_model, after.default_duration) == (Model.V2_6, 10)
    form = next(form for form in FORMS if form.key == "defaults")
    prefilled = {field.option: option_text(after, field.option) for field in form.available()}
    update_change = form.change(
        prefilled, prefilled | {"default_model": "none", "default_duration": ""}, Model.V1
    )
    assert update_change is not None
    cleared = update_change(after)
    assert cleared.limits.default_model is None and any("Server defaults" in c for c in cleared.changes)
    for bad, words in (({"default_duration": "soon"}, "whole"), ({"default_model": "kling-v9"}, "model")):
        change = form.change(prefilled, prefilled | bad, Model.V1)
        assert change is not None
        with pytest.raises(Refusal, match=words):
            change(after)
    only_v1 = GuildLimits(allowed_models=frozenset({Model.V1}))
    change = form.change(prefilled, prefilled | {"default_model": "kling-v3"}, Model.V1)
    assert change is not None
    with pytest.raises(Refusal, match="enabled"):
        change(only_v1)


def test_out_of_range_numbers_are_refused_with_every_problem_named() -> None:
    form = typed_changes(
        {"member_daily": "3", "member_concurrent": "2"}, {"member_daily": "-1", "member_concurrent": "0"}
    )
    assert form is not None
    with pytest.raises(Refusal) as refused:
        apply_form(GuildLimits(), LimitsForm(**form))
    assert "member_daily" in str(refused.value) and "member_concurrent" in str(refused.value)


def test_selects_and_toggles_change_what_they_show() -> None:
    limits = GuildLimits()
    picked = models_change(["kling-v1", "kling-v3"])(limits)
    assert picked.limits.allowed_models == {Model.V1, Model.V3}
    assert picked.changes == ("Models: All → kling-v1, kling-v3",)
    assert models_change([m.value for m in Model])(picked.limits).limits.allowed_models is None
    assert modes_change(["std"])(limits).limits.allowed_modes == {Mode.STD}
    assert "4K: Allowed → Off" in toggle_change("allow_4k")(limits).changes
    assert toggle_change("allow_audio")(GuildLimits(allow_audio=False)).limits.allow_audio


def test_channel_and_role_pickers_replace_the_whole_list() -> None:
    update = set_channels(GuildLimits(), [ChannelChoice(1, TEXT), ChannelChoice(2, TEXT)])
    assert update.limits.allowed_channels == {1, 2} and "only in the listed" in update.notes[0]
    assert "any channel" in set_channels(update.limits, []).notes[0]
    with pytest.raises(Refusal, match="text channel"):
        set_channels(GuildLimits(), [ChannelChoice(3, CATEGORY)])
    with pytest.raises(Refusal, match="At most"):
        set_channels(GuildLimits(), [ChannelChoice(n, TEXT) for n in range(60)])
    assert set_exempt_roles(GuildLimits(), [7]).limits.exempt_roles == {7}


def test_presets_are_valid_settings_and_moderators_only_exempts_their_roles() -> None:
    for preset in PRESETS:
        update = apply_preset(GuildLimits(), preset, moderator_role_ids=[99])
        assert update.changed and len(preset.summary) <= 100
    mods = apply_preset(GuildLimits(), preset_named("mods"), moderator_role_ids=[99])
    assert mods.limits.member_daily == 0 and mods.limits.exempt_roles == {99}
    lonely = apply_preset(GuildLimits(), preset_named("mods"), moderator_role_ids=[])
    assert any("Exempt roles" in note for note in lonely.notes)
    small = apply_preset(GuildLimits(), preset_named("small"), moderator_role_ids=[]).limits
    assert (small.member_daily, small.member_cooldown_seconds, small.allow_4k) == (3, 120, False)


# --- the mod-log ----------------------------------------------------------------------------------------


def test_a_job_entry_links_and_shows_member_excerpt_model_cost_outcome_and_time() -> None:
    hostile = VideoRequest(action=Action.TEXT2VIDEO, model=Model.V3, prompt="@everyone <@123> **loud** " * 20)
    entry = job_entry(job(1, request=hostile, finished_at=NOW), Outcome.DELIVERED)
    fields = {field.name: field.value or "" for field in entry.fields}
    assert f"https://discord.com/channels/{GUILD}/77/5001" in fields["Message"]
    assert fields["Member"] == f"<@{MEMBER}>"
    assert fields["Model"] == "kling-v3 · std · 5 s" and fields["Cost"] == "35 credits"
    assert fields["Outcome"] == "Delivered" and f"<t:{int(NOW)}:f>" in fields["Time"]
    description = entry.description or ""
    assert "@everyone" not in description and "<@123>" not in description and len(description) <= 160
    failed = job_entry(job(2, state=JobState.FAILED, error_code="timed_out"), Outcome.FAILED)
    failed_fields = {field.name: field.value or "" for field in failed.fields}
    assert "not charged" in failed_fields["Cost"] and "took too long" in failed_fields["Outcome"]


def test_refusals_are_logged_with_the_rule_that_applied() -> None:
    request = VideoRequest(action=Action.TEXT2VIDEO, model=Model.V1, prompt="a red dragon")
    blocked = GuildLimits(blocked_words=("dragon",))
    assert refusal_kind(blocked, request, channel_id=1, is_moderator=False) is RefusalKind.BLOCKED_WORD
    channels = GuildLimits(allowed_channels=frozenset({5}))
    assert refusal_kind(channels, request, channel_id=1, is_moderator=False) is RefusalKind.CHANNEL
    models = GuildLimits(allowed_models=frozenset({Model.V3}))
    assert refusal_kind(models, request, channel_id=1, is_moderator=False) is RefusalKind.SERVER_RULE
    assert refusal_kind(GuildLimits(), request, channel_id=1, is_moderator=False) is RefusalKind.BUDGET
    entry = attempt_entry(
        Attempt(GUILD, 1, MEMBER, request, "You have used all of …", NOW), RefusalKind.BUDGET
    )
    assert entry.title is not None and "budget or quota" in entry.title
    assert entry.description == "a red dragon"


# --- phones ---------------------------------------------------------------------------------------------


def test_widths_count_markup_as_shown() -> None:
    assert display_width("<t:1700000000:R>") == 14
    assert display_width("[Open](https://discord.com/channels/1/2/3)") == 4
    assert pack(["aaaa", "bbbb", "cccc"], width=11) == "aaaa · bbbb\ncccc"


def test_history_and_quota_lines_fit_a_phone() -> None:
    longest = VideoRequest(action=Action.TEXT2VIDEO, model=Model.V2_1_MASTER, mode=Mode.PRO, duration=10)
    jobs = [
        job(n, request=longest, state=JobState.FAILED, error_code="content_refused", video_duration=245.0)
        for n in range(1, 6)
    ]
    page = history_page(HistoryQuery(GUILD, MEMBER, None), jobs, page=0, total=5)
    for field in page.embed.fields:
        facts = (field.value or "").splitlines()[1:]  # the first line is the prompt: prose may wrap
        assert all(display_width(line) <= PHONE_WIDTH for line in facts), facts
        assert display_width(field.name or "") <= PHONE_WIDTH
    limits = GuildLimits(unit=LimitUnit.CREDITS, member_daily=200, guild_monthly=4000)
    usage = UsageSnapshot(member_day_credits=12.5, guild_month_credits=999.5)
    status = quota_status(limits, usage, member_role_ids=(), now=NOW, resets=(NOW + 10, NOW + 20))
    for field in quota_embed(status).fields:
        assert all(display_width(line) <= PHONE_WIDTH for line in (field.value or "").splitlines()), field

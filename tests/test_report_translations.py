"""Every reply a member or moderator sees follows their Discord language: the refusals the domain
packages raise (capabilities, quota, attachments), and the texts of /quota, /history and /usage.
English stays exactly as it was."""

from __future__ import annotations

from datetime import date

import pytest

from bot.discord_app.history_pages import HistoryQuery, HistoryStatus, history_page
from bot.discord_app.i18n import SHIPPED_LOCALES, Catalogs, language, t
from bot.discord_app.phone import PHONE_WIDTH, display_width
from bot.discord_app.quota_report import quota_embed, quota_status
from bot.discord_app.usage_report import projection_text, usage_embed
from bot.kling.capabilities import RequestRefused, check_request
from bot.kling.models import Action, Mode, Model, VideoRequest
from bot.media import AttachmentRefused, inspect_image
from bot.quota.models import GuildLimits, LimitUnit, OperatorBudget, UsageSnapshot
from bot.quota.policy import evaluate, server_policy_refusal
from bot.quota.spending import MonthProjection
from bot.refusals import Text
from bot.storage.base import JobState, UsageReport, UsageRow
from tests.history_samples import GUILD, MEMBER, job
from tests.images import png_bytes
from tests.refusal_walk import walk_requests

NOW = 1_700_000_000.0
RESETS = (NOW + 3_600, NOW + 10 * 86_400)
LOCALES = sorted(SHIPPED_LOCALES)


@pytest.fixture(scope="module")
def shipped() -> Catalogs:
    return Catalogs.load()


@pytest.fixture(scope="module")
def walked_problems() -> list[Text]:
    unique: dict[str, Text] = {}
    for request in walk_requests():
        for problem in check_request(request):
            unique.setdefault(problem.message, problem.text)
    return list(unique.values())


# --- refusals of the domain packages ---------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_every_capability_refusal_a_member_can_get_is_translated(
    shipped: Catalogs, walked_problems: list[Text], locale: str
) -> None:
    assert len(walked_problems) > 40
    missing = {
        msgid
        for text in walked_problems
        for msgid in text.message_ids()
        if shipped.lookup(locale, msgid) is None
    }
    assert not missing, f"{locale} lacks: {sorted(missing)[:5]}"
    for text in walked_problems:
        shown = text.render(language(locale))
        assert shown != text.render(), f"{locale} shows English for {text.msgid!r}"
        assert "{" not in shown.replace("{{", "")


def test_a_refusal_with_several_problems_is_translated_whole() -> None:
    request = VideoRequest(
        action=Action.IMAGE2VIDEO,
        model=Model.V2_MASTER,
        mode=Mode.PRO,
        prompt="a fox",
        start_image_url="https://cdn.example.test/a.png",
        end_image_url="https://cdn.example.test/b.png",
    )
    refused = RequestRefused(check_request(request))
    assert str(refused).startswith("This video can't be made as asked:\n• kling-v2-master")
    japanese = refused.render(language("ja"))
    assert japanese.startswith("この内容では動画を作れません：\n• kling-v2-master")
    assert "（または kling-v3 を選択）" in japanese  # the "or pick" phrase is translated too
    chinese = refused.render(language("zh-CN"))
    assert chinese.startswith("无法按要求生成此视频：\n• ")
    assert refused.render(language("fr")) == str(refused)


def test_lists_in_a_refusal_read_as_the_language_lists_them() -> None:
    request = VideoRequest(action=Action.EXTEND, model=Model.V3, video_id="v")
    (problem,) = check_request(request)
    assert problem.message == "kling-v3 can't extend videos: pick kling-v1, kling-v1-6 or kling-v2-5-turbo."
    assert "kling-v1、kling-v1-6、またはkling-v2-5-turbo" in problem.text.render(language("ja"))
    assert "kling-v1、kling-v1-6或kling-v2-5-turbo" in problem.text.render(language("zh-CN"))


def _quota_refusals() -> list[Text]:
    """One refusal per kind of cap and state (zero, used up, too little left; member, server,
    operator's ceiling and all servers; day and month), plus the activity rules."""
    found = []
    budget_cases = [
        (GuildLimits(member_daily=0), UsageSnapshot(), OperatorBudget()),
        (GuildLimits(member_monthly=0), UsageSnapshot(), OperatorBudget()),
        (GuildLimits(guild_daily=0), UsageSnapshot(), OperatorBudget()),
        (GuildLimits(guild_monthly=0), UsageSnapshot(), OperatorBudget()),
        (GuildLimits(member_daily=2), UsageSnapshot(member_day_videos=2), OperatorBudget()),
        (GuildLimits(member_monthly=2), UsageSnapshot(member_month_videos=2), OperatorBudget()),
        (GuildLimits(guild_daily=2), UsageSnapshot(guild_day_videos=2), OperatorBudget()),
        (GuildLimits(guild_monthly=2), UsageSnapshot(guild_month_videos=2), OperatorBudget()),
        (
            GuildLimits(unit=LimitUnit.CREDITS, member_daily=10),
            UsageSnapshot(member_day_credits=5),
            OperatorBudget(),
        ),
        (
            GuildLimits(unit=LimitUnit.CREDITS, guild_monthly=10),
            UsageSnapshot(guild_month_credits=5),
            OperatorBudget(),
        ),
        (GuildLimits(), UsageSnapshot(), OperatorBudget(global_daily=0)),
        (GuildLimits(), UsageSnapshot(global_month_credits=100), OperatorBudget(global_monthly=100)),
        (GuildLimits(), UsageSnapshot(global_day_credits=95), OperatorBudget(global_daily=100)),
        (GuildLimits(), UsageSnapshot(guild_day_credits=100), OperatorBudget(server_daily=100)),
        (GuildLimits(), UsageSnapshot(guild_month_credits=95), OperatorBudget(server_monthly=100)),
        (GuildLimits(member_concurrent=1), UsageSnapshot(member_active_jobs=1), OperatorBudget()),
        (
            GuildLimits(member_cooldown_seconds=300),
            UsageSnapshot(member_last_job_at=NOW - 10),
            OperatorBudget(),
        ),
    ]
    for limits, usage, budget in budget_cases:
        decision = evaluate(
            limits, usage, cost=35.0, member_role_ids=(), now=NOW, resets=RESETS, budget=budget
        )
        assert not decision.allowed and decision.refusal is not None
        assert decision.reason == decision.refusal.render()
        found.append(decision.refusal)
    request = VideoRequest(
        action=Action.TEXT2VIDEO, model=Model.V3, mode=Mode.K4, duration=15, prompt="bad", generate_audio=True
    )
    rules = GuildLimits(
        allowed_models=frozenset({Model.V1}), max_duration=5, allow_audio=False, blocked_words=("bad",)
    )
    for limits in (rules, GuildLimits(allowed_channels=frozenset({5}))):
        refusal = server_policy_refusal(limits, request, channel_id=9, member_role_ids=(), is_moderator=False)
        assert refusal is not None
        found.append(refusal)
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_quota_and_server_rule_refusals_are_translated(shipped: Catalogs, locale: str) -> None:
    for text in _quota_refusals():
        missing = [msgid for msgid in text.message_ids() if shipped.lookup(locale, msgid) is None]
        assert not missing, f"{locale} lacks {missing}"
        shown = text.render(language(locale))
        assert shown != text.render()
        assert "<t:" in shown or "{" not in shown


def test_a_quota_refusal_keeps_its_reset_time_and_amounts_in_japanese() -> None:
    decision = evaluate(
        GuildLimits(member_daily=2),
        UsageSnapshot(member_day_videos=2),
        cost=35.0,
        member_role_ids=(),
        now=NOW,
        resets=RESETS,
    )
    assert decision.refusal is not None
    assert decision.reason.startswith("You have used all of your daily limit of 2 videos.")
    japanese = decision.refusal.render(language("ja"))
    assert (
        japanese
        == f"1日の上限動画2本を使い切りました。リセットは<t:{int(RESETS[0])}:R>です。その後にお試しください。"
    )


def test_attachment_refusals_are_translated() -> None:
    with pytest.raises(AttachmentRefused) as caught:
        inspect_image(png_bytes(100, 100), label="start_image")
    refusal = caught.value
    assert str(refusal).startswith("`start_image` is 100×100 px; both sides must be at least 300 px.")
    assert refusal.render(language("ja")).startswith("`start_image` は 100×100 px です。")
    assert refusal.render(language("zh-CN")).startswith("`start_image` 为 100×100 px")


# --- /quota ---------------------------------------------------------------------------------------


def _quota(locale: str | None) -> dict[str, str]:
    limits = GuildLimits(member_daily=4, guild_concurrent=3)
    usage = UsageSnapshot(
        member_day_videos=1, member_active_jobs=1, guild_running_jobs=3, guild_queued_jobs=2
    )
    status = quota_status(limits, usage, member_role_ids=(), now=NOW, resets=RESETS)
    embed = quota_embed(status, locale)
    fields = {field.name or "": field.value or "" for field in embed.fields}
    fields["title"] = embed.title or ""
    fields["footer"] = embed.footer.text or ""
    return fields


def test_quota_in_english_is_unchanged() -> None:
    fields = _quota(None)
    assert fields == _quota("en-US")
    assert fields["title"] == "Your video allowance"
    assert fields["You today"].startswith("**3 videos left** of 4 videos (1 video used)")
    assert fields["Server queue"] == "3 rendering (up to 3 at once), 2 waiting"
    assert fields["Your next video"] == "Now"


def test_quota_in_japanese() -> None:
    fields = _quota("ja")
    assert fields["title"] == "あなたの動画の残量"
    assert fields["あなた（今日）"].startswith("動画4本中 **残り動画3本**（使用 動画1本）")
    assert f"リセット: <t:{int(RESETS[0])}:R>" in fields["あなた（今日）"]
    assert fields["サーバーの順番待ち"] == "生成中 3（同時に3本まで）、待機 2"
    assert fields["次の動画"] == "今すぐ"
    assert "失敗・取消した動画は数えません" in fields["footer"]


def test_quota_in_chinese() -> None:
    fields = _quota("zh-CN")
    assert fields["title"] == "你的视频额度"
    assert fields["你（今天）"].startswith("4 个视频 中**剩余 3 个视频**（已用 1 个视频）")
    assert fields["服务器队列"] == "生成中 3（同时最多 3 个），等待 2"


# --- /history -------------------------------------------------------------------------------------


def _history(locale: str | None, *, everyone: bool = False) -> tuple[str, list[tuple[str, str]], str]:
    jobs = [job(n) for n in range(6, 11)]
    jobs[1] = job(7, state=JobState.FAILED, error_code="content_refused")
    query = HistoryQuery(
        GUILD, MEMBER, None if everyone else MEMBER, HistoryStatus.FAILED if everyone else None
    )
    page = history_page(query, jobs, page=1, total=12, locale=locale)
    fields = [(field.name or "", field.value or "") for field in page.embed.fields]
    return page.embed.title or "", fields, page.embed.footer.text or ""


def test_history_in_english_is_unchanged() -> None:
    assert _history(None) == _history("en-GB")
    title, fields, footer = _history(None)
    assert title == "Your videos"
    assert fields[0][0].startswith("6. ✅ Delivered · kling-v3 std 5 s")
    assert footer == "Page 2 of 3 · 12 videos"


@pytest.mark.parametrize(
    ("locale", "title", "delivered", "footer", "everyone"),
    [
        ("ja", "あなたの動画", "6. ✅ 完了 · kling-v3 std 5 s", "2/3ページ · 動画12本", "全員の動画 — 失敗"),
        (
            "zh-CN",
            "你的视频",
            "6. ✅ 已完成 · kling-v3 std 5 s",
            "第 2/3 页 · 12 个视频",
            "所有人的视频 — 失败",
        ),
    ],
)
def test_history_in_japanese_and_chinese(
    locale: str, title: str, delivered: str, footer: str, everyone: str
) -> None:
    shown_title, fields, shown_footer = _history(locale)
    assert (shown_title, shown_footer) == (title, footer)
    assert fields[0][0].startswith(delivered)
    assert t(locale, "[Open]({link})", link=f"https://discord.com/channels/{GUILD}/77/5006") in fields[0][1]
    assert t(locale, "reason: {code}", code="content\\_refused") in fields[1][1]
    assert _history(locale, everyone=True)[0] == everyone


@pytest.mark.parametrize("locale", [None, *LOCALES])
def test_history_lines_still_fit_a_phone(locale: str | None) -> None:
    for everyone in (False, True):
        _title, fields, _footer = _history(locale, everyone=everyone)
        for _name, value in fields:
            facts = value.split("\n")[1:]  # the first line is the member's prompt, which may wrap
            assert max(display_width(line) for line in facts) <= PHONE_WIDTH, (locale, facts)


# --- /usage ---------------------------------------------------------------------------------------


def _usage(locale: str | None) -> tuple[str, str, list[tuple[str, str]]]:
    report = UsageReport(
        since=NOW - 7 * 86_400,
        total_videos=3,
        total_credits=105.0,
        failures=1,
        by_model=[UsageRow("kling-v3", 3, 105.0, 1)],
        by_member=[UsageRow(str(MEMBER), 3, 105.0, 1)],
    )
    projection = MonthProjection(
        spent=105.0,
        limit=1000.0,
        today=date(2026, 11, 10),
        pace=10.5,
        runs_out_on=None,
        month_end_total=315.0,
    )
    text = projection_text(projection, LimitUnit.CREDITS, locale)
    embed = usage_embed(report, days=7, projection=text, chart=True, locale=locale)
    return embed.title or "", embed.description or "", [(f.name or "", f.value or "") for f in embed.fields]


def test_usage_in_english_is_unchanged() -> None:
    title, description, fields = _usage(None)
    assert title == "Video usage over the last 7 days"
    assert description.endswith(
        "📈 At this pace the monthly budget lasts the month: about 315 credits of 1000 credits by its end."
    )
    assert fields[1] == ("Credits spent", "105 credits")
    assert fields[3] == ("By model", "`kling-v3`: 3 videos · 105 credits · 1 failed")


def test_usage_in_japanese_and_chinese() -> None:
    title, description, fields = _usage("ja")
    assert title == "過去7日間の動画利用"
    assert "このペースなら月間予算は月末まで持ちます" in description
    assert fields[1] == ("使用クレジット", "105クレジット")
    assert fields[3] == ("モデル別", "`kling-v3`: 動画3本 · 105クレジット · 失敗 1")
    title, description, fields = _usage("zh-CN")
    assert title == "最近 7 天的视频用量"
    assert fields[4][0] == "按成员"


def test_usage_dates_follow_the_language() -> None:
    projection = MonthProjection(
        spent=900.0,
        limit=1000.0,
        today=date(2026, 11, 10),
        pace=90.0,
        runs_out_on=date(2026, 11, 12),
        month_end_total=2700.0,
    )
    assert projection_text(projection, LimitUnit.CREDITS) == projection.sentence(LimitUnit.CREDITS)
    assert "2026/11/12" in projection_text(projection, LimitUnit.CREDITS, "ja")
    assert "2026年11月12日" in projection_text(projection, LimitUnit.CREDITS, "zh-CN")


def test_plain_values_keep_their_format_spec() -> None:
    assert t(None, "{seconds:g} s", seconds=12.50) == "12.5 s"
    assert t("ja", "{seconds:g} s", seconds=3.0) == "3 s"


# --- /limits --------------------------------------------------------------------------------------


def test_limits_show_in_english_is_unchanged_and_in_japanese() -> None:
    from bot.discord_app.limit_settings import limits_embed

    limits = GuildLimits(member_daily=5, allow_audio=False)
    english = {f.name: f.value for f in limits_embed(limits).fields}
    assert english["Each member per day"] == "5 videos"
    assert english["Generated sound"] == "Off"
    assert english == {f.name: f.value for f in limits_embed(limits, locale="fr").fields}
    embed = limits_embed(limits, locale="ja")
    japanese = {f.name: f.value for f in embed.fields}
    assert embed.title == "このサーバーの動画の上限"
    assert japanese["メンバーごと（1日）"] == "動画5本"
    assert japanese["音声生成"] == "オフ"
    assert japanese["サーバー（1日）"] == "上限なし"
    chinese = {f.name: f.value for f in limits_embed(limits, locale="zh-CN").fields}
    assert chinese["每位成员（每天）"] == "5 个视频"


def test_limits_set_reply_and_refusal_follow_the_moderators_language() -> None:
    from bot.discord_app.access import Refusal
    from bot.discord_app.limit_settings import LimitsForm, apply_form, update_text

    update = apply_form(GuildLimits(), LimitsForm(member_daily="5"))
    assert update_text(update) == "Saved. Changed:\n• Each member per day: No limit → 5 videos"
    assert update_text(update, "ja") == "保存しました。変更点：\n• メンバーごと（1日）: 上限なし → 動画5本"
    assert update.changes == ("Each member per day: No limit → 5 videos",)  # the mod-log stays English
    with pytest.raises(Refusal) as caught:
        apply_form(GuildLimits(), LimitsForm(member_daily="lots", member_cooldown="soon"))
    assert str(caught.value).startswith(
        "Nothing was changed. Please fix:\n• **member_daily**: 'lots' isn't a number"
    )
    chinese = caught.value.render(language("zh-CN"))
    assert chinese.startswith("未做任何更改。请修正：\n• **member_daily**: 'lots' 不是数字")
    assert "无法理解等待时间 'soon'" in chinese


def test_the_confirmation_and_the_cost_note_follow_the_members_language() -> None:
    from bot.discord_app.confirmation import prompt_text
    from bot.discord_app.launch import cost_notes

    limits = GuildLimits(unit=LimitUnit.CREDITS, member_daily=10.0)
    decision = evaluate(
        limits, UsageSnapshot(member_day_credits=2.0), cost=4.0, member_role_ids=(), now=NOW, resets=RESETS
    )
    assert "Your credits today: 4 credits left after this video" in prompt_text(decision)
    japanese = prompt_text(decision, locale="ja")
    assert japanese.startswith("この動画は約 **4クレジット** かかります")
    assert "• あなたのクレジット（今日）：この動画の後の残り 4クレジット" in japanese
    assert "（2分以内）" in japanese
    assert cost_notes(decision) == [
        "This video costs about **4 credits** (an estimate; AceData bills the actual price).",
        "Your credits today: 4 left",
    ]
    assert cost_notes(decision, "zh-CN")[1] == "你的积分（今天）：剩余 4"

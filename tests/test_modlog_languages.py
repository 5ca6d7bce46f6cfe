"""Mod-log entries in the server's language (`guild.preferred_locale`) when a catalog ships for it,
English (byte for byte as before) otherwise."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import discord

from bot.discord_app.modlog import (
    Attempt,
    ModLog,
    Outcome,
    RefusalKind,
    attempt_entry,
    job_entry,
    server_locale,
    settings_entry,
)
from bot.jobs.service import NOT_ALLOWED_HERE
from bot.kling.models import Model
from bot.refusals import Text
from bot.storage.base import JobState
from tests.factories import T0, make_job, video_request


def _fields(embed: discord.Embed) -> dict[str, str]:
    return {str(field.name): str(field.value) for field in embed.fields}


def _client(**locales: Any) -> discord.Client:
    guilds = {int(key[1:]): SimpleNamespace(preferred_locale=value) for key, value in locales.items()}
    return cast(discord.Client, SimpleNamespace(get_guild=guilds.get))


def test_the_servers_language_is_used_when_a_catalog_ships() -> None:
    client = _client(g1=discord.Locale.japanese, g2=discord.Locale.chinese, g3=discord.Locale.french)
    assert server_locale(client, 1) == "ja"
    assert server_locale(client, 2) == "zh-CN"
    assert server_locale(client, 3) is None  # no French catalog: English
    assert server_locale(client, 4) is None  # not in the cache: English
    log = ModLog(client, cast(Any, None))
    assert log.locale_of(1) == "ja"


def test_english_entries_are_unchanged() -> None:
    failed = make_job(state=JobState.TIMED_OUT, error_code="timed_out", cost=2.5, message_id=None)
    entry = job_entry(failed, Outcome.FAILED)
    assert entry.title == "❌ Video failed"
    assert entry.footer.text == "Job 01234567"
    fields = _fields(entry)
    assert list(fields) == ["Member", "Model", "Cost", "Outcome", "Time", "Message"]
    assert fields["Cost"] == "~~2.5 credits~~ not charged"
    assert fields["Outcome"].startswith("timed out: ")
    assert fields["Message"] == "in <#7>"
    started = job_entry(make_job(request=video_request(None, model=Model.V1)), Outcome.STARTED, None)
    assert started.description == "*(no prompt)*"
    assert _fields(started)["Outcome"] == "Started" and _fields(started)["Cost"] == "1 credit"
    refused = attempt_entry(
        Attempt(42, 7, 1001, video_request(), "No.", T0, refusal=Text(NOT_ALLOWED_HERE)), RefusalKind.BUDGET
    )
    assert refused.title == "🚫 Request refused: budget or quota"
    assert _fields(refused)["Cost"] == "Nothing (refused before any request)"
    assert _fields(refused)["Outcome"] == "No."  # English keeps the reason as it was logged
    assert settings_entry(9, "Member daily: 3").title == "⚙️ Video settings changed"


def test_japanese_and_chinese_entries() -> None:
    failed = make_job(state=JobState.FAILED, error_code="timed_out", cost=2.5)
    entry = job_entry(failed, Outcome.FAILED, "ja")
    assert entry.title == "❌ 動画の作成失敗"
    fields = _fields(entry)
    assert list(fields) == ["メンバー", "モデル", "費用", "結果", "時刻", "メッセージ"]
    assert fields["費用"] == "~~2.5クレジット~~ 請求なし"
    assert fields["結果"].startswith("失敗：")
    assert "[メッセージを開く](https://discord.com/channels/42/7/4)" in fields["メッセージ"]
    assert entry.footer.text == "ジョブ 01234567"
    refused = attempt_entry(
        Attempt(42, 7, 1001, video_request(), "English reason", T0, refusal=Text(NOT_ALLOWED_HERE)),
        RefusalKind.CHANNEL,
        "zh-CN",
    )
    assert refused.title == "🚫 请求被拒绝：频道规则"
    chinese = _fields(refused)
    assert chinese["费用"] == "无（在发送任何请求前已拒绝）"
    assert "English reason" not in chinese["结果"] and chinese["结果"]
    assert settings_entry(9, "Member daily: 3", "ja").title == "⚙️ 動画の設定が変更されました"


# --- every entry, word for word, in English, Japanese and Chinese ----------------------------------
def test_a_delivered_entry_in_english_is_byte_for_byte_the_old_one() -> None:
    entry = job_entry(make_job(state=JobState.DELIVERED, cost=2.5, finished_at=T0 + 60), Outcome.DELIVERED)
    assert entry.title == "✅ Video delivered"
    assert entry.description == "a red fox running through snow"
    assert _fields(entry) == {
        "Member": "<@1001>",
        "Model": "kling-v1 · std · 5 s",
        "Cost": "2.5 credits",
        "Outcome": "Delivered",
        "Time": f"<t:{int(T0 + 60)}:f> (<t:{int(T0 + 60)}:R>)",
        "Message": "[Open](https://discord.com/channels/42/7/4) in <#7>",
    }
    assert entry.footer.text == "Job 01234567"


def test_each_outcome_and_failure_state_in_three_languages() -> None:
    started = make_job(cost=1.0)
    assert _fields(job_entry(started, Outcome.STARTED))["Outcome"] == "Started"
    assert _fields(job_entry(started, Outcome.STARTED, "ja"))["結果"] == "開始"
    assert _fields(job_entry(started, Outcome.STARTED, "zh-CN"))["结果"] == "已开始"
    assert job_entry(started, Outcome.STARTED, "ja").title == "▶️ 動画の作成開始"
    assert job_entry(started, Outcome.STARTED, "zh-CN").title == "▶️ 视频已开始"
    timed_out = make_job(state=JobState.TIMED_OUT, error_code="timed_out", cost=2.5)
    english = _fields(job_entry(timed_out, Outcome.FAILED))
    assert english["Outcome"] == "timed out: The video took too long"
    assert english["Cost"] == "~~2.5 credits~~ not charged"
    assert (
        _fields(job_entry(timed_out, Outcome.FAILED, "ja"))["結果"]
        == "タイムアウト：動画の生成に時間がかかりすぎました"
    )
    chinese = _fields(job_entry(timed_out, Outcome.FAILED, "zh-CN"))
    assert chinese["结果"].startswith("超时：") and "took" not in chinese["结果"]
    assert chinese["费用"] == "~~2.5 积分~~ 未收费"
    assert job_entry(timed_out, Outcome.FAILED, "zh-CN").footer.text == "任务 01234567"


def test_a_job_started_from_a_dm_says_so_in_each_language() -> None:
    job = make_job(channel_id=55, message_id=9)
    assert _fields(job_entry(job, Outcome.STARTED, in_dm=True))["Message"] == (
        "[Open](https://discord.com/channels/@me/55/9) in a DM with the member"
    )
    no_message = make_job(channel_id=55, message_id=None)
    assert _fields(job_entry(no_message, Outcome.STARTED, in_dm=True))["Message"] == "in a DM with the member"
    assert _fields(job_entry(job, Outcome.STARTED, "ja", in_dm=True))["メッセージ"] == (
        "メンバーとの DM の[メッセージを開く](https://discord.com/channels/@me/55/9)"
    )
    assert (
        _fields(job_entry(no_message, Outcome.STARTED, "zh-CN", in_dm=True))["消息"] == "在与该成员的私信中"
    )
    assert _fields(job_entry(no_message, Outcome.STARTED, "ja"))["メッセージ"] == "<#55> 内"


def test_a_refused_request_in_each_language() -> None:
    attempt = Attempt(
        42, 7, 1001, video_request(None), str(Text(NOT_ALLOWED_HERE)), T0, refusal=Text(NOT_ALLOWED_HERE)
    )
    english = attempt_entry(attempt, RefusalKind.SERVER_RULE)
    assert english.title == "🚫 Request refused: server rule"
    assert english.description == "*(no prompt)*"
    assert _fields(english) == {
        "Member": "<@1001>",
        "Model": "kling-v1 · std · 5 s",
        "Cost": "Nothing (refused before any request)",
        "Outcome": str(Text(NOT_ALLOWED_HERE)),
        "Time": f"<t:{int(T0)}:f> (<t:{int(T0)}:R>)",
        "Channel": "<#7>",
    }
    japanese = attempt_entry(attempt, RefusalKind.BLOCKED_WORD, "ja")
    assert japanese.title == "🚫 リクエスト拒否：禁止ワード"
    assert japanese.description == "*（プロンプトなし）*"
    assert _fields(japanese)["結果"].startswith("このサーバーでは")
    # Without a translatable text (an older caller), the logged reason is kept as it was.
    plain = Attempt(42, 7, 1001, video_request(), "As logged.", T0)
    assert _fields(attempt_entry(plain, RefusalKind.BUDGET, "zh-CN"))["结果"] == "As logged."


def test_a_settings_change_in_each_language() -> None:
    english = settings_entry(9, "Member daily: 3")
    assert (english.title, english.description) == ("⚙️ Video settings changed", "Member daily: 3")
    assert list(_fields(english)) == ["By", "Time"] and _fields(english)["By"] == "<@9>"
    assert list(_fields(settings_entry(9, "x", "ja"))) == ["変更者", "時刻"]
    chinese = settings_entry(9, "Member daily: 3", "zh-CN")
    assert chinese.title == "⚙️ 视频设置已更改" and chinese.description == "Member daily: 3"  # as typed
    assert list(_fields(chinese)) == ["操作者", "时间"]


# --- posts through ModLog: the server's language chosen per server ----------------------------------
class _Channel:
    def __init__(self, fail: int | None = None) -> None:
        self.sent: list[str | None] = []
        self.fail = fail

    async def send(self, content: str | None = None, **_: Any) -> None:
        if self.fail is not None:
            raise discord.HTTPException(
                cast(Any, SimpleNamespace(status=self.fail, reason="Forbidden")), "no"
            )
        self.sent.append(content)


class _Permissions(SimpleNamespace):
    pass


class _Guild:
    def __init__(self, guild_id: int, locale: discord.Locale, missing: tuple[str, ...] = ()) -> None:
        self.id = guild_id
        self.preferred_locale = locale
        self.me = object()
        self.missing = missing

    def get_channel(self, channel_id: int) -> Any:
        names = ("view_channel", "send_messages", "embed_links")
        granted = _Permissions(**{name: name not in self.missing for name in names})
        return SimpleNamespace(permissions_for=lambda member: granted)


class _Client:
    def __init__(self, guilds: list[_Guild], channel: _Channel) -> None:
        self.guilds = guilds
        self.channel = channel

    def get_guild(self, guild_id: int) -> _Guild | None:
        return next((guild for guild in self.guilds if guild.id == guild_id), None)

    def get_partial_messageable(self, channel_id: int) -> _Channel:
        return self.channel


class _LimitsStore:
    async def get_limits(self, guild_id: int) -> Any:
        from bot.quota.models import GuildLimits

        return GuildLimits(modlog_channel_id=5)


def _modlog(guilds: list[_Guild], channel: _Channel) -> ModLog:
    return ModLog(cast(discord.Client, _Client(guilds, channel)), cast(Any, _LimitsStore()))


async def _settle(log: ModLog) -> None:
    import asyncio

    while log._tasks:
        await asyncio.gather(*list(log._tasks))


async def test_service_alerts_go_to_each_server_in_its_own_language() -> None:
    from bot.jobs.circuit import CircuitEvent, CircuitEventKind, OpenReason

    channel = _Channel()
    guilds = [_Guild(1, discord.Locale.japanese), _Guild(2, discord.Locale.american_english)]
    log = _modlog(guilds, channel)
    await log.circuit_changed(CircuitEvent(CircuitEventKind.CLOSED, OpenReason.OUTAGE))
    await _settle(log)
    assert sorted(str(text) for text in channel.sent) == [
        "✅ AceData works again: new videos are accepted and queued ones are starting.",
        "✅ AceData が復旧しました。新しい動画を受け付け、待機中の動画を開始しています。",
    ]


async def test_the_modlog_permission_check_speaks_the_moderators_language() -> None:
    from bot.discord_app.i18n import t

    channel = _Channel()
    log = _modlog([_Guild(1, discord.Locale.chinese, missing=("send_messages", "embed_links"))], channel)
    problem = await log.probe(1, 5, 9)
    assert problem is not None and channel.sent == []  # nothing posted where it can't be read
    assert str(problem) == (
        "I can't post in <#5>: I'm missing **Send Messages**, **Embed Links** there. "
        "Grant them or pick another channel. Nothing changed."
    )
    assert t("ja", "{problem}", problem=problem) == (
        "<#5> に投稿できません：そこでの **メッセージを送信**, **埋め込みリンク** 権限がありません。"
        "権限を付与するか、別のチャンネルを選んでください。何も変更していません。"
    )
    assert t("zh-CN", "{problem}", problem=problem).startswith(
        "我无法在 <#5> 发布消息：我在那里缺少 **发送消息**, **嵌入链接** 权限"
    )
    refused = _modlog([], _Channel(fail=403))
    problem = await refused.probe(1, 5, 9)
    assert problem is not None
    assert str(problem) == (
        "I can't post in <#5> (Discord answered 403): give me View Channel, Send Messages and Embed Links "
        "there, or pick another channel. Nothing changed."
    )
    assert "「チャンネルを見る」「メッセージを送信」「埋め込みリンク」" in t("ja", "{p}", p=problem)
    assert "Discord 返回 403" in t("zh-CN", "{p}", p=problem)


async def test_a_channel_the_bot_can_use_becomes_the_modlog_with_a_notice_in_the_servers_language() -> None:
    channel = _Channel()
    log = _modlog([_Guild(1, discord.Locale.japanese)], channel)
    assert await log.probe(1, 5, 9) is None
    assert channel.sent == [
        "📋 このチャンネルは動画のモデレーションログになりました（設定：<@9>）。"
        "動画、拒否されたリクエスト、設定の変更がここに投稿されます。"
    ]

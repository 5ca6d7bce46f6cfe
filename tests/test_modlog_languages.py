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

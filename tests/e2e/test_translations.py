"""End to end: the bot answers in the member's Discord language and syncs translated commands."""

from __future__ import annotations

import pytest

from bot.discord_app.help_text import SECTIONS
from bot.discord_app.i18n import catalogs
from bot.jobs import inline_flags
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import CALLBACK, ephemeral_refusal, paid_creates
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

ONLY_MANAGERS = "Only members with **{permission}** can do that."


@pytest.mark.parametrize("locale", ["ja", "zh-CN"])
async def test_a_refusal_is_written_in_the_members_language(
    bot_harness: BotHarness, fake_discord: FakeDiscord, locale: str
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command(
        "limits", {"guild_daily": "0"}, subcommand=["set"], locale=locale
    )
    text = await ephemeral_refusal(sent)

    translated = catalogs().lookup(locale, ONLY_MANAGERS)
    assert translated is not None
    # The permission by the name the member's Discord shows in its settings ("サーバー管理").
    permission = catalogs().lookup(locale, "Manage Server")
    assert permission is not None and permission != "Manage Server"
    assert text == translated.format(permission=permission)


async def test_english_is_the_fallback_for_a_language_without_a_catalog(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command(
        "limits", {"guild_daily": "0"}, subcommand=["set"], locale="fr"
    )
    assert await ephemeral_refusal(sent) == ONLY_MANAGERS.format(permission="Manage Server")


async def test_commands_are_synced_with_their_translations(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    synced = [command for commands in fake_discord.commands.values() for command in commands]
    video = next(command for command in synced if command["name"] == "video")
    assert video["name_localizations"] == {"ja": "動画", "zh-CN": "视频"}
    assert video["description_localizations"]["ja"] == catalogs().lookup("ja", video["description"])
    prompt = next(option for option in video["options"] if option["name"] == "prompt")
    assert prompt["name_localizations"]["zh-CN"] == "提示词"


@pytest.mark.parametrize(
    ("locale", "title", "video"),
    [("ja", "Kling で動画を作る", "/動画"), ("zh-CN", "用 Kling 制作视频", "/视频")],
)
async def test_help_is_written_in_the_members_language(
    bot_harness: BotHarness, fake_discord: FakeDiscord, locale: str, title: str, video: str
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("help", locale=locale)
    call = await sent.wait_for_call(lambda c: c.route == CALLBACK)
    embed = call.json["data"]["embeds"][0]
    assert call.json["data"]["flags"] & 64  # still private
    assert embed["title"] == title
    assert video in embed["description"]
    assert len(embed["fields"]) == len(SECTIONS)
    for field, (name, value) in zip(embed["fields"], SECTIONS, strict=True):
        assert field["name"] == catalogs().lookup(locale, name)
        assert field["value"] == catalogs().lookup(locale, value)
        assert field["value"] != value
    # The inline parameters are the same in every language.
    assert "--ar 9:16" in embed["fields"][1]["value"]


async def test_a_mistyped_inline_flag_is_refused_in_japanese_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("video", {"prompt": "雪の中のキツネ --d ten"}, locale="ja")
    text = await ephemeral_refusal(sent)

    assert text == "`--d ten` は使えません。`--d 10` のように秒数を整数で書いてください。"
    assert (
        catalogs().lookup("ja", inline_flags.BAD_DURATION)
        == "`{flag} {value}` は使えません。`--d 10` のように秒数を整数で書いてください。"
    )
    assert paid_creates(fake_acedata) == 0


async def test_an_unknown_inline_flag_with_a_hint_is_refused_in_chinese(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("video", {"prompt": "a fox --arr 9:16"}, locale="zh-CN")
    text = await ephemeral_refusal(sent)

    assert text.startswith("我不认识内联参数 `--arr`。你是想用 `--ar` 吗？")
    assert "`--camera`" in text


async def test_defaults_replies_and_refusals_follow_the_members_language(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    saved = await fake_discord.send_slash_command(
        "defaults", {"aspect_ratio": "9:16"}, subcommand=["set"], locale="ja"
    )
    call = await saved.wait_for_call(lambda c: c.route == CALLBACK)
    assert call.json["data"]["content"].startswith("保存しました。")
    assert "縦横比 **9:16**" in call.json["data"]["content"]

    shown = await fake_discord.send_slash_command("defaults", {}, subcommand=["show"], locale="zh-CN")
    call = await shown.wait_for_call(lambda c: c.route == CALLBACK)
    assert "**你的默认设置：** 画面比例 **9:16**" in call.json["data"]["content"]

    refused = await fake_discord.send_slash_command(
        "defaults", {"model": "no-such-model"}, subcommand=["set"], locale="zh-CN"
    )
    assert (
        await ephemeral_refusal(refused) == "`no-such-model` 不是我认识的模型。请在输入时从列表中选择一个。"
    )

"""End to end: the bot answers in the member's Discord language and syncs translated commands."""

from __future__ import annotations

import pytest

from bot.discord_app.i18n import catalogs
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import ephemeral_refusal

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
    assert text == translated.format(permission="Manage Server")


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

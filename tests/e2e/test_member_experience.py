"""End-to-end: the member experience of issue 13 through the real bot and the fakes."""

from __future__ import annotations

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    CALLBACK,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    paid_creates,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def test_inline_flags_reach_the_request_vanish_from_the_prompt_and_are_echoed(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await run_video(
        fake_discord,
        {"prompt": "a lighthouse in a storm --ar 9:16 --d 10 --m v2.6 --no blur, text --cfg 0.4"},
    )
    await delivered_upload(fake_discord, sent)

    [task] = fake_acedata.tasks.values()
    assert task.request["prompt"] == "a lighthouse in a storm"
    assert (task.request["aspect_ratio"], task.request["duration"], task.request["model"]) == (
        "9:16",
        10,
        "kling-v2-6",
    )
    assert (task.request["negative_prompt"], task.request["cfg_scale"]) == ("blur, text", 0.4)
    progress = [embed_text(c.json) for c in sent.calls if c.method == "PATCH" and c.json]
    assert any("--ar 9:16" in text and "--d 10" in text for text in progress)


async def test_a_mistyped_flag_is_refused_at_once_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("video", {"prompt": "a fox --arr 9:16"})
    text = await ephemeral_refusal(sent)
    assert "--arr" in text and "--ar" in text
    assert paid_creates(fake_acedata) == 0


async def test_server_and_member_defaults_apply_to_a_bare_prompt(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    refused = await fake_discord.send_slash_command("defaults", {"model": "kling-v3"}, subcommand=["server"])
    assert "moderators" in await ephemeral_refusal(refused)
    server = await fake_discord.send_slash_command(
        "defaults", {"model": "kling-v3", "duration": 8}, subcommand=["server"], user=fake_discord.owner
    )
    assert (await server.response()).status == 200
    member = await fake_discord.send_slash_command("defaults", {"aspect_ratio": "1:1"}, subcommand=["set"])
    assert (await member.response()).status == 200

    sent = await run_video(fake_discord, {"prompt": "a quiet harbour"})
    await delivered_upload(fake_discord, sent)
    [task] = fake_acedata.tasks.values()
    assert (task.request["model"], task.request["duration"], task.request["aspect_ratio"]) == (
        "kling-v3",
        8,
        "1:1",
    )


async def test_help_is_a_short_private_tour(bot_harness: BotHarness, fake_discord: FakeDiscord) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("help")
    call = await sent.wait_for_call(lambda c: c.route == CALLBACK)
    text = embed_text(call.json["data"])
    assert "--ar 9:16" in text and "Next shot" in text and "/video-omni" in text

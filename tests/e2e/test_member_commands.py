"""End to end: `/quota`, `/history`, `/usage` and `/limits show` through the real bot process."""

from __future__ import annotations

import re

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    command,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    job_actions,
    private_answer,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def test_quota_history_and_usage_after_one_video(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    owner, member = fake_discord.owner, fake_discord.default_user
    setting = await command(fake_discord, "limits", {"member_daily": "3"}, user=owner, sub="set")
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    video = await run_video(fake_discord, {"prompt": "a lantern festival"})
    delivered = await delivered_upload(fake_discord, video)
    job_id = job_actions(delivered.json)["rerun"]

    quota = embed_text(await private_answer(await command(fake_discord, "quota", {}, user=member)))
    # Two of the three daily videos left, one used, with Discord's relative reset time.
    assert "**2 videos left** of 3 videos (1 video used)" in quota
    assert re.search(r"Resets <t:\d+:R>", quota)

    history = await private_answer(await command(fake_discord, "history", {}, user=member))
    assert "lantern festival" in embed_text(history)
    assert f"/{delivered.response['id']}" in embed_text(history)  # links the result message
    assert job_actions(history).get("rerun") == job_id

    usage = embed_text(await private_answer(await command(fake_discord, "usage", {}, user=owner)))
    assert "kling-v1" in usage and f"{member.id}" in usage

    shown = embed_text(
        await private_answer(await command(fake_discord, "limits", {}, user=owner, sub="show"))
    )
    assert "3" in shown


async def test_usage_and_other_members_history_are_for_moderators(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    member = fake_discord.default_user
    usage = await command(fake_discord, "usage", {}, user=member)
    assert "Manage Server" in await ephemeral_refusal(usage)
    other = fake_discord.add_member(fake_discord.guild, "someone-else")
    history = await command(fake_discord, "history", {"member": other}, user=member)
    text = await ephemeral_refusal(history)
    assert "moderator" in text.lower() or "Manage Server" in text, text
    assert fake_acedata.created_tasks == 0

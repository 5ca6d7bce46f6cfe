"""End to end: the operator's money through the real bot process. Servers outside ALLOWED_GUILD_IDS
get no paid call, the confirmation before paying (Confirm, Cancel, expiry), the ceiling moderators
cannot raise, and the loud warning when spending is unlimited."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, RestCall, SentInteraction
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    WEBHOOK_MESSAGE,
    buttons,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    job_actions,
    paid_creates,
    run_check,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


def _is_prompt(call: RestCall) -> bool:
    body = call.json or {}
    labels = {b.get("label") for b in buttons(body)}
    return call.route == FOLLOWUP and call.status == 200 and labels == {"Confirm", "Cancel"}


async def confirmation_prompt(sent: SentInteraction) -> RestCall:
    """The private Confirm / Cancel question the bot answered `sent` with."""
    call = await sent.wait_for_call(_is_prompt, 10.0)
    assert int(call.json.get("flags") or 0) & EPHEMERAL, "the question must be private"
    return call


def button_id(prompt: RestCall, label: str) -> str:
    return next(str(b["custom_id"]) for b in buttons(prompt.json) if b.get("label") == label)


async def ask_for_confirmation_above(fake: FakeDiscord, credits: str) -> None:
    setting = await fake.send_slash_command(
        "limits", {"confirm_above_credits": credits}, user=fake.owner, subcommand=["set"]
    )
    call = await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)
    assert "confirm" in embed_text(call.json).lower()


async def prompt_edits(fake: FakeDiscord, prompt: RestCall, text: str, within: float = 10.0) -> RestCall:
    """The edit of the question message (through the first interaction's webhook) saying `text`."""
    message_id = str(prompt.response["id"])
    return await fake.wait_for(
        lambda c: (
            c.method == "PATCH"
            and c.route == WEBHOOK_MESSAGE
            and c.path.endswith(f"/messages/{message_id}")
            and text in str((c.json or {}).get("content") or "")
        ),
        within,
    )


async def nothing_paid_for(acedata: FakeAceData, before: int, seconds: float = 1.0) -> None:
    await asyncio.sleep(seconds)
    assert paid_creates(acedata) == before


async def test_confirm_then_the_video_is_made_once(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    await ask_for_confirmation_above(fake_discord, "1")  # a 5 s kling-v1 std is estimated at ~3.8
    sent = await run_video(fake_discord, {"prompt": "a paper boat on a pond"})
    prompt = await confirmation_prompt(sent)
    text = str(prompt.json["content"])
    assert "3.79 credits" in text and "estimate" in text
    await nothing_paid_for(fake_acedata, 0)

    # Someone else cannot confirm it for them.
    stranger = fake_discord.add_member(fake_discord.guild, "stranger")
    other = await fake_discord.send_component_click(
        prompt.response, button_id(prompt, "Confirm"), user=stranger
    )
    assert "Only the member" in await ephemeral_refusal(other)
    await nothing_paid_for(fake_acedata, 0, 0.5)

    click = await fake_discord.send_component_click(prompt.response, button_id(prompt, "Confirm"))
    delivered = await delivered_upload(fake_discord, click)
    assert job_actions(delivered.json).get("rerun")
    assert paid_creates(fake_acedata) == 1
    await prompt_edits(fake_discord, prompt, "Confirmed")
    # A second press on the (now edited) question starts nothing more.
    await nothing_paid_for(fake_acedata, 1)


async def test_cancel_and_expiry_charge_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    bot_harness.extra_env["CONFIRM_TIMEOUT_SECONDS"] = "2"
    await bot_harness.start()
    await ask_for_confirmation_above(fake_discord, "1")

    cancelled = await run_video(fake_discord, {"prompt": "a lighthouse at dusk"})
    prompt = await confirmation_prompt(cancelled)
    click = await fake_discord.send_component_click(prompt.response, button_id(prompt, "Cancel"))
    answer = await click.response()
    assert answer.json["type"] == 7  # the question is replaced in place
    assert "Nothing was reserved or charged" in str(answer.json["data"]["content"])
    assert not answer.json["data"].get("components")

    expiring = await run_video(fake_discord, {"prompt": "a lighthouse at dawn"})
    prompt = await confirmation_prompt(expiring)
    edit = await prompt_edits(fake_discord, prompt, "expired")
    assert "nothing was reserved or charged" in edit.json["content"]
    assert not edit.json.get("components")
    await nothing_paid_for(fake_acedata, 0)

    quota = await fake_discord.send_slash_command("quota", {})
    call = await quota.wait_for_call(lambda c: c.status == 200 and bool((c.json or {}).get("embeds")), 10.0)
    assert "0 credits used" in embed_text(call.json) or "(0 videos used)" in embed_text(call.json)


async def test_a_server_outside_the_allow_list_gets_no_paid_call(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    home = fake_discord.guild
    elsewhere = fake_discord.add_guild("Somebody else's server")
    member = fake_discord.add_member(elsewhere, "outsider")
    bot_harness.extra_env["ALLOWED_GUILD_IDS"] = str(home.id)
    await bot_harness.start()

    refused = await fake_discord.send_slash_command(
        "video", {"prompt": "a fox"}, user=member, guild=elsewhere, require_synced=False
    )
    assert "isn't enabled on this server" in await ephemeral_refusal(refused)
    extend = await fake_discord.send_slash_command(
        "extend", {"video": "0" * 32}, user=member, guild=elsewhere, require_synced=False
    )
    assert "isn't enabled on this server" in await ephemeral_refusal(extend)

    # The allowed server works, and its result's buttons stop working once the operator drops it.
    made = await run_video(fake_discord, {"prompt": "a fox in the allowed server"})
    delivered = await delivered_upload(fake_discord, made)
    assert paid_creates(fake_acedata) == 1
    bot_harness.extra_env["ALLOWED_GUILD_IDS"] = str(elsewhere.id)
    await bot_harness.restart(kill=False)
    rerun = await fake_discord.send_component_click(
        delivered.response, f"kling:rerun:{job_actions(delivered.json)['rerun']}"
    )
    assert "isn't enabled on this server" in await ephemeral_refusal(rerun)
    await asyncio.sleep(1.0)
    assert paid_creates(fake_acedata) == 1


async def test_moderators_cannot_raise_the_ceiling_and_see_where_it_comes_from(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    bot_harness.extra_env.update(SERVER_DAILY_CREDITS="10", SERVER_MONTHLY_CREDITS="100")
    await bot_harness.start()
    owner = fake_discord.owner
    raising = await fake_discord.send_slash_command(
        "limits", {"unit": "credits", "guild_daily": "50"}, user=owner, subcommand=["set"]
    )
    refusal = await ephemeral_refusal(raising)
    assert "SERVER_DAILY_CREDITS" in refusal and "Nothing was changed" in refusal

    lowering = await fake_discord.send_slash_command(
        "limits", {"unit": "credits", "guild_daily": "6"}, user=owner, subcommand=["set"]
    )
    await lowering.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)
    shown = await fake_discord.send_slash_command("limits", {}, user=owner, subcommand=["show"])
    call = await shown.wait_for_call(lambda c: c.status == 200 and bool((c.json or {}).get("embeds")), 10.0)
    text = embed_text(call.json)
    assert "SERVER_DAILY_CREDITS" in text and "SERVER_MONTHLY_CREDITS" in text
    assert "Server per day: 6 credits" in text

    # 6 credits a day: one ~3.8-credit video, then a refusal that costs nothing.
    first = await run_video(fake_discord, {"prompt": "one"})
    await delivered_upload(fake_discord, first)
    second = await run_video(fake_discord, {"prompt": "two"})
    assert "daily" in await ephemeral_refusal(second)
    assert paid_creates(fake_acedata) == 1


async def test_unlimited_spending_is_said_loudly_at_start(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    bot_harness.extra_env.update(
        SERVER_DAILY_CREDITS="none",
        SERVER_MONTHLY_CREDITS="none",
        GLOBAL_DAILY_CREDITS="none",
        GLOBAL_MONTHLY_CREDITS="none",
    )
    process = await bot_harness.start()
    await process.wait_for_line(r"SPENDING IS UNLIMITED", timeout=10.0)


async def test_a_malformed_cap_stops_the_bot_naming_the_setting(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    bot_harness.extra_env["GLOBAL_DAILY_CREDITS"] = "lots"
    process = await bot_harness.start(wait_ready=False)
    assert await asyncio.wait_for(process.wait(), 30) == 2
    assert "GLOBAL_DAILY_CREDITS" in process.output
    assert paid_creates(fake_acedata) == 0


async def test_check_reports_the_caps_and_says_loudly_when_spending_is_unlimited(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    code, output = await run_check(harness)
    assert code == 0, output
    assert "GLOBAL_DAILY_CREDITS=100000" in output and "UNLIMITED" not in output
    code, output = await run_check(
        harness,
        SERVER_DAILY_CREDITS="none",
        SERVER_MONTHLY_CREDITS="none",
        GLOBAL_DAILY_CREDITS="none",
        GLOBAL_MONTHLY_CREDITS="none",
    )
    assert code == 0, output
    assert "SPENDING IS UNLIMITED" in output

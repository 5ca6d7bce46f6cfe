"""End to end: a `ja` member above the server's `confirm_above_credits` is asked in Japanese (the
question, its numbers' units and its buttons); Cancel costs nothing, Confirm makes exactly one paid
video and uses the allowance once, and the cooldown that follows states its wait in Japanese units."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, RestCall, SentInteraction
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    WEBHOOK_MESSAGE,
    buttons,
    delivered_upload,
    ephemeral_refusal,
    paid_creates,
    private_answer,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

CONFIRM, CANCEL = "確認", "キャンセル"
ENGLISH_WORDS = re.compile(r"\b(credits?|estimate|Confirm|Cancel|Nothing|minutes|left|min|s)\b")


def _is_japanese_prompt(call: RestCall) -> bool:
    labels = {b.get("label") for b in buttons(call.json or {})}
    return call.route == FOLLOWUP and call.status == 200 and labels == {CONFIRM, CANCEL}


async def japanese_prompt(sent: SentInteraction) -> RestCall:
    call = await sent.wait_for_call(_is_japanese_prompt, 10.0)
    assert int(call.json.get("flags") or 0) & EPHEMERAL, "the question must be private"
    return call


def button_id(prompt: RestCall, label: str) -> str:
    return next(str(b["custom_id"]) for b in buttons(prompt.json) if b.get("label") == label)


async def test_a_japanese_member_confirms_in_japanese_pays_once_and_cancel_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    member = fake_discord.default_user
    setting = await fake_discord.send_slash_command(
        "limits",
        {"member_daily": "3", "member_cooldown": "5m", "confirm_above_credits": "1"},
        subcommand=["set"],
        user=fake_discord.owner,
    )
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)

    # Cancel: the question in Japanese, answered in Japanese, and nothing paid or reserved.
    cancelled = await run_video(fake_discord, {"prompt": "夜の灯台"}, user=member, locale="ja")
    prompt = await japanese_prompt(cancelled)
    text = str(prompt.json["content"])
    assert "この動画は約 **3.79クレジット** かかります" in text, text
    assert "• あなたの動画（今日）：この動画の後の残り 動画2本" in text, text
    assert "**確認** を押すまで（2分以内）、何も確保・送信しません。" in text, text
    assert not ENGLISH_WORDS.search(text), text
    click = await fake_discord.send_component_click(prompt.response, button_id(prompt, CANCEL), locale="ja")
    answer = await click.response()
    assert answer.json["type"] == 7  # the question is replaced in place
    assert answer.json["data"]["content"] == "取り消しました。何も確保・請求していません。"
    assert not answer.json["data"].get("components")
    await asyncio.sleep(1.0)
    assert paid_creates(fake_acedata) == 0

    # Confirm: exactly one paid create, the question edited in Japanese.
    confirmed = await run_video(fake_discord, {"prompt": "朝の灯台"}, user=member, locale="ja")
    prompt = await japanese_prompt(confirmed)
    message_id = str(prompt.response["id"])
    click = await fake_discord.send_component_click(prompt.response, button_id(prompt, CONFIRM), locale="ja")
    await delivered_upload(fake_discord, click)
    assert paid_creates(fake_acedata) == 1
    edit = await fake_discord.wait_for(
        lambda c: (
            c.method == "PATCH"
            and c.route == WEBHOOK_MESSAGE
            and c.path.endswith(f"/messages/{message_id}")
            and "確認しました" in str((c.json or {}).get("content") or "")
        ),
        10.0,
    )
    assert edit.json["content"] == "確認しました。動画を開始します。"

    # The allowance was used once (the cancelled request reserved nothing).
    quota = await private_answer(await fake_discord.send_slash_command("quota", user=member, locale="ja"))
    fields = {field["name"]: field["value"] for field in quota["embeds"][0]["fields"]}
    assert fields["あなた（今日）"].startswith("動画3本中 **残り動画2本**（使用 動画1本）"), fields

    # The next video waits for the cooldown, worded in Japanese units, and costs nothing.
    refused = await run_video(fake_discord, {"prompt": "昼の灯台"}, user=member, locale="ja")
    refusal = await ephemeral_refusal(refused)
    assert "このサーバーでは動画の間に5 分待つ決まりです。" in refusal, refusal
    assert not ENGLISH_WORDS.search(refusal), refusal
    await asyncio.sleep(0.5)
    assert paid_creates(fake_acedata) == 1

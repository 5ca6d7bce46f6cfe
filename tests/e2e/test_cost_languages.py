"""End to end: a Japanese member over the server's confirmation threshold is asked in Japanese (the
question and its Confirm / Cancel buttons), confirming makes exactly one paid request, and the cost
note after admission is in Japanese too, through the real bot."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, RestCall
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
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

JAPANESE_BUTTONS = {"確定": "Confirm", "キャンセル": "Cancel"}


def _labels(call: RestCall) -> list[str]:
    return [str(b.get("label")) for b in buttons(call.json or {})]


async def test_a_japanese_member_confirms_in_japanese_and_pays_once(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    setting = await fake_discord.send_slash_command(
        "limits", {"confirm_above_credits": "1"}, user=fake_discord.owner, subcommand=["set"]
    )
    answer = await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)
    assert "confirm" in embed_text(answer.json).lower()

    sent = await run_video(fake_discord, {"prompt": "紙の船が池に浮かぶ"}, locale="ja")
    prompt = await sent.wait_for_call(
        lambda c: c.route == FOLLOWUP and c.status == 200 and bool(_labels(c)), 10.0
    )
    assert int(prompt.json.get("flags") or 0) & EPHEMERAL, "the question must be private"
    assert sorted(_labels(prompt)) == sorted(JAPANESE_BUTTONS), _labels(prompt)
    text = str(prompt.json["content"])
    # A 5 s kling-v1 std is estimated at ~3.79 credits.
    assert text.startswith("この動画の費用は約 **3.79クレジット** です（見積もりです。"), text
    assert "**確定** を押すまで、何も予約・送信されません" in text
    assert "credits" not in text and "Confirm" not in text
    await asyncio.sleep(0.5)
    assert paid_creates(fake_acedata) == 0

    confirm_id = next(str(b["custom_id"]) for b in buttons(prompt.json) if b.get("label") == "確定")
    # Someone else pressing it is refused in their own language, and nothing is paid.
    stranger = fake_discord.add_member(fake_discord.guild, "stranger")
    other = await fake_discord.send_component_click(
        prompt.response, confirm_id, user=stranger, locale="zh-CN"
    )
    assert await ephemeral_refusal(other) == "只有请求这个视频的成员才能确认或取消。"
    assert paid_creates(fake_acedata) == 0

    click = await fake_discord.send_component_click(prompt.response, confirm_id, locale="ja")
    delivered = await delivered_upload(fake_discord, click)
    assert job_actions(delivered.json).get("rerun")
    assert paid_creates(fake_acedata) == 1

    # The question is closed in Japanese, and the cost note after admission is Japanese too.
    message_id = str(prompt.response["id"])
    await fake_discord.wait_for(
        lambda c: (
            c.method == "PATCH"
            and c.route == WEBHOOK_MESSAGE
            and c.path.endswith(f"/messages/{message_id}")
            and str((c.json or {}).get("content") or "") == "確定しました。動画の作成を始めます。"
        ),
        10.0,
    )
    note = next(
        str((call.json or {}).get("content") or "")
        for call in click.calls
        if call.route == FOLLOWUP and "AceData" in str((call.json or {}).get("content") or "")
    )
    assert note.startswith("この動画の費用は約 **3.79クレジット** です（見積もりです。"), note
    assert "全サーバーのクレジット（今日）：残り " in note, note

    await asyncio.sleep(0.5)
    assert paid_creates(fake_acedata) == 1

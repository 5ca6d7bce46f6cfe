"""End to end: the messages the bot sends about a job from the background (progress, result, failure
and their buttons) are in the language of the member who started it, through the real bot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.discord_app import job_embeds
from bot.discord_app.i18n import t
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    JOB_TIMEOUT,
    buttons,
    delivered_upload,
    edits_of,
    job_actions,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

JAPANESE_RESULT_BUTTONS = ["再生成", "リミックス", "次のショット", "削除"]
ENGLISH_RESULT_BUTTONS = ["Rerun", "Remix", "Next shot", "Delete"]


def first_embed(body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    embeds = (body or {}).get("embeds") or []
    assert embeds, f"no embed in {body}"
    return dict(embeds[0])


def field_names(embed: Mapping[str, Any]) -> list[str]:
    return [str(f["name"]) for f in embed.get("fields") or []]


def labels(message: Mapping[str, Any]) -> list[str]:
    return [str(b.get("label")) for b in buttons(message) if b.get("custom_id")]


async def test_a_japanese_member_gets_progress_and_result_in_japanese_and_an_english_rerun_gets_next_shot(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "雪の中を走るキツネ --m v2.6"}, locale="ja")
    upload = await delivered_upload(fake_discord, sent)

    progress = [
        first_embed(call.json)
        for call in sent.calls
        if edits_of(sent)(call) and call.json and call.json.get("embeds") and call is not upload
    ]
    assert progress, "no progress message"
    first = progress[0]
    assert first["title"] == "テキストから動画"
    assert first["description"] == "雪の中を走るキツネ"
    assert field_names(first)[:5] == ["モデル", "モード", "長さ", "縦横比", "設定"]
    assert "状態" in field_names(first) and "経過時間" in field_names(first)
    statuses = {f["value"] for embed in progress for f in embed["fields"] if f["name"] == "状態"}
    assert statuses and statuses <= {"順番待ち", "順番待ち — 次に開始", "送信中…", "生成中", "お届け中…"}
    assert "--m v2-6" in next(f["value"] for f in first["fields"] if f["name"] == "設定")

    message = fake_discord.messages[int(upload.response["id"])]
    result = first_embed(message)
    assert result["title"] == "動画ができました"
    assert "依頼者" in field_names(result) and "Requested by" not in field_names(result)
    assert result["footer"]["text"].startswith("ジョブ ")
    assert labels(message) == JAPANESE_RESULT_BUTTONS
    job_id = job_actions(message)["rerun"]
    assert [b["custom_id"] for b in buttons(message)] == [
        f"kling:rerun:{job_id}",
        f"kling:remix:{job_id}",
        f"kling:next:{job_id}",
        f"kling:delete:{job_id}",
    ]

    # A button job speaks the language of the member who pressed it: here an English client.
    again = await fake_discord.send_component_click(message, f"kling:rerun:{job_id}", locale="en-US")
    rerun_upload = await delivered_upload(fake_discord, again)
    rerun = fake_discord.messages[int(rerun_upload.response["id"])]
    assert first_embed(rerun)["title"] == "Your video is ready"
    assert labels(rerun) == ENGLISH_RESULT_BUTTONS
    assert "Next shot" in labels(rerun)  # the contract label, exactly


async def test_a_chinese_member_gets_the_failure_in_chinese_with_translated_buttons(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.next_outcome = "fail"
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "纸船漂在雨水里"}, locale="zh-CN")
    is_edit = edits_of(sent)
    failure = await fake_discord.wait_for(
        lambda c: is_edit(c) and c.status == 200 and "kling:remix:" in str(c.json), JOB_TIMEOUT
    )
    message = fake_discord.messages[int(failure.response["id"])]
    embed = first_embed(message)
    chinese_titles = {t("zh-CN", words.title) for words in job_embeds._FAILURES.values()}
    assert embed["title"] in chinese_titles
    assert t("zh-CN", job_embeds.NOT_CHARGED) in embed["description"]
    assert "cost you nothing" not in embed["description"]
    assert field_names(embed) == ["提示词", "模型"]
    assert labels(message) == ["再试一次", "重新混剪", "删除"]
    assert set(job_actions(message)) == {"rerun", "remix", "delete"}


async def test_an_english_member_still_gets_exactly_next_shot(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a lighthouse in a storm --m v2.6"}, locale="en-US")
    upload = await delivered_upload(fake_discord, sent)
    message = fake_discord.messages[int(upload.response["id"])]
    assert first_embed(message)["title"] == "Your video is ready"
    assert labels(message) == ENGLISH_RESULT_BUTTONS


async def test_a_storyboard_from_a_japanese_client_is_followed_in_japanese(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    command = await fake_discord.send_slash_command(
        "storyboard", {"model": "kling-v3", "mode": "pro"}, locale="ja"
    )
    assert (await command.response()).json["type"] == 9  # the form opens
    sent = await fake_discord.send_modal_submit(
        "kling-storyboard-modal", {"shots": "4s: キツネが丸太を跳び越える\n3s: 雪に着地する"}
    )
    upload = await delivered_upload(fake_discord, sent)
    progress = [
        first_embed(c.json)
        for c in sent.calls
        if edits_of(sent)(c) and c.json and c.json.get("embeds") and c is not upload
    ]
    assert progress and progress[0]["title"] == "テキストから動画"
    message = fake_discord.messages[int(upload.response["id"])]
    assert first_embed(message)["title"] == "動画ができました"
    assert labels(message)[:2] == ["再生成", "リミックス"]

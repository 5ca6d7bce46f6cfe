"""End to end: /quota and /history answer a `ja` member in Japanese, a refusal raised by the
capability table (a length the model can't make) reaches a `zh-CN` member in Chinese, free, and the
/usage chart is drawn in the member's language."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from tests.cjk_font import require_cjk_font
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    buttons,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    paid_creates,
    private_answer,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def test_quota_and_history_answer_a_japanese_member_in_japanese(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    await bot_harness.start()
    owner, member = fake_discord.owner, fake_discord.default_user
    setting = await fake_discord.send_slash_command(
        "limits", {"member_daily": "3"}, subcommand=["set"], user=owner
    )
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    video = await run_video(fake_discord, {"prompt": "提灯祭りの夜"}, user=member, locale="ja")
    await delivered_upload(fake_discord, video)

    quota = await private_answer(await fake_discord.send_slash_command("quota", user=member, locale="ja"))
    embed = quota["embeds"][0]
    assert embed["title"] == "あなたの動画の残量"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["あなた（今日）"].startswith("動画3本中 **残り動画2本**（使用 動画1本）")
    assert re.search(r"リセット: <t:\d+:R>", fields["あなた（今日）"])
    assert fields["次の動画"] == "今すぐ"
    assert "Your" not in embed_text(quota) and "left" not in embed_text(quota)

    history = await private_answer(await fake_discord.send_slash_command("history", user=member, locale="ja"))
    embed = history["embeds"][0]
    assert embed["title"] == "あなたの動画"
    assert embed["fields"][0]["name"].startswith("1. ✅ 完了 · ")
    assert "提灯祭りの夜" in embed["fields"][0]["value"]
    assert "[開く](https://discord.com/channels/" in embed["fields"][0]["value"]
    assert embed["footer"]["text"] == "1/1ページ · 動画1本"
    assert [button["label"] for button in buttons(history)] == ["再実行 1"]


async def test_an_unsupported_length_is_refused_in_chinese_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    member = fake_discord.default_user
    sent = await fake_discord.send_slash_command(
        "video", {"prompt": "雪地里的狐狸", "model": "kling-v1", "duration": 7}, user=member, locale="zh-CN"
    )
    text = await ephemeral_refusal(sent)
    assert text == "kling-v1 可生成 5或10 秒的视频：请将“时长”设为 5或10，或选择 kling-v3 生成 7 秒。"
    assert paid_creates(fake_acedata) == 0
    assert not fake_acedata.tasks

    # Nothing was reserved: the member's allowance is untouched, and /quota says so in Chinese.
    quota = await private_answer(await fake_discord.send_slash_command("quota", user=member, locale="zh-CN"))
    embed = quota["embeds"][0]
    assert embed["title"] == "你的视频额度"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["你（今天）"].startswith("无上限（已用 0 个视频）")
    assert fields["下一个视频"] == "现在"


async def test_the_usage_chart_is_drawn_in_the_members_language(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    # The Japanese chart needs a CJK font (tests/test_usage_chart.py checks the glyphs themselves);
    # here: the command hands the member's language to the chart, and no font warning is logged.
    require_cjk_font()
    await bot_harness.start()
    await delivered_upload(fake_discord, await run_video(fake_discord, {"prompt": "a kite"}))
    charts = {}
    for locale in ("en-US", "ja"):
        sent = await fake_discord.send_slash_command(
            "usage", {"days": 7}, user=fake_discord.owner, locale=locale
        )
        call = await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 15.0)
        charts[locale] = {upload.filename: upload.data for upload in call.files}["usage.png"]
    with Image.open(io.BytesIO(charts["ja"])) as chart:
        assert chart.format == "PNG" and chart.size == (900, 600)
    assert charts["ja"] != charts["en-US"]
    assert "no installed font" not in bot_harness.log_path.read_text(encoding="utf-8")

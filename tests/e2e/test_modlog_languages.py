"""End to end (issue 13): the mod-log writes in the server's language (`guild.preferred_locale`),
the check before a channel becomes the mod-log answers in the moderator's language, and the notes
the job pipeline writes reach a member in their language, through the real bot."""

from __future__ import annotations

import pytest

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, RestCall
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    run_video,
)
from tests.fakes.acedata import FakeAceData
from tests.images import png_bytes

pytestmark = pytest.mark.e2e


def _ephemeral_followup(call: RestCall) -> bool:
    return call.route == FOLLOWUP and bool(int((call.json or {}).get("flags") or 0) & EPHEMERAL)


def modlog_texts(fake: FakeDiscord) -> list[str]:
    return [embed_text(m) for m in fake.messages_in(fake.guild.channel("mod-log").id)]


async def test_a_japanese_members_omni_job_gets_the_cited_references_note_in_japanese(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    image = fake_discord.add_attachment(png_bytes(640, 640), "fox.png")
    sent = await fake_discord.send_slash_command(
        "video-omni",
        {"prompt": "帽子をかぶったキツネが踊る", "model": "kling-v3-omni", "reference_image_1": image},
        locale="ja",
    )
    await delivered_upload(fake_discord, sent)
    [task] = fake_acedata.tasks.values()
    # What is sent to Kling is unchanged: the citation is added in the prompt's own terms.
    assert task.request["prompt"] == "帽子をかぶったキツネが踊る. Use <<<image_1>>> as a reference."
    assert task.ignored_references == []
    note = str((await sent.wait_for_call(_ephemeral_followup)).json["content"])
    assert (
        "Kling はプロンプトで引用された参照だけを使うため、プロンプトに `Use <<<image_1>>> as a reference.` "
        "を追加しました（プロンプト全文は進行状況のメッセージにあります）。"
    ) in note
    assert "Kling only uses" not in note and "to your prompt" not in note


async def test_a_japanese_server_gets_its_modlog_in_japanese(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    fake.guild.preferred_locale = "ja"  # Server Settings → Community → server language
    await bot_harness.start()
    modlog = fake.guild.channel("mod-log")
    # The moderator's own Discord is English: their reply stays English, the mod-log follows the server.
    for options, sub in (({"modlog_channel": modlog.id}, ["set"]), ({"words": "dragon"}, ["words", "add"])):
        sent = await fake.send_slash_command("limits", options, user=fake.owner, subcommand=sub)
        reply = await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
        assert "モデレーション" not in embed_text(reply.json)

    video = await run_video(fake, {"prompt": "a paper boat in rain --m v2.6"})
    await delivered_upload(fake, video)
    await fake.wait_for(lambda c: any("✅ 動画の配信完了" in t for t in modlog_texts(fake)), 10.0)
    texts = modlog_texts(fake)
    assert any(t.startswith("📋 このチャンネルは動画のモデレーションログになりました") for t in texts)
    assert any("⚙️ 動画の設定が変更されました" in t for t in texts)
    delivered = next(t for t in texts if "✅ 動画の配信完了" in t)
    for line in (
        "メンバー: <@",
        "モデル: kling-v2-6",
        "費用: ",
        "結果: お届け済み",
        "時刻: <t:",
        "メッセージ: ",
    ):
        assert line in delivered, (line, delivered)
    assert "[メッセージを開く](https://discord.com/channels/" in delivered
    assert "a paper boat in rain" in delivered  # the prompt excerpt stays as typed
    assert any("▶️ 動画の作成開始" in t for t in texts)
    assert not any(word in t for t in texts for word in ("Video delivered", "Member:", "Outcome:"))

    # A refused request: its title and the reason the member was given, in the server's language.
    blocked = await run_video(fake, {"prompt": "a red dragon"})
    assert "doesn't allow" in await ephemeral_refusal(blocked)  # the member's own (English) answer
    await fake.wait_for(lambda c: any("🚫 リクエスト拒否" in t for t in modlog_texts(fake)), 10.0)
    refused = next(t for t in modlog_texts(fake) if "🚫 リクエスト拒否" in t)
    assert "🚫 リクエスト拒否：禁止ワード" in refused and "a red dragon" in refused
    assert "費用: なし（リクエスト前に拒否）" in refused
    outcome = next(line for line in refused.splitlines() if line.startswith("結果: "))
    assert not any(c.isascii() and c.isalpha() for c in outcome.removeprefix("結果: ").replace("dragon", ""))


async def test_an_english_server_keeps_its_english_modlog(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    await bot_harness.start()
    modlog = fake.guild.channel("mod-log")
    sent = await fake.send_slash_command(
        "limits", {"modlog_channel": modlog.id}, user=fake.owner, subcommand=["set"], locale="ja"
    )
    await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    video = await run_video(fake, {"prompt": "a lighthouse --m v2.6"}, locale="ja")
    await delivered_upload(fake, video)
    await fake.wait_for(lambda c: any("✅ Video delivered" in t for t in modlog_texts(fake)), 10.0)
    texts = modlog_texts(fake)
    assert texts[0] == (
        f"📋 This channel is now the video mod-log (set by <@{fake.owner.id}>): videos, refused "
        "requests and setting changes will be posted here."
    )
    delivered = next(t for t in texts if "✅ Video delivered" in t)
    assert "Outcome: Delivered" in delivered and "Cost: " in delivered and "Member: <@" in delivered


async def test_a_modlog_channel_the_bot_cant_post_in_is_refused_in_the_moderators_language(
    bot_harness: BotHarness, fake_discord: FakeDiscord
) -> None:
    fake = fake_discord
    await bot_harness.start()
    modlog = fake.guild.channel("mod-log")
    fake.forbid_channel(modlog.id)
    sent = await fake.send_slash_command(
        "limits", {"channel": modlog.id}, user=fake.owner, subcommand=["modlog"], locale="ja"
    )
    text = await ephemeral_refusal(sent)
    assert text == (
        f"<#{modlog.id}> に投稿できません（Discord の応答：403）。そのチャンネルで「チャンネルを見る」"
        "「メッセージを送信」「埋め込みリンク」の権限を付与するか、別のチャンネルを選んでください。"
        "何も変更していません。"
    )
    english = await fake.send_slash_command(
        "limits", {"channel": modlog.id}, user=fake.owner, subcommand=["modlog"]
    )
    assert await ephemeral_refusal(english) == (
        f"I can't post in <#{modlog.id}> (Discord answered 403): give me View Channel, Send Messages and "
        "Embed Links there, or pick another channel. Nothing changed."
    )

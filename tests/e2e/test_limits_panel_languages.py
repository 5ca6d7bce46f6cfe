"""End to end: a Japanese-speaking moderator opens `/limits panel` through the real bot, reads it in
Japanese, starts from a preset and the settings are stored; the custom ids are the English ones."""

from __future__ import annotations

import pytest

from bot.discord_app.i18n import catalogs
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.panel_helpers import components, modal_defaults, open_panel, settled, shown_settings
from tests.e2e.scenario_helpers import embed_text
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def test_a_japanese_moderator_sets_up_the_server_from_a_preset_in_japanese(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    await bot_harness.start()
    panel = await open_panel(fake, fake.owner, locale="ja")

    # First visit: the welcome, the embed and the presets in Japanese.
    assert panel["content"].startswith("👋 このサーバーにはまだ動画の設定がありません。")
    assert panel["embeds"][0]["title"] == "このサーバーの動画設定"
    assert "モデレーションログ" in panel["embeds"][0]["footer"]["text"]
    items = components(panel)
    assert items["panel:preset"]["placeholder"] == "プリセットから始める…"
    assert [option["label"] for option in items["panel:preset"]["options"]] == [
        "小さなコミュニティ",
        "活発なアートサーバー",
        "モデレーターのみ",
    ]
    assert items["panel:page:rules"]["label"] == "ゼロから始める"

    # The preset is applied and reported in Japanese ...
    sent = await fake.send_component_click(
        panel, "panel:preset", values=["small"], user=fake.owner, locale="ja"
    )
    await settled(sent)
    content = str(panel["content"])
    assert content.startswith("保存しました。変更点：")
    assert "メンバーごと（1日）: 上限なし → " in content
    assert "Saved" not in content and "Each member" not in content

    # ... and the rules page it leads to speaks Japanese, with the same custom ids as ever.
    items = components(panel)
    assert items["panel:models"]["placeholder"] == "メンバーが使えるモデル"
    assert items["panel:form:budget"]["label"] == "予算…"
    assert items["panel:page:more"]["label"] == "その他 ▸"
    assert "メンバーごと（1日）" in embed_text(panel)

    # A form opened from it is Japanese too, and pre-filled with what the preset stored.
    opened = await fake.send_component_click(panel, "panel:form:budget", user=fake.owner, locale="ja")
    ack = await opened.response()
    assert ack.json["type"] == 9
    modal = ack.json["data"]
    assert modal["title"] == "予算"
    assert modal_defaults(fake, modal["custom_id"])["member_daily"] == "3"
    inputs = [item for row in modal["components"] for item in row["components"]]
    assert [item["label"] for item in inputs][1:3] == ["サーバー（1日）", "サーバー（1か月）"]
    assert inputs[1]["placeholder"] == "数値、または none（上限なし）"
    assert catalogs().lookup("ja", "Each member per day") in [item["label"] for item in inputs]

    # Stored for real: `/limits show` (in English for an English client) reads the preset back.
    shown = await shown_settings(fake)
    assert "Each member per day: 3 videos" in shown
    assert "Server per day: 20 videos" in shown
    assert fake_acedata.created_tasks == 0

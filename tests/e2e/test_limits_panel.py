"""End to end: `/limits panel` through the real bot, with component clicks, select picks and form
submits dispatched by the fake Discord; `/usage` with its chart and CSV; the mod-log's entries."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import pytest
from PIL import Image

from tests.e2e.fake_discord import (
    MEMBER_PERMISSIONS,
    FakeDiscord,
    Permission,
    SentInteraction,
)
from tests.e2e.harness import BotHarness
from tests.e2e.panel_helpers import (
    components,
    form_id,
    modal_defaults,
    open_panel,
    settled,
    shown_settings,
    submit,
)
from tests.e2e.scenario_helpers import FOLLOWUP, delivered_upload, embed_text, ephemeral_refusal, run_video
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def pick(
    fake: FakeDiscord, panel: Mapping[str, Any], custom_id: str, values: list[Any] | None = None, **kw: Any
) -> SentInteraction:
    sent = await fake.send_component_click(
        panel, custom_id, values=values, user=kw.pop("user", fake.owner), **kw
    )
    await settled(sent)
    return sent


def modlog_texts(fake: FakeDiscord) -> list[str]:
    channel = fake.guild.channel("mod-log")
    return [str(m.get("content") or "") + embed_text(m) for m in fake.messages_in(channel.id)]


async def test_the_panel_sets_up_a_server_with_pickers_and_forms(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    art = fake.add_channel(fake.guild, "art")
    helpers = fake.add_role(fake.guild, "Helpers")
    mods = fake.add_role(fake.guild, "Mods", int(Permission.MANAGE_GUILD) | MEMBER_PERMISSIONS)
    await bot_harness.start()
    panel = await open_panel(fake, fake.owner)

    # First run: the presets, and a way to start from scratch.
    assert "no video settings yet" in panel["content"]
    preset = components(panel)["panel:preset"]
    assert [o["label"] for o in preset["options"]] == [
        "A small community",
        "A busy art server",
        "Moderators only",
    ]
    await pick(fake, panel, "panel:preset", ["mods"])
    assert "Each member per day: No limit → 0 videos" in panel["content"]
    assert f"<@&{mods.id}>" in embed_text(panel)  # the Manage Server role is exempt

    # The rules page: pickers pre-filled with the current settings.
    items = components(panel)
    assert {"panel:channels", "panel:exempt_roles", "panel:models", "panel:modes"} <= set(items)
    assert [str(v["id"]) for v in items["panel:exempt_roles"]["default_values"]] == [str(mods.id)]
    await pick(fake, panel, "panel:channels", [art.id, fake.guild.text_channel.id])
    assert "Channels: Any channel →" in panel["content"] and f"<#{art.id}>" in panel["content"]
    assert {str(v["id"]) for v in components(panel)["panel:channels"]["default_values"]} == {
        str(art.id),
        str(fake.guild.text_channel.id),
    }
    await pick(fake, panel, "panel:exempt_roles", [mods.id, helpers.id])
    assert f"<@&{helpers.id}>" in panel["content"]
    await pick(fake, panel, "panel:models", ["kling-v1", "kling-v2-6"])
    assert "Models: All → kling-v1, kling-v2-6" in panel["content"]
    await pick(fake, panel, "panel:modes", ["std"])
    assert "Modes: std, pro, 4k → std" in panel["content"]
    defaults = {o["value"] for o in components(panel)["panel:models"]["options"] if o.get("default")}
    assert defaults == {"kling-v1", "kling-v2-6"}

    # A form, pre-filled; only what the moderator edits changes.
    opened = await fake.send_component_click(panel, "panel:form:budget", user=fake.owner)
    assert (await opened.response()).json["type"] == 9
    prefilled = modal_defaults(fake, form_id(fake, "budget"))
    assert prefilled["member_daily"] == "0" and prefilled["guild_daily"] == "none"
    await settled(
        await fake.send_modal_submit(form_id(fake, "budget"), {"member_daily": "5"}, user=fake.owner)
    )
    assert "Each member per day: 0 videos → 5 videos" in panel["content"]
    assert "Server per day" not in panel["content"]
    await submit(fake, panel, "pace", {"member_cooldown": "1m", "timezone": "europe/paris"})
    assert "1 min" in panel["content"] and "Europe/Paris" in panel["content"]

    await submit(fake, panel, "defaults", {"default_model": "kling-v1", "default_duration": "5"})
    assert "Server defaults: None → Model kling-v1, 5 s" in panel["content"]
    await submit(fake, panel, "defaults", {"default_model": "kling-v3"})  # not an allowed model
    assert panel["content"].startswith("❌") and "kling-v3" in panel["content"]

    shown = await shown_settings(fake)
    assert "5 videos" in shown and "Europe/Paris" in shown and "kling-v2-6" in shown
    assert "Model kling-v1, 5 s" in shown

    # The second page: mod-log picker and the toggles.
    await pick(fake, panel, "panel:page:more")
    modlog = fake.guild.channel("mod-log")
    await pick(fake, panel, "panel:modlog", [modlog.id])
    assert f"Mod-log channel: Not set → <#{modlog.id}>" in panel["content"]
    await pick(fake, panel, "panel:toggle:allow_4k")
    assert "4K: Allowed → Off" in panel["content"]
    assert components(panel)["panel:toggle:allow_4k"]["label"] == "4K: off"
    await fake.wait_for(lambda c: any("4K: Allowed → Off" in text for text in modlog_texts(fake)), 5.0)
    texts = modlog_texts(fake)
    assert any("now the video mod-log" in text for text in texts)
    assert any(f"<@{fake.owner.id}>" in text and "Video settings changed" in text for text in texts)
    assert fake_acedata.created_tasks == 0


async def test_bad_input_in_the_panel_changes_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    secret = fake.add_channel(fake.guild, "staff-only")
    await bot_harness.start()
    setting = await fake.send_slash_command(
        "limits", {"member_daily": "3"}, user=fake.owner, subcommand=["set"]
    )
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    panel = await open_panel(fake, fake.owner)
    assert "panel:channels" in components(panel)  # not the first run: straight to the rules
    before = await shown_settings(fake)

    # Numbers out of range in a form: every problem named, nothing saved.
    await submit(fake, panel, "budget", {"member_daily": "-2", "guild_monthly": "lots"})
    assert panel["content"].startswith("❌") and "member_daily" in panel["content"]
    assert "guild_monthly" in panel["content"] and "negative" in panel["content"]
    await submit(fake, panel, "pace", {"member_concurrent": "0", "timezone": "Mars/Olympus"})
    assert panel["content"].startswith("❌") and "member_concurrent" in panel["content"]
    assert modal_defaults(fake, form_id(fake, "pace"))["member_concurrent"] == "2"

    # A form replayed by another member, or from another server, changes nothing.
    opened = await fake.send_component_click(panel, "panel:form:budget", user=fake.owner)
    assert (await opened.response()).json["type"] == 9
    intruder = await fake.send_modal_submit(
        form_id(fake, "budget"), {"member_daily": "99"}, user=fake.default_user
    )
    assert "belongs to the moderator who opened it" in await ephemeral_refusal(intruder)
    other = fake.add_guild("Other Server")
    replay = await fake.send_modal_submit(
        form_id(fake, "budget"), {"member_daily": "99"}, user=fake.owner, guild=other
    )
    assert "another server" in await ephemeral_refusal(replay)

    # A mod-log channel the bot can't post in.
    fake.forbid_channel(secret.id)
    await pick(fake, panel, "panel:page:more")
    await pick(fake, panel, "panel:modlog", [secret.id])
    assert "can't post in" in panel["content"] and "Nothing changed" in panel["content"]
    assert components(panel)["panel:modlog"].get("default_values") in (None, [])

    # A member without Manage Server clicking the panel someone else opened.
    member = fake.default_user
    sent = await fake.send_component_click(panel, "panel:toggle:allow_audio", user=member)
    assert "Manage Server" in await ephemeral_refusal(sent)
    sent = await fake.send_component_click(panel, "panel:refresh", user=member)
    assert "Manage Server" in await ephemeral_refusal(sent)

    assert await shown_settings(fake) == before
    assert fake_acedata.created_tasks == 0


async def test_a_stale_panel_refreshes_instead_of_overwriting(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    await bot_harness.start()
    setting = await fake.send_slash_command(
        "limits", {"member_daily": "3"}, user=fake.owner, subcommand=["set"]
    )
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    old = await open_panel(fake, fake.owner)
    new = await open_panel(fake, fake.owner)
    await submit(fake, new, "budget", {"member_daily": "7"})
    assert "3 videos → 7 videos" in new["content"]

    await submit(fake, old, "budget", {"member_daily": "1"})
    assert "changed these settings since this panel showed them" in old["content"]
    assert "7 videos" in embed_text(old)  # it now shows the current settings
    assert "7 videos" in await shown_settings(fake)

    # Also after `/limits set` elsewhere; once refreshed, the panel saves again.
    typed = await fake.send_slash_command(
        "limits", {"member_monthly": "50"}, user=fake.owner, subcommand=["set"]
    )
    await typed.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    await pick(fake, old, "panel:modes", ["std", "pro"])
    assert "changed these settings" in old["content"] and "50 videos" in embed_text(old)
    await pick(fake, old, "panel:modes", ["std", "pro"])
    assert "Modes: std, pro, 4k → std, pro" in old["content"]
    shown = await shown_settings(fake)
    assert "7 videos" in shown and "50 videos" in shown


async def test_usage_attaches_a_chart_and_the_csv(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    await bot_harness.start()
    setting = await fake.send_slash_command(
        "limits",
        {"guild_daily": "10", "guild_monthly": "100", "modlog_channel": fake.guild.channel("mod-log").id},
        user=fake.owner,
        subcommand=["set"],
    )
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    video = await run_video(fake, {"prompt": "a paper boat @everyone on a **pond**"})
    delivered = await delivered_upload(fake, video)

    sent = await fake.send_slash_command("usage", {"days": 7, "csv": True}, user=fake.owner)
    call = await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 15.0)
    assert "runs out" in embed_text(call.json) or "lasts the month" in embed_text(call.json)
    files = {upload.filename: upload.data for upload in call.files}
    with Image.open(io.BytesIO(files["usage.png"])) as chart:
        assert chart.format == "PNG" and chart.size == (900, 600)
    (csv_name,) = [name for name in files if name.endswith(".csv")]
    rows = list(csv.DictReader(io.StringIO(files[csv_name].decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["prompt"] == "a paper boat @everyone on a **pond**"
    assert rows[0]["member_id"] == str(fake.default_user.id) and rows[0]["counted"] == "yes"

    # The mod-log entry: links the job's message, member, inert excerpt, model, cost, outcome, time.
    message_id = delivered.response["id"]
    await fake.wait_for(lambda c: any("Video delivered" in t for t in modlog_texts(fake)), 10.0)
    entry = next(t for t in modlog_texts(fake) if "Video delivered" in t)
    assert f"/{message_id}" in entry and f"<@{fake.default_user.id}>" in entry
    assert "kling-v1" in entry and "credits" in entry and "<t:" in entry
    assert "@everyone" not in entry.replace("@\u200beveryone", "") and "\\*\\*pond\\*\\*" in entry


async def test_refused_requests_reach_the_modlog(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    await bot_harness.start()
    modlog = fake.guild.channel("mod-log")
    for options, sub in (
        ({"modlog_channel": modlog.id, "member_daily": "0"}, ["set"]),
        ({"words": "dragon"}, ["words", "add"]),
    ):
        sent = await fake.send_slash_command("limits", options, user=fake.owner, subcommand=sub)
        await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    blocked = await run_video(fake, {"prompt": "a red dragon"})
    await ephemeral_refusal(blocked)
    budget = await run_video(fake, {"prompt": "a calm lake"})
    await ephemeral_refusal(budget)
    await fake.wait_for(lambda c: sum("Request refused" in t for t in modlog_texts(fake)) >= 2, 10.0)
    refused = [t for t in modlog_texts(fake) if "Request refused" in t]
    assert any("blocked word" in t and "a red dragon" in t for t in refused)
    assert any("budget or quota" in t and "a calm lake" in t for t in refused)
    assert all(f"<@{fake.default_user.id}>" in t for t in refused)
    assert fake_acedata.created_tasks == 0

"""End to end: the `/limits panel` forms apply the same money rules as `/limits set`: the operator's
ceiling on server caps (SERVER_DAILY_CREDITS / SERVER_MONTHLY_CREDITS) and `confirm_above_credits`."""

from __future__ import annotations

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.panel_helpers import open_form, open_panel, shown_settings, submit
from tests.e2e.scenario_helpers import (
    CALLBACK,
    FOLLOWUP,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    paid_creates,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


async def _set(fake: FakeDiscord, **options: str) -> None:
    sent = await fake.send_slash_command("limits", dict(options), user=fake.owner, subcommand=["set"])
    await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)


async def test_the_budget_form_cannot_raise_a_server_above_the_operators_ceiling(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    bot_harness.extra_env.update(SERVER_DAILY_CREDITS="10", SERVER_MONTHLY_CREDITS="100")
    await bot_harness.start()
    await _set(fake, max_duration="15")  # not a first visit: the panel opens on its rules page
    panel = await open_panel(fake, fake.owner)
    assert "SERVER_DAILY_CREDITS" in embed_text(panel)  # the ceiling is shown, as /limits show does
    before = await shown_settings(fake)

    # The same refusal /limits set gives, and nothing saved.
    await submit(fake, panel, "budget", {"unit": "credits", "guild_daily": "50"})
    typed = await fake.send_slash_command(
        "limits", {"unit": "credits", "guild_daily": "50"}, user=fake.owner, subcommand=["set"]
    )
    same = await ephemeral_refusal(typed)
    assert panel["content"].startswith("❌") and "SERVER_DAILY_CREDITS" in panel["content"]
    assert same.split("\n", 1)[1] in panel["content"]  # every problem worded the same
    await submit(fake, panel, "budget", {"unit": "credits", "guild_monthly": "500"})
    assert "SERVER_MONTHLY_CREDITS" in panel["content"] and "Nothing was changed" in panel["content"]
    assert await shown_settings(fake) == before

    # Tightening is fine, and counts: 6 credits a day holds one ~3.8-credit video.
    await submit(fake, panel, "budget", {"unit": "credits", "guild_daily": "6"})
    assert panel["content"].startswith("Saved") and "6 credits" in panel["content"]
    assert "Server per day: 6 credits" in await shown_settings(fake)
    first = await run_video(fake, {"prompt": "one"})
    await delivered_upload(fake, first)
    second = await run_video(fake, {"prompt": "two"})
    assert "daily" in await ephemeral_refusal(second)
    assert paid_creates(fake_acedata) == 1


async def test_the_panel_sets_confirm_above_credits_with_the_same_rules(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    await bot_harness.start()
    await _set(fake, member_daily="3")
    panel = await open_panel(fake, fake.owner)
    prefilled = await open_form(fake, panel, "defaults")
    assert prefilled["confirm_above_credits"] == "none"

    # A bad value: refused with /limits set's words, nothing saved.
    await submit(fake, panel, "defaults", {"confirm_above_credits": "-3"})
    typed = await fake.send_slash_command(
        "limits", {"confirm_above_credits": "-3"}, user=fake.owner, subcommand=["set"]
    )
    same = await ephemeral_refusal(typed)
    assert panel["content"].startswith("❌") and "confirm_above_credits" in panel["content"]
    assert same.split("\n", 1)[1] in panel["content"]

    await submit(fake, panel, "defaults", {"confirm_above_credits": "1"})
    assert panel["content"].startswith("Saved") and "1 credit" in panel["content"]
    assert (await open_form(fake, panel, "defaults"))["confirm_above_credits"] == "1"

    # It takes effect: a video estimated above 1 credit asks first, and nothing is paid yet.
    sent = await run_video(fake, {"prompt": "a lighthouse"})
    ask = await sent.wait_for_call(
        lambda c: c.route in (CALLBACK, FOLLOWUP) and "Confirm" in str(c.json), 10.0
    )
    assert ask.status == 200
    assert paid_creates(fake_acedata) == 0

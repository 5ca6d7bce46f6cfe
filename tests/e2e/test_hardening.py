"""Adversarial end-to-end tests (issue 12): what a careless or hostile member or moderator types, sent
through the real bot process. Each test is one class of input; see docs/threat-model.md.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, RestCall, SentInteraction
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    CALLBACK,
    FOLLOWUP,
    JOB_TIMEOUT,
    delivered_upload,
    ephemeral_refusal,
    job_actions,
    paid_creates,
    run_video,
)
from tests.e2e.test_member_commands import command
from tests.fakes.acedata import FakeAceData
from tests.images import png_bytes

pytestmark = pytest.mark.e2e

TWENTY_DIGITS = "9" * 20


def apng_bytes(width: int = 640, height: int = 400) -> bytes:
    frames = [Image.new("RGB", (width, height), (40 * i, 90, 160)) for i in range(3)]
    buffer = BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def first_answer(sent: SentInteraction) -> Any:
    async def read() -> dict[str, Any]:
        body: dict[str, Any] = (await sent.response()).json
        return body

    return read()


async def refusal_call(sent: SentInteraction, within: float = 8.0) -> RestCall:
    """The call that carried the ephemeral refusal (to inspect allowed_mentions and length)."""

    def ephemeral(call: RestCall) -> bool:
        body = call.json or {}
        if call.route == CALLBACK:
            return body.get("type") == 4 and bool(int((body.get("data") or {}).get("flags") or 0) & EPHEMERAL)
        return call.route == FOLLOWUP and bool(int(body.get("flags") or 0) & EPHEMERAL)

    return await sent.wait_for_call(ephemeral, within)


# --- repeats of image jobs ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["rerun", "remix"])
async def test_rerun_and_remix_of_an_image_to_video_job_work(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData, action: str
) -> None:
    await bot_harness.start()
    image = fake_discord.add_attachment(png_bytes(640, 400), "meadow.png")
    first = await run_video(fake_discord, {"prompt": "grass in the wind", "start_image": image})
    delivered = await delivered_upload(fake_discord, first)
    job_id = job_actions(delivered.json)[action]

    click = await fake_discord.send_component_click(int(delivered.response["id"]), f"kling:{action}:{job_id}")
    if action == "remix":
        modal = (await click.response()).json["data"]
        click = await fake_discord.send_modal_submit(modal["custom_id"], {"prompt": "grass at night"})
    again = await delivered_upload(fake_discord, click)

    assert again.status == 200 and paid_creates(fake_acedata) == 2
    repeated = list(fake_acedata.tasks.values())[1].request
    assert repeated["action"] == "image2video" and repeated["start_image_url"]


# --- moderators' numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option", ["guild_concurrent", "member_concurrent", "guild_daily", "member_monthly", "max_duration"]
)
async def test_a_twenty_digit_limit_is_refused_naming_the_option_and_its_range(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData, option: str
) -> None:
    await bot_harness.start()
    setting = await command(
        fake_discord, "limits", {option: TWENTY_DIGITS}, user=fake_discord.owner, sub="set"
    )
    text = await ephemeral_refusal(setting)

    assert f"**{option}**" in text and " to " in text and "out of range" in text
    assert "Nothing was changed" in text
    # The server still works: a video is admitted, started and delivered.
    video = await run_video(fake_discord, {"prompt": "a paper boat on a pond"})
    assert (await delivered_upload(fake_discord, video)).status == 200


# --- DMs and values a client never offers -------------------------------------------------------------


@pytest.mark.parametrize("name", ["quota", "history", "usage"])
async def test_member_commands_in_a_dm_get_a_clear_refusal(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData, name: str
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command(name, {}, dm=True, require_synced=False)
    text = await ephemeral_refusal(sent)
    assert "only works in a server" in text
    assert "went wrong" not in bot_harness.output().lower()


async def test_an_option_value_outside_its_choices_is_refused(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    history = await command(fake_discord, "history", {"status": "everything"}, user=fake_discord.default_user)
    text = await ephemeral_refusal(history)
    assert "**status**" in text and "`everything`" in text and "pick one of" in text

    video = await fake_discord.send_slash_command("video", {"prompt": "a kite", "mode": "ultra"})
    refused = await ephemeral_refusal(video)  # mode is a choice list or an autocomplete: refused either way
    assert "`ultra`" in refused and "mode" in refused and "pick one of" in refused
    assert paid_creates(fake_acedata) == 0
    assert "Traceback" not in bot_harness.output()


# --- echoes of member input --------------------------------------------------------------------------


async def test_a_long_hostile_value_is_echoed_short_inert_and_the_advice_survives(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    hostile = "@everyone <@&1234> **" + "x" * 5000 + "`"
    sent = await fake_discord.send_slash_command("video", {"prompt": "a kite", "model": hostile})
    call = await refusal_call(sent)
    body = call.json["data"] if call.route == CALLBACK else call.json
    text = body["content"]

    assert "pick one of" in text and text.rstrip().endswith(".")  # the explanation is whole
    assert len(text) < 700
    assert "@everyone" not in text and "<@&" not in text
    assert body.get("allowed_mentions", {}).get("parse") == []
    assert paid_creates(fake_acedata) == 0


# --- animated frames ---------------------------------------------------------------------------------


async def test_an_animated_png_start_frame_is_refused_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    frames = fake_discord.add_attachment(apng_bytes(), "dance.png")
    sent = await fake_discord.send_slash_command("video", {"prompt": "a dance", "start_image": frames})
    text = await ephemeral_refusal(sent)
    assert "animated" in text and "start_image" in text
    assert paid_creates(fake_acedata) == 0


# --- buttons and modals ------------------------------------------------------------------------------


async def test_buttons_check_the_member_and_the_message_they_sit_on(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    first = await run_video(fake_discord, {"prompt": "a red balloon"})
    one = await delivered_upload(fake_discord, first)
    second = await run_video(fake_discord, {"prompt": "a blue balloon"})
    two = await delivered_upload(fake_discord, second)
    one_id, two_id = job_actions(one.json)["delete"], job_actions(two.json)["delete"]
    message_one, message_two = int(one.response["id"]), int(two.response["id"])

    # Job two's Delete replayed on job one's message: nothing is deleted (discord.py drops a click
    # whose button is not on the message; `job_action_refusal` refuses it too, see test_access.py).
    forged = await fake_discord.send_component_click(message_one, f"kling:delete:{two_id}", forged=True)
    with pytest.raises(AssertionError, match="timed out"):
        await forged.wait_for_call(lambda c: "Deleted" in str((c.json or {}).get("content")), 2.0)
    assert message_one not in fake_discord.deleted_messages

    # Another member can neither delete nor rerun someone's video.
    stranger = fake_discord.add_member(fake_discord.guild, "stranger")
    for action in ("delete", "rerun"):
        click = await fake_discord.send_component_click(
            message_two, f"kling:{action}:{two_id}", user=stranger
        )
        assert f"can {action} it" in await ephemeral_refusal(click)
    assert message_two not in fake_discord.deleted_messages
    assert paid_creates(fake_acedata) == 2

    # The member themself can.
    own = await fake_discord.send_component_click(message_one, f"kling:delete:{one_id}")
    await own.wait_for_call(lambda c: c.route == FOLLOWUP and "Deleted" in str((c.json or {}).get("content")))
    assert message_one in fake_discord.deleted_messages


async def test_a_remix_form_only_works_for_its_opener_in_its_server(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    first = await run_video(fake_discord, {"prompt": "a lighthouse"})
    delivered = await delivered_upload(fake_discord, first)
    job_id = job_actions(delivered.json)["remix"]
    click = await fake_discord.send_component_click(int(delivered.response["id"]), f"kling:remix:{job_id}")
    modal = (await click.response()).json["data"]
    field = "prompt"
    assert str(fake_discord.default_user.id) in modal["custom_id"]  # bound to whoever opened it

    stranger = fake_discord.add_member(fake_discord.guild, "stranger")
    by_stranger = await fake_discord.send_modal_submit(modal["custom_id"], {field: "mine now"}, user=stranger)
    assert "belongs to the member who opened it" in await ephemeral_refusal(by_stranger)

    elsewhere = fake_discord.add_guild("elsewhere")
    from_elsewhere = await fake_discord.send_modal_submit(modal["custom_id"], {field: "x"}, guild=elsewhere)
    assert "can't find that job" in await ephemeral_refusal(from_elsewhere)
    assert paid_creates(fake_acedata) == 1

    # The opener's own submission still goes through afterwards.
    own = await fake_discord.send_modal_submit(modal["custom_id"], {field: "a lighthouse at dawn"})
    assert (await delivered_upload(fake_discord, own, JOB_TIMEOUT)).status == 200
    assert paid_creates(fake_acedata) == 2


# --- blocked words -----------------------------------------------------------------------------------


async def test_disguised_blocked_words_never_reach_a_paid_create(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    owner = fake_discord.owner
    words = await fake_discord.send_slash_command(
        "limits", {"words": "dragon"}, user=owner, subcommand=["words", "add"]
    )
    await words.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)

    for disguised in ("d r a g o n", "d.r.a.g.o.n", "dra\ngon", "dr\u0430g\u03bfn", "dr4g0n", "dra\u3164gon"):
        sent = await fake_discord.send_slash_command("video", {"prompt": f"a {disguised} over a castle"})
        assert "doesn't allow" in await ephemeral_refusal(sent), disguised
    assert paid_creates(fake_acedata) == 0

    innocent = await run_video(fake_discord, {"prompt": "a snapdragon in bloom; the rain will drag on"})
    assert (await delivered_upload(fake_discord, innocent)).status == 200

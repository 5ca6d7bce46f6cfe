"""End-to-end (issue 10): citations, kling-v3-turbo, storyboards and reference videos, through the real
bot against the fake Discord and the fake AceData that enforces the guide's rules."""

from __future__ import annotations

import pytest

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord, RestCall
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    delivered_upload,
    embed_text,
    ephemeral_refusal,
    paid_creates,
    run_video,
)
from tests.fakes.acedata import FakeAceData
from tests.images import png_bytes
from tests.videos import video_bytes

pytestmark = pytest.mark.e2e


def _ephemeral_followup(call: RestCall) -> bool:
    return call.route == FOLLOWUP and bool(int((call.json or {}).get("flags") or 0) & EPHEMERAL)


async def test_uncited_references_are_cited_and_the_member_is_shown_the_prompt(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    first = fake_discord.add_attachment(png_bytes(640, 640), "fox.png")
    second = fake_discord.add_attachment(png_bytes(640, 640, (9, 90, 9)), "hat.png")
    sent = await fake_discord.send_slash_command(
        "video-omni",
        {
            "prompt": "a fox wearing a hat dances",
            "model": "kling-v3-omni",
            "reference_image_1": first,
            "reference_image_2": second,
        },
    )
    await delivered_upload(fake_discord, sent)

    [task] = fake_acedata.tasks.values()
    final = "a fox wearing a hat dances. Use <<<image_1>>> and <<<image_2>>> as references."
    assert task.request["prompt"] == final
    assert task.ignored_references == []  # the fake, like AceData, would drop an uncited one
    note = await sent.wait_for_call(_ephemeral_followup)
    assert "Use <<<image_1>>> and <<<image_2>>> as references." in note.json["content"]
    # The final prompt, shown publicly (markdown-escaped, so `image_2` reads `image\_2` in the JSON).
    progress = [embed_text(c.json).replace("\\", "") for c in sent.calls if c.method == "PATCH" and c.json]
    assert any(final in text for text in progress)


async def test_a_citation_of_nothing_is_refused_before_paying(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    image = fake_discord.add_attachment(png_bytes(640, 640), "fox.png")
    sent = await fake_discord.send_slash_command(
        "video-omni",
        {"prompt": "<<<image_3>>> dances", "model": "kling-v3-omni", "reference_image_1": image},
    )
    text = await ephemeral_refusal(sent)
    assert "<<<image_3>>>" in text and "remove the citation" in text
    assert paid_creates(fake_acedata) == 0


async def test_turbo_is_accepted_by_the_model_option_and_always_sends_sound(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await run_video(
        fake_discord, {"prompt": "a kite over the dunes", "model": "kling-v3-turbo", "duration": 7}
    )
    await delivered_upload(fake_discord, sent)
    [task] = fake_acedata.tasks.values()
    assert (task.request["model"], task.request["duration"], task.request["generate_audio"]) == (
        "kling-v3-turbo",
        7,
        True,
    )

    refused = await run_video(
        fake_discord,
        {"prompt": "a kite", "model": "kling-v3-turbo", "negative_prompt": "blur", "generate_audio": False},
    )
    text = await ephemeral_refusal(refused)
    assert "always makes sound" in text and "doesn't take negative_prompt" in text
    assert paid_creates(fake_acedata) == 1


async def test_a_storyboard_from_the_form_is_numbered_back_and_sent_as_shots(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    command = await fake_discord.send_slash_command("storyboard", {"model": "kling-v3", "mode": "pro"})
    shown = await command.response()
    assert shown.json["type"] == 9, shown.json  # the form opens

    sent = await fake_discord.send_modal_submit(
        "kling-storyboard-modal", {"shots": "4s: the fox leaps over the log\n\n3s: it lands in the snow"}
    )
    await delivered_upload(fake_discord, sent)

    [task] = fake_acedata.tasks.values()
    assert task.request["multi_shot"] is True and task.request["shot_type"] == "customize"
    assert task.request["duration"] == 7
    assert task.request["multi_prompt"] == [
        {"index": 1, "prompt": "the fox leaps over the log", "duration": 4},
        {"index": 2, "prompt": "it lands in the snow", "duration": 3},
    ]
    progress = "\n".join(embed_text(c.json) for c in sent.calls if c.method == "PATCH" and c.json)
    assert "1. (4 s) the fox leaps over the log" in progress
    assert "2. (3 s) it lands in the snow" in progress


async def test_a_storyboard_that_breaks_a_rule_is_refused_before_paying(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    command = await fake_discord.send_slash_command("storyboard", {"duration": 10})
    await command.response()
    sent = await fake_discord.send_modal_submit("kling-storyboard-modal", {"shots": "4s: a\nleaps\n3s: b"})
    text = await ephemeral_refusal(sent)
    assert "Line 2 (`leaps`) is not a shot" in text

    command = await fake_discord.send_slash_command("storyboard", {"duration": 10})
    await command.response()
    sent = await fake_discord.send_modal_submit("kling-storyboard-modal", {"shots": "4s: a\n3s: b"})
    text = await ephemeral_refusal(sent)
    assert "The shots add up to 7 seconds but the video is 10" in text
    assert paid_creates(fake_acedata) == 0


async def test_a_reference_video_is_read_before_paying(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    slow = fake_discord.add_attachment(video_bytes(720, 720, seconds=3.5, fps=12), "slow.mp4")
    sent = await fake_discord.send_slash_command(
        "video-omni", {"prompt": "make it snow", "model": "kling-o1", "reference_video": slow}
    )
    text = await ephemeral_refusal(sent)
    assert "12 frames per second" in text
    assert paid_creates(fake_acedata) == 0

    good = fake_discord.add_attachment(video_bytes(720, 720, seconds=6.2, fps=24), "good.mp4")
    sent = await fake_discord.send_slash_command(
        "video-omni", {"prompt": "make it snow", "model": "kling-o1", "reference_video": good}
    )
    await delivered_upload(fake_discord, sent)
    [task] = fake_acedata.tasks.values()
    assert task.request["prompt"] == "make it snow. Apply this to <<<video_1>>>."
    assert task.ignored_references == []

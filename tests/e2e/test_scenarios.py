"""End-to-end scenarios: the real `python -m bot` process against the fake Discord and the fake AceData.

Each test starts the bot through ``BotHarness`` (tests/e2e/harness.py), acts as a member on the fake
Discord and checks what the bot did on both fakes: which callbacks and edits it sent, what it uploaded,
and how many paid creates reached AceData.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.e2e.fake_discord import EPHEMERAL, FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    CHANNEL_MESSAGE,
    CHANNEL_POST,
    FOLLOWUP,
    JOB_TIMEOUT,
    LINK_BUTTON,
    buttons,
    delivered_upload,
    edits_of,
    embed_text,
    ephemeral_refusal,
    eventually,
    expire_after_launch,
    job_actions,
    paid_creates,
    run_video,
    video_sent_by_dm,
)
from tests.fakes.acedata import FakeAceData
from tests.images import png_bytes, text_bytes

pytestmark = pytest.mark.e2e

# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def no_secret_in_output(bot_harness: BotHarness) -> AsyncIterator[None]:
    """Whatever a scenario does, no token may appear in anything the bot printed."""
    yield
    await bot_harness.stop()
    assert bot_harness.leaked_secrets() == [], "the bot printed a token"


# --- a video made ----------------------------------------------------------------------------------


async def test_text_to_video_is_uploaded_on_the_progress_message_with_buttons(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a red fox running through fresh snow"})
    ack = (await sent.response()).json
    assert ack["type"] == 5  # deferred within Discord's 3 seconds...
    assert not int((ack.get("data") or {}).get("flags") or 0) & EPHEMERAL  # ...in public

    upload = await delivered_upload(fake_discord, sent)

    assert [(f.filename.endswith(".mp4"), f.size) for f in upload.files] == [(True, fake_acedata.video_bytes)]
    message = fake_discord.messages[int(upload.response["id"])]
    assert message["id"] == str(sent.state.original_message_id)  # the progress message became the result
    assert f"<@{fake_discord.default_user.id}>" in message["content"]
    actions = job_actions(message)
    assert {"rerun", "remix", "delete"} <= set(actions)
    assert len(set(actions.values())) == 1
    [task] = fake_acedata.tasks.values()
    assert task.request["action"] == "text2video"
    assert task.request["prompt"] == "a red fox running through fresh snow"
    assert paid_creates(fake_acedata) == 1


async def test_image_to_video_reads_the_start_image_from_the_cdn(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    image = fake_discord.add_attachment(png_bytes(640, 400), "meadow.png")

    sent = await run_video(fake_discord, {"prompt": "the grass sways in the wind", "start_image": image})
    upload = await delivered_upload(fake_discord, sent)

    downloads = [c for c in fake_discord.calls if c.path.startswith("/cdn/") and f"/{image.id}/" in c.path]
    assert downloads and all(c.status == 200 for c in downloads)  # the pre-flight read the real bytes
    [task] = fake_acedata.tasks.values()
    assert task.request["action"] == "image2video"
    assert task.request["start_image_url"] == image.url
    assert upload.files[0].size == fake_acedata.video_bytes


# --- refused before anything is paid -----------------------------------------------------------------


def audio_on_kling_v1(fake: FakeDiscord) -> dict[str, Any]:
    return {"prompt": "a cat sings", "model": "kling-v1", "generate_audio": True}


def end_frame_on_a_10s_kling_v1(fake: FakeDiscord) -> dict[str, Any]:
    return {
        "prompt": "a cat walks",
        "model": "kling-v1",
        "duration": 10,
        "start_image": fake.add_attachment(png_bytes(512, 512), "start.png"),
        "end_image": fake.add_attachment(png_bytes(512, 512, (9, 9, 9)), "end.png"),
    }


@pytest.mark.parametrize(
    ("options_for", "named"),
    [(audio_on_kling_v1, "generate_audio"), (end_frame_on_a_10s_kling_v1, "duration")],
    ids=["audio-on-kling-v1", "end-frame-on-10s-kling-v1"],
)
async def test_an_impossible_combination_is_refused_only_to_the_member_and_costs_nothing(
    bot_harness: BotHarness,
    fake_discord: FakeDiscord,
    fake_acedata: FakeAceData,
    options_for: Callable[[FakeDiscord], dict[str, Any]],
    named: str,
) -> None:
    await bot_harness.start()
    options = options_for(fake_discord)

    sent = await fake_discord.send_slash_command("video", options)
    text = await ephemeral_refusal(sent)

    assert named in text
    assert (await sent.response()).json["type"] == 4  # answered at once: no public "thinking" message
    assert fake_acedata.created_tasks == 0 and paid_creates(fake_acedata) == 0
    assert not [c for c in fake_discord.calls if c.path.startswith("/cdn/")]  # nothing was even downloaded


async def test_a_text_file_named_png_is_refused_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    fake_text = fake_discord.add_attachment(text_bytes(), "holiday.png")  # served as image/png

    sent = await fake_discord.send_slash_command("video", {"prompt": "a beach", "start_image": fake_text})
    text = await ephemeral_refusal(sent)

    assert "start_image" in text or "picture" in text.lower() or "image" in text.lower()
    assert fake_acedata.created_tasks == 0 and paid_creates(fake_acedata) == 0
    # The public "thinking" message of the deferral does not stay behind.
    placeholder = sent.state.original_message_id
    assert placeholder is None or placeholder in fake_discord.deleted_messages


# --- results that are not a plain upload -------------------------------------------------------------


async def test_a_failed_task_says_it_cost_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.next_outcome = "fail"
    fake_acedata.failure = ("api_error", "The render farm dropped the task")
    await bot_harness.start()

    sent = await run_video(fake_discord, {"prompt": "a lighthouse in a storm"})
    is_edit = edits_of(sent)
    failure = await fake_discord.wait_for(
        lambda c: is_edit(c) and "cost you nothing" in embed_text(c.json), JOB_TIMEOUT
    )

    assert failure.status == 200
    assert "The render farm dropped the task" in embed_text(failure.json)
    assert "rerun" in job_actions(failure.json)  # "Try again"
    assert not [c for c in fake_discord.calls if c.files]
    assert paid_creates(fake_acedata) == 1


async def test_a_video_over_the_upload_limit_is_delivered_as_a_link_button(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    limit = fake_acedata.video_bytes // 2

    sent = await run_video(fake_discord, {"prompt": "a long train"}, attachment_size_limit=limit)
    is_edit = edits_of(sent)
    result = await fake_discord.wait_for(
        lambda c: is_edit(c) and any(b.get("style") == LINK_BUTTON for b in buttons(c.json or {})),
        JOB_TIMEOUT,
    )

    assert result.status == 200
    [task] = fake_acedata.tasks.values()
    [link] = [b for b in buttons(result.json) if b.get("style") == LINK_BUTTON]
    assert link["url"] == f"{fake_acedata.base_url}/files/{task.video_name}"
    assert "rerun" in job_actions(result.json)
    assert not [c for c in fake_discord.calls if c.files]  # nothing over the limit was sent to Discord


# --- the 15-minute interaction token -----------------------------------------------------------------


async def test_after_a_401_the_bot_token_edits_and_the_interaction_token_is_never_used_again(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = 1.0  # still rendering when the token dies
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "clouds over a valley"})
    await expire_after_launch(fake_discord, sent)

    upload = await delivered_upload(fake_discord, sent)

    assert upload.route == CHANNEL_MESSAGE
    token_calls = sent.calls
    rejected = [c for c in token_calls if c.status == 401]
    assert [c.error_code for c in rejected] == [50027]
    assert token_calls[-1] is rejected[0], "the interaction token was used again after its 401"
    assert paid_creates(fake_acedata) == 1


async def test_progress_moves_to_the_bot_token_at_the_hand_off_time(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    handoff = float(bot_harness.environment()["TOKEN_HANDOFF_AFTER_SECONDS"])
    fake_acedata.render_seconds = handoff + 1.5
    await bot_harness.start()

    sent = await run_video(fake_discord, {"prompt": "a slow sunrise"})
    upload = await delivered_upload(fake_discord, sent, within=handoff + JOB_TIMEOUT)

    assert upload.route == CHANNEL_MESSAGE
    is_edit = edits_of(sent)
    first_channel_edit = next(c for c in fake_discord.calls if is_edit(c) and c.route == CHANNEL_MESSAGE)
    assert first_channel_edit is not upload  # progress went on through the channel route before the result
    assert all(c.status != 401 for c in sent.calls)  # switched before Discord had to refuse anything
    assert all(c.index < first_channel_edit.index for c in sent.calls)
    assert all(c.status == 200 for c in fake_discord.calls if is_edit(c))


async def test_a_deleted_progress_message_gets_the_result_as_a_new_message_mentioning_the_member(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = 1.5
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "fireflies in a jar"})
    await sent.original_edit(lambda c: c.status == 200)
    assert sent.state.original_message_id is not None
    fake_discord.delete_message(sent.state.original_message_id)  # a moderator tidies the channel

    post = await fake_discord.wait_for(
        lambda c: c.method == "POST" and c.route == CHANNEL_POST and bool(c.files) and c.status == 200,
        JOB_TIMEOUT,
    )
    assert f"<@{fake_discord.default_user.id}>" in str(post.json.get("content"))
    refused = [c for c in fake_discord.calls if c.status == 404 and edits_of(sent)(c)]
    assert 1 <= len(refused) <= 2  # once per route at most: no retry loop on a deleted message
    assert paid_creates(fake_acedata) == 1


async def test_a_lost_channel_and_a_dead_token_send_the_result_by_dm(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = 1.5
    await bot_harness.start()
    dm_upload = await video_sent_by_dm(fake_discord, "a paper boat in rain")
    assert dm_upload.files
    forbidden = [c for c in fake_discord.calls if c.status == 403]
    assert len(forbidden) <= 2  # one refused edit and one refused post, then the DM: no loop


# --- restarts -----------------------------------------------------------------------------------------


async def test_a_kill_during_rendering_resumes_with_one_paid_task_and_one_delivery(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = None  # renders until the test finishes it
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a paper boat on a river"})
    await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")
    queried = len(fake_acedata.requests_to("/kling/tasks"))
    await eventually(lambda: len(fake_acedata.requests_to("/kling/tasks")) > queried, "a poll of the task")

    await bot_harness.restart()
    [task_id] = fake_acedata.tasks
    fake_acedata.finish(task_id)
    upload = await delivered_upload(fake_discord, sent)
    # Give a duplicate every chance to show up: several poll cycles after the delivery.
    await asyncio.sleep(1.0)

    assert bot_harness.runs[0].returncode == -9
    assert paid_creates(fake_acedata) == 1 and fake_acedata.created_tasks == 1
    assert [c.index for c in fake_discord.calls if c.files] == [upload.index]
    assert not fake_discord.find_calls("POST", CHANNEL_POST)  # no second result message either


async def test_rerun_on_a_result_delivered_before_a_restart_starts_a_new_job(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    first = await run_video(fake_discord, {"prompt": "a hot air balloon"})
    delivered = await delivered_upload(fake_discord, first)
    old_job = job_actions(delivered.json)["rerun"]

    await bot_harness.restart()
    click = await fake_discord.send_component_click(int(delivered.response["id"]), f"kling:rerun:{old_job}")
    assert (await click.response()).json["type"] == 5
    rerun = await delivered_upload(fake_discord, click)

    assert fake_acedata.created_tasks == 2
    new_job = job_actions(rerun.json)["rerun"]
    assert new_job != old_job
    prompts = [task.request["prompt"] for task in fake_acedata.tasks.values()]
    assert prompts == ["a hot air balloon", "a hot air balloon"]


# --- server limits --------------------------------------------------------------------------------------


async def test_a_member_over_the_daily_limit_is_refused_privately_with_no_paid_call(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    setting = await fake_discord.send_slash_command(
        "limits", {"member_daily": "1"}, subcommand=["set"], user=fake_discord.owner
    )
    await setting.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)
    first = await run_video(fake_discord, {"prompt": "first of the day"})
    await delivered_upload(fake_discord, first)

    second = await fake_discord.send_slash_command("video", {"prompt": "second of the day"})
    text = await ephemeral_refusal(second)

    assert "day" in text.lower() or "limit" in text.lower()
    assert paid_creates(fake_acedata) == 1
    placeholder = second.state.original_message_id
    assert placeholder is None or placeholder in fake_discord.deleted_messages


async def test_a_member_without_manage_server_cannot_change_the_limits(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()

    sent = await fake_discord.send_slash_command("limits", {"guild_daily": "0"}, subcommand=["set"])
    text = await ephemeral_refusal(sent)

    assert "Manage Server" in text
    # The limits did not change: the same member can still make a video.
    video = await run_video(fake_discord, {"prompt": "still allowed"})
    await delivered_upload(fake_discord, video)
    assert paid_creates(fake_acedata) == 1


# --- secrets --------------------------------------------------------------------------------------------


async def test_no_token_appears_in_the_output_even_at_debug_level(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    bot_harness.extra_env["LOG_LEVEL"] = "DEBUG"
    fake_acedata.render_seconds = 1.5  # long enough for a progress edit to meet the expired token
    await bot_harness.start()
    delivered = await run_video(fake_discord, {"prompt": "a quiet harbour"})
    await expire_after_launch(fake_discord, delivered)
    await delivered_upload(fake_discord, delivered)
    refused = await fake_discord.send_slash_command(
        "video", {"prompt": "x", "start_image": fake_discord.add_attachment(text_bytes(), "x.png")}
    )
    await ephemeral_refusal(refused)
    await bot_harness.stop()

    output = bot_harness.output()
    assert "DEBUG" in output and "job " in output  # the bot did log, verbosely, about the job
    assert bot_harness.leaked_secrets() == []
    assert len(fake_discord.interaction_tokens()) == 2

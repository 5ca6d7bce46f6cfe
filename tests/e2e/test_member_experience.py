"""End-to-end: the member experience of issue 13 through the real bot and the fakes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.video_edit import duration_seconds, last_frame, sound_seconds
from tests.e2e.fake_discord import FakeAttachment, FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    CALLBACK,
    FOLLOWUP,
    JOB_TIMEOUT,
    buttons,
    delivered_upload,
    edits_of,
    embed_text,
    ephemeral_refusal,
    eventually,
    job_actions,
    paid_creates,
    run_video,
    video_sent_by_dm,
)
from tests.fakes.acedata import FakeAceData, FakeTask
from tests.images import png_bytes
from tests.videos import loudness, mp4_bytes

pytestmark = pytest.mark.e2e


async def test_inline_flags_reach_the_request_vanish_from_the_prompt_and_are_echoed(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await run_video(
        fake_discord,
        {"prompt": "a lighthouse in a storm --ar 9:16 --d 10 --m v2.6 --no blur, text --cfg 0.4"},
    )
    await delivered_upload(fake_discord, sent)

    [task] = fake_acedata.tasks.values()
    assert task.request["prompt"] == "a lighthouse in a storm"
    assert (task.request["aspect_ratio"], task.request["duration"], task.request["model"]) == (
        "9:16",
        10,
        "kling-v2-6",
    )
    assert (task.request["negative_prompt"], task.request["cfg_scale"]) == ("blur, text", 0.4)
    progress = [embed_text(c.json) for c in sent.calls if c.method == "PATCH" and c.json]
    assert any("--ar 9:16" in text and "--d 10" in text for text in progress)


async def test_a_mistyped_flag_is_refused_at_once_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("video", {"prompt": "a fox --arr 9:16"})
    text = await ephemeral_refusal(sent)
    assert "--arr" in text and "--ar" in text
    assert paid_creates(fake_acedata) == 0


async def test_server_and_member_defaults_apply_to_a_bare_prompt(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    refused = await fake_discord.send_slash_command("defaults", {"model": "kling-v3"}, subcommand=["server"])
    assert "moderators" in await ephemeral_refusal(refused)
    server = await fake_discord.send_slash_command(
        "defaults", {"model": "kling-v3", "duration": 8}, subcommand=["server"], user=fake_discord.owner
    )
    assert (await server.response()).status == 200
    member = await fake_discord.send_slash_command("defaults", {"aspect_ratio": "1:1"}, subcommand=["set"])
    assert (await member.response()).status == 200

    sent = await run_video(fake_discord, {"prompt": "a quiet harbour"})
    await delivered_upload(fake_discord, sent)
    [task] = fake_acedata.tasks.values()
    assert (task.request["model"], task.request["duration"], task.request["aspect_ratio"]) == (
        "kling-v3",
        8,
        "1:1",
    )


async def test_help_is_a_short_private_tour(bot_harness: BotHarness, fake_discord: FakeDiscord) -> None:
    await bot_harness.start()
    sent = await fake_discord.send_slash_command("help")
    call = await sent.wait_for_call(lambda c: c.route == CALLBACK)
    text = embed_text(call.json["data"])
    assert "--ar 9:16" in text and "Next shot" in text and "/video-omni" in text


# --- stories: Next shot and Stitch ------------------------------------------------------------------

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 220)
SIZE = (480, 320)


def _close(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 30 for a, b in zip(colour, expected, strict=False))


def _attachment_by_url(fake: FakeDiscord, url: str) -> FakeAttachment:
    return next(a for a in fake.attachments.values() if a.url == url)


async def test_next_shot_starts_from_the_last_frame_and_stitch_joins_the_story(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    shots = {
        1: mp4_bytes([RED, BLUE], seconds_each=1.0, size=SIZE, tone=440),  # ends on blue, with sound
        2: mp4_bytes([GREEN], seconds_each=1.5, size=SIZE),  # silent
    }
    order: list[str] = []

    def video_of(task: FakeTask) -> bytes:
        if task.task_id not in order:
            order.append(task.task_id)
        return shots[order.index(task.task_id) + 1]

    fake_acedata.video_factory = video_of
    await bot_harness.start()
    first = await run_video(fake_discord, {"prompt": "a fox runs under a blue sky"})
    upload = await delivered_upload(fake_discord, first)
    result = fake_discord.messages[int(upload.response["id"])]
    labels = {b.get("label") for b in buttons(result)}
    assert "Next shot" in labels and "Stitch" not in labels  # one shot is not a story yet
    first_job = job_actions(result)["next"]

    click = await fake_discord.send_component_click(result, f"kling:next:{first_job}")
    shown = (await click.response()).json
    assert shown["type"] == 9  # a modal
    assert shown["data"]["custom_id"].startswith(f"kling-next-modal:{first_job}:")  # bound to its opener
    second = await fake_discord.send_modal_submit(
        shown["data"]["custom_id"], {"prompt": "the fox stops and looks back"}
    )
    await eventually(lambda: len(fake_acedata.tasks) == 2, "the next shot's paid request")
    request = list(fake_acedata.tasks.values())[1].request
    assert request["action"] == "image2video" and request["prompt"] == "the fox stops and looks back"
    frame = Image.open(io.BytesIO(_attachment_by_url(fake_discord, request["start_image_url"]).data))
    assert frame.size == SIZE and _close(frame.getpixel((10, 10)), BLUE)  # type: ignore[arg-type]

    is_edit = edits_of(second)
    second_upload = await fake_discord.wait_for(
        lambda c: is_edit(c) and any(f.filename.endswith(".mp4") for f in c.files) and c.status == 200,
        JOB_TIMEOUT,
    )
    second_result = fake_discord.messages[int(second_upload.response["id"])]
    assert {"next", "stitch"} <= set(job_actions(second_result))
    second_job = job_actions(second_result)["stitch"]

    stitch = await fake_discord.send_component_click(second_result, f"kling:stitch:{second_job}")
    posted = await stitch.wait_for_call(lambda c: c.route == FOLLOWUP and bool(c.files), JOB_TIMEOUT)
    assert posted.status == 200 and posted.files[0].filename.endswith(".mp4")
    joined = posted.files[0].data
    assert duration_seconds(joined) == pytest.approx(
        duration_seconds(shots[1]) + duration_seconds(shots[2]), abs=0.15
    )
    assert _close(last_frame(joined).getpixel((5, 5)), GREEN)  # type: ignore[arg-type]
    # The first shot's sound is kept, the silent shot is silence of its length.
    assert sound_seconds(joined) == pytest.approx(duration_seconds(joined), abs=0.1)
    assert loudness(joined, 0.1, 1.9) > 0.3 and loudness(joined, 2.1, 3.4) < 0.01

    # A channel whose upload limit can't hold the story: told so, with the shots in order.
    fake_discord.upload_limit_bytes = len(shots[1]) + 100
    too_big = await fake_discord.send_component_click(second_result, f"kling:stitch:{second_job}")
    text = await ephemeral_refusal(too_big)
    assert "upload limit" in text and "1. " in text and "2. " in text
    assert paid_creates(fake_acedata) == 2  # stitching cost nothing


async def test_next_shot_on_an_undecodable_video_is_refused_and_costs_nothing(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()  # the fake serves a few bytes that are no video at all
    first = await run_video(fake_discord, {"prompt": "a fox"})
    result = fake_discord.messages[int((await delivered_upload(fake_discord, first)).response["id"])]
    job_id = job_actions(result)["next"]
    click = await fake_discord.send_component_click(result, f"kling:next:{job_id}")
    shown = (await click.response()).json
    assert shown["type"] == 9
    submitted = await fake_discord.send_modal_submit(shown["data"]["custom_id"], {"prompt": "more"})
    text = await ephemeral_refusal(submitted)
    assert "last frame" in text and "nothing was made or charged" in text
    assert paid_creates(fake_acedata) == 1


# --- buttons on results of any age and place --------------------------------------------------------


async def test_rerun_after_the_original_attachment_link_expired(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    await bot_harness.start()
    image = fake_discord.add_attachment(png_bytes(640, 400), "meadow.png")
    sent = await run_video(fake_discord, {"prompt": "the grass sways", "start_image": image})
    result = fake_discord.messages[int((await delivered_upload(fake_discord, sent)).response["id"])]
    kept = [a for a in result["attachments"] if a["filename"].startswith("start-frame")]
    assert kept, "the start frame is kept on the result message"

    old_url = image.url
    fake_discord.expire_attachment_links()  # a day later
    rerun = await fake_discord.send_component_click(result, f"kling:rerun:{job_actions(result)['rerun']}")
    await delivered_upload(fake_discord, rerun)

    second = list(fake_acedata.tasks.values())[1].request
    assert second["start_image_url"] != old_url
    assert second["start_image_url"] == fake_discord.attachments[int(kept[0]["id"])].url  # freshly signed
    assert paid_creates(fake_acedata) == 2


async def test_buttons_on_a_result_sent_by_dm_work(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = 1.5
    await bot_harness.start()
    dm_post = await video_sent_by_dm(fake_discord, "a paper boat in rain")
    dm_message = fake_discord.messages[int(dm_post.response["id"])]
    job_id = job_actions(dm_message)["rerun"]

    rerun = await fake_discord.send_component_click(dm_message, f"kling:rerun:{job_id}")
    assert (await rerun.response()).json["type"] == 5  # accepted, not "I can't find that job"
    await eventually(lambda: paid_creates(fake_acedata) == 2, "the rerun's paid request")
    await delivered_upload(fake_discord, rerun)

    remix = await fake_discord.send_component_click(dm_message, f"kling:remix:{job_id}")
    shown = (await remix.response()).json
    assert shown["type"] == 9
    changed = await fake_discord.send_modal_submit(
        shown["data"]["custom_id"], {"prompt": "a paper boat in snow", "settings": "--ar 1:1 --d 10"}
    )
    await eventually(lambda: paid_creates(fake_acedata) == 3, "the remix's paid request")
    request = list(fake_acedata.tasks.values())[2].request
    assert (request["prompt"], request["aspect_ratio"], request["duration"]) == (
        "a paper boat in snow",
        "1:1",
        10,
    )
    await delivered_upload(fake_discord, changed)


async def test_try_again_on_an_old_failure_renews_the_start_frame_link(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.next_outcome = "fail"
    await bot_harness.start()
    image = fake_discord.add_attachment(png_bytes(640, 400), "meadow.png")
    sent = await run_video(fake_discord, {"prompt": "the grass sways", "start_image": image})
    is_edit = edits_of(sent)
    failure = await fake_discord.wait_for(
        lambda c: is_edit(c) and c.status == 200 and "kling:remix:" in str(c.json), JOB_TIMEOUT
    )
    message = fake_discord.messages[int(failure.response["id"])]
    assert {"rerun", "remix", "delete"} <= set(job_actions(message))  # Try again, Remix, Delete
    kept = [a for a in message["attachments"] if a["filename"].startswith("start-frame")]
    assert kept, "the start frame is kept on the job's own message"

    fake_discord.expire_attachment_links()
    fake_acedata.next_outcome = "succeed"
    again = await fake_discord.send_component_click(message, f"kling:rerun:{job_actions(message)['rerun']}")
    await delivered_upload(fake_discord, again)
    second = list(fake_acedata.tasks.values())[1].request
    assert second["start_image_url"] == fake_discord.attachments[int(kept[0]["id"])].url

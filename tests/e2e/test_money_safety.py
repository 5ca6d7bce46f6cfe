"""End-to-end: the operator's money through the real bot process. A create whose answer a kill -9 lost
is found upstream and delivered once; an ambiguous one is never guessed."""

from __future__ import annotations

import io
from typing import Any

import av
import httpx
import pytest

from bot.quota.models import GuildLimits
from bot.storage import open_store
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    JOB_TIMEOUT,
    delivered_upload,
    edits_of,
    embed_text,
    ephemeral_refusal,
    eventually,
    paid_creates,
    run_video,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
async def no_secret_in_output(bot_harness: BotHarness) -> Any:
    yield
    await bot_harness.stop()
    assert bot_harness.leaked_secrets() == [], "the bot printed a token"


def hang_the_next_create(fake: FakeAceData) -> None:
    """AceData makes the task (it is paid for) but its answer never arrives before the kill."""
    fake.inject("/kling/videos", process=True, delay=60.0)


async def create_elsewhere(fake: FakeAceData, body: dict[str, Any]) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{fake.base_url}/kling/videos", json=body, headers={"authorization": f"Bearer {fake.token}"}
        )
    return str(answer.json()["task_id"])


async def test_a_kill_during_the_create_adopts_the_task_made_upstream_and_delivers_it_once(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    hang_the_next_create(fake_acedata)
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a lantern drifting over a lake"})
    await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create to reach AceData")

    await bot_harness.restart()  # kill -9 while the create's answer is still on its way
    upload = await delivered_upload(fake_discord, sent)

    assert bot_harness.runs[0].returncode == -9
    [task_id] = fake_acedata.tasks
    assert paid_creates(fake_acedata) == 1 and fake_acedata.created_tasks == 1
    assert [c.index for c in fake_discord.calls if c.files] == [upload.index]
    assert f"adopted task {task_id}" in bot_harness.runs[1].output
    assert "could not confirm" not in embed_text(upload.json).lower()


async def test_a_kill_with_two_identical_requests_upstream_is_unconfirmed_not_guessed(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    prompt = "the same red kite"
    await bot_harness.start()
    # Someone else on the same AceData token asked for exactly the same video a moment before.
    twin = await create_elsewhere(
        fake_acedata,
        {"action": "text2video", "model": "kling-v1", "mode": "std", "aspect_ratio": "16:9", "duration": 5}
        | {"async": True, "prompt": prompt},
    )
    hang_the_next_create(fake_acedata)
    sent = await run_video(fake_discord, {"prompt": prompt})
    await eventually(lambda: fake_acedata.created_tasks == 2, "the paid create to reach AceData")
    [ours] = [t for t in fake_acedata.tasks.values() if t.task_id != twin]
    assert {k: v for k, v in ours.request.items()} == fake_acedata.tasks[twin].request  # truly identical

    await bot_harness.restart()
    is_edit = edits_of(sent)
    told = await fake_discord.wait_for(
        lambda c: is_edit(c) and "could not confirm" in embed_text(c.json).lower(), JOB_TIMEOUT
    )

    assert told.status == 200
    assert "cost you nothing" in embed_text(told.json)
    assert not [c for c in fake_discord.calls if c.files]  # nobody got a video that may not be theirs
    assert paid_creates(fake_acedata) == 2  # the twin and ours, never resent
    assert "identical requests" in bot_harness.runs[1].output


# --- AceData out of balance ------------------------------------------------------------------------------


async def test_an_empty_balance_alerts_once_refuses_new_videos_and_resumes_by_itself(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    modlog = fake_discord.guild.channel("mod-log")
    store = await open_store(bot_harness.database_path)
    await store.set_limits(fake_discord.guild.id, GuildLimits(modlog_channel_id=modlog.id))
    await store.close()
    bot_harness.extra_env["ACEDATA_PROBE_INTERVAL_SECONDS"] = "1"
    fake_acedata.balance_exhausted = True
    await bot_harness.start()

    def modlog_posts(text: str) -> list[str]:
        posts = (str(m.get("content") or "") for m in fake_discord.messages_in(modlog.id))
        return [post for post in posts if text in post]

    first = await run_video(fake_discord, {"prompt": "a kettle on the boil"})
    await eventually(lambda: bool(modlog_posts("out of credit")), "the mod-log alert")
    second = await fake_discord.send_slash_command("video", {"prompt": "a second kettle"})
    refusal = await ephemeral_refusal(second)

    assert "run out of credit" in refusal and "Nothing was charged" in refusal
    assert fake_acedata.created_tasks == 0

    fake_acedata.balance_exhausted = False  # the operator tops up
    await delivered_upload(fake_discord, first, within=JOB_TIMEOUT + 5)
    await eventually(lambda: bool(modlog_posts("works again")), "the all-clear")

    assert len(modlog_posts("out of credit")) == 1  # one alert, not one per job or per probe
    assert [task.request["prompt"] for task in fake_acedata.tasks.values()] == ["a kettle on the boil"]
    assert all(r.json["prompt"] == "a kettle on the boil" for r in fake_acedata.requests_to("/kling/videos"))
    assert bot_harness.output().count("AceData circuit OPEN") == 1


# --- try it without paying ---------------------------------------------------------------------------------


async def test_simulated_mode_sends_nothing_to_acedata_and_delivers_a_playable_labelled_mp4(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    # ACEDATA_BASE_URL still points at the fake AceData: any request reaching it would be recorded.
    bot_harness.extra_env.update(SIMULATE_ACEDATA="true", ACEDATA_API_TOKEN="")
    await bot_harness.start()

    sent = await run_video(fake_discord, {"prompt": "a rehearsal of a sunrise", "aspect_ratio": "1:1"})
    upload = await delivered_upload(fake_discord, sent, within=JOB_TIMEOUT + 5)

    [video] = upload.files
    assert video.filename.endswith(".mp4")
    with av.open(io.BytesIO(video.data)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (240, 240)
        assert sum(1 for _ in container.decode(stream)) >= 12
    footer = " ".join(str((e.get("footer") or {}).get("text") or "") for e in upload.json.get("embeds") or [])
    assert "SIMULATED" in footer and "nothing was paid" in footer
    assert fake_acedata.requests == []
    assert "SIMULATE_ACEDATA is on" in bot_harness.output()

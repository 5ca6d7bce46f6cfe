"""End-to-end: the operator's money through the real bot process. A create whose answer a kill -9 lost
is found upstream and delivered once; an ambiguous one is never guessed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.test_scenarios import (
    JOB_TIMEOUT,
    delivered_upload,
    edits_of,
    embed_text,
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

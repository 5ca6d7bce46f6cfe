"""AceData's task callbacks: a hint to ask about the task at once, never trusted, never required.

The bot runs with polls ten minutes apart, so a delivery within seconds of the task ending can only come
from the callback; a forged or unknown callback is refused and changes nothing."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import delivered_upload, eventually, paid_creates, run_video
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

# Polls on a 600 s grid: a new job's first scheduled poll lands anywhere within 600 s of its create, so
# the few seconds each test watches are almost never crossed by one (on a 30 s grid they were, about
# one run in ten, which made the "asks nothing" check flaky).
SLOW_POLLS = {
    "POLL_INTERVAL_SECONDS": "600",
    "POLL_MAX_INTERVAL_SECONDS": "600",
    "JOB_DEADLINE_SECONDS": "3600",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def callback_harness(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> tuple[BotHarness, str]:
    port = _free_port()
    public = f"http://127.0.0.1:{port}/kling/callback"
    env = SLOW_POLLS | {
        "CALLBACK_PUBLIC_URL": public,
        "CALLBACK_HOST": "127.0.0.1",
        "CALLBACK_PORT": str(port),
    }
    return BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata, env=env), public


def _queries_for(fake: FakeAceData, task_id: str) -> int:
    return sum(
        1
        for r in fake.requests_to("/kling/tasks")
        if task_id in (r.json or {}).get("ids", []) or (r.json or {}).get("id") == task_id
    )


async def test_a_callback_makes_the_bot_ask_at_once_and_deliver(
    callback_harness: tuple[BotHarness, str], fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    harness, public = callback_harness
    fake_acedata.render_seconds = None  # finished by the test
    await harness.start()
    try:
        sent = await run_video(fake_discord, {"prompt": "a kite over dunes"})
        await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")
        [task] = fake_acedata.tasks.values()
        url = str(task.request.get("callback_url"))
        prefix, job_id, token = url.rsplit("/", 2)
        assert prefix == public and len(job_id) == 32 and len(token) == 32  # a per-job token
        # A first hint while the task still renders: the bot asks at once (and sees it running), so
        # its next scheduled poll is minutes away and cannot be what delivers the result below.
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.post(url, json={"task_id": task.task_id})).status_code == 204
        await eventually(lambda: _queries_for(fake_acedata, task.task_id) >= 1, "the hinted query")
        await asyncio.sleep(0.5)
        before = _queries_for(fake_acedata, task.task_id)

        fake_acedata.finish(task.task_id)  # the fake POSTs the callback
        upload = await delivered_upload(fake_discord, sent, within=6.0)  # far sooner than the 600 s polls
        assert upload.files
        assert fake_acedata.callbacks_sent == [(url, 204)]
        assert _queries_for(fake_acedata, task.task_id) == before + 1  # asked once, because of the hint
        assert paid_creates(fake_acedata) == 1
    finally:
        await harness.stop()


async def test_forged_and_unknown_callbacks_are_refused_and_a_lying_body_is_not_trusted(
    callback_harness: tuple[BotHarness, str], fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    harness, _ = callback_harness
    fake_acedata.render_seconds = None  # never finishes during the test
    await harness.start()
    try:
        sent = await run_video(fake_discord, {"prompt": "a fox in fog"})
        await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")
        [task] = fake_acedata.tasks.values()
        url = str(task.request.get("callback_url"))
        prefix, job_id, token = url.rsplit("/", 2)
        # A genuine hint first: the bot asks at once, and its next scheduled poll is then minutes away,
        # so no regular poll can fall inside the windows checked below.
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.post(url, json={"task_id": task.task_id})).status_code == 204
        await eventually(lambda: _queries_for(fake_acedata, task.task_id) >= 1, "the first hinted query")
        await asyncio.sleep(1.0)
        before = _queries_for(fake_acedata, task.task_id)
        lie = {
            "success": True,
            "task_id": task.task_id,
            "video_url": f"{fake_acedata.base_url}/files/forged.mp4",
            "state": "succeed",
        }
        forged_token = ("0" if token[0] != "0" else "1") + token[1:]
        async with httpx.AsyncClient(timeout=5) as http:
            wrong = await http.post(f"{prefix}/{job_id}/{forged_token}", json=lie)
            unknown = await http.post(f"{prefix}/{'ab' * 16}/{token}", json=lie)
            malformed = await http.post(f"{prefix}/../etc", json=lie)
            assert (wrong.status_code, unknown.status_code, malformed.status_code) == (403, 404, 404)
            await asyncio.sleep(1.0)
            assert _queries_for(fake_acedata, task.task_id) == before  # a refused callback asks nothing

            genuine_address = await http.post(url, json=lie)  # right token, lying body
            assert genuine_address.status_code == 204
        await eventually(lambda: _queries_for(fake_acedata, task.task_id) > before, "the hinted query")
        await asyncio.sleep(1.0)
        # The task is still rendering upstream: the body's "succeed" and URL were ignored.
        assert not [c for c in fake_discord.calls if c.files]
        assert not [r for r in fake_acedata.requests if r.path.endswith("forged.mp4")]
        assert sent.state.original_message_id is not None
        output = harness.output()
        assert output.count("refused a task callback") >= 3
        assert token not in output and forged_token not in output  # tokens never logged
    finally:
        await harness.stop()

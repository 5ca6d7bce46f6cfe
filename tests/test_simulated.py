"""SIMULATE_ACEDATA: the real client against the in-process simulated AceData, settings without a token,
results that are playable MP4 files and say they are simulated."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator

import av
import httpx
import pytest
from pydantic import SecretStr

from bot.config import ConfigError, load_settings
from bot.discord_app.job_embeds import SIMULATED_NOTE, result_embed
from bot.kling.client import KlingClient
from bot.kling.simulated import SIMULATED_BASE_URL, SIMULATED_HOST, SimulatedAceData, is_simulated_task
from bot.kling.tasks import Running, Succeeded
from bot.storage.base import JobState
from tests.factories import make_job, video_request


@pytest.fixture
async def simulated() -> AsyncIterator[tuple[KlingClient, httpx.AsyncClient, SimulatedAceData]]:
    service = SimulatedAceData(render_seconds=0.2)
    async with httpx.AsyncClient(mounts={f"all://{SIMULATED_HOST}": service}) as http:
        yield KlingClient(http, base_url=SIMULATED_BASE_URL, token=SecretStr("anything")), http, service


def decode(data: bytes) -> tuple[int, int, int, float]:
    """(width, height, decoded frames, seconds) of an MP4, read back with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        seconds = float(container.duration or 0) / 1_000_000
        return stream.width, stream.height, frames, seconds


async def test_a_simulated_video_is_made_polled_and_is_a_playable_mp4(
    simulated: tuple[KlingClient, httpx.AsyncClient, SimulatedAceData],
) -> None:
    kling, http, _ = simulated
    submission = await kling.create_video(video_request("a simulated fox", aspect_ratio="9:16"))
    assert is_simulated_task(submission.task_id)
    assert isinstance(await kling.retrieve(submission.task_id), Running)
    await asyncio.sleep(0.25)
    status = (await kling.retrieve_batch([submission.task_id]))[submission.task_id]
    assert isinstance(status, Succeeded) and status.request is not None
    assert status.request["prompt"] == "a simulated fox"

    video = await http.get(status.video_url)

    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    width, height, frames, seconds = decode(video.content)
    assert (width, height) == (180, 320)  # the asked aspect ratio
    assert frames >= 12 and 1.5 <= seconds <= 3.0


async def test_the_simulated_listing_finds_a_task_by_its_window(
    simulated: tuple[KlingClient, httpx.AsyncClient, SimulatedAceData],
) -> None:
    kling, _, _ = simulated
    made = await kling.create_video(video_request("listed"))
    now = time.time()
    listed = await kling.retrieve_batch(created_at_min=now - 60, created_at_max=now + 60, limit=10)
    assert list(listed) == [made.task_id]
    assert await kling.retrieve_batch(created_at_min=now + 60, created_at_max=now + 120, limit=10) == {}


def test_simulated_mode_needs_no_acedata_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-test-token")
    monkeypatch.delenv("ACEDATA_API_TOKEN", raising=False)
    monkeypatch.setenv("SIMULATE_ACEDATA", "true")
    settings = load_settings(_env_file=None)
    assert settings.SIMULATE_ACEDATA is True

    monkeypatch.setenv("SIMULATE_ACEDATA", "false")
    with pytest.raises(ConfigError, match="ACEDATA_API_TOKEN is required"):
        load_settings(_env_file=None)


def test_a_simulated_result_says_so_and_a_real_one_does_not() -> None:
    simulated = make_job(state=JobState.DELIVERED, task_id="simulated-1234", video_url="https://x/y.mp4")
    real = make_job(state=JobState.DELIVERED, task_id="2006-abcd", video_url="https://x/y.mp4")

    footer = result_embed(simulated, attached=True, member_mention="<@1>").footer.text or ""
    assert SIMULATED_NOTE in footer and "nothing was paid" in footer
    assert "SIMULATED" not in (result_embed(real, attached=True, member_mention="<@1>").footer.text or "")

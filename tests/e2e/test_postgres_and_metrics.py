"""The real bot on PostgreSQL (DATABASE_URL, a fresh database on the throw-away cluster) with
METRICS_PORT: a video made, a kill -9 mid-render resumed with one paid create and one delivery, and
the Prometheus metrics and /healthz scraped from the running process."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    CHANNEL_POST,
    CREATE_PATH,
    WEBHOOK_MESSAGE,
    delivered_upload,
    eventually,
    paid_creates,
    run_video,
    shard_of,
    sharded_bots,
)
from tests.fakes.acedata import FakeAceData
from tests.postgres_cluster import PostgresCluster, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
async def metrics_port() -> int:
    return free_port()


@pytest.fixture
async def pg_harness(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData, postgres_url: str, metrics_port: int
) -> AsyncIterator[BotHarness]:
    harness = BotHarness(
        tmp_path,
        discord=fake_discord,
        acedata=fake_acedata,
        env={"DATABASE_URL": postgres_url, "METRICS_PORT": str(metrics_port)},
    )
    try:
        yield harness
    finally:
        await harness.stop()
    assert harness.leaked_secrets() == [], "the bot printed a token"


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    found = re.search(rf"^{pattern}$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def scrape(port: int, path: str = "/metrics") -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=5)


async def test_a_video_on_postgresql_shows_in_the_metrics_scraped_from_the_bot(
    pg_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData, metrics_port: int
) -> None:
    await pg_harness.start()
    health = await scrape(metrics_port, "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"

    # Discord answers the first progress edit with a 429 that discord.py waits out.
    fake_discord.rate_limit_next("PATCH", WEBHOOK_MESSAGE, retry_after=0.1)
    sent = await run_video(fake_discord, {"prompt": "a lighthouse in a storm"})
    await delivered_upload(fake_discord, sent)
    assert paid_creates(fake_acedata) == 1

    response = await scrape(metrics_port)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert metric(text, "kling_jobs", state="delivered") == 1.0
    assert metric(text, "kling_jobs", state="queued") == 0.0 and metric(text, "kling_queue_depth") == 0.0
    assert metric(text, "kling_credits_spent") > 0
    assert metric(text, "kling_acedata_requests_total", endpoint=CREATE_PATH, status="200") == 1.0
    assert metric(text, "kling_acedata_requests_total", endpoint="/kling/tasks", status="200") >= 1.0
    assert metric(text, "kling_acedata_request_seconds_count", endpoint=CREATE_PATH) == 1.0
    assert metric(text, "kling_poll_cycle_seconds_count") >= 1.0
    assert metric(text, "kling_discord_rate_limited_total") >= 1.0
    assert "kling_acedata_errors_total" in text


async def test_a_kill_during_rendering_on_postgresql_resumes_with_one_create_and_one_delivery(
    pg_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData, metrics_port: int
) -> None:
    fake_acedata.render_seconds = None  # renders until the test finishes it
    await pg_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a paper boat on a river"})
    await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")
    queried = len(fake_acedata.requests_to("/kling/tasks"))
    await eventually(lambda: len(fake_acedata.requests_to("/kling/tasks")) > queried, "a poll of the task")

    await pg_harness.restart()
    text = (await scrape(metrics_port)).text
    assert metric(text, "kling_jobs", state="running") == 1.0  # read from PostgreSQL by the new process
    [task_id] = fake_acedata.tasks
    fake_acedata.finish(task_id)
    upload = await delivered_upload(fake_discord, sent)
    await asyncio.sleep(1.0)  # room for a duplicate to show up

    assert pg_harness.runs[0].returncode == -9
    assert paid_creates(fake_acedata) == 1 and fake_acedata.created_tasks == 1
    assert [c.index for c in fake_discord.calls if c.files] == [upload.index]
    assert not fake_discord.find_calls("POST", CHANNEL_POST)


async def test_an_unreachable_database_url_fails_in_one_line_naming_the_setting(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    harness = BotHarness(
        tmp_path,
        discord=fake_discord,
        acedata=fake_acedata,
        env={"DATABASE_URL": f"postgresql://bot:hunter2-secret@127.0.0.1:{free_port()}/kling"},
    )
    process = await harness.start(wait_ready=False)
    assert await asyncio.wait_for(process.wait(), 30) == 2
    output = harness.output().strip()
    assert output.startswith("Database error:") and "Check DATABASE_URL" in output, output
    assert "hunter2-secret" not in output and "Traceback" not in output
    assert not fake_discord.gateway_connections  # never logged in


# --- two processes, one PostgreSQL ----------------------------------------------------------------


async def test_two_processes_split_the_shards_and_the_survivor_delivers_a_killed_ones_job_once(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    first_guild = fake_discord.guild
    other_guild = fake_discord.add_guild("Other Server")
    while shard_of(other_guild.id) == shard_of(first_guild.id):
        await asyncio.sleep(0.002)  # ids carry the time: a later one may land on the other shard
        other_guild = fake_discord.add_guild("Other Server")
    other_member = fake_discord.add_member(other_guild, "other-tester")

    async with sharded_bots(tmp_path, fake_discord, fake_acedata, postgres_url) as processes:
        assert set(fake_discord.shard_sessions) == {(0, 2), (1, 2)}

        fake_acedata.render_seconds = None  # renders until the test finishes it
        victim = processes[shard_of(first_guild.id)]
        survivor = processes[shard_of(other_guild.id)]
        sent = await run_video(fake_discord, {"prompt": "a paper boat on a river"})
        await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")
        assert "job " in victim.output() and "job " not in survivor.output()  # the guild's shard took it
        queried = len(fake_acedata.requests_to("/kling/tasks"))
        await eventually(
            lambda: len(fake_acedata.requests_to("/kling/tasks")) > queried, "a poll of the task"
        )

        assert await victim.kill() == -9
        [task_id] = fake_acedata.tasks
        fake_acedata.finish(task_id)
        upload = await delivered_upload(fake_discord, sent, within=40.0)
        assert "taken over from a process that is gone" in survivor.output()

        # The survivor still serves its own shard.
        fake_acedata.render_seconds = 0.3
        other = await run_video(
            fake_discord, {"prompt": "a kite over dunes"}, user=other_member, guild=other_guild
        )
        await delivered_upload(fake_discord, other)
        await asyncio.sleep(1.0)  # room for a duplicate to show up

        assert paid_creates(fake_acedata) == 2 and fake_acedata.created_tasks == 2
        uploads = [c.index for c in fake_discord.calls if c.files]
        assert len(uploads) == 2 and upload.index in uploads
        assert not fake_discord.find_calls("POST", CHANNEL_POST)


# --- PostgreSQL going away -------------------------------------------------------------------------


async def test_postgresql_gone_for_a_few_seconds_the_bot_waits_recovers_and_delivers_once(
    pg_harness: BotHarness,
    fake_discord: FakeDiscord,
    fake_acedata: FakeAceData,
    postgres_cluster: PostgresCluster,
    metrics_port: int,
) -> None:
    fake_acedata.render_seconds = None  # renders until the test finishes it
    await pg_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a lantern in fog"})
    await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")

    await asyncio.to_thread(postgres_cluster.pause)
    try:
        await asyncio.sleep(3.0)
        unhealthy = await scrape(metrics_port, "/healthz")
        assert unhealthy.status_code == 503
    finally:
        await asyncio.to_thread(postgres_cluster.resume)
    [task_id] = fake_acedata.tasks
    fake_acedata.finish(task_id)
    upload = await delivered_upload(fake_discord, sent, within=40.0)
    await asyncio.sleep(1.0)  # room for a duplicate to show up

    assert pg_harness.process is not None and pg_harness.process.returncode is None  # it never died
    assert paid_creates(fake_acedata) == 1
    assert [c.index for c in fake_discord.calls if c.files] == [upload.index]
    output = pg_harness.output()
    assert "is unreachable" in output and "reachable again after" in output, output[-3000:]
    assert (await scrape(metrics_port, "/healthz")).status_code == 200

"""Two real bot processes on one PostgreSQL. The connection holding one process's job locks is ended
(pg_terminate_backend, as a server restart or a network cut would) while that process is posting a
finished video: it stops that delivery at once, the job is delivered by whichever process owns it
next, and the member sees one result, from one paid create."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from tests.e2e.fake_discord import FakeDiscord, RestCall
from tests.e2e.scenario_helpers import eventually, paid_creates, run_video, shard_of, sharded_bots
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


def carries_video(call: RestCall) -> bool:
    return call.method == "PATCH" and any(f.filename.endswith(".mp4") for f in call.files)


async def end_lease_session(url: str, bot_pid: int) -> int:
    """End the session holding the job locks of the bot process `bot_pid`; how many were ended."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"kling-bot lease {bot_pid}",),
        )
        return len(await cursor.fetchall())


async def test_a_lost_lock_connection_mid_delivery_stops_it_and_the_job_is_delivered_once(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData, postgres_url: str
) -> None:
    guild = fake_discord.guild
    async with sharded_bots(tmp_path, fake_discord, fake_acedata, postgres_url) as processes:
        owner = processes[shard_of(guild.id)]
        assert owner.process is not None and owner.process.pid is not None

        fake_acedata.render_seconds = None
        sent = await run_video(fake_discord, {"prompt": "a heron in the reeds"})
        await eventually(lambda: fake_acedata.created_tasks == 1, "the paid create")
        # Discord applies the owner's result edit, but its answer is slow to come back.
        fake_discord.hold_next_where(carries_video, seconds=8.0)
        [task_id] = fake_acedata.tasks
        fake_acedata.finish(task_id)
        held = await fake_discord.wait_for(carries_video, 30.0)

        assert await end_lease_session(postgres_url, owner.process.pid) == 1
        await eventually(lambda: "lost the ownership of 1 jobs" in owner.output(), "the owner noticing")
        # Whichever process owns the job now delivers it (the owner again, under a new epoch, once
        # the slow answer is in, or the other one at once): the same message is edited again.
        await fake_discord.wait_for(
            lambda c: carries_video(c) and c.status == 200, 30.0, since=held.index + 1
        )
        await asyncio.sleep(1.5)  # room for a duplicate to show up

        channel_id = int(sent.payload["channel_id"])
        with_video = [m for m in fake_discord.messages_in(channel_id) if m["attachments"]]
        assert len(with_video) == 1, with_video  # one result message, whatever happened
        assert paid_creates(fake_acedata) == 1 and fake_acedata.created_tasks == 1
        async with await psycopg.AsyncConnection.connect(postgres_url) as db:
            states = await (await db.execute("SELECT state FROM jobs")).fetchall()
        assert states == [("delivered",)]

"""A busy channel past the hand-off, against a fake Discord that keys buckets by route as Discord does
(editing, creating and deleting messages in one channel are three buckets of 5 per 5 s): when more
results finish at once than the channel's edit bucket allows, the rest are posted as new messages
from the create bucket at once, the progress messages they replace are deleted afterwards, the job
remembers its new message (its buttons keep working), and nothing gets a 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.quota.models import GuildLimits
from bot.storage import open_store
from tests.e2e.fake_discord import FakeDiscord, RateLimits, RestCall
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import CHANNEL_MESSAGE, CHANNEL_POST, eventually
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

JOBS = 10


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(rate_limits=RateLimits()) as fake:
        yield fake


def _result_edit(call: RestCall) -> bool:
    return (
        call.method == "PATCH" and call.route == CHANNEL_MESSAGE and bool(call.files) and call.status == 200
    )


def _result_post(call: RestCall) -> bool:
    return call.method == "POST" and call.route == CHANNEL_POST and bool(call.files) and call.status == 200


async def busy_channel_bot(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> BotHarness:
    """A started bot that hands results to the channel's buckets after 1 s, with no concurrency
    limits in the server, so every member's job renders at once."""
    env = {
        "JOB_DEADLINE_SECONDS": "600",
        "TOKEN_HANDOFF_AFTER_SECONDS": "1",
        "POLL_INTERVAL_SECONDS": "0.5",
    }
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata, env=env)
    store = await open_store(harness.database_path)
    try:
        await store.set_limits(
            fake_discord.guild.id, GuildLimits(member_concurrent=None, guild_concurrent=None)
        )
    finally:
        await store.close()
    await harness.start()
    return harness


async def test_results_beyond_the_edit_bucket_are_posted_anew_and_the_old_messages_removed(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = None  # every task renders until the test finishes it
    harness = await busy_channel_bot(tmp_path, fake_discord, fake_acedata)
    try:
        members = [fake_discord.add_member(fake_discord.guild, f"busy-{i}") for i in range(JOBS)]
        sent = [
            await fake_discord.send_slash_command("video", {"prompt": f"busy video {i}"}, user=member)
            for i, member in enumerate(members)
        ]
        await eventually(lambda: fake_acedata.created_tasks == JOBS, "every paid create", within=30)
        await eventually(
            lambda: all(s.state.original_message_id for s in sent), "every progress message", within=30
        )
        await asyncio.sleep(1.5)  # the hand-off time passes: every request now takes the channel's buckets
        mark = fake_discord.mark()
        for task in list(fake_acedata.tasks.values()):
            fake_acedata.finish(task.task_id)

        def delivered() -> int:
            return sum(1 for c in fake_discord.calls[mark:] if _result_edit(c) or _result_post(c))

        await eventually(lambda: delivered() == JOBS, "every result", within=30)
        calls = fake_discord.calls[mark:]
        edits = [c for c in calls if _result_edit(c)]
        posts = [c for c in calls if _result_post(c)]
        # Ten results at once: the edit bucket carried five at most, the create bucket the others,
        # all within about a second of each other instead of two windows of 5 s.
        assert len(edits) <= 5 and len(posts) >= JOBS - 5
        first, last = min(c.at for c in edits + posts), max(c.at for c in edits + posts)
        assert last - first < 4.0
        # Each post mentions its member, and the progress message it replaces goes away later.
        mentioned = {int(c.json["content"].strip("<@!>")) for c in posts}
        assert mentioned <= {m.id for m in members}
        await eventually(
            lambda: (
                sum(
                    1
                    for c in fake_discord.calls[mark:]
                    if c.method == "DELETE" and c.route == CHANNEL_MESSAGE and c.status in (200, 204)
                )
                == len(posts)
            ),
            "the replaced progress messages deleted",
            within=15,
        )
        # The job now points at the message that holds its video (its buttons find it there).
        store = await open_store(harness.database_path)
        try:
            jobs = {job.member_id: job for job in await store.jobs_since(fake_discord.guild.id, 0)}
        finally:
            await store.close()
        posted_ids = {int(c.response["id"]) for c in posts}
        assert {jobs[member].message_id for member in mentioned} == posted_ids
        assert [c for c in fake_discord.calls if c.status == 429] == []
    finally:
        await harness.stop()


async def test_budgets_stricter_than_documented_are_learned_from_the_headers(
    tmp_path: Path, fake_acedata: FakeAceData
) -> None:
    """Discord may answer with other limits than the documented ones: here 3 requests per 4 s per
    route and channel. The queue learns them from the first answers (`X-RateLimit-Limit`, the window
    from `X-RateLimit-Reset-After`) and no burst of results that follows overruns them."""
    fake_acedata.render_seconds = None
    limits = RateLimits(channel_limit=3, channel_per=4.0)
    async with FakeDiscord(rate_limits=limits) as fake_discord:
        harness = await busy_channel_bot(tmp_path, fake_discord, fake_acedata)
        try:
            members = [fake_discord.add_member(fake_discord.guild, f"strict-{i}") for i in range(8)]
            for i, member in enumerate(members):
                await fake_discord.send_slash_command("video", {"prompt": f"strict video {i}"}, user=member)
            await eventually(
                lambda: fake_acedata.created_tasks == len(members), "every paid create", within=30
            )
            await asyncio.sleep(1.5)  # past the hand-off: everything takes the channel's buckets
            # One result first: the answer to its edit teaches the budget (3 per 4 s).
            mark = fake_discord.mark()
            tasks = list(fake_acedata.tasks.values())
            fake_acedata.finish(tasks[0].task_id)
            await fake_discord.wait_for(_result_edit, 15.0, since=mark)
            for task in tasks[1:]:
                fake_acedata.finish(task.task_id)

            def delivered() -> int:
                return sum(1 for c in fake_discord.calls[mark:] if _result_edit(c) or _result_post(c))

            await eventually(lambda: delivered() == len(members), "every result", within=40)
            assert [c for c in fake_discord.calls if c.status == 429] == []
        finally:
            await harness.stop()

"""Against a fake Discord that enforces per-channel and global buckets (real X-RateLimit-* headers):
after a restart, the progress edits of a busy channel (now all on the bot token) are spread within
the channel's budget, a finished video overtakes every one still queued, and no request gets a 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.quota.models import GuildLimits
from bot.storage import open_store
from tests.e2e.fake_discord import FakeDiscord, RateLimits, RestCall
from tests.e2e.harness import BotHarness
from tests.e2e.test_scenarios import CHANNEL_MESSAGE, eventually
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

JOBS = 20


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(rate_limits=RateLimits()) as fake:
        yield fake


async def _no_running_caps(database: Path, guild_id: int) -> None:
    store = await open_store(database)
    try:
        await store.set_limits(guild_id, GuildLimits(member_concurrent=None, guild_concurrent=None))
    finally:
        await store.close()


def _channel_edit(call: RestCall) -> bool:
    return call.method == "PATCH" and call.route == CHANNEL_MESSAGE and call.status == 200


async def test_after_a_restart_progress_is_spread_and_a_result_overtakes_the_queued_edits(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = None  # every task renders until the test finishes it
    harness = BotHarness(
        tmp_path, discord=fake_discord, acedata=fake_acedata, env={"JOB_DEADLINE_SECONDS": "600"}
    )
    await _no_running_caps(harness.database_path, fake_discord.guild.id)
    await harness.start()
    try:
        members = [fake_discord.add_member(fake_discord.guild, f"busy-{i}") for i in range(JOBS)]
        sent = [
            await fake_discord.send_slash_command("video", {"prompt": f"busy channel video {i}"}, user=member)
            for i, member in enumerate(members)
        ]
        await eventually(lambda: fake_acedata.created_tasks == JOBS, "every paid create", within=30)
        await asyncio.sleep(2.0)  # "Rendering" shown on every message through its interaction token
        # A restart: the tokens are gone, so every job's progress now takes the channel's bucket.
        restarted = fake_discord.mark()
        await harness.restart()
        await fake_discord.wait_for(_channel_edit, 15.0, since=restarted)  # the backlog is draining
        first = next(t for t in fake_acedata.tasks.values() if t.request["prompt"] == "busy channel video 0")
        message_id = sent[0].state.original_message_id
        assert message_id is not None
        mark = fake_discord.mark()
        fake_acedata.finish(first.task_id)

        result = await fake_discord.wait_for(
            lambda c: _channel_edit(c) and bool(c.files) and c.path.endswith(f"/{message_id}"),
            15.0,
            since=mark,
        )
        await asyncio.sleep(6.0)  # the backlog goes on draining after the result
        later = [c for c in fake_discord.calls[mark:] if _channel_edit(c) and not c.files]
        before_result = [c for c in later if c.index < result.index]
        after_result = [c for c in later if c.index > result.index]
        # First in, first out would have put the result behind every waiting edit; it waited at most
        # for the requests already on their way, and queued progress edits went out after it.
        assert len(before_result) <= 5, [c.path for c in before_result]
        assert len(after_result) >= 3
        assert [c for c in fake_discord.calls if c.status == 429] == []
        # Resumed progress was spread: never more than the channel's 5 requests in any 5 s.
        edits = [c.at for c in fake_discord.calls[restarted:] if _channel_edit(c)]
        assert len(edits) >= 6
        assert max(sum(1 for t in edits if start <= t < start + 5.0) for start in edits) <= 5
        # The buckets were real: the channel route answered with Discord's rate-limit headers.
        headers = result.rate_limit_headers
        assert headers["X-RateLimit-Bucket"] == "channel-messages" and headers["X-RateLimit-Limit"] == "5"
    finally:
        await harness.stop()

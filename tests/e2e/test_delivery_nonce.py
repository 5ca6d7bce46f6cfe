"""A result posted as a new message carries a nonce keyed on the job with enforce_nonce, so a restart
after Discord created the message but before the bot recorded it cannot post the result twice."""

from __future__ import annotations

import pytest

from tests.e2e.fake_discord import FakeDiscord, RestCall
from tests.e2e.harness import BotHarness
from tests.e2e.test_scenarios import CHANNEL_POST, JOB_TIMEOUT, paid_creates, run_video
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e


def _result_post(call: RestCall) -> bool:
    return call.method == "POST" and call.route == CHANNEL_POST and bool(call.files)


async def test_a_restart_in_the_middle_of_posting_the_result_posts_it_once(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = 1.5
    await bot_harness.start()
    sent = await run_video(fake_discord, {"prompt": "a lantern drifting on a lake"})
    await sent.original_edit(lambda c: c.status == 200)
    assert sent.state.original_message_id is not None
    fake_discord.delete_message(sent.state.original_message_id)  # so the result must be a new message
    # Discord creates the message, but its answer never reaches the bot: it dies in between.
    fake_discord.hold_next("POST", CHANNEL_POST)

    held = await fake_discord.wait_for(_result_post, JOB_TIMEOUT)
    nonce = held.json.get("nonce")
    assert nonce and len(str(nonce)) <= 25 and held.json.get("enforce_nonce") is True
    await bot_harness.restart()

    repeat = await fake_discord.wait_for(_result_post, JOB_TIMEOUT, since=held.index + 1)
    assert repeat.json.get("nonce") == nonce  # keyed on the job, not on the process
    assert repeat.status == 200 and repeat.response["id"] == held.response["id"]
    channel_id = int(sent.payload["channel_id"])
    results = [m for m in fake_discord.messages_in(channel_id) if m["attachments"]]
    assert len(results) == 1, results  # one message carries the video, whatever the restart did
    assert paid_creates(fake_acedata) == 1

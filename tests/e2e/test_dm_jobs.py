"""End to end: jobs started from a DM live in that DM, and so does a job whose result was sent by DM
because its channel became unusable. Their links (in /history, the mod-log and the /usage CSV) take
Discord's `/channels/@me/…` form, and a button on such a job's result still obeys the server's
channel list (the server channel the job, or the job it came from, was asked in)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import BotHarness
from tests.e2e.scenario_helpers import (
    FOLLOWUP,
    command,
    delivered_upload,
    embed_text,
    eventually,
    job_actions,
    paid_creates,
    video_sent_by_dm,
)
from tests.fakes.acedata import FakeAceData

pytestmark = pytest.mark.e2e

LINK = re.compile(r"https://discord\.com/channels/(@me|\d+)/(\d+)/(\d+)")


def modlog_texts(fake: FakeDiscord) -> list[str]:
    return [embed_text(m) for m in fake.messages_in(fake.guild.channel("mod-log").id)]


async def test_dm_jobs_link_to_the_dm_and_keep_the_servers_channel_rules(
    bot_harness: BotHarness, fake_discord: FakeDiscord, fake_acedata: FakeAceData
) -> None:
    fake = fake_discord
    fake_acedata.render_seconds = 1.5
    await bot_harness.start()
    general = fake.guild.text_channel
    member = fake.default_user
    for options, sub in (
        ({"channel": general.id}, "channels add"),  # /video only in #general from now on
        ({"modlog_channel": fake.guild.channel("mod-log").id}, "set"),
    ):
        name, *subcommand = ["limits", *sub.split()]
        sent = await fake.send_slash_command(name, options, user=fake.owner, subcommand=subcommand)
        await sent.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200)

    # A video made in #general whose channel became unusable: the result is sent by DM.
    dm_post = await video_sent_by_dm(fake, "a paper boat in rain")
    fake.forbidden_channels.discard(general.id)
    dm_message = fake.messages[int(dm_post.response["id"])]
    dm_channel = int(dm_message["channel_id"])

    # Rerun from the DM: the new job lives in the DM.
    rerun = await fake.send_component_click(dm_message, f"kling:rerun:{job_actions(dm_message)['rerun']}")
    rerun_result = fake.messages[int((await delivered_upload(fake, rerun)).response["id"])]
    assert int(rerun_result["channel_id"]) == dm_channel

    # Rerun of that DM job, from the DM: still #general's rules (allowed), not "not in this channel".
    again = await fake.send_component_click(rerun_result, f"kling:rerun:{job_actions(rerun_result)['rerun']}")
    again_result = fake.messages[int((await delivered_upload(fake, again)).response["id"])]
    await eventually(lambda: paid_creates(fake_acedata) == 3, "three paid requests")

    # /history in the server: the two DM jobs link to the DM, the first job to the server.
    history = await command(fake, "history", {}, user=member)
    call = await history.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 10.0)
    links = LINK.findall(embed_text(call.json))
    assert len(links) == 3, embed_text(call.json)
    newest, middle, oldest = links  # newest first
    assert newest == ("@me", str(dm_channel), str(again_result["id"]))
    assert middle == ("@me", str(dm_channel), str(rerun_result["id"]))
    # The job made in #general whose result went by DM links that DM message, not the unusable one.
    assert oldest == ("@me", str(dm_channel), str(dm_message["id"]))
    assert "Open in DM" in embed_text(call.json)

    # The mod-log's entry for the result sent by DM links the DM message.
    first_link = f"https://discord.com/channels/@me/{dm_channel}/{dm_message['id']}"
    await fake.wait_for(lambda c: any(first_link in t for t in modlog_texts(fake)), 10.0)

    # The mod-log's entry for a DM job links the DM.
    dm_link = f"https://discord.com/channels/@me/{dm_channel}/{again_result['id']}"
    await fake.wait_for(lambda c: any(dm_link in t for t in modlog_texts(fake)), 10.0)
    entry = next(t for t in modlog_texts(fake) if dm_link in t)
    assert "in a DM with the member" in entry and f"<#{dm_channel}>" not in entry

    # The /usage CSV: one link per job, the DM jobs in the DM form.
    usage = await fake.send_slash_command("usage", {"days": 7, "csv": True}, user=fake.owner)
    call = await usage.wait_for_call(lambda c: c.route == FOLLOWUP and c.status == 200, 15.0)
    [table] = [upload.data for upload in call.files if upload.filename.endswith(".csv")]
    rows = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    assert len(rows) == 3
    forms = [LINK.fullmatch(row["message_link"]) for row in rows]
    assert [str(form and form[1]) for form in forms] == ["@me", "@me", "@me"]
    assert f"https://discord.com/channels/@me/{dm_channel}/{dm_message['id']}" in [
        row["message_link"] for row in rows
    ]

"""Links to a job's message: a server channel's form, or Discord's DM form for a job started from a
DM, in /history, the mod-log and the /usage CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any, cast

import discord

from bot.discord_app.history_pages import HistoryQuery, history_page
from bot.discord_app.job_links import MAX_DM_LOOKUPS, JobPlaces, message_link
from bot.discord_app.launch import Home, home_of
from bot.discord_app.messenger import moved_to_dm
from bot.discord_app.modlog import Outcome, job_entry
from bot.discord_app.usage_report import CSV_COLUMNS, usage_csv
from bot.storage.base import Job, JobState
from tests.factories import make_job

GUILD, SERVER_CHANNEL, THREAD = 42, 700, 701
MEMBER, OTHER = 1001, 1002
DMS = {MEMBER: 9001, OTHER: 9002}  # each member's one DM channel with the bot


def job(number: int, **fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": f"{number:032x}",
        "guild_id": GUILD,
        "channel_id": SERVER_CHANNEL,
        "message_id": 5000 + number,
        "member_id": MEMBER,
        "state": JobState.DELIVERED,
    }
    return make_job(**(values | fields))


class _Guild:
    def __init__(self, channels: set[int]) -> None:
        self.channels = channels

    def get_channel_or_thread(self, channel_id: int) -> object | None:
        return object() if channel_id in self.channels else None


class FakeClient:
    """What JobPlaces reads from discord.py's client: the server's channels, cached DM channels and
    `create_dm` (which Discord answers with the member's existing DM channel)."""

    def __init__(self, *, channels: set[int] | None = None, cached_dms: set[int] | None = None) -> None:
        self.guild = _Guild(channels if channels is not None else {SERVER_CHANNEL, THREAD})
        self.cached_dms = cached_dms or set()
        self.dm_lookups: list[int] = []
        self.fail_dm_lookup = False

    def get_guild(self, guild_id: int) -> _Guild | None:
        return self.guild if guild_id == GUILD else None

    def get_channel(self, channel_id: int) -> object | None:
        if channel_id in self.cached_dms:
            return object.__new__(discord.DMChannel)  # only its type is looked at
        return None

    async def create_dm(self, user: discord.abc.Snowflake) -> Any:
        self.dm_lookups.append(user.id)
        if self.fail_dm_lookup:
            raise discord.HTTPException(_Response(403), "Cannot send messages to this user")
        return discord.Object(DMS.get(user.id, 1))


class _Response:
    def __init__(self, status: int) -> None:
        self.status = status
        self.reason = "Forbidden"


def places(client: FakeClient, **kwargs: Any) -> JobPlaces:
    return JobPlaces(cast(discord.Client, client), **kwargs)


def test_the_two_link_forms() -> None:
    server = job(1)
    assert message_link(server) == f"https://discord.com/channels/{GUILD}/{SERVER_CHANNEL}/5001"
    dm = job(2, channel_id=DMS[MEMBER])
    assert message_link(dm, in_dm=True) == f"https://discord.com/channels/@me/{DMS[MEMBER]}/5002"
    assert message_link(job(3, message_id=None), in_dm=True) is None


async def test_a_job_in_its_members_dm_gets_the_dm_form_and_server_jobs_keep_theirs() -> None:
    client = FakeClient()
    listed = [
        job(1),  # a server channel the client knows: no question asked
        job(2, channel_id=THREAD),
        job(3, channel_id=DMS[MEMBER]),  # started from the member's DM
        job(4, channel_id=DMS[OTHER], member_id=OTHER),
        job(5, channel_id=DMS[OTHER], member_id=MEMBER),  # someone else's DM is not this member's
        job(6, channel_id=888),  # a channel deleted since: still the server form
    ]
    links = await places(client).links(listed)
    assert links[job(1).id].startswith(f"https://discord.com/channels/{GUILD}/")
    assert links[job(2).id] == f"https://discord.com/channels/{GUILD}/{THREAD}/5002"
    assert links[job(3).id] == f"https://discord.com/channels/@me/{DMS[MEMBER]}/5003"
    assert links[job(4).id] == f"https://discord.com/channels/@me/{DMS[OTHER]}/5004"
    assert links[job(5).id] == f"https://discord.com/channels/{GUILD}/{DMS[OTHER]}/5005"
    assert links[job(6).id] == f"https://discord.com/channels/{GUILD}/888/5006"
    assert sorted(client.dm_lookups) == [MEMBER, OTHER]  # one look-up per member, not per job


async def test_a_cached_dm_channel_needs_no_request_and_a_failed_lookup_falls_back() -> None:
    client = FakeClient(cached_dms={DMS[MEMBER]})
    assert await places(client).in_dm([job(1, channel_id=DMS[MEMBER])]) == {job(1).id}
    assert client.dm_lookups == []

    client = FakeClient()
    client.fail_dm_lookup = True
    links = await places(client).links([job(2, channel_id=DMS[MEMBER])])
    assert links[job(2).id] == f"https://discord.com/channels/{GUILD}/{DMS[MEMBER]}/5002"


async def test_look_ups_are_bounded_per_call() -> None:
    client = FakeClient(channels=set())
    listed = [job(n, member_id=10_000 + n, channel_id=1) for n in range(MAX_DM_LOOKUPS + 10)]
    await places(client).in_dm(listed)
    assert len(client.dm_lookups) == MAX_DM_LOOKUPS


def test_history_shows_the_dm_link_for_a_dm_job() -> None:
    query = HistoryQuery(GUILD, MEMBER, MEMBER)
    in_server, in_dm = job(1), job(2, channel_id=DMS[MEMBER])
    page = history_page(query, [in_server, in_dm], page=0, total=2, dm_jobs={in_dm.id})
    server_field, dm_field = (field.value or "" for field in page.embed.fields)
    assert f"(https://discord.com/channels/{GUILD}/{SERVER_CHANNEL}/5001)" in server_field
    assert f"[Open in DM](https://discord.com/channels/@me/{DMS[MEMBER]}/5002)" in dm_field
    assert f"/{GUILD}/" not in dm_field


def test_the_modlog_entry_of_a_dm_job_links_the_dm_and_names_no_channel() -> None:
    dm_job = job(1, channel_id=DMS[MEMBER])
    entry = job_entry(dm_job, Outcome.DELIVERED, in_dm=True)
    [where] = [f.value or "" for f in entry.fields if f.name == "Message"]
    assert f"https://discord.com/channels/@me/{DMS[MEMBER]}/5001" in where
    assert "in a DM" in where and "<#" not in where
    server_entry = job_entry(job(2), Outcome.DELIVERED)
    [server_where] = [f.value or "" for f in server_entry.fields if f.name == "Message"]
    assert f"/{GUILD}/{SERVER_CHANNEL}/5002" in server_where and f"<#{SERVER_CHANNEL}>" in server_where


def test_the_usage_csv_carries_each_jobs_link() -> None:
    rows = [job(1), job(2, channel_id=DMS[MEMBER]), job(3, message_id=None)]
    links = {rows[0].id: "https://discord.com/channels/42/700/5001", rows[1].id: "https://x/@me/1/2"}
    parsed = list(csv.DictReader(io.StringIO(usage_csv(rows, links).decode("utf-8-sig"))))
    assert CSV_COLUMNS[-1] == "message_link"
    assert [row["message_link"] for row in parsed] == [links[rows[0].id], links[rows[1].id], ""]


class _Store:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = {j.id: j for j in jobs}

    async def get_job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


class _Click:
    def __init__(self, guild_id: int | None, channel_id: int) -> None:
        self.guild_id, self.channel_id = guild_id, channel_id


async def test_a_click_in_a_dm_finds_the_server_channel_of_the_jobs_line() -> None:
    first = job(1)  # made in the server, delivered by DM
    rerun = job(2, channel_id=DMS[MEMBER], parent_job_id=first.id)  # started from that DM
    again = job(3, channel_id=DMS[MEMBER], parent_job_id=rerun.id)
    store = cast(Any, _Store([first, rerun, again]))
    in_dm = cast(Any, _Click(None, DMS[MEMBER]))
    assert await home_of(store, in_dm, again) == Home(GUILD, SERVER_CHANNEL)
    assert await home_of(store, in_dm, first) == Home(GUILD, SERVER_CHANNEL)
    assert await home_of(store, cast(Any, _Click(GUILD, SERVER_CHANNEL)), again) is None
    orphan = job(4, channel_id=DMS[MEMBER], parent_job_id="gone")
    assert await home_of(store, in_dm, orphan) == Home(GUILD, DMS[MEMBER])


async def test_a_result_sent_by_dm_moves_the_job_to_the_dm_and_keeps_its_server_channel() -> None:
    # The messenger's DM fallback (its channel became unusable) records the DM message on the job.
    asked = job(5)
    dm_message = 7777
    moved = replace(asked, **moved_to_dm(asked, DMS[MEMBER], dm_message))
    assert (moved.channel_id, moved.message_id, moved.origin_channel_id) == (
        DMS[MEMBER],
        dm_message,
        SERVER_CHANNEL,
    )
    # Every link to it opens the DM message, not the unusable server one.
    links = await JobPlaces(cast(Any, FakeClient())).links([moved])
    assert links == {moved.id: f"https://discord.com/channels/@me/{DMS[MEMBER]}/{dm_message}"}
    # A button pressed on it (or on a job started from it) keeps the server channel's rules.
    rerun = job(6, channel_id=DMS[MEMBER], parent_job_id=moved.id)
    store = cast(Any, _Store([moved, rerun]))
    in_dm = cast(Any, _Click(None, DMS[MEMBER]))
    assert await home_of(store, in_dm, moved) == Home(GUILD, SERVER_CHANNEL)
    assert await home_of(store, in_dm, rerun) == Home(GUILD, SERVER_CHANNEL)
    # Sent by DM again (a retry after a restart): only the message changes, the server channel stays.
    assert moved_to_dm(moved, DMS[MEMBER], dm_message + 1) == {"message_id": dm_message + 1}
    # A job that already lived in the DM records only its new message.
    assert moved_to_dm(rerun, DMS[MEMBER], 8888) == {"message_id": 8888}

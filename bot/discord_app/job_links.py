"""Links to a job's message, in a server channel or in a DM.

A job started from a button on a result the bot sent by DM lives in that DM: `job.channel_id` is the
member's DM channel with the bot, while `job.guild_id` stays the server whose rules and quota it used.
So does a job whose result or failure the messenger had to send by DM because its server channel
became unusable: the DM message is recorded as the job's channel and message (the server channel is
kept in `origin_channel_id`), so its links open the DM message, not the unusable one.
Discord opens a DM message only as `/channels/@me/<channel>/<message>`; the server form leads nowhere.

The job row doesn't record which kind of channel it has (that would need a migration, and every
existing row would stay unknown). It doesn't have to: a member has exactly one DM channel with the
bot, so a job lives in a DM exactly when its channel is its member's DM channel. `JobPlaces` works
that out from what the client already knows (the server's channels and threads, the DM channels it
has seen) and otherwise asks Discord for the member's DM channel once (`create_dm` returns the
existing channel and discord.py keeps it), a bounded number of times per call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import discord

from bot.storage.base import Job

log = logging.getLogger(__name__)

SERVER_LINK = "https://discord.com/channels/{guild}/{channel}/{message}"
DM_LINK = "https://discord.com/channels/@me/{channel}/{message}"

#: Most members whose DM channel one call may ask Discord for (the rest are taken as server
#: channels): a `/usage` CSV of a busy month must not turn into hundreds of requests.
MAX_DM_LOOKUPS = 25


def message_link(job: Job, *, in_dm: bool = False) -> str | None:
    """The link that opens the job's message (its progress or result), when it has one."""
    if job.message_id is None:
        return None
    if in_dm:
        return DM_LINK.format(channel=job.channel_id, message=job.message_id)
    return SERVER_LINK.format(guild=job.guild_id, channel=job.channel_id, message=job.message_id)


class JobPlaces:
    """Which jobs live in their member's DM with the bot (see the module docstring)."""

    def __init__(self, client: discord.Client, *, max_lookups: int = MAX_DM_LOOKUPS) -> None:
        self.client = client
        self.max_lookups = max_lookups

    def _known_server_channel(self, job: Job) -> bool:
        guild = self.client.get_guild(job.guild_id)
        return guild is not None and guild.get_channel_or_thread(job.channel_id) is not None

    def _known_dm_channel(self, job: Job) -> bool:
        return isinstance(self.client.get_channel(job.channel_id), discord.DMChannel)

    async def _dm_channel_of(self, member_id: int) -> int | None:
        try:
            channel = await self.client.create_dm(discord.Object(member_id))
        except discord.HTTPException as exc:
            log.info("member %s: their DM channel can't be read (HTTP %s)", member_id, exc.status)
            return None
        return channel.id

    async def in_dm(self, jobs: Iterable[Job]) -> frozenset[str]:
        """The ids of those `jobs` whose message is in a DM."""
        found: set[str] = set()
        unsure: dict[int, list[Job]] = {}
        for job in jobs:
            if self._known_server_channel(job):
                continue
            if self._known_dm_channel(job):
                found.add(job.id)
            else:
                unsure.setdefault(job.member_id, []).append(job)
        for member_id in list(unsure)[: self.max_lookups]:
            dm_channel = await self._dm_channel_of(member_id)
            found.update(job.id for job in unsure[member_id] if job.channel_id == dm_channel)
        return frozenset(found)

    async def links(self, jobs: Iterable[Job]) -> dict[str, str]:
        """Job id -> the link to its message, for the jobs that have one."""
        listed = [job for job in jobs if job.message_id is not None]
        dm = await self.in_dm(listed)
        return {job.id: link for job in listed if (link := message_link(job, in_dm=job.id in dm)) is not None}

    async def link(self, job: Job) -> str | None:
        return (await self.links([job])).get(job.id)

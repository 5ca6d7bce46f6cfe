"""Posts job starts, finishes, failures and limit changes to a server's mod-log channel, when set.

Best effort by design: a missing channel or permission is logged once per post and never delays
or breaks a job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from bot.discord_app.send_queue import Lane, Priority, SendQueue
from bot.jobs.circuit import CircuitEvent, CircuitEventKind, OpenReason
from bot.jobs.notifier import VideoFile
from bot.storage.base import Job, Store

log = logging.getLogger(__name__)


class ModLog:
    def __init__(self, client: discord.Client, store: Store, queue: SendQueue | None = None) -> None:
        self.client = client
        self.store = store
        # Shared with the messenger: mod-log posts count against the same budgets, after results.
        self.queue = queue or SendQueue()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _post(self, guild_id: int, text: str) -> None:
        task = asyncio.create_task(self._send(guild_id, text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, guild_id: int, text: str) -> None:
        limits = await self.store.get_limits(guild_id)
        if limits.modlog_channel_id is None:
            return
        try:
            channel = self.client.get_partial_messageable(limits.modlog_channel_id)
            await self.queue.send(
                f"modlog:{guild_id}",
                Priority.LOG,
                Lane.channel(limits.modlog_channel_id),
                lambda: channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none()),
            )
        except discord.HTTPException as exc:
            log.info("guild %s: mod-log post failed (HTTP %s)", guild_id, exc.status)

    @staticmethod
    def _describe(job: Job) -> str:
        request = job.request
        return (
            f"`{job.id[:8]}` by <@{job.member_id}> in <#{job.channel_id}> — {request.model.value} "
            f"{request.mode.value} {request.duration}s, about {job.cost:g} credits (estimate)"
        )

    async def circuit_changed(self, event: CircuitEvent) -> None:
        """AceData out of balance or down, and back: one post in every server's mod-log."""
        if event.kind is CircuitEventKind.OPENED:
            if event.reason is OpenReason.BALANCE:
                text = (
                    "🛑 **The bot's AceData account is out of credit.** New videos are refused and queued "
                    "ones wait; nothing is being charged. The bot's operator must top up the AceData "
                    "balance; the bot resumes by itself once it can."
                )
            else:
                text = (
                    "🛑 **AceData (the video service) is not responding.** New videos are refused and "
                    "queued ones wait; nothing is being charged. The bot keeps checking and resumes by "
                    "itself."
                )
        elif event.kind is CircuitEventKind.CLOSED:
            text = "✅ AceData works again: new videos are accepted and queued ones are starting."
        else:
            return
        for guild in self.client.guilds:
            self._post(guild.id, text)

    def job_started(self, job: Job) -> None:
        self._post(job.guild_id, f"▶️ Job started: {self._describe(job)}")

    def limits_changed(self, guild_id: int, moderator_id: int, changes: str) -> None:
        self._post(guild_id, f"⚙️ <@{moderator_id}> changed the video limits: {changes}")

    # --- JobNotifier ----------------------------------------------------------------------
    async def progress(self, job: Job, *, force: bool = False) -> None:
        return None

    async def delivered(self, job: Job, video: VideoFile) -> None:
        self._post(job.guild_id, f"✅ Job delivered: {self._describe(job)}")

    async def failed(self, job: Job) -> None:
        self._post(
            job.guild_id, f"❌ Job {job.state.value} ({job.error_code or 'unknown'}): {self._describe(job)}"
        )

    async def forget(self, job_id: str) -> None:
        return None


class FanoutNotifier:
    """Sends every job event to several notifiers (the member's message and the mod-log)."""

    def __init__(self, *notifiers: Any) -> None:
        self.notifiers = notifiers

    async def progress(self, job: Job, *, force: bool = False) -> None:
        for notifier in self.notifiers:
            await notifier.progress(job, force=force)

    async def delivered(self, job: Job, video: VideoFile) -> None:
        for notifier in self.notifiers:
            await notifier.delivered(job, video)

    async def failed(self, job: Job) -> None:
        for notifier in self.notifiers:
            await notifier.failed(job)

    async def forget(self, job_id: str) -> None:
        for notifier in self.notifiers:
            await notifier.forget(job_id)

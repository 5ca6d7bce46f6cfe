"""The Discord side of `JobNotifier`: one public message per job, kept alive past the 15-minute token.

Edits go through the interaction webhook until the hand-off time, then through the channel endpoint
with the bot token (discord.py does not fall back by itself). A 401/404 from the webhook switches at
once and the token is never used again. Past the hand-off a result either edits the job's message or,
when the channel's edit bucket is used up and its create bucket is not, is posted as a new message
(the old one is deleted later, from a third bucket): a busy channel delivers from two buckets. When
the message or channel is gone, the result goes to a new channel message that mentions the member,
or to a DM; a DM is recorded on the job (its channel and message), so every link to the job opens
the DM message. No Discord error is retried in a loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.discord_app import job_embeds
from bot.discord_app.send_queue import Dropped, Lane, Priority, SendQueue
from bot.discord_app.views import failure_view, queued_view, result_view
from bot.jobs.notifier import VideoFile
from bot.jobs.runner import Clock
from bot.kling.capabilities import supports_extend, takes_start_frame
from bot.storage.base import Job, JobState, Store

log = logging.getLogger(__name__)

# Discord codes meaning "this message can no longer be edited": unknown message / channel, missing
# access or permissions, archived thread, too many edits on an old message.
_MESSAGE_GONE_CODES = {10003, 10008, 50001, 50013, 50083, 30046}
_TOKEN_DEAD_CODES = {10015, 50027}
_ESTIMATE_CACHE_SECONDS = 300.0


def message_nonce(job_id: str, purpose: str) -> str:
    """The nonce of the one new message `purpose` ("result", "failure") of a job may post.

    discord.py sends it with `enforce_nonce`, so Discord answers a repeat within a few minutes with the
    message already created instead of a second one: a restart between posting and recording the
    post cannot show the member the same result twice. Discord caps nonces at 25 characters.
    """
    return hashlib.sha256(f"{purpose}:{job_id}".encode()).hexdigest()[:25]


@dataclass(slots=True)
class _TokenHandle:
    interaction: discord.Interaction[Any]
    handoff_at: float


class DiscordMessenger:
    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        handoff_after: float,
        edit_interval: float,
        clock: Clock = time.time,
        queue: SendQueue | None = None,
    ) -> None:
        self.client = client
        #: Every request about a job leaves through this queue: results first, within Discord's budgets.
        self.queue = queue or SendQueue()
        self.store = store
        self.handoff_after = handoff_after
        self.edit_interval = edit_interval
        self.clock = clock
        self._tokens: dict[str, _TokenHandle] = {}
        self._last: dict[str, tuple[object, float]] = {}
        self._gone: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._estimates: dict[tuple[Any, ...], tuple[float | None, float]] = {}
        self.edits_sent = 0
        self._tidying: set[asyncio.Task[None]] = set()
        # The jobs each channel has in flight (seen by `progress`, until `forget`): a busy channel.
        self._channel_jobs: dict[int, set[str]] = {}
        self._channel_of: dict[str, int] = {}

    # --- registration ---------------------------------------------------------------------
    def register(self, job_id: str, interaction: discord.Interaction[Any]) -> None:
        created = interaction.created_at.timestamp()
        self._tokens[job_id] = _TokenHandle(interaction, created + self.handoff_after)

    async def forget(self, job_id: str) -> None:
        channel = self._channel_of.pop(job_id, None)
        if channel is not None:
            jobs = self._channel_jobs.get(channel, set())
            jobs.discard(job_id)
            if not jobs:
                self._channel_jobs.pop(channel, None)
        self._tokens.pop(job_id, None)
        self._last.pop(job_id, None)
        self._locks.pop(job_id, None)
        self._gone.discard(job_id)

    # --- JobNotifier ----------------------------------------------------------------------
    async def progress(self, job: Job, *, force: bool = False) -> None:
        if job.id in self._gone or (job.message_id is None and job.id not in self._tokens):
            return
        self._channel_jobs.setdefault(job.channel_id, set()).add(job.id)
        self._channel_of[job.id] = job.channel_id
        if job.state is JobState.SUCCEEDED:
            lane = self._lane(job)
            busy = len(self._channel_jobs[job.channel_id]) > 1 or self.queue.in_use(lane)
            if lane.bot_token and busy:
                # A busy channel (other jobs in it, or its bucket in use): "Delivering" would take
                # a request from the bucket that this and the other results need more. In a quiet
                # channel, or through the job's own interaction webhook, it costs nothing.
                return
        now = self.clock()
        estimate = await self._estimate(job)
        position = await self.store.queue_position(job.id) if job.state is JobState.QUEUED else 0
        signature = (job_embeds.progress_signature(job, now=now, estimate_seconds=estimate), position)
        last = self._last.get(job.id)
        if last is not None:
            previous, at = last
            if previous == signature or (not force and now - at < self.edit_interval):
                return
        self._last[job.id] = (signature, now)
        embed = job_embeds.progress_embed(
            job,
            now=now,
            estimate_seconds=estimate,
            thumbnail_url=job.request.start_image_url,
            queue_position=position,
        )
        view = queued_view(job.id, job.locale) if job.state is JobState.QUEUED else None
        lane = self._lane(job)
        try:
            await self.queue.send(
                job.id,
                Priority.PROGRESS,
                lane,
                lambda: self._edit(job, content=None, embed=embed, view=view),
            )
        except Dropped:
            return  # a newer edit or the result took its place before it was sent

    async def delivered(self, job: Job, video: VideoFile) -> None:
        attached = video.path is not None
        member = f"<@{job.member_id}>"
        embed = job_embeds.result_embed(
            job, attached=attached, member_mention=member, too_large=video.too_large
        )
        in_story = bool(await self.store.story_parents([job.id]))
        view = result_view(
            job.id,
            link=None if attached else video.url,
            can_extend=job.video_id is not None and supports_extend(job.request.model),
            can_next_shot=takes_start_frame(job.request.model),
            can_stitch=in_story and attached,
            locale=job.locale,
        )
        path, filename = video.path, f"kling-{job.id[:8]}.mp4"

        def files() -> list[discord.File]:
            # The video, opened from its temporary file for each attempt and streamed by discord.py
            # (never held whole in memory), and the frames it was made from (kept on the message so
            # Rerun, Remix and Next shot can renew their links later by fetching it).
            if path is None:
                return []
            made = [discord.File(path, filename=filename)]
            made += [discord.File(io.BytesIO(data), filename=name) for name, data in video.frames]
            return made

        await self._final(job, content=member, embed=embed, view=view, files=files, purpose="result")

    async def failed(self, job: Job) -> None:
        embed = job_embeds.failure_embed(job)
        view = failure_view(job.id, job.locale) if job.state is not JobState.CANCELLED else None
        member = f"<@{job.member_id}>"
        await self._final(job, content=member, embed=embed, view=view, files=None, purpose="failure")

    # --- plumbing -------------------------------------------------------------------------
    def _lane(self, job: Job) -> Lane:
        """The route the job's next edit takes: its interaction webhook until the hand-off, then its
        channel with the bot token (where the per-channel and global budgets apply)."""
        handle = self._tokens.get(job.id)
        if handle is not None and self.clock() < handle.handoff_at:
            return Lane.webhook(handle.interaction.token)
        return Lane.channel(job.channel_id)

    async def _final(
        self,
        job: Job,
        *,
        content: str,
        embed: discord.Embed,
        view: discord.ui.View | None,
        files: Callable[[], list[discord.File]] | None,
        purpose: str,
    ) -> None:
        """Show a result or failure: ahead of every progress edit waiting, and the job's own waiting
        edit dropped. The message itself, else a new one (see `_post_elsewhere`). Without `files`
        the message keeps the attachments it has (the frames a failure keeps for Try again)."""

        async def edit() -> bool:
            if files is None:
                return await self._edit(job, content=content, embed=embed, view=view)
            return await self._edit(job, content=content, embed=embed, view=view, attachments=files())

        lane = self._lane(job)
        alternative = None
        if files is not None and lane.bot_token:
            # Past the hand-off a result may also leave as a new message: in a busy channel it then
            # takes whichever of the channel's edit and create buckets has room first.
            alternative = (
                Lane.create(job.channel_id),
                lambda: self._post_anew(
                    job, content=content, embed=embed, view=view, files=files, purpose=purpose
                ),
            )
        edited = await self.queue.send(job.id, Priority.FINAL, lane, edit, alternative=alternative)
        if edited:
            return
        await self.queue.send(
            job.id,
            Priority.FINAL,
            Lane.channel(job.channel_id),
            lambda: self._post_elsewhere(
                job, content=content, embed=embed, view=view, files=files or list, purpose=purpose
            ),
        )

    async def _estimate(self, job: Job) -> float | None:
        request = job.request
        key = (job.guild_id, request.model, request.mode, request.duration)
        cached = self._estimates.get(key)
        now = self.clock()
        if cached is not None and now - cached[1] < _ESTIMATE_CACHE_SECONDS:
            return cached[0]
        value = await self.store.average_render_seconds(
            job.guild_id, request.model, request.mode, request.duration
        )
        self._estimates[key] = (value, now)
        return value

    async def _edit(self, job: Job, **fields: Any) -> bool:
        """Edit the job's message by whichever route still works. False when none does."""
        if job.id in self._gone:
            return False
        lock = self._locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            mentions = discord.AllowedMentions(
                users=[discord.Object(job.member_id)], everyone=False, roles=False
            )
            handle = self._tokens.get(job.id)
            if handle is not None and self.clock() < handle.handoff_at:
                try:
                    message = await handle.interaction.edit_original_response(
                        allowed_mentions=mentions, **fields
                    )
                    self.edits_sent += 1
                    if job.message_id is None:
                        await self.store.update_job(job.id, message_id=message.id)
                    return True
                except discord.HTTPException as exc:
                    log.info(
                        "job %s: interaction token unusable (HTTP %s); using the bot token",
                        job.id,
                        exc.status,
                    )
                    self._tokens.pop(job.id, None)
                    if exc.status not in (401, 404) and exc.code not in _TOKEN_DEAD_CODES:
                        return False
            elif handle is not None:
                self._tokens.pop(job.id, None)  # past the hand-off: the token is never used again
            message_id = job.message_id
            if message_id is None:
                fresh = await self.store.get_job(job.id)
                message_id = fresh.message_id if fresh else None
            if message_id is None:
                self._gone.add(job.id)
                return False
            partial = self.client.get_partial_messageable(job.channel_id).get_partial_message(message_id)
            try:
                await partial.edit(allowed_mentions=mentions, **fields)
                self.edits_sent += 1
                return True
            except discord.HTTPException as exc:
                if isinstance(exc, discord.NotFound | discord.Forbidden) or exc.code in _MESSAGE_GONE_CODES:
                    log.info(
                        "job %s: progress message unusable (HTTP %s code %s)", job.id, exc.status, exc.code
                    )
                    self._gone.add(job.id)
                    return False
                log.warning("job %s: editing its message failed (HTTP %s)", job.id, exc.status)
                return False

    async def _post_anew(
        self,
        job: Job,
        *,
        content: str,
        embed: discord.Embed,
        view: discord.ui.View | None,
        files: Callable[[], list[discord.File]],
        purpose: str,
    ) -> bool:
        """Post the result as a new message in the job's channel and delete the progress message it
        replaces (later, from the channel's delete bucket, after every result). False when the
        post failed: the caller then falls back to `_post_elsewhere`."""
        lock = self._locks.setdefault(job.id, asyncio.Lock())
        async with lock:
            old_message = job.message_id
            if old_message is None:
                fresh = await self.store.get_job(job.id)
                old_message = fresh.message_id if fresh else None
            try:
                message = await self._send_in_channel(
                    job, content=content, embed=embed, view=view, files=files, purpose=purpose
                )
            except discord.HTTPException as exc:
                log.info("job %s: posting its result anew failed (HTTP %s)", job.id, exc.status)
                return False
            await self.store.update_job(job.id, message_id=message.id)
            self.edits_sent += 1
        if old_message is not None and old_message != message.id:
            task = asyncio.create_task(self._delete_replaced(job, old_message), name=f"tidy-{job.id[:8]}")
            self._tidying.add(task)
            task.add_done_callback(self._tidying.discard)
        return True

    async def _delete_replaced(self, job: Job, message_id: int) -> None:
        """Remove a progress message whose result was posted anew, so the channel shows one message
        per job. Low priority: results and mod-log posts go first."""
        partial = self.client.get_partial_messageable(job.channel_id).get_partial_message(message_id)
        try:
            await self.queue.send(
                f"tidy:{job.id}", Priority.TIDY, Lane.delete(job.channel_id), partial.delete
            )
        except discord.HTTPException as exc:
            log.info("job %s: its replaced progress message stays (HTTP %s)", job.id, exc.status)

    async def _send_in_channel(
        self,
        job: Job,
        *,
        content: str,
        embed: discord.Embed,
        view: discord.ui.View | None,
        files: Callable[[], list[discord.File]],
        purpose: str,
    ) -> discord.Message:
        """A new message in the job's channel that mentions the member (only them), with the job's
        nonce for `purpose`, so a retry never posts twice."""
        channel = self.client.get_partial_messageable(job.channel_id)
        return await channel.send(
            content=content,
            embed=embed,
            files=files(),
            allowed_mentions=discord.AllowedMentions(
                users=[discord.Object(job.member_id)], everyone=False, roles=False
            ),
            nonce=message_nonce(job.id, purpose),
            **_with(view),
        )

    async def _post_elsewhere(
        self,
        job: Job,
        *,
        content: str,
        embed: discord.Embed,
        view: discord.ui.View | None,
        files: Callable[[], list[discord.File]],
        purpose: str,
    ) -> None:
        """The progress message is gone: a new channel message mentioning the member, else a DM.
        Both carry the job's nonce for `purpose`, so a retry after a restart never posts twice."""
        try:
            message = await self._send_in_channel(
                job, content=content, embed=embed, view=view, files=files, purpose=purpose
            )
            await self.store.update_job(job.id, message_id=message.id)
            self._gone.discard(job.id)
            return
        except discord.HTTPException as exc:
            log.info("job %s: cannot post in its channel (HTTP %s); trying a DM", job.id, exc.status)
        try:
            user = await self.client.fetch_user(job.member_id)
            message = await user.send(
                content=content,
                embed=embed,
                files=files(),
                nonce=message_nonce(job.id, purpose),
                **_with(view),
            )
        except discord.HTTPException as exc:
            log.warning("job %s: could not reach the member at all (HTTP %s)", job.id, exc.status)
            return
        await self.store.update_job(job.id, **moved_to_dm(job, message.channel.id, message.id))


def _with(view: discord.ui.View | None) -> dict[str, Any]:
    # `view` is passed only when there are buttons (as every send here did before this helper).
    return {"view": view} if view is not None else {}


def moved_to_dm(job: Job, dm_channel_id: int, message_id: int) -> dict[str, int]:
    """The job's fields once its message is `message_id` in the member's DM: the job now lives there
    (its links take the DM form, bot/discord_app/job_links.py), and the server channel it was asked
    in is kept for the channel rules of buttons pressed on the DM message (launch.home_of)."""
    fields = {"message_id": message_id}
    if dm_channel_id != job.channel_id:
        fields["channel_id"] = dm_channel_id
        if job.origin_channel_id is None:
            fields["origin_channel_id"] = job.channel_id
    return fields

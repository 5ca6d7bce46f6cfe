"""The mod-log: one readable entry per job event, setting change and refused request, in the channel a
server's moderators picked.

A job entry links to the job's message and shows the member, a short prompt excerpt (made inert: no
pings, no markdown), model, cost, outcome and time. Refused requests (blocked words, channel rules,
budget and quotas) are logged too, so moderators see attempts and not only successes. Blocked words are
never listed; a refusal says which rule applied and the excerpt shows the prompt.

Best effort by design: a missing channel or permission is logged once per post and never delays or
breaks a job. `probe` is the exception: before a channel becomes the mod-log, it checks that the bot
really can post there, so a moderator is told at once rather than never.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import discord

from bot.discord_app.history_pages import result_link
from bot.discord_app.job_embeds import failure_title, neutralise
from bot.discord_app.send_queue import Lane, Priority, SendQueue
from bot.jobs.circuit import CircuitEvent, CircuitEventKind, OpenReason
from bot.jobs.notifier import VideoFile
from bot.kling.models import VideoRequest
from bot.quota.amounts import format_amount
from bot.quota.models import GuildLimits, LimitUnit
from bot.quota.policy import blocked_word_in_request, check_server_policy
from bot.storage.base import Job, JobState, Store

log = logging.getLogger(__name__)

PROMPT_EXCERPT = 160
#: What the bot needs in the mod-log channel (it posts embeds).
MODLOG_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}


class Outcome(StrEnum):
    STARTED = "started"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"


_STYLE: dict[Outcome, tuple[str, discord.Colour]] = {
    Outcome.STARTED: ("▶️ Video started", discord.Colour.blurple()),
    Outcome.DELIVERED: ("✅ Video delivered", discord.Colour.green()),
    Outcome.FAILED: ("❌ Video failed", discord.Colour.red()),
    Outcome.REFUSED: ("🚫 Request refused", discord.Colour.orange()),
}


class RefusalKind(StrEnum):
    BLOCKED_WORD = "blocked word"
    CHANNEL = "channel rule"
    SERVER_RULE = "server rule"
    BUDGET = "budget or quota"


def refusal_kind(
    limits: GuildLimits, request: VideoRequest, *, channel_id: int, is_moderator: bool
) -> RefusalKind:
    """Which rule refused `request` (the member's message says it in their words)."""
    if blocked_word_in_request(limits, request) is not None:
        return RefusalKind.BLOCKED_WORD
    if limits.allowed_channels and channel_id not in limits.allowed_channels and not is_moderator:
        return RefusalKind.CHANNEL
    policy = check_server_policy(
        limits, request, channel_id=channel_id, member_role_ids=(), is_moderator=is_moderator
    )
    return RefusalKind.SERVER_RULE if policy else RefusalKind.BUDGET


@dataclass(frozen=True, slots=True)
class Attempt:
    """A request refused before it became a job."""

    guild_id: int
    channel_id: int
    member_id: int
    request: VideoRequest
    reason: str
    at: float
    #: Rules are checked against this channel (a thread's parent).
    rule_channel_id: int | None = None
    is_moderator: bool = False


def _request_text(request: VideoRequest) -> str:
    return f"{request.model.value} · {request.mode.value} · {request.duration} s"


def _excerpt(request: VideoRequest) -> str:
    return neutralise(request.prompt, PROMPT_EXCERPT) if request.prompt else "*(no prompt)*"


def _time(epoch: float) -> str:
    return f"<t:{int(epoch)}:f> (<t:{int(epoch)}:R>)"


def job_entry(job: Job, outcome: Outcome) -> discord.Embed:
    """The mod-log entry of one job event. Lines stay short so it reads on a phone."""
    title, colour = _STYLE[outcome]
    embed = discord.Embed(title=title, description=_excerpt(job.request), colour=colour)
    embed.add_field(name="Member", value=f"<@{job.member_id}>")
    embed.add_field(name="Model", value=_request_text(job.request))
    charged = outcome is not Outcome.FAILED
    cost = format_amount(job.cost, LimitUnit.CREDITS)
    embed.add_field(name="Cost", value=cost if charged else f"~~{cost}~~ not charged")
    if outcome is Outcome.FAILED:
        state = "timed out" if job.state is JobState.TIMED_OUT else job.state.value.replace("_", " ")
        embed.add_field(name="Outcome", value=f"{state}: {failure_title(job.error_code)}")
    else:
        embed.add_field(name="Outcome", value=outcome.value.capitalize())
    when = job.finished_at or job.delivered_at or job.created_at
    if outcome is Outcome.STARTED:
        when = job.created_at
    embed.add_field(name="Time", value=_time(when))
    link = result_link(job)
    where = f"in <#{job.channel_id}>"
    embed.add_field(name="Message", value=f"[Open]({link}) {where}" if link else where)
    embed.set_footer(text=f"Job {job.id[:8]}")
    return embed


def attempt_entry(attempt: Attempt, kind: RefusalKind) -> discord.Embed:
    title, colour = _STYLE[Outcome.REFUSED]
    embed = discord.Embed(
        title=f"{title}: {kind.value}", description=_excerpt(attempt.request), colour=colour
    )
    embed.add_field(name="Member", value=f"<@{attempt.member_id}>")
    embed.add_field(name="Model", value=_request_text(attempt.request))
    embed.add_field(name="Cost", value="Nothing (refused before any request)")
    embed.add_field(name="Outcome", value=neutralise(attempt.reason, 300), inline=False)
    embed.add_field(name="Time", value=_time(attempt.at))
    embed.add_field(name="Channel", value=f"<#{attempt.channel_id}>")
    return embed


def settings_entry(moderator_id: int, changes: str) -> discord.Embed:
    embed = discord.Embed(
        title="⚙️ Video settings changed", description=changes[:4000], colour=discord.Colour.dark_grey()
    )
    embed.add_field(name="By", value=f"<@{moderator_id}>")
    embed.add_field(name="Time", value=_time(time.time()))
    return embed


class ModLog:
    def __init__(self, client: discord.Client, store: Store, queue: SendQueue | None = None) -> None:
        self.client = client
        self.store = store
        # Shared with the messenger: mod-log posts count against the same budgets, after results.
        self.queue = queue or SendQueue()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _post(self, guild_id: int, embed: discord.Embed | None = None, *, content: str | None = None) -> None:
        self._spawn(self._send(guild_id, embed, content=content))

    async def _send(self, guild_id: int, embed: discord.Embed | None, *, content: str | None = None) -> None:
        limits = await self.store.get_limits(guild_id)
        if limits.modlog_channel_id is None:
            return
        try:
            channel = self.client.get_partial_messageable(limits.modlog_channel_id)
            mentions = discord.AllowedMentions.none()

            async def send() -> Any:
                if embed is None:
                    return await channel.send((content or "")[:2000], allowed_mentions=mentions)
                return await channel.send(content, embed=embed, allowed_mentions=mentions)

            await self.queue.send(
                f"modlog:{guild_id}", Priority.LOG, Lane.create(limits.modlog_channel_id), send
            )
        except discord.HTTPException as exc:
            log.info("guild %s: mod-log post failed (HTTP %s)", guild_id, exc.status)

    def _post_job(self, job: Job, outcome: Outcome) -> None:
        async def post() -> None:
            # The message id is recorded after the event that mentions the job: read it fresh.
            fresh = await self.store.get_job(job.id) or job
            await self._send(job.guild_id, job_entry(fresh if fresh.message_id else job, outcome))

        self._spawn(post())

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
            # Plain text: an alert for everyone reading the channel, not an entry about one job.
            self._post(guild.id, content=text)

    def job_started(self, job: Job) -> None:
        self._post_job(job, Outcome.STARTED)

    def limits_changed(self, guild_id: int, moderator_id: int, changes: str) -> None:
        self._post(guild_id, settings_entry(moderator_id, changes))

    def request_refused(self, attempt: Attempt) -> None:
        async def post() -> None:
            limits = await self.store.get_limits(attempt.guild_id)
            if limits.modlog_channel_id is None:
                return
            kind = refusal_kind(
                limits,
                attempt.request,
                channel_id=attempt.rule_channel_id or attempt.channel_id,
                is_moderator=attempt.is_moderator,
            )
            await self._send(attempt.guild_id, attempt_entry(attempt, kind))

        self._spawn(post())

    async def probe(self, guild_id: int, channel_id: int, moderator_id: int) -> str | None:
        """Why the bot can't use `channel_id` as the mod-log (None when it can). Posts a short
        notice there, which is the one reliable test and tells readers what the channel is for."""
        guild = self.client.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        if guild is not None and channel is not None and guild.me is not None:
            permissions = channel.permissions_for(guild.me)
            missing = [label for name, label in MODLOG_PERMISSIONS.items() if not getattr(permissions, name)]
            if missing:
                return (
                    f"I can't post in <#{channel_id}>: I'm missing **{'**, **'.join(missing)}** there. "
                    "Grant them or pick another channel. Nothing changed."
                )
        try:
            await self.client.get_partial_messageable(channel_id).send(
                f"📋 This channel is now the video mod-log (set by <@{moderator_id}>): videos, refused "
                "requests and setting changes will be posted here.",
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            return (
                f"I can't post in <#{channel_id}> (Discord answered {exc.status}): give me View Channel, "
                "Send Messages and Embed Links there, or pick another channel. Nothing changed."
            )
        return None

    # --- JobNotifier ----------------------------------------------------------------------
    async def progress(self, job: Job, *, force: bool = False) -> None:
        return None

    async def delivered(self, job: Job, video: VideoFile) -> None:
        self._post_job(job, Outcome.DELIVERED)

    async def failed(self, job: Job) -> None:
        self._post_job(job, Outcome.FAILED)

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

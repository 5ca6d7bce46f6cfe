"""The mod-log: one readable entry per job event, setting change and refused request, in the channel a
server's moderators picked.

A job entry links to the job's message and shows the member, a short prompt excerpt (made inert: no
pings, no markdown), model, cost, outcome and time. Refused requests (blocked words, channel rules,
budget and quotas) are logged too, so moderators see attempts and not only successes. Blocked words are
never listed; a refusal says which rule applied and the excerpt shows the prompt.

Entries are written in the server's language (`guild.preferred_locale`, the "Community" language a
server sets) when a catalog ships for it, English otherwise. What a moderator typed or the bot quotes
(the prompt excerpt, a settings summary) stays as it is.

Best effort by design: a missing channel or permission is logged once per post and never delays or
breaks a job. `probe` is the exception: before a channel becomes the mod-log, it checks that the bot
really can post there, so a moderator is told at once rather than never.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import discord

from bot.discord_app.formatting import amount_text
from bot.discord_app.i18n import N_, SHIPPED_LOCALES, language, t
from bot.discord_app.job_embeds import failure_title, neutralise
from bot.discord_app.job_links import JobPlaces, message_link
from bot.discord_app.permission_names import PERMISSION_NAMES, bold_names
from bot.discord_app.send_queue import Lane, Priority, SendQueue
from bot.jobs.circuit import CircuitEvent, CircuitEventKind, OpenReason
from bot.jobs.notifier import VideoFile
from bot.kling.models import VideoRequest
from bot.quota.models import GuildLimits, LimitUnit
from bot.quota.policy import blocked_word_in_request, check_server_policy
from bot.refusals import Text
from bot.storage.base import Job, JobState, Store

log = logging.getLogger(__name__)

#: A server's language for its mod-log: a shipped catalog's Discord code, or None for English.
Locale = str | None

PROMPT_EXCERPT = 160
#: What the bot needs in the mod-log channel (it posts embeds).
MODLOG_PERMISSIONS = {
    name: PERMISSION_NAMES[name] for name in ("view_channel", "send_messages", "embed_links")
}
#: Why a channel can't be the mod-log, in the moderator's language (`probe`).
MODLOG_MISSING_PERMISSIONS = N_(
    "I can't post in {channel}: I'm missing **{permissions}** there. "
    "Grant them or pick another channel. Nothing changed."
)
MODLOG_SEND_FAILED = N_(
    "I can't post in {channel} (Discord answered {status}): give me View Channel, Send Messages "
    "and Embed Links there, or pick another channel. Nothing changed."
)


class Outcome(StrEnum):
    STARTED = "started"
    DELIVERED = "delivered"
    FAILED = "failed"
    REFUSED = "refused"


_STYLE: dict[Outcome, tuple[str, discord.Colour]] = {
    Outcome.STARTED: (N_("▶️ Video started"), discord.Colour.blurple()),
    Outcome.DELIVERED: (N_("✅ Video delivered"), discord.Colour.green()),
    Outcome.FAILED: (N_("❌ Video failed"), discord.Colour.red()),
    Outcome.REFUSED: (N_("🚫 Request refused"), discord.Colour.orange()),
}
#: The "Outcome" field of a job that did not fail.
_OUTCOME_WORDS = {
    Outcome.STARTED: N_("Started"),
    Outcome.DELIVERED: N_("Delivered"),
    Outcome.FAILED: N_("Failed"),
    Outcome.REFUSED: N_("Refused"),
}
#: How a failed job ended (its state), before the reason.
_STATE_WORDS = {
    JobState.FAILED: N_("failed"),
    JobState.TIMED_OUT: N_("timed out"),
    JobState.CANCELLED: N_("cancelled"),
    JobState.UNCONFIRMED: N_("unconfirmed"),
}

MEMBER = N_("Member")
MODEL = N_("Model")
COST = N_("Cost")
OUTCOME = N_("Outcome")
TIME = N_("Time")
MESSAGE = N_("Message")
CHANNEL = N_("Channel")
BY = N_("By")
NOT_CHARGED = N_("~~{cost}~~ not charged")
FAILED_OUTCOME = N_("{state}: {reason}")
OPEN_IN = N_("[Open]({link}) in {channel}")
IN_CHANNEL = N_("in {channel}")
IN_DM = N_("in a DM with the member")
OPEN_IN_DM = N_("[Open]({link}) in a DM with the member")
JOB_FOOTER = N_("Job {id}")
NO_PROMPT = N_("*(no prompt)*")
NOTHING_CHARGED = N_("Nothing (refused before any request)")
REFUSED_TITLE = N_("{title}: {kind}")
SETTINGS_CHANGED = N_("⚙️ Video settings changed")
OUT_OF_CREDIT = N_(
    "🛑 **The bot's AceData account is out of credit.** New videos are refused and queued "
    "ones wait; nothing is being charged. The bot's operator must top up the AceData "
    "balance; the bot resumes by itself once it can."
)
SERVICE_DOWN = N_(
    "🛑 **AceData (the video service) is not responding.** New videos are refused and "
    "queued ones wait; nothing is being charged. The bot keeps checking and resumes by "
    "itself."
)
SERVICE_BACK = N_("✅ AceData works again: new videos are accepted and queued ones are starting.")
NOW_THE_MODLOG = N_(
    "📋 This channel is now the video mod-log (set by {moderator}): videos, refused "
    "requests and setting changes will be posted here."
)


def server_locale(client: discord.Client, guild_id: int) -> Locale:
    """The server's preferred language when a catalog ships for it, else None (English)."""
    guild = client.get_guild(guild_id)
    code = str(guild.preferred_locale) if guild is not None else ""
    return code if code in SHIPPED_LOCALES else None


class RefusalKind(StrEnum):
    BLOCKED_WORD = "blocked word"
    CHANNEL = "channel rule"
    SERVER_RULE = "server rule"
    BUDGET = "budget or quota"


#: The rule's name in a refused request's title (the English is the enum's value).
_KIND_WORDS = {
    RefusalKind.BLOCKED_WORD: N_("blocked word"),
    RefusalKind.CHANNEL: N_("channel rule"),
    RefusalKind.SERVER_RULE: N_("server rule"),
    RefusalKind.BUDGET: N_("budget or quota"),
}


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
    #: `reason` as a translatable text (the refusal the member got), shown in the server's language.
    refusal: Text | None = None


def _request_text(request: VideoRequest) -> str:
    return f"{request.model.value} · {request.mode.value} · {request.duration} s"


def _excerpt(request: VideoRequest, locale: Locale = None) -> str:
    return neutralise(request.prompt, PROMPT_EXCERPT) if request.prompt else t(locale, NO_PROMPT)


def _time(epoch: float) -> str:
    return f"<t:{int(epoch)}:f> (<t:{int(epoch)}:R>)"


def _state_text(job: Job, locale: Locale) -> str:
    word = _STATE_WORDS.get(job.state)
    return t(locale, word) if word is not None else job.state.value.replace("_", " ")


def _where(job: Job, locale: Locale, *, in_dm: bool) -> str:
    link = message_link(job, in_dm=in_dm)
    if in_dm:
        return t(locale, OPEN_IN_DM, link=link) if link else t(locale, IN_DM)
    channel = f"<#{job.channel_id}>"
    return t(locale, OPEN_IN, link=link, channel=channel) if link else t(locale, IN_CHANNEL, channel=channel)


def job_entry(job: Job, outcome: Outcome, locale: Locale = None, *, in_dm: bool = False) -> discord.Embed:
    """The mod-log entry of one job event, in `locale` (English when None). Lines stay short so it
    reads on a phone. `in_dm`: the job was started from the member's DM with the bot
    (bot/discord_app/job_links.py), whose channel a moderator can't open; the link still says where
    it is."""
    title, colour = _STYLE[outcome]
    embed = discord.Embed(title=t(locale, title), description=_excerpt(job.request, locale), colour=colour)
    embed.add_field(name=t(locale, MEMBER), value=f"<@{job.member_id}>")
    embed.add_field(name=t(locale, MODEL), value=_request_text(job.request))
    charged = outcome is not Outcome.FAILED
    cost = amount_text(locale, job.cost, LimitUnit.CREDITS)
    embed.add_field(name=t(locale, COST), value=cost if charged else t(locale, NOT_CHARGED, cost=cost))
    if outcome is Outcome.FAILED:
        reason = failure_title(job.error_code, locale)
        value = t(locale, FAILED_OUTCOME, state=_state_text(job, locale), reason=reason)
        embed.add_field(name=t(locale, OUTCOME), value=value)
    else:
        embed.add_field(name=t(locale, OUTCOME), value=t(locale, _OUTCOME_WORDS[outcome]))
    when = job.finished_at or job.delivered_at or job.created_at
    if outcome is Outcome.STARTED:
        when = job.created_at
    embed.add_field(name=t(locale, TIME), value=_time(when))
    embed.add_field(name=t(locale, MESSAGE), value=_where(job, locale, in_dm=in_dm))
    embed.set_footer(text=t(locale, JOB_FOOTER, id=job.id[:8]))
    return embed


def attempt_entry(attempt: Attempt, kind: RefusalKind, locale: Locale = None) -> discord.Embed:
    """The mod-log entry of a refused request, in `locale` (English when None)."""
    title, colour = _STYLE[Outcome.REFUSED]
    embed = discord.Embed(
        title=t(locale, REFUSED_TITLE, title=t(locale, title), kind=t(locale, _KIND_WORDS[kind])),
        description=_excerpt(attempt.request, locale),
        colour=colour,
    )
    # English keeps the exact reason the member was sent; a catalog language renders the same text.
    reason = attempt.reason
    if attempt.refusal is not None and locale is not None:
        reason = attempt.refusal.render(language(locale))
    embed.add_field(name=t(locale, MEMBER), value=f"<@{attempt.member_id}>")
    embed.add_field(name=t(locale, MODEL), value=_request_text(attempt.request))
    embed.add_field(name=t(locale, COST), value=t(locale, NOTHING_CHARGED))
    embed.add_field(name=t(locale, OUTCOME), value=neutralise(reason, 300), inline=False)
    embed.add_field(name=t(locale, TIME), value=_time(attempt.at))
    embed.add_field(name=t(locale, CHANNEL), value=f"<#{attempt.channel_id}>")
    return embed


def settings_entry(moderator_id: int, changes: str, locale: Locale = None) -> discord.Embed:
    """A settings change; `changes` is the summary the command wrote, shown as it is."""
    embed = discord.Embed(
        title=t(locale, SETTINGS_CHANGED), description=changes[:4000], colour=discord.Colour.dark_grey()
    )
    embed.add_field(name=t(locale, BY), value=f"<@{moderator_id}>")
    embed.add_field(name=t(locale, TIME), value=_time(time.time()))
    return embed


class ModLog:
    def __init__(self, client: discord.Client, store: Store, queue: SendQueue | None = None) -> None:
        self.client = client
        self.store = store
        # Shared with the messenger: mod-log posts count against the same budgets, after results.
        self.queue = queue or SendQueue()
        self.places = JobPlaces(client)
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _post(self, guild_id: int, embed: discord.Embed | None = None, *, content: str | None = None) -> None:
        self._spawn(self._send(guild_id, embed, content=content))

    def locale_of(self, guild_id: int) -> Locale:
        """The language of this server's mod-log entries (None: English)."""
        return server_locale(self.client, guild_id)

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
            shown = fresh if fresh.message_id else job
            in_dm = shown.id in await self.places.in_dm([shown])
            entry = job_entry(shown, outcome, self.locale_of(job.guild_id), in_dm=in_dm)
            await self._send(job.guild_id, entry)

        self._spawn(post())

    async def circuit_changed(self, event: CircuitEvent) -> None:
        """AceData out of balance or down, and back: one post in every server's mod-log."""
        if event.kind is CircuitEventKind.OPENED:
            text = OUT_OF_CREDIT if event.reason is OpenReason.BALANCE else SERVICE_DOWN
        elif event.kind is CircuitEventKind.CLOSED:
            text = SERVICE_BACK
        else:
            return
        for guild in self.client.guilds:
            # Plain text: an alert for everyone reading the channel, not an entry about one job.
            self._post(guild.id, content=t(self.locale_of(guild.id), text))

    def job_started(self, job: Job) -> None:
        self._post_job(job, Outcome.STARTED)

    def limits_changed(self, guild_id: int, moderator_id: int, changes: Callable[[Locale], str]) -> None:
        """`changes` words the change in a given language: the entry is in the server's language,
        which may differ from the moderator's."""
        locale = self.locale_of(guild_id)
        self._post(guild_id, settings_entry(moderator_id, changes(locale), locale))

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
            await self._send(attempt.guild_id, attempt_entry(attempt, kind, self.locale_of(attempt.guild_id)))

        self._spawn(post())

    async def probe(self, guild_id: int, channel_id: int, moderator_id: int) -> Text | None:
        """Why the bot can't use `channel_id` as the mod-log (None when it can), to show the
        moderator in their language (`Refusal.of`). Posts a short notice there (in the server's
        language), which is the one reliable test and tells readers what the channel is for."""
        guild = self.client.get_guild(guild_id)
        channel = guild.get_channel(channel_id) if guild is not None else None
        if guild is not None and channel is not None and guild.me is not None:
            permissions = channel.permissions_for(guild.me)
            missing = [label for name, label in MODLOG_PERMISSIONS.items() if not getattr(permissions, name)]
            if missing:
                return Text(
                    MODLOG_MISSING_PERMISSIONS,
                    {"channel": f"<#{channel_id}>", "permissions": bold_names(missing)},
                )
        try:
            await self.client.get_partial_messageable(channel_id).send(
                t(self.locale_of(guild_id), NOW_THE_MODLOG, moderator=f"<@{moderator_id}>"),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            return Text(MODLOG_SEND_FAILED, {"channel": f"<#{channel_id}>", "status": exc.status})
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

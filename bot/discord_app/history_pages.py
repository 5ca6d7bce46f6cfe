"""`/history`: whose jobs an invoker may see, and one page of them as an embed."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import discord

from bot.discord_app.access import Refusal
from bot.discord_app.formatting import Locale, amount_text, relative_time
from bot.discord_app.i18n import N_, babel_locale, t
from bot.discord_app.job_embeds import neutralise
from bot.discord_app.job_links import message_link
from bot.discord_app.phone import pack
from bot.quota.models import LimitUnit
from bot.storage.base import ACTIVE_STATES, Job, JobState
from bot.wording import format_elapsed

PAGE_SIZE = 5
#: The buttons under a page, and the answer to someone else pressing them.
RERUN_NUMBER = N_("Rerun {number}")
PREVIOUS = N_("Previous")
NEXT = N_("Next")
NOT_YOUR_PAGES = N_("These buttons belong to whoever ran /history; run it yourself to browse.")
#: The link to a job that lives in its member's DM with the bot (job_links.py), beside "Open".
OPEN_IN_DM = N_("[Open in DM]({link})")
_PROMPT_PREVIEW = 150
_HISTORY_COLOUR = discord.Colour.blurple()


class HistoryStatus(StrEnum):
    """The status filter members pick from; each covers the job states a member would call that."""

    IN_PROGRESS = "in progress"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def states(self) -> tuple[JobState, ...]:
        return _STATUS_STATES[self]


_STATUS_STATES: dict[HistoryStatus, tuple[JobState, ...]] = {
    HistoryStatus.IN_PROGRESS: tuple(sorted(ACTIVE_STATES)),
    HistoryStatus.DELIVERED: (JobState.DELIVERED,),
    HistoryStatus.FAILED: (JobState.FAILED, JobState.UNCONFIRMED, JobState.TIMED_OUT),
    HistoryStatus.CANCELLED: (JobState.CANCELLED,),
}

_STATE_LABELS: dict[JobState, str] = {
    JobState.QUEUED: N_("⏳ Queued"),
    JobState.SUBMITTING: N_("🎬 Starting"),
    JobState.RUNNING: N_("🎬 Rendering"),
    JobState.SUCCEEDED: N_("📤 Delivering"),
    JobState.DELIVERED: N_("✅ Delivered"),
    JobState.FAILED: N_("❌ Failed"),
    JobState.UNCONFIRMED: N_("❔ Not confirmed"),
    JobState.TIMED_OUT: N_("⌛ Timed out"),
    JobState.CANCELLED: N_("🚫 Cancelled"),
}
#: The status filter's words in a title ("Your videos — failed").
_STATUS_WORDS: dict[HistoryStatus, str] = {
    HistoryStatus.IN_PROGRESS: N_("in progress"),
    HistoryStatus.DELIVERED: N_("delivered"),
    HistoryStatus.FAILED: N_("failed"),
    HistoryStatus.CANCELLED: N_("cancelled"),
}


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which jobs one `/history` call lists (see `states` for `Store.history` / `count_history`)."""

    guild_id: int
    invoker_id: int
    #: None lists every member's jobs (moderators only).
    member_id: int | None
    status: HistoryStatus | None = None

    @property
    def states(self) -> tuple[JobState, ...] | None:
        return None if self.status is None else self.status.states

    @property
    def title(self) -> str:
        return self.title_in(None)

    def title_in(self, locale: Locale) -> str:
        if self.member_id is None:
            owner = t(locale, N_("Everyone's videos"))
        elif self.member_id == self.invoker_id:
            owner = t(locale, N_("Your videos"))
        else:
            owner = t(locale, N_("A member's videos"))
        if self.status is None:
            return owner
        return t(locale, N_("{owner} — {status}"), owner=owner, status=t(locale, _STATUS_WORDS[self.status]))


def history_query(
    *,
    guild_id: int,
    invoker_id: int,
    invoker_is_moderator: bool,
    member_id: int | None = None,
    status: HistoryStatus | None = None,
    everyone: bool = False,
) -> HistoryQuery:
    """Members see their own jobs; moderators may pick a member or the whole server.

    Refusal when a member asks for someone else's jobs or the whole server's.
    """
    asks_for_others = everyone or (member_id is not None and member_id != invoker_id)
    if asks_for_others and not invoker_is_moderator:
        raise Refusal(
            N_(
                "Only moderators (Manage Server) can see other members' videos. "
                "Leave the member and everyone options empty to see yours."
            )
        )
    if everyone and member_id is not None:
        raise Refusal(N_("Pick a member or everyone, not both."))
    return HistoryQuery(guild_id, invoker_id, None if everyone else (member_id or invoker_id), status)


def page_count(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def clamp_page(page: int, total: int) -> int:
    return min(max(page, 0), page_count(total) - 1)


def result_link(job: Job, *, in_dm: bool = False) -> str | None:
    """The message that shows the job's result or progress, when it has one (`in_dm`: the job
    lives in its member's DM with the bot, see bot/discord_app/job_links.py)."""
    return message_link(job, in_dm=in_dm)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    number: int
    job_id: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    embed: discord.Embed
    #: One per listed job, in display order: the view puts a Rerun button for each.
    entries: tuple[HistoryEntry, ...]
    page: int
    pages: int


#: How a Next shot is marked in /history: it continues the shot named here (its number on this page,
#: or its job id's first characters), so a story reads as a chain.
STORY_MARK = N_("🎬 next shot after {shot}")
JOB_PREFIX = N_("job {id}")


def _story_mark(parent_id: str, numbers: Mapping[str, int], locale: Locale = None) -> str:
    shot = f"#{numbers[parent_id]}" if parent_id in numbers else t(locale, JOB_PREFIX, id=parent_id[:8])
    return t(locale, STORY_MARK, shot=shot)


def _entry_value(
    job: Job, *, show_member: bool, story: str | None = None, locale: Locale = None, in_dm: bool = False
) -> str:
    request = job.request
    prompt = neutralise(request.prompt, _PROMPT_PREVIEW) if request.prompt else t(locale, N_("*(no prompt)*"))
    cost = amount_text(locale, job.cost, LimitUnit.CREDITS)
    facts = [relative_time(job.created_at), t(locale, N_("~{cost} (est.)"), cost=cost)]
    if show_member:
        facts.insert(0, t(locale, N_("by {member}"), member=f"<@{job.member_id}>"))
    if job.video_duration is not None:
        facts.append(format_elapsed(job.video_duration, babel_locale(locale)))
    link = result_link(job, in_dm=in_dm)
    if link is not None:
        facts.append(t(locale, OPEN_IN_DM if in_dm else N_("[Open]({link})"), link=link))
    if job.state is not JobState.DELIVERED and job.error_code:
        facts.append(t(locale, N_("reason: {code}"), code=neutralise(job.error_code, 40)))
    if story:
        facts.insert(0, story)
    return f"{prompt}\n{pack(facts)}"


def history_page(
    query: HistoryQuery,
    jobs: Sequence[Job],
    *,
    page: int,
    total: int,
    story_parents: Mapping[str, str] | None = None,
    locale: Locale = None,
    dm_jobs: Collection[str] = (),
) -> HistoryPage:
    """The embed for `jobs`, which are page `page` (0-based) of `total` matching jobs, newest first.
    `story_parents` (job id -> the shot it continues) marks the shots of stories; the jobs named in
    `dm_jobs` live in their member's DM with the bot, so their links take Discord's DM form."""
    parents = story_parents or {}
    numbers = {job.id: n for n, job in enumerate(jobs[:PAGE_SIZE], start=page * PAGE_SIZE + 1)}
    pages = page_count(total)
    embed = discord.Embed(title=query.title_in(locale), colour=_HISTORY_COLOUR)
    if query.member_id not in (None, query.invoker_id):
        embed.description = f"<@{query.member_id}>"
    if not jobs:
        nothing = t(locale, N_("No videos match.") if query.status else N_("No videos yet."))
        embed.description = f"{embed.description}: {nothing}" if embed.description else nothing
    entries = []
    for number, job in enumerate(jobs[:PAGE_SIZE], start=page * PAGE_SIZE + 1):
        request = job.request
        name = (
            f"{number}. {t(locale, _STATE_LABELS[job.state])} · {request.model.value} {request.mode.value} "
            f"{request.duration} s"
        )
        story = _story_mark(parents[job.id], numbers, locale) if job.id in parents else None
        value = _entry_value(
            job,
            show_member=query.member_id is None,
            story=story,
            locale=locale,
            in_dm=job.id in dm_jobs,
        )
        embed.add_field(name=name, value=value, inline=False)
        entries.append(HistoryEntry(number, job.id))
    count = amount_text(locale, total, LimitUnit.VIDEOS)
    embed.set_footer(
        text=t(locale, N_("Page {page} of {pages} · {count}"), page=page + 1, pages=pages, count=count)
    )
    return HistoryPage(embed, tuple(entries), page, pages)

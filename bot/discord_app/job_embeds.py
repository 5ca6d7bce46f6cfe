"""What members see about a job: progress, result and failure embeds, built as pure functions.

Everything that came from a member or the video service (prompt, reasons, ids) goes through
`neutralise`, so it can neither ping anyone nor break the formatting, and every part is cut to
Discord's limits (title 256, description 4096, field 1024, total 6000).

The failure codes stored on a job are `bot.jobs.failures.FailureCode`; the words that explain each
are here, and a test checks that every code has them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import discord

from bot.jobs.failures import FailureCode
from bot.jobs.inline_flags import flags_for
from bot.kling.models import Action, Mode, VideoRequest
from bot.kling.simulated import is_simulated_task
from bot.storage.base import Job, JobState
from bot.wording import format_elapsed

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
#: Room for a service's reason inside a failure message.
REASON_LIMIT = 500
_ID_LIMIT = 100

_ELLIPSIS = "…"
# `<@123>`, `<@&456>`, `<#789>`, `</cmd:1>`: a zero-width space after `<` keeps them as plain text
# whatever the digits (discord.py's escape_mentions only knows real 17–20 digit ids).
_MENTION_OPENER = re.compile(r"<(?=[@#/])")

_COLOUR_PROGRESS = discord.Colour.blurple()
_COLOUR_DONE = discord.Colour.green()
_COLOUR_FAILED = discord.Colour.red()
_COLOUR_CANCELLED = discord.Colour.light_grey()

_ACTION_TITLES = {
    Action.TEXT2VIDEO: "Text to video",
    Action.IMAGE2VIDEO: "Image to video",
    Action.EXTEND: "Extending a video",
}
_MODE_NAMES = {Mode.STD: "Standard", Mode.PRO: "Professional", Mode.K4: "4K"}


def neutralise(text: str, limit: int) -> str:
    """`text` made inert (no markdown, no mentions) and at most `limit` characters long."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    safe = discord.utils.escape_mentions(discord.utils.escape_markdown(text))
    safe = _MENTION_OPENER.sub("<\u200b", safe)
    if len(safe) <= limit:
        return safe
    cut = safe[: limit - 1]
    # An odd run of trailing backslashes would escape the ellipsis: drop the dangling one.
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]
    return cut + _ELLIPSIS


def queue_text(position: int) -> str:
    if position <= 0:
        return "Queued"
    if position == 1:
        return "Queued — next in line"
    return f"Queued — position {position}"


# --- progress -------------------------------------------------------------------------------------
def _state_text(job: Job, queue_position: int) -> str:
    match job.state:
        case JobState.QUEUED:
            return queue_text(queue_position)
        case JobState.SUBMITTING:
            return "Submitting…"
        case JobState.RUNNING:
            return "Rendering"
        case JobState.SUCCEEDED:
            return "Delivering…"
        case _:
            return job.state.value.replace("_", " ").capitalize()


def _elapsed_text(seconds: float) -> str:
    """Whole minutes only, so the message needs editing at most once a minute for the clock."""
    if seconds < 60:
        return "under a minute"
    return format_elapsed(seconds // 60 * 60)


def _time_left_text(job: Job, now: float, estimate_seconds: float | None) -> str | None:
    if job.state not in (JobState.SUBMITTING, JobState.RUNNING):
        return None
    if estimate_seconds is None:
        return "usually 1–5 minutes"
    rendering_for = now - job.submitted_at if job.submitted_at is not None else 0.0
    left = estimate_seconds - rendering_for
    if left <= 0:
        return "taking longer than usual"
    return f"about {math.ceil(left / 60)} min left"


@dataclass(frozen=True, slots=True)
class _Clock:
    """The time-dependent words of a progress message."""

    elapsed: str
    time_left: str | None


def _progress_clock(job: Job, now: float, estimate_seconds: float | None) -> _Clock:
    # Waiting and submitting count from the request; rendering and delivery from the submission.
    since = job.created_at
    if job.state in (JobState.RUNNING, JobState.SUCCEEDED) and job.submitted_at is not None:
        since = job.submitted_at
    return _Clock(_elapsed_text(now - since), _time_left_text(job, now, estimate_seconds))


def progress_signature(
    job: Job, *, now: float, estimate_seconds: float | None
) -> tuple[JobState, str, str | None]:
    """What a progress message shows that can change over time, as displayed. The caller edits the
    message only when this (plus the queue position it passes separately) changes."""
    clock = _progress_clock(job, now, estimate_seconds)
    return (job.state, clock.elapsed, clock.time_left)


def _prompt_block(request: VideoRequest, limit: int) -> str:
    if request.prompt:
        return neutralise(request.prompt, limit)
    if request.action is Action.EXTEND:
        return "*(continuing an earlier video, no new prompt)*"
    return "*(no prompt — the video follows the start frame)*"


def _add_request_fields(embed: discord.Embed, request: VideoRequest) -> None:
    embed.add_field(name="Model", value=request.model.value)
    embed.add_field(name="Mode", value=_MODE_NAMES.get(request.mode, request.mode.value))
    embed.add_field(name="Duration", value=f"{request.duration} s")
    embed.add_field(name="Aspect", value=request.aspect_ratio.value)


#: Shown under every job the simulated AceData (SIMULATE_ACEDATA) made, so nobody takes it for real.
SIMULATED_NOTE = "SIMULATED: made by the bot's simulated AceData, not by Kling; nothing was paid"


def _footer(embed: discord.Embed, job: Job) -> None:
    text = f"Job {job.id[:8]}"
    if is_simulated_task(job.task_id):
        text += f" · {SIMULATED_NOTE}"
    embed.set_footer(text=text)


def progress_embed(
    job: Job,
    *,
    now: float,
    estimate_seconds: float | None,
    thumbnail_url: str | None,
    queue_position: int = 0,
) -> discord.Embed:
    request = job.request
    clock = _progress_clock(job, now, estimate_seconds)
    embed = discord.Embed(
        title=_ACTION_TITLES[request.action],
        description=_prompt_block(request, DESCRIPTION_LIMIT),
        colour=_COLOUR_PROGRESS,
    )
    _add_request_fields(embed, request)
    # The settings as inline parameters: echoes the member's flags and can be copied into a prompt.
    embed.add_field(name="Settings", value=neutralise(flags_for(request), FIELD_LIMIT), inline=False)
    embed.add_field(name="Status", value=_state_text(job, queue_position))
    embed.add_field(name="Elapsed", value=clock.elapsed)
    if clock.time_left is not None:
        embed.add_field(name="Time left", value=clock.time_left)
    if thumbnail_url and thumbnail_url.startswith(("https://", "http://")):
        embed.set_thumbnail(url=thumbnail_url)
    _footer(embed, job)
    return embed


# --- result ---------------------------------------------------------------------------------------
def result_embed(job: Job, *, attached: bool, member_mention: str, too_large: bool = True) -> discord.Embed:
    """The finished video. `too_large=False` when it is linked because the download failed instead."""
    request = job.request
    embed = discord.Embed(
        title="Your video is ready",
        description=_prompt_block(request, DESCRIPTION_LIMIT),
        colour=_COLOUR_DONE,
    )
    if not attached:
        why = "It is too big to upload in this server" if too_large else "I couldn't upload it here"
        embed.add_field(
            name="Where is it?", value=f"{why}, so the **Open video** button below links to it.", inline=False
        )
    embed.add_field(name="Requested by", value=member_mention)
    embed.add_field(name="Model", value=request.model.value)
    seconds = job.video_duration if job.video_duration is not None else float(request.duration)
    embed.add_field(name="Duration", value=f"{round(seconds, 1):g} s")
    if job.video_id:
        embed.add_field(name="Video id", value=neutralise(job.video_id, _ID_LIMIT), inline=False)
    _footer(embed, job)
    return embed


# --- failure --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _FailureWords:
    title: str
    explanation: str
    advice: str = ""
    #: Whether the service's own reason (job.error_message) is worth quoting.
    quotes_reason: bool = False


_FAILURES: dict[FailureCode, _FailureWords] = {
    FailureCode.CONTENT_REFUSED: _FailureWords(
        "The video service refused this request",
        "The video service refused this request under its content rules.",
        "Try rewording the prompt or using a different picture.",
        quotes_reason=True,
    ),
    FailureCode.OUT_OF_CREDITS: _FailureWords(
        "The bot is out of credits",
        "The bot's AceData account has run out of credits, so the video could not be made.",
        "The bot's operator must top it up; please try again later.",
    ),
    FailureCode.TIMED_OUT: _FailureWords(
        "The video took too long",
        "The video took far longer than usual to render, so the bot stopped waiting for it.",
        "Please try again later.",
    ),
    FailureCode.SERVICE: _FailureWords(
        "The video service had a problem",
        "The video service had an internal problem and could not make the video.",
        "Please try again in a few minutes.",
        quotes_reason=True,
    ),
    FailureCode.UNCONFIRMED: _FailureWords(
        "The request could not be confirmed",
        "We could not confirm the service received it; it was not retried so you are not charged twice.",
        "You can start the video again whenever you like.",
    ),
    FailureCode.AUTH: _FailureWords(
        "The bot is misconfigured",
        "The bot is misconfigured (the video service did not accept its credentials); "
        "a moderator has been told.",
        "Please try again once it has been fixed.",
    ),
    FailureCode.RATE_LIMITED: _FailureWords(
        "The video service is busy",
        "The video service is receiving too many requests right now.",
        "Please try again in a minute or two.",
    ),
    FailureCode.BAD_REQUEST: _FailureWords(
        "The video service rejected an option",
        "The video service rejected one of the options of this request.",
        "Please change the settings and try again.",
        quotes_reason=True,
    ),
    FailureCode.NETWORK: _FailureWords(
        "The video service could not be reached",
        "The bot could not reach the video service.",
        "Please try again in a few minutes.",
    ),
    FailureCode.TASK_FAILED: _FailureWords(
        "The video could not be made",
        "The video service could not make this video.",
        "Please try again, perhaps with a different prompt or picture.",
        quotes_reason=True,
    ),
    FailureCode.CANCELLED: _FailureWords("Cancelled", "This video was cancelled before it started."),
}
_UNKNOWN_FAILURE = _FailureWords(
    "The video could not be made",
    "Something went wrong while making this video.",
    "Please try again.",
    quotes_reason=True,
)
NOT_CHARGED = "This cost you nothing: it does not count toward your usage."


def _failure_words(error_code: str | None) -> _FailureWords:
    try:
        return _FAILURES[FailureCode(error_code or "")]
    except ValueError:
        return _UNKNOWN_FAILURE


def failure_text(error_code: str | None, error_message: str | None, trace_id: str | None) -> str:
    """Plain words for a failed job: what happened, what to do, that nothing was counted."""
    words = _failure_words(error_code)
    parts = [words.explanation]
    if words.quotes_reason and error_message and error_message.strip():
        parts.append(f"The service's reason: “{neutralise(error_message.strip(), REASON_LIMIT)}”.")
    if words.advice:
        parts.append(words.advice)
    parts.append(NOT_CHARGED)
    text = " ".join(parts)
    if trace_id:
        text += f"\nReference for support: {neutralise(trace_id, _ID_LIMIT)}"
    return text


def failure_embed(job: Job) -> discord.Embed:
    words = _failure_words(job.error_code)
    cancelled = job.state is JobState.CANCELLED or job.error_code == FailureCode.CANCELLED
    embed = discord.Embed(
        title=words.title,
        description=failure_text(job.error_code, job.error_message, job.trace_id),
        colour=_COLOUR_CANCELLED if cancelled else _COLOUR_FAILED,
    )
    embed.add_field(name="Prompt", value=_prompt_block(job.request, FIELD_LIMIT), inline=False)
    embed.add_field(name="Model", value=job.request.model.value)
    _footer(embed, job)
    return embed

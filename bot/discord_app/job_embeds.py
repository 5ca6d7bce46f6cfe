"""What members see about a job: progress, result and failure embeds, built as pure functions.

Everything that came from a member or the video service (prompt, reasons, ids) goes through
`neutralise`, so it can neither ping anyone nor break the formatting, and every part is cut to
Discord's limits (title 256, description 4096, field 1024, total 6000).

The failure codes stored on a job are `bot.jobs.failures.FailureCode`; the words that explain each
are here, and a test checks that every code has them.

These messages are sent from the background, long after the interaction that asked for them, so they
speak the language stored on the job (`Job.locale`, the member's `interaction.locale` at admission),
through `t()`; a job without one (older jobs) and a language without a catalog get English.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import discord

from bot.discord_app.i18n import N_, SHIPPED_LOCALES, t
from bot.jobs.failures import FailureCode
from bot.jobs.inline_flags import flags_for
from bot.kling.models import Action, Mode, VideoRequest
from bot.kling.simulated import is_simulated_task
from bot.storage.base import Job, JobState

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
    Action.TEXT2VIDEO: N_("Text to video"),
    Action.IMAGE2VIDEO: N_("Image to video"),
    Action.EXTEND: N_("Extending a video"),
}
_MODE_NAMES = {Mode.STD: N_("Standard"), Mode.PRO: N_("Professional"), Mode.K4: N_("4K")}

# Field names of the job messages.
MODEL = N_("Model")
MODE = N_("Mode")
DURATION = N_("Duration")
ASPECT = N_("Aspect")
SETTINGS = N_("Settings")
STATUS = N_("Status")
ELAPSED = N_("Elapsed")
TIME_LEFT = N_("Time left")
WHERE_IS_IT = N_("Where is it?")
REQUESTED_BY = N_("Requested by")
VIDEO_ID = N_("Video id")
PROMPT = N_("Prompt")

SECONDS = N_("{seconds} s")
MINUTES = N_("{minutes} min")
HOURS_MINUTES = N_("{hours} h {minutes} min")


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


QUEUED = N_("Queued")
NEXT_IN_LINE = N_("Queued — next in line")
QUEUE_POSITION = N_("Queued — position {position}")


def queue_text(position: int, locale: str | None = None) -> str:
    if position <= 0:
        return t(locale, QUEUED)
    if position == 1:
        return t(locale, NEXT_IN_LINE)
    return t(locale, QUEUE_POSITION, position=position)


# --- progress -------------------------------------------------------------------------------------
_STATE_WORDS = {
    JobState.SUBMITTING: N_("Submitting…"),
    JobState.RUNNING: N_("Rendering"),
    JobState.SUCCEEDED: N_("Delivering…"),
    JobState.DELIVERED: N_("Delivered"),
    JobState.FAILED: N_("Failed"),
    JobState.UNCONFIRMED: N_("Unconfirmed"),
    JobState.TIMED_OUT: N_("Timed out"),
    JobState.CANCELLED: N_("Cancelled"),
}
UNDER_A_MINUTE = N_("under a minute")
USUALLY = N_("usually 1–5 minutes")
LONGER_THAN_USUAL = N_("taking longer than usual")
MINUTES_LEFT = N_("about {minutes} min left")


def _state_text(job: Job, queue_position: int, locale: str | None) -> str:
    if job.state is JobState.QUEUED:
        return queue_text(queue_position, locale)
    return t(locale, _STATE_WORDS[job.state])


def _localised_elapsed(seconds: float, locale: str | None) -> str:
    if seconds < 60:
        return t(locale, UNDER_A_MINUTE)
    hours, minutes = divmod(int(seconds // 60), 60)
    if hours:
        return t(locale, HOURS_MINUTES, hours=hours, minutes=f"{minutes:02d}")
    return t(locale, MINUTES, minutes=minutes)


def _minutes_left(job: Job, now: float, estimate_seconds: float | None) -> int | str | None:
    """Whole minutes left, or the words for "no estimate" / "over it", or None when not rendering."""
    if job.state not in (JobState.SUBMITTING, JobState.RUNNING):
        return None
    if estimate_seconds is None:
        return USUALLY
    rendering_for = now - job.submitted_at if job.submitted_at is not None else 0.0
    left = estimate_seconds - rendering_for
    if left <= 0:
        return LONGER_THAN_USUAL
    return math.ceil(left / 60)


def _time_left_text(job: Job, now: float, estimate_seconds: float | None, locale: str | None) -> str | None:
    left = _minutes_left(job, now, estimate_seconds)
    if left is None:
        return None
    if isinstance(left, str):
        return t(locale, left)
    return t(locale, MINUTES_LEFT, minutes=left)


@dataclass(frozen=True, slots=True)
class _Clock:
    """The time-dependent words of a progress message."""

    elapsed: str
    time_left: str | None


def _clock_start(job: Job) -> float:
    # Waiting and submitting count from the request; rendering and delivery from the submission.
    if job.state in (JobState.RUNNING, JobState.SUCCEEDED) and job.submitted_at is not None:
        return job.submitted_at
    return job.created_at


def _progress_clock(
    job: Job, now: float, estimate_seconds: float | None, locale: str | None = None
) -> _Clock:
    return _Clock(
        _localised_elapsed(now - _clock_start(job), locale),
        _time_left_text(job, now, estimate_seconds, locale),
    )


def progress_signature(
    job: Job, *, now: float, estimate_seconds: float | None
) -> tuple[JobState, str, str | None]:
    """What a progress message shows that can change over time, as displayed. The caller edits the
    message only when this (plus the queue position it passes separately) changes. In English
    whatever the job's language: the translation of equal words is equal."""
    clock = _progress_clock(job, now, estimate_seconds)
    return (job.state, clock.elapsed, clock.time_left)


CONTINUING = N_("*(continuing an earlier video, no new prompt)*")
NO_PROMPT = N_("*(no prompt — the video follows the start frame)*")


def _prompt_block(request: VideoRequest, limit: int, locale: str | None) -> str:
    if request.prompt:
        return neutralise(request.prompt, limit)
    if request.action is Action.EXTEND:
        return t(locale, CONTINUING)
    return t(locale, NO_PROMPT)


def _add_request_fields(embed: discord.Embed, request: VideoRequest, locale: str | None) -> None:
    embed.add_field(name=t(locale, MODEL), value=request.model.value)
    mode = _MODE_NAMES.get(request.mode)
    embed.add_field(name=t(locale, MODE), value=t(locale, mode) if mode else request.mode.value)
    embed.add_field(name=t(locale, DURATION), value=t(locale, SECONDS, seconds=request.duration))
    embed.add_field(name=t(locale, ASPECT), value=request.aspect_ratio.value)


#: Shown under every job the simulated AceData (SIMULATE_ACEDATA) made, so nobody takes it for real.
SIMULATED_NOTE = N_("SIMULATED: made by the bot's simulated AceData, not by Kling; nothing was paid")
JOB_FOOTER = N_("Job {job}")


def _footer(embed: discord.Embed, job: Job) -> None:
    text = t(job.locale, JOB_FOOTER, job=job.id[:8])
    if is_simulated_task(job.task_id):
        text += f" · {t(job.locale, SIMULATED_NOTE)}"
    embed.set_footer(text=text)


def progress_embed(
    job: Job,
    *,
    now: float,
    estimate_seconds: float | None,
    thumbnail_url: str | None,
    queue_position: int = 0,
) -> discord.Embed:
    request, locale = job.request, job.locale
    clock = _progress_clock(job, now, estimate_seconds, locale)
    embed = discord.Embed(
        title=t(locale, _ACTION_TITLES[request.action]),
        description=_prompt_block(request, DESCRIPTION_LIMIT, locale),
        colour=_COLOUR_PROGRESS,
    )
    _add_request_fields(embed, request, locale)
    # The settings as inline parameters: echoes the member's flags and can be copied into a prompt
    # (so the flags themselves stay as typed, in every language).
    embed.add_field(name=t(locale, SETTINGS), value=neutralise(flags_for(request), FIELD_LIMIT), inline=False)
    embed.add_field(name=t(locale, STATUS), value=_state_text(job, queue_position, locale))
    embed.add_field(name=t(locale, ELAPSED), value=clock.elapsed)
    if clock.time_left is not None:
        embed.add_field(name=t(locale, TIME_LEFT), value=clock.time_left)
    if thumbnail_url and thumbnail_url.startswith(("https://", "http://")):
        embed.set_thumbnail(url=thumbnail_url)
    _footer(embed, job)
    return embed


# --- result ---------------------------------------------------------------------------------------
READY = N_("Your video is ready")
# "Open video" is the label of the link button (views.BUTTON_LABELS["open"]); translations name it
# as that label's translation.
TOO_BIG = N_("It is too big to upload in this server, so the **Open video** button below links to it.")
NOT_UPLOADED = N_("I couldn't upload it here, so the **Open video** button below links to it.")


def result_embed(job: Job, *, attached: bool, member_mention: str, too_large: bool = True) -> discord.Embed:
    """The finished video. `too_large=False` when it is linked because the download failed instead."""
    request, locale = job.request, job.locale
    embed = discord.Embed(
        title=t(locale, READY),
        description=_prompt_block(request, DESCRIPTION_LIMIT, locale),
        colour=_COLOUR_DONE,
    )
    if not attached:
        embed.add_field(
            name=t(locale, WHERE_IS_IT), value=t(locale, TOO_BIG if too_large else NOT_UPLOADED), inline=False
        )
    embed.add_field(name=t(locale, REQUESTED_BY), value=member_mention)
    embed.add_field(name=t(locale, MODEL), value=request.model.value)
    seconds = job.video_duration if job.video_duration is not None else float(request.duration)
    embed.add_field(name=t(locale, DURATION), value=t(locale, SECONDS, seconds=f"{round(seconds, 1):g}"))
    if job.video_id:
        embed.add_field(name=t(locale, VIDEO_ID), value=neutralise(job.video_id, _ID_LIMIT), inline=False)
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
        N_("The video service refused this request"),
        N_("The video service refused this request under its content rules."),
        N_("Try rewording the prompt or using a different picture."),
        quotes_reason=True,
    ),
    FailureCode.OUT_OF_CREDITS: _FailureWords(
        N_("The bot is out of credits"),
        N_("The bot's AceData account has run out of credits, so the video could not be made."),
        N_("The bot's operator must top it up; please try again later."),
    ),
    FailureCode.TIMED_OUT: _FailureWords(
        N_("The video took too long"),
        N_("The video took far longer than usual to render, so the bot stopped waiting for it."),
        N_("Please try again later."),
    ),
    FailureCode.SERVICE: _FailureWords(
        N_("The video service had a problem"),
        N_("The video service had an internal problem and could not make the video."),
        N_("Please try again in a few minutes."),
        quotes_reason=True,
    ),
    FailureCode.UNCONFIRMED: _FailureWords(
        N_("The request could not be confirmed"),
        N_("We could not confirm the service received it; it was not retried so you are not charged twice."),
        N_("You can start the video again whenever you like."),
    ),
    FailureCode.AUTH: _FailureWords(
        N_("The bot is misconfigured"),
        N_(
            "The bot is misconfigured (the video service did not accept its credentials); "
            "a moderator has been told."
        ),
        N_("Please try again once it has been fixed."),
    ),
    FailureCode.RATE_LIMITED: _FailureWords(
        N_("The video service is busy"),
        N_("The video service is receiving too many requests right now."),
        N_("Please try again in a minute or two."),
    ),
    FailureCode.BAD_REQUEST: _FailureWords(
        N_("The video service rejected an option"),
        N_("The video service rejected one of the options of this request."),
        N_("Please change the settings and try again."),
        quotes_reason=True,
    ),
    FailureCode.NETWORK: _FailureWords(
        N_("The video service could not be reached"),
        N_("The bot could not reach the video service."),
        N_("Please try again in a few minutes."),
    ),
    FailureCode.TASK_FAILED: _FailureWords(
        N_("The video could not be made"),
        N_("The video service could not make this video."),
        N_("Please try again, perhaps with a different prompt or picture."),
        quotes_reason=True,
    ),
    FailureCode.CANCELLED: _FailureWords(N_("Cancelled"), N_("This video was cancelled before it started.")),
}
_UNKNOWN_FAILURE = _FailureWords(
    N_("The video could not be made"),
    N_("Something went wrong while making this video."),
    N_("Please try again."),
    quotes_reason=True,
)
NOT_CHARGED = N_("This cost you nothing: it does not count toward your usage.")
SERVICE_REASON = N_("The service's reason: “{reason}”.")
SUPPORT_REFERENCE = N_("Reference for support: {reference}")
#: Languages whose sentences follow each other without a space.
_NO_SPACE_BETWEEN_SENTENCES = ("ja", "zh")


def _failure_words(error_code: str | None) -> _FailureWords:
    try:
        return _FAILURES[FailureCode(error_code or "")]
    except ValueError:
        return _UNKNOWN_FAILURE


def failure_text(
    error_code: str | None, error_message: str | None, trace_id: str | None, locale: str | None = None
) -> str:
    """Plain words for a failed job: what happened, what to do, that nothing was counted. The
    service's reason is quoted as it came (the service writes it in English); the bot's own reasons
    are translated."""
    words = _failure_words(error_code)
    parts = [t(locale, words.explanation)]
    if words.quotes_reason and error_message and error_message.strip():
        # A reason the bot wrote (bot.kling.tasks.NO_VIDEO) is in the catalogs; the service's stays as is.
        reason = t(locale, error_message.strip())
        parts.append(t(locale, SERVICE_REASON, reason=neutralise(reason, REASON_LIMIT)))
    if words.advice:
        parts.append(t(locale, words.advice))
    parts.append(t(locale, NOT_CHARGED))
    translated = locale in SHIPPED_LOCALES
    gap = "" if translated and str(locale).startswith(_NO_SPACE_BETWEEN_SENTENCES) else " "
    text = gap.join(parts)
    if trace_id:
        text += "\n" + t(locale, SUPPORT_REFERENCE, reference=neutralise(trace_id, _ID_LIMIT))
    return text


def failure_embed(job: Job) -> discord.Embed:
    words = _failure_words(job.error_code)
    locale = job.locale
    cancelled = job.state is JobState.CANCELLED or job.error_code == FailureCode.CANCELLED
    embed = discord.Embed(
        title=t(locale, words.title),
        description=failure_text(job.error_code, job.error_message, job.trace_id, locale),
        colour=_COLOUR_CANCELLED if cancelled else _COLOUR_FAILED,
    )
    embed.add_field(
        name=t(locale, PROMPT), value=_prompt_block(job.request, FIELD_LIMIT, locale), inline=False
    )
    embed.add_field(name=t(locale, MODEL), value=job.request.model.value)
    _footer(embed, job)
    return embed


def failure_title(error_code: str | None, locale: str | None = None) -> str:
    """A short name for why a job failed ("The video took too long"), e.g. for the mod-log (in the
    server's language)."""
    return t(locale, _failure_words(error_code).title)

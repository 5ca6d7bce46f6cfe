"""What members read: inert prompts, Discord's size limits, progress wording and failure explanations."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.discord_app import job_embeds as rendering
from bot.jobs.failures import FailureCode, failure_code_for
from bot.kling import errors
from bot.kling.models import Action, AspectRatio, Mode, Model
from bot.storage.base import Job, JobState
from bot.wording import format_elapsed
from tests import factories
from tests.factories import video_request

T0 = 1_700_000_000.0
PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")


def make_job(
    *,
    prompt: str | None = "A red fox runs through fresh snow",
    state: JobState = JobState.RUNNING,
    action: Action = Action.TEXT2VIDEO,
    **fields: Any,
) -> Job:
    request = video_request(
        prompt,
        action=action,
        model=Model.V2_1_MASTER,
        mode=Mode.PRO,
        duration=10,
        aspect_ratio=AspectRatio.TALL,
    )
    values: dict[str, Any] = {
        "guild_id": 2,
        "channel_id": 3,
        "member_id": 5,
        "request": request,
        "state": state,
        "created_at": T0,
        "updated_at": T0,
        "submitted_at": T0 + 20 if state in (JobState.RUNNING, JobState.SUCCEEDED) else None,
    }
    return factories.make_job(**(values | fields))


def assert_within_discord_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= rendering.TITLE_LIMIT
    assert len(embed.description or "") <= rendering.DESCRIPTION_LIMIT
    assert len(embed.fields) <= 25
    for embed_field in embed.fields:
        assert 0 < len(embed_field.name or "") <= 256
        assert 0 < len(embed_field.value or "") <= rendering.FIELD_LIMIT
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= rendering.EMBED_TOTAL_LIMIT


def field_value(embed: discord.Embed, name: str) -> str | None:
    return next((f.value for f in embed.fields if f.name == name), None)


def embed_text(embed: discord.Embed) -> str:
    parts = [embed.title or "", embed.description or "", embed.footer.text or ""]
    parts += [f"{f.name} {f.value}" for f in embed.fields]
    return "\n".join(parts)


# --- neutralise -----------------------------------------------------------------------------------
HOSTILE = "@everyone look <@123> and <@&456> and <#789> @here [click](https://evil.example) **now**"


def test_mentions_and_markdown_are_inert() -> None:
    text = rendering.neutralise(HOSTILE, 4096)
    assert PINGS.search(text) is None
    assert "\\*\\*now\\*\\*" in text
    assert "\\[click]" in text
    # The words are all still there for the reader.
    for word in ("everyone", "123", "456", "789", "here", "click", "now"):
        assert word in text


def test_long_text_is_cut_with_an_ellipsis() -> None:
    text = rendering.neutralise("word " * 1000, 100)
    assert len(text) == 100
    assert text.endswith("…")


def test_a_cut_never_leaves_a_backslash_escaping_the_ellipsis() -> None:
    # "aaaaaaaa*b" escapes to "aaaaaaaa\*b"; a 10-character cut would end on the lone backslash.
    assert rendering.neutralise("aaaaaaaa*b", 10) == "aaaaaaaa…"


def test_short_text_is_unchanged_but_for_escaping() -> None:
    assert rendering.neutralise("a calm lake", 20) == "a calm lake"


@given(
    st.text(alphabet=st.sampled_from(list("<@&#!>*_`~|\\[]() everyonhr0123456789\n")), max_size=300),
    st.integers(min_value=1, max_value=400),
)
def test_neutralised_text_never_pings_and_fits(text: str, limit: int) -> None:
    safe = rendering.neutralise(text, limit)
    assert len(safe) <= limit
    assert PINGS.search(safe) is None


# --- small formatters -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 s"), (45.9, "45 s"), (245, "4 min 05 s"), (180, "3 min"), (3720, "1 h 02 min"), (-5, "0 s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_elapsed(seconds) == text


@pytest.mark.parametrize(
    ("position", "text"), [(0, "Queued"), (1, "Queued — next in line"), (2, "Queued — position 2")]
)
def test_queue_text(position: int, text: str) -> None:
    assert rendering.queue_text(position) == text


# --- progress -------------------------------------------------------------------------------------
def test_progress_embed_shows_the_request() -> None:
    job = make_job(prompt=HOSTILE)
    embed = rendering.progress_embed(
        job, now=T0 + 60, estimate_seconds=None, thumbnail_url="https://cdn.example/frame.png"
    )
    assert PINGS.search(embed.description or "") is None
    assert "everyone" in (embed.description or "")
    assert field_value(embed, "Model") == "kling-v2-1-master"
    assert field_value(embed, "Mode") == "Professional"
    assert field_value(embed, "Duration") == "10 s"
    assert field_value(embed, "Aspect") == "9:16"
    assert embed.thumbnail.url == "https://cdn.example/frame.png"
    assert embed.footer.text == "Job 01234567"
    assert_within_discord_limits(embed)


@pytest.mark.parametrize("url", [None, "", "attachment://frame.png", "javascript:alert(1)"])
def test_progress_embed_only_shows_web_thumbnails(url: str | None) -> None:
    embed = rendering.progress_embed(make_job(), now=T0, estimate_seconds=None, thumbnail_url=url)
    assert embed.thumbnail.url is None


def test_progress_embed_without_prompt_says_so() -> None:
    embed = rendering.progress_embed(
        make_job(prompt=None, action=Action.IMAGE2VIDEO), now=T0, estimate_seconds=None, thumbnail_url=None
    )
    assert "no prompt" in (embed.description or "")
    assert embed.title == "Image to video"


@pytest.mark.parametrize(
    ("state", "position", "status"),
    [
        (JobState.QUEUED, 2, "Queued — position 2"),
        (JobState.SUBMITTING, 0, "Submitting…"),
        (JobState.RUNNING, 0, "Rendering"),
        (JobState.SUCCEEDED, 0, "Delivering…"),
    ],
)
def test_progress_status_in_words(state: JobState, position: int, status: str) -> None:
    embed = rendering.progress_embed(
        make_job(state=state), now=T0 + 30, estimate_seconds=None, thumbnail_url=None, queue_position=position
    )
    assert field_value(embed, "Status") == status


def test_queued_job_has_no_time_left_but_counts_its_wait() -> None:
    embed = rendering.progress_embed(
        make_job(state=JobState.QUEUED),
        now=T0 + 150,
        estimate_seconds=300,
        thumbnail_url=None,
        queue_position=3,
    )
    assert field_value(embed, "Time left") is None
    assert field_value(embed, "Elapsed") == "2 min"


@pytest.mark.parametrize(
    ("rendering_for", "estimate", "elapsed", "left"),
    [
        (30, None, "under a minute", "usually 1–5 minutes"),
        (125, 300.0, "2 min", "about 3 min left"),
        (245, 300.0, "4 min", "about 1 min left"),
        (400, 300.0, "6 min", "taking longer than usual"),
    ],
)
def test_running_job_elapsed_and_time_left(
    rendering_for: float, estimate: float | None, elapsed: str, left: str
) -> None:
    job = make_job(state=JobState.RUNNING, submitted_at=T0 + 20)
    embed = rendering.progress_embed(
        job, now=T0 + 20 + rendering_for, estimate_seconds=estimate, thumbnail_url=None
    )
    assert field_value(embed, "Elapsed") == elapsed
    assert field_value(embed, "Time left") == left


def test_submitting_job_expects_the_whole_estimate() -> None:
    job = make_job(state=JobState.SUBMITTING)
    embed = rendering.progress_embed(job, now=T0 + 600, estimate_seconds=240, thumbnail_url=None)
    assert field_value(embed, "Time left") == "about 4 min left"


def test_longest_prompt_fits_every_embed() -> None:
    job = make_job(prompt="*" * 2500, error_code=FailureCode.TASK_FAILED, error_message="_" * 5000)
    job = dataclasses.replace(job, trace_id="t" * 5000, video_id="v" * 5000)
    embeds = [
        rendering.progress_embed(
            job, now=T0 + 99_999, estimate_seconds=60, thumbnail_url="https://x.example/" + "a" * 500
        ),
        rendering.result_embed(job, attached=False, member_mention="<@5>"),
        rendering.failure_embed(job),
    ]
    for embed in embeds:
        assert_within_discord_limits(embed)
    assert (embeds[0].description or "").endswith("…")


def signature(job: Job, now: float, estimate: float | None = 300.0) -> object:
    return rendering.progress_signature(job, now=now, estimate_seconds=estimate)


def test_signature_holds_while_nothing_visible_changes() -> None:
    job = make_job(state=JobState.RUNNING, submitted_at=T0)
    # 2 min elapsed, "about 3 min left" at both instants.
    assert signature(job, T0 + 130) == signature(job, T0 + 170)


def test_signature_changes_with_the_displayed_minute() -> None:
    job = make_job(state=JobState.RUNNING, submitted_at=T0)
    assert signature(job, T0 + 170) != signature(job, T0 + 181)


def test_signature_changes_with_the_state() -> None:
    queued = make_job(state=JobState.QUEUED)
    submitting = dataclasses.replace(queued, state=JobState.SUBMITTING)
    assert signature(queued, T0 + 10) != signature(submitting, T0 + 10)


def test_signature_changes_when_the_estimate_is_passed() -> None:
    job = make_job(state=JobState.RUNNING, submitted_at=T0)
    # Both instants read "4 min" elapsed; the time left goes from "about 1 min" to "longer than usual".
    assert signature(job, T0 + 250, estimate=270) != signature(job, T0 + 280, estimate=270)


@given(
    st.sampled_from([JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING, JobState.SUCCEEDED]),
    st.floats(min_value=0, max_value=4000),
    st.floats(min_value=0, max_value=4000),
    st.one_of(st.none(), st.floats(min_value=1, max_value=2000)),
)
def test_equal_signatures_mean_identical_messages(
    state: JobState, first: float, second: float, estimate: float | None
) -> None:
    job = make_job(state=state, submitted_at=T0 if state in (JobState.RUNNING, JobState.SUCCEEDED) else None)

    def render(now: float) -> object:
        return rendering.progress_embed(
            job, now=T0 + now, estimate_seconds=estimate, thumbnail_url=None
        ).to_dict()

    same_signature = signature(job, T0 + first, estimate) == signature(job, T0 + second, estimate)
    assert same_signature == (render(first) == render(second))


# --- result ---------------------------------------------------------------------------------------
def test_attached_result_names_the_video_and_member() -> None:
    job = make_job(state=JobState.SUCCEEDED, video_id="vid-42", video_duration=5.1)
    embed = rendering.result_embed(job, attached=True, member_mention="<@5>")
    assert field_value(embed, "Requested by") == "<@5>"
    assert field_value(embed, "Duration") == "5.1 s"
    assert field_value(embed, "Model") == "kling-v2-1-master"
    assert field_value(embed, "Video id") == "vid-42"
    assert "Open video" not in embed_text(embed)
    assert_within_discord_limits(embed)


def test_linked_result_says_it_was_too_big_and_points_at_the_button() -> None:
    job = make_job(state=JobState.SUCCEEDED)
    embed = rendering.result_embed(job, attached=False, member_mention="<@5>")
    note = field_value(embed, "Where is it?") or ""
    assert "too big" in note and "Open video" in note
    assert field_value(embed, "Duration") == "10 s"  # the requested length when the service gave none


def test_linked_result_after_a_failed_download_does_not_blame_the_size() -> None:
    embed = rendering.result_embed(make_job(), attached=False, member_mention="<@5>", too_large=False)
    note = field_value(embed, "Where is it?") or ""
    assert "too big" not in note and "Open video" in note


def test_result_neutralises_a_hostile_video_id() -> None:
    embed = rendering.result_embed(make_job(video_id="@everyone **x**"), attached=True, member_mention="<@5>")
    assert PINGS.search(field_value(embed, "Video id") or "") is None


# --- failures -------------------------------------------------------------------------------------
ALL_CODES = [
    FailureCode.CONTENT_REFUSED,
    FailureCode.OUT_OF_CREDITS,
    FailureCode.TIMED_OUT,
    FailureCode.SERVICE,
    FailureCode.UNCONFIRMED,
    FailureCode.AUTH,
    FailureCode.RATE_LIMITED,
    FailureCode.BAD_REQUEST,
    FailureCode.NETWORK,
    FailureCode.TASK_FAILED,
    FailureCode.CANCELLED,
    None,
    "something-new",
]


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_failure_says_it_cost_nothing_and_gives_the_trace(code: str | None) -> None:
    text = rendering.failure_text(code, None, "trace-9f2c")
    assert "cost you nothing" in text
    assert "does not count toward your usage" in text
    assert "trace-9f2c" in text


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (FailureCode.CONTENT_REFUSED, "content rules"),
        (FailureCode.OUT_OF_CREDITS, "must top it up"),
        (FailureCode.TIMED_OUT, "stopped waiting"),
        (FailureCode.SERVICE, "internal problem"),
        (
            FailureCode.UNCONFIRMED,
            "could not confirm the service received it; it was not retried so you are not charged twice",
        ),
        (FailureCode.AUTH, "the bot is misconfigured"),
        (FailureCode.AUTH, "a moderator has been told"),
        (FailureCode.RATE_LIMITED, "too many requests"),
        (FailureCode.BAD_REQUEST, "rejected one of the options"),
        (FailureCode.NETWORK, "could not reach"),
        (FailureCode.TASK_FAILED, "could not make this video"),
        (FailureCode.CANCELLED, "cancelled"),
    ],
)
def test_each_failure_kind_in_plain_words(code: str, words: str) -> None:
    assert words in rendering.failure_text(code, None, None).lower()


@pytest.mark.parametrize(
    "code",
    [
        FailureCode.CONTENT_REFUSED,
        FailureCode.SERVICE,
        FailureCode.BAD_REQUEST,
        FailureCode.TASK_FAILED,
    ],
)
def test_the_services_own_reason_is_quoted(code: str) -> None:
    text = rendering.failure_text(code, "The model did not detect a human", None)
    assert "“The model did not detect a human”" in text


def test_a_quoted_reason_is_inert_and_bounded() -> None:
    text = rendering.failure_text(FailureCode.CONTENT_REFUSED, "@everyone <@&456> " + "x" * 5000, "t")
    assert PINGS.search(text) is None
    assert len(text) < rendering.REASON_LIMIT + 400


def test_no_trace_id_means_no_reference_line() -> None:
    assert "Reference" not in rendering.failure_text(FailureCode.SERVICE, None, None)


def test_failure_embed_explains_and_recalls_the_prompt() -> None:
    job = make_job(
        state=JobState.FAILED,
        prompt="@here a <@1> fox",
        error_code=FailureCode.CONTENT_REFUSED,
        error_message="Prompt flagged",
        trace_id="abc-123",
    )
    embed = rendering.failure_embed(job)
    assert embed.title == "The video service refused this request"
    assert "“Prompt flagged”" in (embed.description or "")
    assert "abc-123" in (embed.description or "")
    assert PINGS.search(embed_text(embed)) is None
    assert embed.colour == discord.Colour.red()
    assert_within_discord_limits(embed)


def test_cancelled_embed_is_grey_not_red() -> None:
    job = make_job(state=JobState.CANCELLED, error_code=FailureCode.CANCELLED)
    embed = rendering.failure_embed(job)
    assert embed.title == "Cancelled"
    assert embed.colour == discord.Colour.light_grey()


class SurpriseError(errors.KlingError):
    """A kind of error added to the client later, unknown here."""


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.ContentRefused("no"), FailureCode.CONTENT_REFUSED),
        (errors.OutOfCredits("empty"), FailureCode.OUT_OF_CREDITS),
        (errors.AuthError("bad token"), FailureCode.AUTH),
        (errors.AccountDisabled("off"), FailureCode.AUTH),
        (errors.RateLimited("slow down", retry_after=3), FailureCode.RATE_LIMITED),
        (errors.BadRequest("duration"), FailureCode.BAD_REQUEST),
        (errors.ServiceError("boom"), FailureCode.SERVICE),
        (errors.NetworkError("dns"), FailureCode.NETWORK),
        (errors.SubmissionUnconfirmed("lost"), FailureCode.UNCONFIRMED),
        (SurpriseError("?"), FailureCode.SERVICE),
    ],
)
def test_error_code_for_each_client_error(exc: errors.KlingError, code: str) -> None:
    assert failure_code_for(exc) == code
    assert rendering.failure_text(code, None, None) != rendering.failure_text("something-new", None, None)

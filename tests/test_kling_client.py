"""KlingClient against the fake AceData: the happy path, every error mapping, retries, and secrecy."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.kling.client import Backoff, KlingClient, parse_retry_after
from bot.kling.errors import (
    AccountDisabled,
    AuthError,
    BadRequest,
    ContentRefused,
    KlingError,
    NetworkError,
    OutOfCredits,
    RateLimited,
    ServiceError,
    SubmissionUnconfirmed,
)
from bot.kling.models import Action, VideoRequest
from bot.kling.tasks import Failed, NotFound, Running, Submission, Succeeded
from tests.fakes.acedata import FakeAceData

VIDEOS = "/kling/videos"
TASKS = "/kling/tasks"
REPO_ROOT = Path(__file__).resolve().parents[1]
FAST = Backoff(attempts=3, base=0.5, cap=4.0)
REQUEST = VideoRequest(action=Action.TEXT2VIDEO, prompt="a red fox running through snow")


class Sleeps:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


MakeClient = Callable[..., KlingClient]


@pytest.fixture
async def make_client(fake_acedata: FakeAceData, sleeps: Sleeps) -> AsyncIterator[MakeClient]:
    made: list[KlingClient] = []

    def make(**overrides: Any) -> KlingClient:
        options: dict[str, Any] = {
            "base_url": fake_acedata.base_url,
            "token": SecretStr(fake_acedata.token),
            "timeout": httpx.Timeout(5.0),
            "deadline": 300.0,
            "query_backoff": FAST,
            "connect_backoff": FAST,
            "sleep": sleeps,
            **overrides,
        }
        client = KlingClient(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: MakeClient) -> KlingClient:
    return make_client()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- happy path ------------------------------------------------------------------------------
async def test_create_sends_the_payload_once_with_the_right_headers(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    submission = await client.create_video(REQUEST)

    assert submission.task_id in fake_acedata.tasks
    assert submission == Submission(submission.task_id, fake_acedata.tasks[submission.task_id].trace_id)
    [sent] = fake_acedata.requests_to(VIDEOS)
    assert sent.json == REQUEST.to_payload() and sent.json["async"] is True
    assert sent.headers["authorization"] == f"Bearer {fake_acedata.token}"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["content-type"] == "application/json"


async def test_task_goes_from_running_to_succeeded_with_a_downloadable_video(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = None
    fake_acedata.video_bytes = 12_345
    submission = await client.create_video(REQUEST.model_copy(update={"duration": 10}))
    assert isinstance(await client.retrieve(submission.task_id), Running)

    fake_acedata.finish(submission.task_id)
    status = await client.retrieve(submission.task_id)

    assert isinstance(status, Succeeded)
    assert status.video_url.startswith(fake_acedata.base_url + "/files/")
    assert status.duration == pytest.approx(10.041)
    assert status.video_id == fake_acedata.tasks[submission.task_id].video_id
    async with httpx.AsyncClient() as http:
        video = await http.get(status.video_url)
    assert video.status_code == 200 and len(video.content) == 12_345
    assert video.headers["content-length"] == "12345"
    assert [r.json for r in fake_acedata.requests_to(TASKS)] == [
        {"action": "retrieve", "id": submission.task_id}
    ] * 2


async def test_failed_task_carries_the_services_reason(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = None
    submission = await client.create_video(REQUEST)
    fake_acedata.fail(submission.task_id, "forbidden", "The model did not detect a human")
    status = await client.retrieve(submission.task_id)
    assert status == Failed(
        submission.task_id,
        "forbidden",
        "The model did not detect a human",
        fake_acedata.tasks[submission.task_id].trace_id,
    )


async def test_scripted_outcome_applies_to_new_tasks(client: KlingClient, fake_acedata: FakeAceData) -> None:
    fake_acedata.render_seconds = 0.0
    fake_acedata.next_outcome = lambda body: "fail" if "fail" in body.get("prompt", "") else "succeed"
    good = await client.create_video(REQUEST)
    bad = await client.create_video(REQUEST.model_copy(update={"prompt": "please fail"}))
    statuses = await client.retrieve_batch([good.task_id, bad.task_id])
    assert isinstance(statuses[good.task_id], Succeeded)
    assert isinstance(statuses[bad.task_id], Failed)


async def test_unknown_task_is_not_found(client: KlingClient) -> None:
    assert await client.retrieve("no-such-task") == NotFound("no-such-task")


async def test_batch_is_one_request_and_covers_every_asked_id(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    fake_acedata.render_seconds = None
    ids = [(await client.create_video(REQUEST)).task_id for _ in range(3)]
    fake_acedata.finish(ids[0])
    fake_acedata.fail(ids[1])

    statuses = await client.retrieve_batch([*ids, "unknown", ids[2]])

    [query] = fake_acedata.requests_to(TASKS)
    assert query.json == {"action": "retrieve_batch", "ids": [*ids, "unknown"]}
    assert list(statuses) == [*ids, "unknown"]
    assert isinstance(statuses[ids[0]], Succeeded)
    assert isinstance(statuses[ids[1]], Failed)
    assert isinstance(statuses[ids[2]], Running)
    assert statuses["unknown"] == NotFound("unknown")


async def test_empty_batch_sends_nothing(client: KlingClient, fake_acedata: FakeAceData) -> None:
    assert await client.retrieve_batch([]) == {}
    assert fake_acedata.requests == []


async def test_batch_answer_of_empty_object_means_nothing_found(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    fake_acedata.inject(TASKS, 200, body={})
    assert await client.retrieve_batch(["a", "b"]) == {"a": NotFound("a"), "b": NotFound("b")}


async def test_batch_answer_that_is_not_an_object_is_a_service_error(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    fake_acedata.inject(TASKS, 200, body=["not", "an", "object"])
    with pytest.raises(ServiceError):
        await client.retrieve_batch(["a"])


# --- error mapping ---------------------------------------------------------------------------
def err(code: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code} if message is None else {"code": code, "message": message}
    return {"error": error, **extra}


ERROR_CASES: list[tuple[int, Any, str | None, type[KlingError], str | None, str]] = [
    # status, JSON body, raw text, expected error, code, detail
    (401, err("invalid_token", "The token is invalid.", trace_id="t"), None, AuthError, "invalid_token",
     "The token is invalid."),
    (401, err("token_expired", "token expired."), None, AuthError, "token_expired", "token expired."),
    (400, err("token_mismatched", "not matched"), None, AuthError, "token_mismatched", "not matched"),
    (400, err("no_token", "No token specified."), None, AuthError, "no_token", "No token specified."),
    (401, {"code": "authorization_missing"}, None, AuthError, "authorization_missing", ""),
    (401, None, "Unauthorized", AuthError, None, "Unauthorized"),
    (403, err("used_up", "Your balance is low"), None, OutOfCredits, "used_up", "Your balance is low"),
    (403, err("forbidden", "risk control"), None, ContentRefused, "forbidden", "risk control"),
    (403, err("something_else", success=False), None, ContentRefused, "something_else", ""),
    (400, err("disabled", "app disabled"), None, AccountDisabled, "disabled", "app disabled"),
    (400, {"code": "bad_request", "detail": "model is invalid."}, None, BadRequest, "bad_request",
     "model is invalid."),
    (400, err("bad_request", "no end_image_url.", success=False), None, BadRequest, "bad_request",
     "no end_image_url."),
    (400, {"error": "payment required elsewhere"}, None, BadRequest, None, "payment required elsewhere"),
    (400, None, "<html><body>Bad   Request</body>\n</html>", BadRequest, None,
     "<html><body>Bad Request</body> </html>"),
    (404, err("no_api", "API does not exist"), None, ServiceError, "no_api", "API does not exist"),
    (302, None, "", ServiceError, None, ""),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "raw", "kind", "code", "detail"), ERROR_CASES)
@pytest.mark.parametrize("call", ["create", "retrieve"])
async def test_error_mapping(
    client: KlingClient,
    fake_acedata: FakeAceData,
    call: str,
    status: int,
    body: Any,
    raw: str | None,
    kind: type[KlingError],
    code: str | None,
    detail: str,
) -> None:
    path = VIDEOS if call == "create" else TASKS
    headers = {"location": f"{fake_acedata.base_url}{path}"} if status == 302 else None
    fake_acedata.inject(path, status, body=body, raw=raw, headers=headers)

    with pytest.raises(kind) as caught:
        await (client.create_video(REQUEST) if call == "create" else client.retrieve("t1"))

    error = caught.value
    assert type(error) is kind
    assert (error.code, error.status, error.detail) == (code, status, detail)
    assert error.definitely_not_created
    if isinstance(body, dict) and "trace_id" in body:
        assert error.trace_id == body["trace_id"]
    # Definite answers are never retried, and redirects never followed.
    assert len(fake_acedata.requests_to(path)) == 1
    assert fake_acedata.created_tasks == 0


async def test_error_message_is_clipped(client: KlingClient, fake_acedata: FakeAceData) -> None:
    fake_acedata.inject(VIDEOS, 400, body={"error": {"code": "bad_request", "message": "x" * 5000}})
    with pytest.raises(BadRequest) as caught:
        await client.create_video(REQUEST)
    assert 0 < len(caught.value.detail) <= 300
    assert len(str(caught.value)) <= 300


async def test_wrong_token_is_an_auth_error_from_the_fake(make_client: MakeClient) -> None:
    client = make_client(token=SecretStr("not-the-token"))
    with pytest.raises(AuthError) as caught:
        await client.retrieve("x")
    assert caught.value.code == "invalid_token"


# --- Retry-After ---------------------------------------------------------------------------
def http_date(offset: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=offset), usegmt=True)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("7", 7.0, 7.0),
        ("0", 1.0, 1.0),  # clamped up: never hammer
        ("99999", 120.0, 120.0),  # clamped down
        (45.0, 40.0, 45.0),  # an HTTP date 45 s ahead
        (-30.0, FAST.base, FAST.base * 1.25),  # a past date: default backoff
        ("-5", FAST.base, FAST.base * 1.25),
        ("1.5", FAST.base, FAST.base * 1.25),  # delay-seconds must be an integer
        ("soon", FAST.base, FAST.base * 1.25),
        (None, FAST.base, FAST.base * 1.25),
    ],
)
async def test_query_waits_as_retry_after_says(
    client: KlingClient,
    fake_acedata: FakeAceData,
    sleeps: Sleeps,
    header: str | float | None,
    low: float,
    high: float,
) -> None:
    # A float stands for an HTTP date that many seconds from now, built here so it is fresh.
    value = http_date(header) if isinstance(header, float) else header
    headers = {"retry-after": value} if value is not None else None
    fake_acedata.inject(TASKS, 429, body={"error": {"code": "too_many_requests"}}, headers=headers)

    assert await client.retrieve("unknown") == NotFound("unknown")

    [wait] = sleeps.waits
    assert low <= wait <= high
    assert len(fake_acedata.requests_to(TASKS)) == 2


async def test_rate_limited_after_all_attempts(
    client: KlingClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    fake_acedata.inject(
        TASKS, 429, body={"error": {"code": "too_many_requests"}}, headers={"retry-after": "3"}, times=5
    )
    with pytest.raises(RateLimited) as caught:
        await client.retrieve_batch(["a"])
    assert caught.value.retry_after == 3.0
    assert sleeps.waits == [3.0, 3.0]
    assert len(fake_acedata.requests_to(TASKS)) == FAST.attempts


async def test_retry_after_beyond_the_deadline_is_raised_at_once(
    make_client: MakeClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    client = make_client(deadline=60.0)
    fake_acedata.inject(TASKS, 429, headers={"retry-after": "600"}, times=5)
    with pytest.raises(RateLimited) as caught:
        await client.retrieve("a")
    assert caught.value.retry_after == 120.0
    assert sleeps.waits == []
    assert len(fake_acedata.requests_to(TASKS)) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), (" 3 ", 3.0), ("", None), ("abc", None), ("-1", None), ("2.5", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)  # fmt: skip
def test_parse_retry_after(header: str, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 01 Jan 2030 12:01:30 GMT", now=now) == 90.0


def test_backoff_is_capped_and_jittered() -> None:
    import random

    backoff = Backoff(attempts=10, base=1.0, cap=8.0, jitter=0.5)
    rng = random.Random(1)
    delays = [backoff.delay(attempt, rng) for attempt in range(1, 10)]
    assert 1.0 <= delays[0] <= 1.5 and 2.0 <= delays[1] <= 3.0
    assert all(d <= 8.0 for d in delays) and delays[-1] == 8.0


# --- query retries -----------------------------------------------------------------------------
async def test_query_retries_5xx_then_succeeds(
    client: KlingClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    fake_acedata.inject(TASKS, 502, raw="<html>Bad Gateway</html>", times=2)
    assert await client.retrieve("x") == NotFound("x")
    assert len(sleeps.waits) == 2 and sleeps.waits[1] > sleeps.waits[0]
    assert len(fake_acedata.requests_to(TASKS)) == 3


async def test_query_5xx_exhausted_is_a_service_error(client: KlingClient, fake_acedata: FakeAceData) -> None:
    fake_acedata.inject(TASKS, 500, body=err("api_error", "fetch failed", success=False), times=10)
    with pytest.raises(ServiceError) as caught:
        await client.retrieve("x")
    assert (caught.value.code, caught.value.detail, caught.value.status) == ("api_error", "fetch failed", 500)
    assert len(fake_acedata.requests_to(TASKS)) == FAST.attempts


async def test_query_read_timeouts_are_retried(
    make_client: MakeClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    client = make_client(timeout=httpx.Timeout(5.0, read=0.2), query_backoff=Backoff(attempts=2, base=0.5))
    fake_acedata.inject(TASKS, 200, body={}, delay=3.0, times=2)
    with pytest.raises(ServiceError, match="ReadTimeout"):
        await client.retrieve("x")
    assert len(fake_acedata.requests_to(TASKS)) == 2 and len(sleeps.waits) == 1


async def test_query_dropped_connection_is_retried(client: KlingClient, fake_acedata: FakeAceData) -> None:
    fake_acedata.inject(TASKS, drop=True)
    assert await client.retrieve("x") == NotFound("x")
    assert len(fake_acedata.requests_to(TASKS)) == 2


@pytest.mark.parametrize("raw", ["{not json", "<html>ok</html>", ""])
async def test_query_non_json_200_is_a_service_error(
    client: KlingClient, fake_acedata: FakeAceData, raw: str
) -> None:
    fake_acedata.inject(TASKS, 200, raw=raw)
    with pytest.raises(ServiceError):
        await client.retrieve("x")
    assert len(fake_acedata.requests_to(TASKS)) == 1


async def test_query_empty_object_is_not_found(client: KlingClient, fake_acedata: FakeAceData) -> None:
    fake_acedata.inject(TASKS, 200, body={})
    assert await client.retrieve("x") == NotFound("x")


async def test_slow_query_beyond_the_deadline(make_client: MakeClient, fake_acedata: FakeAceData) -> None:
    client = make_client(deadline=0.3)
    fake_acedata.inject(TASKS, 200, body={}, delay=3.0)
    with pytest.raises(ServiceError, match="within"):
        await client.retrieve("x")


async def test_query_to_a_closed_port_is_a_network_error(make_client: MakeClient, sleeps: Sleeps) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NetworkError):
        await client.retrieve_batch(["x"])
    assert len(sleeps.waits) == FAST.attempts - 1


# --- the paid create is never re-sent ------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_on_create_is_unconfirmed_and_not_resent(
    client: KlingClient, fake_acedata: FakeAceData, sleeps: Sleeps, status: int
) -> None:
    fake_acedata.inject(
        VIDEOS, status, body={"error": {"code": "api_error", "message": "upstream"}, "trace_id": "tr"}
    )
    with pytest.raises(SubmissionUnconfirmed) as caught:
        await client.create_video(REQUEST)
    error = caught.value
    assert not error.definitely_not_created
    assert (error.status, error.code, error.trace_id) == (status, "api_error", "tr")
    assert len(fake_acedata.requests_to(VIDEOS)) == 1 and sleeps.waits == []


async def test_read_timeout_on_create_is_unconfirmed_and_not_resent(
    make_client: MakeClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    client = make_client(timeout=httpx.Timeout(5.0, read=0.2))
    fake_acedata.inject(VIDEOS, 200, body={"task_id": "late"}, delay=3.0, process=True)
    with pytest.raises(SubmissionUnconfirmed, match="ReadTimeout"):
        await client.create_video(REQUEST)
    assert len(fake_acedata.requests_to(VIDEOS)) == 1 and sleeps.waits == []
    # The danger being avoided: the task did get created.
    assert fake_acedata.created_tasks == 1


async def test_connection_dropped_after_the_body_is_unconfirmed(
    client: KlingClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    fake_acedata.inject(VIDEOS, drop=True, process=True)
    with pytest.raises(SubmissionUnconfirmed, match="RemoteProtocolError"):
        await client.create_video(REQUEST)
    assert len(fake_acedata.requests_to(VIDEOS)) == 1 and sleeps.waits == []
    assert fake_acedata.created_tasks == 1


async def test_slow_create_beyond_the_deadline_is_unconfirmed(
    make_client: MakeClient, fake_acedata: FakeAceData
) -> None:
    client = make_client(deadline=0.3)
    fake_acedata.inject(VIDEOS, 200, body={"task_id": "late"}, delay=3.0)
    with pytest.raises(SubmissionUnconfirmed):
        await client.create_video(REQUEST)
    assert len(fake_acedata.requests_to(VIDEOS)) == 1


@pytest.mark.parametrize(
    ("body", "raw"),
    [({}, None), ({"success": True}, None), ({"task_id": ""}, None), (None, "{not json"), ([1], None)],
)
async def test_2xx_without_a_task_id_is_unconfirmed(
    client: KlingClient, fake_acedata: FakeAceData, body: Any, raw: str | None
) -> None:
    fake_acedata.inject(VIDEOS, 200, body=body, raw=raw)
    with pytest.raises(SubmissionUnconfirmed):
        await client.create_video(REQUEST)
    assert len(fake_acedata.requests_to(VIDEOS)) == 1


async def test_429_on_create_is_rate_limited_without_a_resend(
    client: KlingClient, fake_acedata: FakeAceData, sleeps: Sleeps
) -> None:
    fake_acedata.inject(
        VIDEOS, 429, body={"error": {"code": "too_many_requests"}}, headers={"retry-after": "30"}
    )
    with pytest.raises(RateLimited) as caught:
        await client.create_video(REQUEST)
    assert caught.value.retry_after == 30.0 and caught.value.definitely_not_created
    assert len(fake_acedata.requests_to(VIDEOS)) == 1 and sleeps.waits == []


async def test_create_to_a_closed_port_is_retried_then_a_network_error(
    make_client: MakeClient, sleeps: Sleeps
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NetworkError) as caught:
        await client.create_video(REQUEST)
    assert caught.value.definitely_not_created
    assert len(sleeps.waits) == FAST.attempts - 1


async def test_create_succeeds_after_the_server_comes_up(fake_acedata: FakeAceData) -> None:
    port = free_port()
    late = FakeAceData(token=fake_acedata.token, port=port)

    async def start_server_while_waiting(_: float) -> None:
        if late.base_url == "":
            await late.start()

    client = KlingClient(
        base_url=f"http://127.0.0.1:{port}",
        token=SecretStr(late.token),
        connect_backoff=FAST,
        sleep=start_server_while_waiting,
    )
    try:
        submission = await client.create_video(REQUEST)
        assert list(late.tasks) == [submission.task_id]
    finally:
        await client.aclose()
        await late.stop()


# --- operator check and lifecycle ------------------------------------------------------------
async def test_check_token_passes_with_the_right_token(
    client: KlingClient, fake_acedata: FakeAceData
) -> None:
    await client.check_token()
    [query] = fake_acedata.requests_to(TASKS)
    assert query.json is not None and query.json["action"] == "retrieve"
    assert fake_acedata.created_tasks == 0


async def test_check_token_fails_once_without_retrying(
    make_client: MakeClient, fake_acedata: FakeAceData
) -> None:
    with pytest.raises(AuthError):
        await make_client(token=SecretStr("wrong")).check_token()
    fake_acedata.inject(TASKS, 503, times=5)
    with pytest.raises(ServiceError):
        await make_client().check_token()
    assert len(fake_acedata.requests_to(TASKS)) == 2


async def test_aclose_closes_only_a_client_it_made(fake_acedata: FakeAceData) -> None:
    async with httpx.AsyncClient() as shared:
        client = KlingClient(shared, base_url=fake_acedata.base_url, token=SecretStr(fake_acedata.token))
        await client.aclose()
        assert not shared.is_closed
        assert await client.retrieve("x") == NotFound("x")
    own = KlingClient(base_url=fake_acedata.base_url, token=SecretStr(fake_acedata.token))
    await own.retrieve("x")
    await own.aclose()
    with pytest.raises(RuntimeError):
        await own.retrieve("x")


# --- the token stays secret ------------------------------------------------------------------
async def test_token_never_appears_in_repr_errors_or_logs(
    make_client: MakeClient, fake_acedata: FakeAceData, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = fake_acedata.token
    client = make_client()
    closed = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    errors: list[KlingError] = []

    async def expect_error(call: Awaitable[object]) -> None:
        with pytest.raises(KlingError) as caught:
            await call
        errors.append(caught.value)

    await client.create_video(REQUEST)
    await client.retrieve("x")
    # A gateway that echoes the request headers back must not carry the token into an error.
    echo = {"error": {"code": "invalid_token", "message": f"bad header: Bearer {token}"}}
    fake_acedata.inject(VIDEOS, 401, body=echo)
    await expect_error(client.create_video(REQUEST))
    fake_acedata.inject(TASKS, 500, raw=f"upstream said {token}", times=5)
    await expect_error(client.retrieve("x"))
    fake_acedata.inject(VIDEOS, drop=True)
    await expect_error(client.create_video(REQUEST))
    await expect_error(closed.create_video(REQUEST))
    await expect_error(closed.retrieve("x"))

    assert len(errors) == 5
    texts = [repr(client), repr(closed)]
    for error in errors:
        texts += [str(error), repr(error), error.detail, "".join(traceback.format_exception(error))]
    texts += [record.getMessage() for record in caplog.records]
    assert any("POST /kling/videos" in record.getMessage() for record in caplog.records)
    assert "***" in errors[0].detail
    assert not [text for text in texts if token in text]


# --- the fake as its own process (used by end-to-end tests and benchmarks) -------------------
async def test_fake_runs_standalone_and_is_driven_by_its_control_api() -> None:
    token = "standalone-token"
    argv = ["-m", "tests.fakes.acedata", "--port", "0", "--token", token, "--render-seconds", "600"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        assert base_url.startswith("http://127.0.0.1:")
        client = KlingClient(base_url=base_url, token=SecretStr(token))
        async with httpx.AsyncClient(base_url=base_url) as control:
            first = await client.create_video(REQUEST)
            assert isinstance(await client.retrieve(first.task_id), Running)
            (await control.post("/_control/finish", json={"task_id": first.task_id})).raise_for_status()
            (
                await control.post(
                    "/_control/inject", json={"path": TASKS, "status": 403, "body": err("used_up")}
                )
            )
            with pytest.raises(OutOfCredits):
                await client.retrieve(first.task_id)
            assert isinstance(await client.retrieve(first.task_id), Succeeded)
            stats = (await control.get("/_control/stats")).json()
        await client.aclose()
        assert stats["created_tasks"] == 1
        assert stats["requests"] == {"POST /kling/videos": 1, "POST /kling/tasks": 3}
        assert stats["tasks"] == {first.task_id: "succeed"}
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 20) == 0

"""Task records in every shape docs/reference/kling-api.md §2 describes (and some it does not)
become a TaskStatus."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.kling.tasks import Failed, NotFound, Running, Succeeded, parse_batch, parse_task_record

TASK = "20068983-0cc9-4c6a-aeb6-9c6a3c668be0"
URL = "https://platform2.cdn.acedata.cloud/kling/20068983.mp4"


def record(response: Any = None, **fields: Any) -> dict[str, Any]:
    """A task record like the documented example; `response` left out when None."""
    base: dict[str, Any] = {
        "_id": "67c5163f550a4144a5b68698",
        "id": TASK,
        "type": "videos",
        "trace_id": "record-trace",
        "created_at": 1740969535.333,
        "started_at": 1740969535.393,
        "request": {"action": "text2video", "model": "kling-v1", "prompt": "a fox"},
    }
    if response is not None:
        base["response"] = response
    return {**base, **fields}


def succeed(**overrides: Any) -> dict[str, Any]:
    return {
        "success": True,
        "task_id": TASK,
        "video_id": "030b2f4e",
        "video_url": URL,
        "duration": "5.041",
        "state": "succeed",
        **overrides,
    }


# --- success ---------------------------------------------------------------------------------
def test_documented_success_record() -> None:
    status = parse_task_record(record(succeed(), finished_at=1740969852.463, elapsed=317.07), TASK)
    assert status == Succeeded(
        TASK, video_url=URL, video_id="030b2f4e", duration=5.041, trace_id="record-trace"
    )


def test_response_trace_id_wins_over_the_records() -> None:
    status = parse_task_record(record(succeed(trace_id="response-trace")), TASK)
    assert isinstance(status, Succeeded) and status.trace_id == "response-trace"


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("5.041", 5.041), (" 9.6 ", 9.6), (10, 10.0), (5.1, 5.1), ("abc", None), ("", None), (None, None),
     (True, None), ("nan", None), ("-3", None), ({"s": 5}, None)],
)  # fmt: skip
def test_duration_string_or_number(duration: Any, expected: float | None) -> None:
    status = parse_task_record(record(succeed(duration=duration)), TASK)
    assert isinstance(status, Succeeded) and status.duration == expected


@pytest.mark.parametrize("empty_error", [None, "", False, {}, []])
def test_an_empty_error_field_is_no_error(empty_error: Any) -> None:
    assert isinstance(parse_task_record(record(succeed(error=empty_error)), TASK), Succeeded)


def test_numeric_video_id_is_kept_as_text() -> None:
    status = parse_task_record(record(succeed(video_id=900798310464749610)), TASK)
    assert isinstance(status, Succeeded) and status.video_id == "900798310464749610"


def test_success_true_with_a_video_counts_even_without_state() -> None:
    status = parse_task_record(record(succeed(state=None)), TASK)
    assert isinstance(status, Succeeded)


def test_state_succeed_with_a_video_counts_without_success_flag() -> None:
    response = succeed()
    del response["success"]
    assert isinstance(parse_task_record(record(response), TASK), Succeeded)


@pytest.mark.parametrize(
    "data",
    [
        {"video_url": URL, "video_id": "v1", "duration": 5, "state": "succeed"},
        [{"video_url": URL, "video_id": "v1", "duration": 5, "state": "succeed"}],
        ["junk", None, {"video_url": URL, "video_id": "v1", "duration": 5, "state": "succeed"}],
    ],
)
def test_fields_fall_back_to_data_dict_or_list(data: Any) -> None:
    status = parse_task_record(record({"success": True, "task_id": TASK, "data": data}), TASK)
    assert status == Succeeded(TASK, video_url=URL, video_id="v1", duration=5.0, trace_id="record-trace")


def test_flat_fields_win_over_data() -> None:
    response = succeed(data={"video_url": "https://elsewhere/x.mp4"})
    status = parse_task_record(record(response), TASK)
    assert isinstance(status, Succeeded) and status.video_url == URL


# --- still running ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "response",
    [
        None,  # no response yet: pending
        {},
        {"success": True, "task_id": TASK},  # success alone is NOT done
        {"success": True, "task_id": TASK, "state": "processing"},
        {"state": "succeed"},  # succeed without a video is not done either
        {"state": "submitted", "video_url": URL},  # a URL with an unknown state and no success flag
        {"success": True, "video_url": ""},
        {"success": True, "state": "succeed", "video_url": 12345},
        "a string",
        ["a", "list"],
        42,
    ],
)
def test_running_shapes(response: Any) -> None:
    status = parse_task_record(record(response), TASK)
    assert isinstance(status, Running) and status.task_id == TASK


def test_running_keeps_the_state() -> None:
    status = parse_task_record(record({"success": True, "state": "Processing"}), TASK)
    assert status == Running(TASK, state="processing", trace_id="record-trace")


# --- failures --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("response", "code", "message"),
    [
        (
            {"success": False, "error": {"code": "api_error", "message": "fetch failed"}, "trace_id": "t"},
            "api_error",
            "fetch failed",
        ),
        ({"error": {"code": "forbidden", "detail": "blocked"}}, "forbidden", "blocked"),
        ({"error": {"code": "api_error"}}, "api_error", None),
        ({"error": "The model did not detect a human"}, None, "The model did not detect a human"),
        ({"success": False, "code": "bad_request", "detail": "end_image_url is wrong"}, "bad_request",
         "end_image_url is wrong"),
        ({"success": False}, None, None),
        ({"state": "failed"}, None, None),
        ({"state": "error", "video_url": URL}, None, None),
        ({"state": "CANCELLED"}, None, None),
        ({"state": "canceled"}, None, None),
        ({"success": True, "data": [{"error": {"code": "x", "message": "in data"}}]}, "x", "in data"),
        # An explicit failure wins even when a URL is there.
        ({"success": False, "state": "succeed", "video_url": URL}, None, None),
    ],
)  # fmt: skip
def test_failure_shapes(response: dict[str, Any], code: str | None, message: str | None) -> None:
    status = parse_task_record(record(response), TASK)
    assert isinstance(status, Failed)
    assert (status.code, status.message) == (code, message)


def test_failure_trace_id_from_the_response() -> None:
    status = parse_task_record(record({"success": False, "error": "x", "trace_id": "resp"}), TASK)
    assert isinstance(status, Failed) and status.trace_id == "resp"


def test_finished_without_a_video_is_a_failure() -> None:
    status = parse_task_record(record({"success": True, "task_id": TASK}, finished_at=1740969852.4), TASK)
    assert isinstance(status, Failed) and status.message


def test_finished_at_null_is_not_finished() -> None:
    status = parse_task_record(record({"success": True}, finished_at=None, elapsed=None), TASK)
    assert isinstance(status, Running)


def test_long_failure_message_is_clipped() -> None:
    status = parse_task_record(record({"error": {"code": "x", "message": "word " * 500}}), TASK)
    assert isinstance(status, Failed) and status.message is not None
    assert len(status.message) <= 300 and "\n" not in status.message


# --- not found and garbage -------------------------------------------------------------------
@pytest.mark.parametrize(
    "body", [{}, None, [], "text", 3, [record(succeed())], {"response": succeed()}, {"id": ""}, {"id": None}]
)
def test_not_found_shapes(body: Any) -> None:
    assert parse_task_record(body, TASK) == NotFound(TASK)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
record_keys = st.sampled_from(
    [
        "id",
        "response",
        "finished_at",
        "trace_id",
        "success",
        "state",
        "video_url",
        "error",
        "data",
        "duration",
    ]
)


@given(
    st.dictionaries(record_keys, json_values, max_size=6),
    st.dictionaries(record_keys, json_values, max_size=6),
)
def test_never_raises_on_odd_shapes(outer: dict[str, Any], response: dict[str, Any]) -> None:
    status = parse_task_record({**outer, "response": response}, TASK)
    assert status.task_id == TASK
    if isinstance(status, Succeeded):
        assert status.video_url


@given(json_values)
def test_batch_never_raises(body: Any) -> None:
    assert isinstance(parse_batch(body), dict)


# --- batch -----------------------------------------------------------------------------------
def test_batch_keys_records_by_id() -> None:
    body = {
        "items": [
            record(succeed()),
            record({"success": True}, id="b"),
            record({"success": False, "error": {"code": "x"}}, id="c"),
            {"no": "id"},
            "junk",
        ],
        "count": 5,
    }
    statuses = parse_batch(body)
    assert set(statuses) == {TASK, "b", "c"}
    assert isinstance(statuses[TASK], Succeeded)
    assert isinstance(statuses["b"], Running)
    assert isinstance(statuses["c"], Failed)


@pytest.mark.parametrize("body", [{"items": [], "count": 0}, {}, {"items": None}, [], None])
def test_empty_batches(body: Any) -> None:
    assert parse_batch(body) == {}


def test_a_single_record_where_a_batch_was_expected() -> None:
    assert parse_batch(record(succeed())) == {TASK: parse_task_record(record(succeed()), TASK)}

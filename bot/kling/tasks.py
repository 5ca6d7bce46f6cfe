"""Typed status of one AceData task record, parsed tolerantly (see `parse_task_record`)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.kling.errors import as_text, parse_error_body
from bot.refusals import N_

#: The bot's own reason for a task that ended without a video: a failure message quotes it, so it is
#: marked for translation (a reason the service wrote stays as it wrote it).
NO_VIDEO = N_("The task finished without a video.")


@dataclass(frozen=True, slots=True)
class Running:
    task_id: str
    state: str | None = None
    trace_id: str | None = None
    #: The create body AceData recorded for the task, and when it made the task (epoch seconds): what a
    #: lost create is recognised by (kling-api.md §9). Not part of equality: a status is its outcome.
    request: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    created_at: float | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Succeeded:
    task_id: str
    video_url: str
    video_id: str | None
    duration: float | None
    trace_id: str | None = None
    #: As on Running.
    request: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    created_at: float | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Failed:
    task_id: str
    code: str | None
    message: str | None
    trace_id: str | None = None
    #: As on Running.
    request: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    created_at: float | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NotFound:
    """`{}` from the task query: the record may not be written yet."""

    task_id: str


TaskStatus = Running | Succeeded | Failed | NotFound


@dataclass(frozen=True, slots=True)
class Submission:
    """What a successful create returned."""

    task_id: str
    trace_id: str | None = None


# --- parsing ---------------------------------------------------------------------------------
# The shapes below are only partly documented (docs/reference/kling-api.md §2), so every reader is
# total: an odd record becomes Running or NotFound, never an exception that would stall the poller.

_SUCCESS_STATE = "succeed"
_FAILED_STATES = frozenset({"failed", "error", "cancelled", "canceled"})


def _seconds(value: object) -> float | None:
    """`"5.041"` or `5.041` -> 5.041; anything else (bools, blanks, NaN, negatives) -> None."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float):
        return None
    try:
        seconds = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer too big for a float
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _layers(response: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The flat response first, then whatever `data` holds (one dict or a list of dicts)."""
    yield response
    data = response.get("data")
    if isinstance(data, dict):
        yield data
    elif isinstance(data, list):
        yield from (item for item in data if isinstance(item, dict))


def _field(response: dict[str, Any], key: str) -> Any:
    for layer in _layers(response):
        value = layer.get(key)
        if value is not None and value != "":
            return value
    return None


def parse_task_record(record: object, task_id: str) -> TaskStatus:
    """The status of one task record from `POST /kling/tasks` (rules: docs/reference/kling-api.md §2)."""
    if not isinstance(record, dict) or as_text(record.get("id")) is None:
        return NotFound(task_id)
    raw_response = record.get("response")
    response: dict[str, Any] = raw_response if isinstance(raw_response, dict) else {}
    state_value = _field(response, "state")
    state = state_value.strip().lower() if isinstance(state_value, str) else None
    success = _field(response, "success")
    url = _field(response, "video_url")
    video_url = url.strip() or None if isinstance(url, str) else None
    trace_id = as_text(response.get("trace_id")) or as_text(record.get("trace_id"))
    raw_request = record.get("request")
    origin: dict[str, Any] = {
        "request": raw_request if isinstance(raw_request, dict) else None,
        "created_at": _seconds(record.get("created_at")),
    }

    # `"error": null / false / {}` is how some gateways say "no error".
    error_layer = next((layer for layer in _layers(response) if layer.get("error")), None)
    if success is False or error_layer is not None or state in _FAILED_STATES:
        code, message, _ = parse_error_body(error_layer if error_layer is not None else response)
        return Failed(task_id, code=code, message=message, trace_id=trace_id, **origin)
    if video_url is not None and (state == _SUCCESS_STATE or success is True):
        return Succeeded(
            task_id,
            video_url=video_url,
            video_id=as_text(_field(response, "video_id")),
            duration=_seconds(_field(response, "duration")),
            trace_id=trace_id,
            **origin,
        )
    if record.get("finished_at") is not None:
        return Failed(task_id, code=None, message=NO_VIDEO, trace_id=trace_id, **origin)
    return Running(task_id, state=state, trace_id=trace_id, **origin)


def parse_batch(body: object) -> dict[str, TaskStatus]:
    """`{"items": [record, ...], "count": N}` -> statuses by record id (records without an id are skipped)."""
    if not isinstance(body, dict):
        return {}
    items = body.get("items")
    if not isinstance(items, list):
        # A single record where a list was expected: still usable.
        items = [body] if as_text(body.get("id")) is not None else []
    statuses: dict[str, TaskStatus] = {}
    for item in items:
        task_id = as_text(item.get("id")) if isinstance(item, dict) else None
        if task_id is not None:
            statuses[task_id] = parse_task_record(item, task_id)
    return statuses

"""Typed status of one AceData task record, parsed tolerantly (see `parse_task_record`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Running:
    task_id: str
    state: str | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class Succeeded:
    task_id: str
    video_url: str
    video_id: str | None
    duration: float | None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class Failed:
    task_id: str
    code: str | None
    message: str | None
    trace_id: str | None = None


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

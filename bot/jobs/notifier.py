"""How the job pipeline tells the outside world what happened, without knowing about Discord."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.storage.base import Job


@dataclass(frozen=True, slots=True)
class VideoFile:
    """A downloaded result (in a temporary file the runner removes after delivery), or only its link
    when it is larger than the upload limit or could not be downloaded."""

    url: str
    path: Path | None
    too_large: bool = False
    size: int = 0
    #: The frames the job was made from, (file name, bytes), posted with the video so their links can
    #: be renewed later by fetching the message (Rerun, Remix and Next shot need them again).
    frames: tuple[tuple[str, bytes], ...] = ()


class JobNotifier(Protocol):
    async def progress(self, job: Job, *, force: bool = False) -> None:
        """Show the job's current state; implementations throttle and skip invisible changes."""
        ...

    async def delivered(self, job: Job, video: VideoFile) -> None:
        """Show the finished video. Must not raise for Discord-side failures it can route around."""
        ...

    async def failed(self, job: Job) -> None:
        """Tell the member the job failed (job.error_code / error_message / trace_id say why)."""
        ...

    async def forget(self, job_id: str) -> None:
        """Drop anything held in memory for a finished job."""
        ...

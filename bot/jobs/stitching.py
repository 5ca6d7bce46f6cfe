"""Stitch a story: its shots downloaded to temporary files within the upload limit, joined with PyAV
(bot/video_edit.py) into another temporary file. No shot and no story is ever held whole in memory,
and every temporary file is removed, whatever happens (the story's own once the caller sent it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot import video_edit
from bot.jobs.delivery import fetch_video


class StoryTooBig(Exception):
    """The story can't fit the upload limit. `size`: the story's size when it was made, None when the
    shots alone went past the limit while downloading."""

    def __init__(self, size: int | None) -> None:
        super().__init__(f"the story weighs more than the upload limit ({size or 'shots'})")
        self.size = size


class ShotMissing(Exception):
    """Shot `number` (from 1) has no video left to read."""

    def __init__(self, number: int) -> None:
        super().__init__(f"shot {number} can't be read")
        self.number = number


@dataclass(frozen=True, slots=True)
class StitchedStory:
    """The joined MP4 in a temporary file: send it, then `remove` it."""

    path: Path
    size: int
    seconds: float

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


async def stitch_story(
    http: httpx.AsyncClient, urls: Sequence[str | None], *, limit: int, read_cap: int
) -> StitchedStory:
    """Download the shots at `urls` (in story order) and join them.

    A remuxed story weighs about the sum of its shots, so the downloads share `limit`: each one is
    cut off at what is left of it (and at `read_cap`), and a story whose shots don't fit is refused
    before anything is decoded. Raises StoryTooBig, ShotMissing or video_edit.VideoUnreadable.
    """
    shots: list[Path] = []
    try:
        used = 0
        for number, url in enumerate(urls, start=1):
            room = limit - used
            if room <= 0:
                raise StoryTooBig(None)
            if url is None:
                raise ShotMissing(number)
            video = await fetch_video(http, url, max_bytes=min(room, read_cap), attempts=2)
            if video.path is None:
                raise StoryTooBig(None) if video.too_large else ShotMissing(number)
            shots.append(video.path)
            used += video.size
        return await asyncio.to_thread(join_shots, shots, limit)
    finally:
        for path in shots:
            discard_path(path)


def join_shots(shots: Sequence[Path], limit: int) -> StitchedStory:
    """Join downloaded shots into a new temporary file (blocking: run it in a worker thread);
    StoryTooBig, with nothing left behind, when the file comes out larger than `limit`."""
    handle, name = tempfile.mkstemp(prefix="kling-story-", suffix=".mp4")
    os.close(handle)
    story = StitchedStory(Path(name), 0, 0.0)
    try:
        video_edit.stitch_to(shots, story.path)
        size = story.path.stat().st_size
        if size > limit:
            raise StoryTooBig(size)
        return StitchedStory(story.path, size, video_edit.duration_seconds(story.path))
    except BaseException:
        story.remove()
        raise


def discard_path(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)

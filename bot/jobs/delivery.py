"""Fetch a finished video with a hard size cap, so memory stays bounded whatever the server claims."""

from __future__ import annotations

import asyncio
import logging

import httpx

from bot.jobs.notifier import VideoFile
from bot.kling.models import VideoRequest
from bot.media import AttachmentRefused, download_capped, read_capped

log = logging.getLogger(__name__)

_GONE = {401, 403, 404, 410}


async def fetch_video(
    http: httpx.AsyncClient, url: str, *, max_bytes: int, attempts: int = 3, backoff: float = 1.0
) -> VideoFile:
    """Download `url` if it fits in `max_bytes`; otherwise (or if it cannot be fetched) return the link only.

    Content-Length is only a hint: the stream is cut at `max_bytes + 1` bytes either way.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code in _GONE:
                    log.warning(
                        "result download refused with HTTP %s; delivering the link", response.status_code
                    )
                    return VideoFile(url=url, data=None)
                response.raise_for_status()
                data = await read_capped(
                    response.aiter_bytes(), response.headers.get("content-length"), max_bytes
                )
                return VideoFile(url=url, data=data, too_large=data is None)
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            log.warning("result download attempt %d/%d failed: %s", attempt, attempts, type(exc).__name__)
            if attempt < attempts:
                await asyncio.sleep(backoff * attempt)
    return VideoFile(url=url, data=None)


#: Names of the frame files on a result message; `frame_name` adds the extension.
START_FRAME = "start-frame"
END_FRAME = "end-frame"
_FRAME_CAP = 10 * 1024 * 1024


def frame_name(role: str, url: str) -> str:
    path = url.split("?", 1)[0].lower()
    extension = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "png"
    return f"{role}.{extension if extension in ('png', 'jpg', 'jpeg', 'webp') else 'png'}"


async def fetch_frames(
    http: httpx.AsyncClient, request: VideoRequest, *, budget: int
) -> tuple[tuple[str, bytes], ...]:
    """The request's start and end frames, while their links still work, within `budget` bytes in
    all. A frame that can't be fetched or doesn't fit is left out (Rerun then says so if needed)."""
    frames: list[tuple[str, bytes]] = []
    for role, url in ((START_FRAME, request.start_image_url), (END_FRAME, request.end_image_url)):
        if not url or budget <= 0:
            continue
        try:
            data = await download_capped(http, url, min(budget, _FRAME_CAP), label=role)
        except AttachmentRefused:
            log.info("the %s of a delivered job could not be kept", role)
            continue
        budget -= len(data)
        frames.append((frame_name(role, url), data))
    return tuple(frames)

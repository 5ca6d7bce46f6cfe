"""Fetch a finished video with a hard size cap, streamed to a temporary file so memory stays bounded
whatever the size and however many results finish at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from bot.jobs.notifier import VideoFile
from bot.kling.models import VideoRequest
from bot.media import AttachmentRefused, download_capped

log = logging.getLogger(__name__)

_GONE = {401, 403, 404, 410}


async def _write_capped(
    chunks: AsyncIterator[bytes], declared_length: str | None, max_bytes: int
) -> tuple[Path, int] | None:
    """Stream `chunks` to a new temporary file: its path and size, or None (and no file left behind)
    once the body goes past `max_bytes`. Chunks are written as they come; none is kept."""
    declared = (declared_length or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    handle, name = tempfile.mkstemp(prefix="kling-result-", suffix=".mp4")
    written = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in chunks:
                written += len(chunk)
                if written > max_bytes:
                    break
                out.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    if written > max_bytes:
        os.unlink(name)
        return None
    return Path(name), written


async def fetch_video(
    http: httpx.AsyncClient, url: str, *, max_bytes: int, attempts: int = 3, backoff: float = 1.0
) -> VideoFile:
    """Download `url` into a temporary file if it fits in `max_bytes`; otherwise (or if it cannot be
    fetched) return the link only. The caller removes the file with `discard`.

    Content-Length is only a hint: the stream is cut at `max_bytes + 1` bytes either way.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code in _GONE:
                    log.warning(
                        "result download refused with HTTP %s; delivering the link", response.status_code
                    )
                    return VideoFile(url=url, path=None)
                response.raise_for_status()
                written = await _write_capped(
                    response.aiter_bytes(), response.headers.get("content-length"), max_bytes
                )
                if written is None:
                    return VideoFile(url=url, path=None, too_large=True)
                return VideoFile(url=url, path=written[0], size=written[1])
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            log.warning("result download attempt %d/%d failed: %s", attempt, attempts, type(exc).__name__)
            if attempt < attempts:
                await asyncio.sleep(backoff * attempt)
    return VideoFile(url=url, path=None)


def discard(video: VideoFile) -> None:
    """Remove a downloaded result's temporary file (once it was delivered, or could not be)."""
    if video.path is not None:
        with contextlib.suppress(OSError):
            os.unlink(video.path)


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

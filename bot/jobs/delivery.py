"""Fetch a finished video with a hard size cap, so memory stays bounded whatever the server claims."""

from __future__ import annotations

import asyncio
import logging

import httpx

from bot.jobs.notifier import VideoFile
from bot.media import read_capped

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

"""A simulated AceData inside the bot process (`SIMULATE_ACEDATA=true`): try the bot without paying.

It is an httpx transport, so the real `KlingClient`, poller and delivery run unchanged against it:
`POST /kling/videos` makes a task, `POST /kling/tasks` answers task records (one, a batch, or the
list by `created_at` window), and `GET /files/<task>.mp4` serves a real, short, playable MP4 made
with PyAV. Nothing leaves the process: the host is under `.invalid`, which never resolves, and the
transport is mounted for that host only. Every task id starts with `simulated-`, which is how the
Discord side knows to label a result as simulated.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import time
import uuid
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import httpx

#: Where the simulated service "lives": a reserved name (RFC 2606), so nothing can ever answer it.
SIMULATED_HOST = "acedata.simulated.invalid"
SIMULATED_BASE_URL = f"https://{SIMULATED_HOST}"
SIMULATED_TASK_PREFIX = "simulated-"
#: Stands in for ACEDATA_API_TOKEN when it is not set in simulated mode (the transport accepts any).
SIMULATED_TOKEN = "no-token-needed-in-simulated-mode"
#: How long a simulated video "renders", so progress messages can be seen.
RENDER_SECONDS = 4.0
VIDEO_SECONDS = 2.0
VIDEO_FPS = 12
_SIZES = {"16:9": (320, 180), "9:16": (180, 320), "1:1": (240, 240)}
_ACTIONS = frozenset({"text2video", "image2video", "extend"})


def is_simulated_task(task_id: str | None) -> bool:
    return bool(task_id) and str(task_id).startswith(SIMULATED_TASK_PREFIX)


@functools.lru_cache(maxsize=8)
def make_video(width: int, height: int, seconds: float = VIDEO_SECONDS, fps: int = VIDEO_FPS) -> bytes:
    """A real H.264 MP4 (MPEG-4 Part 2 if this PyAV build has no H.264 encoder) that says SIMULATED."""
    import av  # imported here: only simulated mode needs it
    from PIL import Image, ImageDraw

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        frames = max(1, round(seconds * fps))
        for index in range(frames):
            shade = 40 + int(160 * index / max(1, frames - 1))
            image = Image.new("RGB", (width, height), (shade // 2, 30, shade))
            draw = ImageDraw.Draw(image)
            draw.text((8, 8), "SIMULATED", fill=(255, 255, 255))
            draw.text((8, 24), "no real video, nothing paid", fill=(220, 220, 220))
            bar = int(width * (index + 1) / frames)
            draw.rectangle((0, height - 8, bar, height), fill=(255, 200, 0))
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]  # untyped in PyAV
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


@dataclass
class _Task:
    task_id: str
    trace_id: str
    request: dict[str, Any]
    created_at: float
    created_mono: float = field(default_factory=time.monotonic)


class SimulatedAceData(httpx.AsyncBaseTransport):
    """The AceData Kling endpoints, answered in memory. Accepts any bearer token."""

    def __init__(self, *, render_seconds: float = RENDER_SECONDS) -> None:
        self.render_seconds = render_seconds
        self.tasks: dict[str, _Task] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path in ("/kling/videos", "/kling/tasks"):
            try:
                body = json.loads(await request.aread() or b"null")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return _error(400, "bad_request", "The request body must be a JSON object.")
            return self._create(body) if path == "/kling/videos" else self._query(body)
        if request.method == "GET" and path.startswith("/files/") and path.endswith(".mp4"):
            return await self._file(path.removeprefix("/files/").removesuffix(".mp4"))
        return _error(404, "no_api", "API does not exist, please make sure url is correct.")

    # --- the API ------------------------------------------------------------------------------
    def _create(self, body: dict[str, Any]) -> httpx.Response:
        if body.get("action") not in _ACTIONS:
            return _error(400, "bad_request", "action is invalid.")
        task = _Task(f"{SIMULATED_TASK_PREFIX}{uuid.uuid4()}", str(uuid.uuid4()), body, time.time())
        self.tasks[task.task_id] = task
        return httpx.Response(200, json={"task_id": task.task_id, "trace_id": task.trace_id})

    def _query(self, body: dict[str, Any]) -> httpx.Response:
        action = body.get("action", "retrieve")
        if action == "retrieve":
            task = self.tasks.get(str(body.get("id")))
            return httpx.Response(200, json=self._record(task) if task else {})
        if action != "retrieve_batch":
            return _error(400, "bad_request", "action is invalid.")
        ids = body.get("ids")
        if isinstance(ids, list):
            found = [self.tasks[i] for i in ids if isinstance(i, str) and i in self.tasks]
        else:
            low = body.get("created_at_min")
            high = body.get("created_at_max")
            found = sorted(
                (
                    t
                    for t in self.tasks.values()
                    if (low is None or t.created_at >= low) and (high is None or t.created_at <= high)
                ),
                key=lambda t: t.created_at,
                reverse=True,
            )
            offset = int(body.get("offset") or 0)
            found = found[offset : offset + int(body.get("limit") or 10)]
        items = [self._record(task) for task in found]
        return httpx.Response(200, json={"items": items, "count": len(items)})

    def _record(self, task: _Task) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": task.task_id,
            "type": "videos",
            "trace_id": task.trace_id,
            "created_at": task.created_at,
            "request": task.request,
        }
        if time.monotonic() - task.created_mono < self.render_seconds:
            record["response"] = {"success": True, "task_id": task.task_id, "state": "processing"}
            return record
        record["finished_at"] = task.created_at + self.render_seconds
        record["response"] = {
            "success": True,
            "task_id": task.task_id,
            "trace_id": task.trace_id,
            "video_id": task.task_id.removeprefix(SIMULATED_TASK_PREFIX),
            "video_url": f"{SIMULATED_BASE_URL}/files/{task.task_id}.mp4",
            "duration": f"{VIDEO_SECONDS:.3f}",
            "state": "succeed",
        }
        return record

    async def _file(self, task_id: str) -> httpx.Response:
        task = self.tasks.get(task_id)
        if task is None:
            return httpx.Response(404, text="not found")
        width, height = _SIZES.get(str(task.request.get("aspect_ratio")), _SIZES["16:9"])
        data = await asyncio.to_thread(make_video, width, height)
        return httpx.Response(200, content=data, headers={"content-type": "video/mp4"})


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"success": False, "error": {"code": code, "message": message}, "trace_id": str(uuid.uuid4())},
    )

"""A fake AceData Kling API on 127.0.0.1 for tests, end-to-end runs and benchmarks.

It speaks the shapes of kling-api.md: `POST /kling/videos` answers `{"task_id", "trace_id"}` at once,
`POST /kling/tasks` answers task records (`{}` for an unknown id), and finished videos are served
from its own `GET /files/{name}`. Tasks "render" for `render_seconds` (None: until `finish`/`fail`).

Errors are scripted with `inject(path, status, ...)`; every request is recorded in `requests`.
Run it alone with `python -m tests.fakes.acedata --port 0 --token T`; it prints its base URL, and
`/_control/...` routes let another process script it (see `_control_routes`).

A create carrying `callback_url` gets a callback when its task ends (rendered, `finish`, `fail`): a POST
of the flat result body (section 3 of kling-api.md), unsigned like the real one. `send_callbacks =
False` turns them off; `callbacks_sent` records each one's URL and answer status (0: no answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from tests.fakes import kling_rules

Outcome = Literal["succeed", "fail"]
#: An outcome for every new task, or a function of the create body that picks one.
OutcomeRule = Outcome | Callable[[dict[str, Any]], Outcome]

PROTECTED_PATHS = ("/kling/videos", "/kling/tasks")
ACTIONS = frozenset({"text2video", "image2video", "extend"})
MODELS = frozenset(
    {
        "kling-v1",
        "kling-v1-6",
        "kling-v2-master",
        "kling-v2-1-master",
        "kling-v2-5-turbo",
        "kling-v2-6",
        "kling-v3",
        "kling-v3-omni",
        "kling-o1",
        "kling-v3-turbo",
    }
)
DEFAULT_FAILURE = ("api_error", "Generation failed")
# An MP4 `ftyp` box, so the bytes at least look like a video to anything that sniffs them.
_MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    json: Any  # the decoded body, or None when it was not JSON
    body: bytes


@dataclass
class Injection:
    """One scripted answer for `path`, used `times` times (the oldest injection for a path goes first)."""

    path: str
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    #: Sent verbatim instead of `body` (for malformed JSON, HTML error pages...).
    raw: str | None = None
    #: Read the request, then close the connection without any answer.
    drop: bool = False
    #: Run the real handler first (the task is created, and paid), then answer as scripted.
    process: bool = False


@dataclass
class FakeTask:
    task_id: str
    trace_id: str
    request: dict[str, Any]
    created_at: float  # wall clock, as the records show it
    created_mono: float
    render_seconds: float | None
    outcome: Outcome
    failure: tuple[str, str] = DEFAULT_FAILURE
    finished_at: float | None = None
    video_id: str = field(default_factory=lambda: str(uuid.uuid4().int)[:18])
    #: References the prompt did not cite: the real service drops them silently (and still bills).
    ignored_references: list[str] = field(default_factory=list)
    callback_sent: bool = False

    @property
    def video_name(self) -> str:
        return f"{self.task_id}.mp4"


class FakeAceData:
    def __init__(
        self,
        token: str | None = None,
        *,
        render_seconds: float | None = 0.5,
        video_bytes: int = 4096,
        port: int = 0,
    ) -> None:
        self.token = token or f"fake-acedata-{uuid.uuid4().hex}"
        self.render_seconds = render_seconds
        self.video_bytes = video_bytes
        #: When set, the bytes served for a finished task (e.g. a real MP4 made with PyAV).
        self.video_factory: Callable[[FakeTask], bytes] | None = None
        self.next_outcome: OutcomeRule = "succeed"
        self.failure: tuple[str, str] = DEFAULT_FAILURE
        #: When True every create is refused with 403 `used_up`, as AceData does on an empty balance.
        self.balance_exhausted = False
        self.requests: list[RecordedRequest] = []
        self.tasks: dict[str, FakeTask] = {}
        self._injections: deque[Injection] = deque()
        #: `element_list` is closed on AceData (kling-api.md §9); a test may open it.
        self.elements_open = False
        #: Reference videos are downloaded and checked like the real service does (§1.1).
        self.check_reference_videos = True
        self._port = port
        self._runner: web.AppRunner | None = None
        self.send_callbacks = True
        self.callbacks_sent: list[tuple[str, int]] = []
        self._callback_session: ClientSession | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.base_url = ""

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/kling/videos", self._create)
        app.router.add_post("/kling/tasks", self._query)
        app.router.add_get("/files/{name}", self._file)
        self._control_routes(app)
        # Cancel handlers whose client went away, so a slow injected answer never delays stop().
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._callback_session is not None:
            await self._callback_session.close()
            self._callback_session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAceData:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- scripting ------------------------------------------------------------------------
    def inject(
        self,
        path: str,
        status: int = 200,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        raw: str | None = None,
        drop: bool = False,
        process: bool = False,
    ) -> Injection:
        injection = Injection(path, status, body, dict(headers or {}), times, delay, raw, drop, process)
        self._injections.append(injection)
        return injection

    def finish(self, task_id: str) -> None:
        """Make a task succeed now."""
        task = self.tasks[task_id]
        task.outcome = "succeed"
        task.finished_at = time.time()
        self._spawn_callback(task)

    def fail(self, task_id: str, code: str = DEFAULT_FAILURE[0], message: str = DEFAULT_FAILURE[1]) -> None:
        """Make a task fail now with this error."""
        task = self.tasks[task_id]
        task.outcome, task.failure = "fail", (code, message)
        task.finished_at = time.time()
        self._spawn_callback(task)

    @property
    def created_tasks(self) -> int:
        """How many paid creates reached the server and made a task."""
        return len(self.tasks)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # --- the API ----------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._create_task)

    async def _query(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._answer_query)

    async def _serve(
        self, request: web.Request, handler: Callable[[RecordedRequest], Awaitable[web.Response]]
    ) -> web.StreamResponse:
        recorded = await self._record(request)
        injection = self._take_injection(recorded.path)
        if injection is None:
            return await self._checked(recorded, handler)
        if injection.process:
            await self._checked(recorded, handler)
        if injection.delay:
            await asyncio.sleep(injection.delay)
        if injection.drop:
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if injection.raw is not None or injection.body is None:
            return web.Response(status=injection.status, text=injection.raw or "", headers=injection.headers)
        return web.json_response(injection.body, status=injection.status, headers=injection.headers)

    async def _checked(
        self, recorded: RecordedRequest, handler: Callable[[RecordedRequest], Awaitable[web.Response]]
    ) -> web.Response:
        authorization = recorded.headers.get("authorization")
        if not authorization:
            return _error(400, "no_token", "No token specified for the request.")
        if authorization != f"Bearer {self.token}":
            return _error(401, "invalid_token", "The specified token is invalid or wrong.")
        if not isinstance(recorded.json, dict):
            return _error(400, "bad_request", "The request body must be a JSON object.")
        return await handler(recorded)

    async def _create_task(self, recorded: RecordedRequest) -> web.Response:
        body: dict[str, Any] = recorded.json
        if self.balance_exhausted:
            return _error(
                403,
                "used_up",
                "Your balance is not sufficient for current request, please buy more in Ace Data Cloud.",
            )
        if body.get("action") not in ACTIONS:
            return _error(400, "bad_request", "action is invalid.")
        if body.get("model", "kling-v1") not in MODELS:
            return _error(400, "bad_request", "model is invalid.")
        problem = kling_rules.body_problem(body, elements_open=self.elements_open)
        if problem is None and self.check_reference_videos:
            problem = await self._reference_video_problem(body)
        if problem is not None:
            return _error(400, "bad_request", problem)
        rule = self.next_outcome
        task = FakeTask(
            task_id=str(uuid.uuid4()),
            trace_id=str(uuid.uuid4()),
            request=body,
            created_at=time.time(),
            created_mono=time.monotonic(),
            render_seconds=self.render_seconds,
            outcome=rule(body) if callable(rule) else rule,
            failure=self.failure,
            ignored_references=kling_rules.ignored_references(body),
        )
        self.tasks[task.task_id] = task
        if body.get("callback_url"):
            # Armed on the next loop turn, so a subclass may still adjust the render time.
            asyncio.get_running_loop().call_soon(self._arm_callback, task)
        return web.json_response({"task_id": task.task_id, "trace_id": task.trace_id})

    async def _reference_video_problem(self, body: dict[str, Any]) -> str | None:
        videos = body.get("video_list") or []
        if not videos:
            return None
        url = str(videos[0].get("video_url") or "")
        if not url.startswith("http://127.0.0.1"):
            return None  # tests never reach the internet: only local videos are fetched and checked
        try:
            async with ClientSession() as session, session.get(url) as response:
                if response.status != 200:
                    return "video_url could not be downloaded."
                data = await response.read()
        except ClientError:
            return "video_url could not be downloaded."
        return kling_rules.video_problem(str(body.get("model", "kling-v1")), data)

    # --- callbacks ---------------------------------------------------------------------------------
    def _arm_callback(self, task: FakeTask) -> None:
        if task.render_seconds is None:
            return  # sent by finish() / fail()
        delay = max(0.0, task.created_mono + task.render_seconds - time.monotonic()) + 0.01
        asyncio.get_running_loop().call_later(delay, self._spawn_callback, task)

    def _spawn_callback(self, task: FakeTask) -> None:
        if not self.send_callbacks or task.callback_sent or not task.request.get("callback_url"):
            return
        task.callback_sent = True
        job = asyncio.ensure_future(self._send_callback(task))
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    async def _send_callback(self, task: FakeTask) -> None:
        url = str(task.request["callback_url"])
        body = dict(self._record_of(task).get("response") or {})
        body["task_id"] = task.task_id
        if self._callback_session is None:
            self._callback_session = ClientSession(timeout=ClientTimeout(total=10))
        try:
            async with self._callback_session.post(url, json=body) as answer:
                self.callbacks_sent.append((url, answer.status))
        except (ClientError, TimeoutError):
            self.callbacks_sent.append((url, 0))

    async def _answer_query(self, recorded: RecordedRequest) -> web.Response:
        body: dict[str, Any] = recorded.json
        action = body.get("action", "retrieve")
        if action == "retrieve":
            task = self.tasks.get(str(body.get("id")))
            return web.json_response(self._record_of(task) if task else {})
        if action == "retrieve_batch":
            ids = body.get("ids")
            if ids is None:
                return self._list_tasks(body)
            if not isinstance(ids, list):
                return _error(400, "bad_request", "ids must be a list.")
            items = [self._record_of(self.tasks[i]) for i in ids if isinstance(i, str) and i in self.tasks]
            return web.json_response({"items": items, "count": len(items)})
        return _error(400, "bad_request", "action is invalid.")

    def _list_tasks(self, body: dict[str, Any]) -> web.Response:
        """`retrieve_batch` without ids: this token's tasks, newest first, filtered by `created_at`
        window and paged with `limit` / `offset` (kling-api.md §2 and §9)."""
        low, high = body.get("created_at_min"), body.get("created_at_max")
        limit, offset = body.get("limit", 10), body.get("offset", 0)
        numbers = [v for v in (low, high) if v is not None] + [limit, offset]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            return _error(400, "bad_request", "created_at_min, created_at_max, limit and offset are numbers.")
        matching = sorted(
            (
                task
                for task in self.tasks.values()
                if (low is None or task.created_at >= low) and (high is None or task.created_at <= high)
            ),
            key=lambda task: task.created_at,
            reverse=True,
        )
        page = matching[int(offset) : int(offset) + int(limit)]
        return web.json_response({"items": [self._record_of(t) for t in page], "count": len(matching)})

    def _record_of(self, task: FakeTask) -> dict[str, Any]:
        """The task record as `/kling/tasks` shows it at this moment."""
        elapsed = time.monotonic() - task.created_mono
        if task.finished_at is None and task.render_seconds is not None and elapsed >= task.render_seconds:
            task.finished_at = task.created_at + task.render_seconds
        record: dict[str, Any] = {
            "_id": uuid.uuid5(uuid.NAMESPACE_OID, task.task_id).hex[:24],
            "id": task.task_id,
            "type": "videos",
            "trace_id": task.trace_id,
            "created_at": task.created_at,
            "started_at": task.created_at + 0.06,
            "request": task.request,
        }
        if task.finished_at is None:
            # Like the real service: no `response` until the worker reports, then an unfinished one.
            if task.render_seconds is None or elapsed >= task.render_seconds / 2:
                record["response"] = {"success": True, "task_id": task.task_id, "state": "processing"}
            return record
        record["finished_at"] = task.finished_at
        record["elapsed"] = round(task.finished_at - task.created_at, 3)
        if task.outcome == "succeed":
            record["response"] = {
                "success": True,
                "task_id": task.task_id,
                "trace_id": task.trace_id,
                "video_id": task.video_id,
                "video_url": f"{self.base_url}/files/{task.video_name}",
                "duration": f"{float(task.request.get('duration', 5)) + 0.041:.3f}",
                "state": "succeed",
            }
        else:
            code, message = task.failure
            record["response"] = {
                "success": False,
                "task_id": task.task_id,
                "trace_id": task.trace_id,
                "error": {"code": code, "message": message},
            }
        return record

    async def _file(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        injection = self._take_injection(recorded.path)
        if injection is not None:
            if injection.delay:
                await asyncio.sleep(injection.delay)
            return web.Response(status=injection.status, text=injection.raw or "", headers=injection.headers)
        name = request.match_info["name"]
        task = self.tasks.get(name.removesuffix(".mp4"))
        if task is None or task.outcome != "succeed" or task.finished_at is None:
            return web.Response(status=404, text="not found")
        if self.video_factory is not None:
            return web.Response(body=self.video_factory(task), content_type="video/mp4")
        data = (_MP4_HEADER + b"\x00" * max(0, self.video_bytes))[: self.video_bytes]
        return web.Response(body=data, content_type="video/mp4")

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            decoded = None
        recorded = RecordedRequest(
            request.method, request.path, {k.lower(): v for k, v in request.headers.items()}, decoded, raw
        )
        self.requests.append(recorded)
        return recorded

    def _take_injection(self, path: str) -> Injection | None:
        for injection in self._injections:
            if injection.path == path:
                injection.times -= 1
                if injection.times <= 0:
                    self._injections.remove(injection)
                return injection
        return None

    # --- control API for out-of-process tests -------------------------------------------------
    def _control_routes(self, app: web.Application) -> None:
        """`GET /_control/stats`; `POST /_control/{command}` + JSON body, where command is one of
        outcome, render, inject, finish, fail, balance (`{"exhausted": bool}`) or reset."""

        async def stats(_: web.Request) -> web.Response:
            counts = Counter(f"{r.method} {r.path}" for r in self.requests)
            states = {task_id: self._state_of(task) for task_id, task in self.tasks.items()}
            return web.json_response(
                {"requests": counts, "created_tasks": self.created_tasks, "tasks": states}
            )

        async def control(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else {}
            command = request.match_info["command"]
            if command == "outcome":
                self.next_outcome = body["outcome"]
                if "code" in body or "message" in body:
                    self.failure = (
                        body.get("code", DEFAULT_FAILURE[0]),
                        body.get("message", DEFAULT_FAILURE[1]),
                    )
            elif command == "render":
                self.render_seconds = body.get("seconds")
                if "video_bytes" in body:
                    self.video_bytes = int(body["video_bytes"])
            elif command == "inject":
                self.inject(**body)
            elif command == "finish":
                self.finish(body["task_id"])
            elif command == "fail":
                self.fail(body["task_id"], *[body[k] for k in ("code", "message") if k in body])
            elif command == "balance":
                self.balance_exhausted = bool(body.get("exhausted", True))
            elif command == "reset":
                self.requests.clear()
                self._injections.clear()
            else:
                raise web.HTTPNotFound()
            return web.json_response({"ok": True})

        app.router.add_get("/_control/stats", stats)
        app.router.add_post("/_control/{command}", control)

    def _state_of(self, task: FakeTask) -> str:
        response = self._record_of(task).get("response") or {}
        if "state" in response:
            return str(response["state"])
        return "failed" if response.get("success") is False else "pending"


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"success": False, "error": {"code": code, "message": message}, "trace_id": str(uuid.uuid4())},
        status=status,
    )


async def _serve_forever(args: argparse.Namespace) -> None:
    fake = FakeAceData(
        args.token, render_seconds=args.render_seconds, video_bytes=args.video_bytes, port=args.port
    )
    await fake.start()
    print(fake.base_url, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake AceData Kling API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", required=True)
    parser.add_argument("--render-seconds", type=float, default=0.5)
    parser.add_argument("--video-bytes", type=int, default=4096)
    asyncio.run(_serve_forever(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

"""A fake CDN on 127.0.0.1 serving attachments, and an HTTP client, as pytest fixtures."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.media import MB
from tests import images


# --- downloads ------------------------------------------------------------------------------------
@dataclass
class Cdn:
    """A tiny stand-in for Discord's CDN on 127.0.0.1."""

    base: str
    files: dict[str, tuple[bytes, str]]
    hits: list[str] = field(default_factory=list)
    stream_finished: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
async def cdn() -> AsyncIterator[Cdn]:
    state = Cdn(base="", files={})

    async def serve_file(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        body, content_type = state.files[request.match_info["name"]]
        return web.Response(body=body, content_type=content_type)

    async def serve_status(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        return web.Response(status=int(request.match_info["code"]), text="nope")

    async def serve_endless(request: web.Request) -> web.StreamResponse:
        """50 MB in chunks, with no Content-Length."""
        state.hits.append(request.path)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(50):
            await response.write(b"\0" * MB)
        state.stream_finished = True
        await response.write_eof()
        return response

    async def serve_lying_length(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        response = web.StreamResponse(headers={"Content-Length": str(50 * MB)})
        await response.prepare(request)
        await response.write(b"\0" * 10)
        await state.release.wait()
        return response

    async def serve_slowly(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        await state.release.wait()
        return web.Response(body=b"late")

    async def serve_redirect(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        raise web.HTTPFound("/files/ok.png")

    async def serve_gzip(request: web.Request) -> web.StreamResponse:
        state.hits.append(request.path)
        body = gzip.compress(images.png_bytes(400, 400))
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "image/png"})

    app = web.Application()
    app.router.add_get("/files/{name}", serve_file)
    app.router.add_get("/status/{code}", serve_status)
    app.router.add_get("/endless", serve_endless)
    app.router.add_get("/lying-length", serve_lying_length)
    app.router.add_get("/slow", serve_slowly)
    app.router.add_get("/redirect", serve_redirect)
    app.router.add_get("/gzip", serve_gzip)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.base = str(server.make_url("")).rstrip("/")
    try:
        yield state
    finally:
        state.release.set()
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client

"""AceData's task callbacks, received on a small built-in HTTP endpoint and used only as hints.

With `CALLBACK_PUBLIC_URL` set, every create asks AceData to POST to `<public url>/<job id>/<token>`
when the task ends. The token is an HMAC of the job id under a key derived from the AceData API
token: unguessable without that secret, different for every job, and checkable without storing
anything. A callback with the right token only makes the poller ask about that task at once; its
body is never read, let alone trusted (AceData does not sign callbacks, kling-api.md section 3).
Polling goes on regardless, so a callback that never comes only costs time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable

from aiohttp import web
from pydantic import SecretStr

from bot.storage.base import JobState, Store

log = logging.getLogger(__name__)

_JOB_ID = re.compile(r"[0-9a-f]{32}")
_TOKEN = re.compile(r"[0-9a-f]{32}")
#: AceData's callback body is a small JSON object; anything bigger is refused before it is read.
_MAX_BODY = 64 * 1024


class CallbackTokens:
    """Per-job callback tokens: HMAC-SHA256(job id) under a key derived from the AceData token."""

    def __init__(self, secret: SecretStr) -> None:
        self._key = hmac.new(
            secret.get_secret_value().encode(), b"kling-discord-bot callback key v1", hashlib.sha256
        ).digest()

    def token_for(self, job_id: str) -> str:
        return hmac.new(self._key, job_id.encode(), hashlib.sha256).hexdigest()[:32]

    def is_valid(self, job_id: str, token: str) -> bool:
        return hmac.compare_digest(self.token_for(job_id), token)


class CallbackReceiver:
    """The listener (`CALLBACK_HOST`:`CALLBACK_PORT`) and the URLs handed to AceData."""

    def __init__(
        self,
        *,
        store: Store,
        tokens: CallbackTokens,
        public_url: str,
        on_hint: Callable[[str], None],
        host: str,
        port: int,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.public_url = public_url.rstrip("/")
        self.on_hint = on_hint
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self.hints = 0
        self.refused = 0

    def url_for(self, job_id: str) -> str:
        return f"{self.public_url}/{job_id}/{self.tokens.token_for(job_id)}"

    async def start(self) -> None:
        app = web.Application(client_max_size=_MAX_BODY)
        # Whatever path prefix a reverse proxy keeps, the last two segments are the job and its token.
        app.router.add_post("/{prefix:.*}", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        bound = self._runner.addresses[0][1] if self._runner.addresses else self.port
        log.info("receiving AceData callbacks on %s:%s", self.host, bound)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        parts = request.path.rstrip("/").split("/")
        job_id, token = (parts[-2], parts[-1]) if len(parts) >= 3 else ("", "")
        peer = request.remote or "?"
        if not _JOB_ID.fullmatch(job_id) or not _TOKEN.fullmatch(token):
            return self._refuse(404, "a malformed address", peer)
        job = await self.store.get_job(job_id)
        if job is None:
            return self._refuse(404, f"unknown job {job_id}", peer)
        if not self.tokens.is_valid(job_id, token):
            return self._refuse(403, f"job {job_id} with a wrong token", peer)
        if job.state is JobState.RUNNING:
            self.hints += 1
            log.info("job %s: callback received; asking AceData about its task now", job_id)
            self.on_hint(job_id)
        # Any other state: already seen by a poll (or never started); nothing to do.
        return web.Response(status=204)

    def _refuse(self, status: int, what: str, peer: str) -> web.Response:
        self.refused += 1
        log.warning("refused a task callback for %s from %s", what, peer)
        return web.Response(status=status)

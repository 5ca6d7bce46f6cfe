"""`METRICS_PORT`: a small aiohttp server in the bot's own event loop with `/metrics` (Prometheus
text format) and `/healthz` (200 while the database answers, 503 otherwise; the Docker HEALTHCHECK
and compose healthchecks call it)."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import METRICS, Metrics
from bot.storage.base import Store

log = logging.getLogger(__name__)

#: /healthz answers 503 when the database takes longer than this.
HEALTH_TIMEOUT_SECONDS = 3.0


class MetricsServer:
    def __init__(self, store: Store, *, host: str, port: int, metrics: Metrics = METRICS) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.metrics = metrics
        self.started_at = time.time()
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("metrics and /healthz on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                self.metrics.record_state_totals(await self.store.state_totals())
        except Exception as exc:  # the counters are still worth serving
            log.warning("metrics: could not read job totals (%s)", type(exc).__name__)
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                await self.store.get_limits(0)
        except Exception as exc:
            return web.json_response({"status": "unhealthy", "database": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", "uptime_seconds": round(time.time() - self.started_at, 1)})

"""Prometheus metrics (the official prometheus-client library), served with `/healthz` when
`METRICS_PORT` is set (bot/metrics_server.py).

The counters are fed where the events happen without those places knowing about Prometheus where
avoidable: AceData traffic through an httpx transport wrapper (`MeteredTransport`), Discord's 429
answers through discord.py's own rate-limit log records (`Discord429Counter`), the poll cycle by
the poller. Database-wide gauges (jobs by state, queue depth, credits spent) are read from the
store at each scrape, so every process reports the same, current numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.storage.base import RELEASED_STATES, JobState, StateTotal

#: AceData answers within a few seconds; creates can take longer.
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Every metric of one process, in its own registry (tests build their own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.jobs = Gauge("kling_jobs", "Jobs in the database, by state.", ["state"], registry=r)
        self.queue_depth = Gauge(
            "kling_queue_depth", "Jobs waiting in server queues (state queued).", registry=r
        )
        self.credits_spent = Gauge(
            "kling_credits_spent",
            "Credits of every job that was not released (failed, timed out, unconfirmed or cancelled "
            "jobs give theirs back), over the whole database.",
            registry=r,
        )
        self.acedata_requests = Counter(
            "kling_acedata_requests", "Requests sent to AceData, by endpoint and HTTP status.",
            ["endpoint", "status"], registry=r,
        )  # fmt: skip
        self.acedata_errors = Counter(
            "kling_acedata_errors",
            "AceData requests that failed: an HTTP error status or no answer (kind = status or exception).",
            ["endpoint", "kind"],
            registry=r,
        )
        self.acedata_latency = Histogram(
            "kling_acedata_request_seconds", "Time from sending an AceData request to its answer.",
            ["endpoint"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.discord_rate_limited = Counter(
            "kling_discord_rate_limited", "429 answers from Discord's REST API.", registry=r
        )
        self.poll_cycle = Histogram(
            "kling_poll_cycle_seconds", "Duration of one poll cycle (database read, task queries, updates).",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0), registry=r,
        )  # fmt: skip
        for state in JobState:
            self.jobs.labels(state.value)

    def record_state_totals(self, totals: Iterable[StateTotal]) -> None:
        by_state = {total.state: total for total in totals}
        for state in JobState:
            self.jobs.labels(state.value).set(by_state[state].jobs if state in by_state else 0)
        queued = by_state.get(JobState.QUEUED)
        self.queue_depth.set(queued.jobs if queued else 0)
        self.credits_spent.set(sum(t.credits for t in by_state.values() if t.state not in RELEASED_STATES))


#: The process's metrics: fed by the transport, the log counter and the poller.
METRICS = Metrics()


def _endpoint(path: str) -> str:
    """The label of an AceData path: its API endpoints by name (`/kling/videos`, `/kling/tasks`),
    anything else (a result file the same host serves) as `other`, so that a path carrying a task or
    file id never makes a new series per job."""
    parts = path.split("/")
    return path if len(parts) == 3 and parts[1] == "kling" and parts[2] else "other"


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts and times requests to the given hosts (AceData's); other traffic passes unrecorded."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, hosts: Iterable[str], metrics: Metrics = METRICS
    ) -> None:
        self._inner = inner
        self._hosts = {host.lower() for host in hosts}
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.lower() not in self._hosts:
            return await self._inner.handle_async_request(request)
        endpoint = _endpoint(request.url.path)
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            self._metrics.acedata_errors.labels(endpoint, type(exc).__name__).inc()
            self._metrics.acedata_requests.labels(endpoint, "none").inc()
            raise
        finally:
            self._metrics.acedata_latency.labels(endpoint).observe(time.perf_counter() - started)
        self._metrics.acedata_requests.labels(endpoint, str(response.status_code)).inc()
        if response.status_code >= 400:
            self._metrics.acedata_errors.labels(endpoint, str(response.status_code)).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class Discord429Counter(logging.Handler):
    """discord.py logs a warning for every 429 it receives from Discord (then waits and retries):
    `discord.http` for bot-token routes ("... responded with 429 ..."), `discord.webhook` for
    interaction webhooks ("Webhook ID … is rate limited ..."). Count those records."""

    LOGGERS = ("discord.http", "discord.webhook")

    def __init__(self, metrics: Metrics = METRICS) -> None:
        super().__init__(level=logging.WARNING)
        self._metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        text = str(record.msg)
        if "429" in text or "is rate limited" in text:
            self._metrics.discord_rate_limited.inc()

    @classmethod
    def install(cls, metrics: Metrics = METRICS) -> Discord429Counter:
        handler = cls(metrics)
        for name in cls.LOGGERS:
            logging.getLogger(name).addHandler(handler)
        return handler

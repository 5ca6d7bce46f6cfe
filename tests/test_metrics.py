"""bot/metrics.py: the AceData transport wrapper, the Discord 429 counter and the gauges from the store."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry

from bot.metrics import Discord429Counter, MeteredTransport, Metrics
from bot.storage.base import JobState, StateTotal


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def answering(status: int) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json={}))


async def test_acedata_requests_are_counted_timed_and_errors_classified() -> None:
    metrics = Metrics(CollectorRegistry())
    async with httpx.AsyncClient(transport=MeteredTransport(answering(200), ["api.test"], metrics)) as ok:
        await ok.post("https://api.test/kling/videos", json={})
        await ok.get("https://cdn.other/video.mp4")  # a download: not AceData, not recorded
    async with httpx.AsyncClient(transport=MeteredTransport(answering(503), ["api.test"], metrics)) as bad:
        await bad.post("https://api.test/kling/tasks", json={})

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    broken = MeteredTransport(httpx.MockTransport(refuse), ["api.test"], metrics)
    async with httpx.AsyncClient(transport=broken) as down:
        with pytest.raises(httpx.ConnectError):
            await down.post("https://api.test/kling/tasks", json={})

    assert value(metrics, "kling_acedata_requests_total", endpoint="/kling/videos", status="200") == 1
    assert value(metrics, "kling_acedata_request_seconds_count", endpoint="/kling/videos") == 1
    assert value(metrics, "kling_acedata_errors_total", endpoint="/kling/tasks", kind="503") == 1
    assert value(metrics, "kling_acedata_errors_total", endpoint="/kling/tasks", kind="ConnectError") == 1
    assert value(metrics, "kling_acedata_requests_total", endpoint="/video.mp4", status="200") == 0


async def test_files_the_acedata_host_serves_share_one_label_instead_of_one_series_per_job() -> None:
    metrics = Metrics(CollectorRegistry())
    async with httpx.AsyncClient(transport=MeteredTransport(answering(200), ["api.test"], metrics)) as ok:
        for task in range(3):
            await ok.get(f"https://api.test/files/task-{task}.mp4")
        await ok.post("https://api.test/kling/tasks", json={})
    assert value(metrics, "kling_acedata_requests_total", endpoint="other", status="200") == 3
    assert value(metrics, "kling_acedata_requests_total", endpoint="/files/task-0.mp4", status="200") == 0
    assert value(metrics, "kling_acedata_requests_total", endpoint="/kling/tasks", status="200") == 1
    endpoints = {
        sample.labels["endpoint"]
        for family in metrics.registry.collect()
        for sample in family.samples
        if "endpoint" in sample.labels
    }
    assert endpoints == {"other", "/kling/tasks"}


def test_discord_429_warnings_are_counted_and_other_warnings_are_not() -> None:
    metrics = Metrics(CollectorRegistry())
    handler = Discord429Counter.install(metrics)
    try:
        http, webhook = logging.getLogger("discord.http"), logging.getLogger("discord.webhook.async_")
        http.warning(
            "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds.", "PATCH", "/x", 1
        )
        webhook.warning("Webhook ID %s is rate limited. Retrying in %.2f seconds.", 1, 0.5)
        http.warning("Shard ID %s heartbeat blocked for more than %s seconds.", 0, 10)
    finally:
        for name in Discord429Counter.LOGGERS:
            logging.getLogger(name).removeHandler(handler)
    assert value(metrics, "kling_discord_rate_limited_total") == 2


def test_gauges_follow_the_state_totals_and_released_jobs_are_not_spent() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.record_state_totals(
        [
            StateTotal(JobState.QUEUED, 3, 6.0),
            StateTotal(JobState.DELIVERED, 2, 10.0),
            StateTotal(JobState.FAILED, 1, 100.0),
        ]
    )
    assert value(metrics, "kling_jobs", state="queued") == 3 and value(metrics, "kling_queue_depth") == 3
    assert value(metrics, "kling_jobs", state="running") == 0
    assert value(metrics, "kling_credits_spent") == 16.0
    metrics.record_state_totals([])
    assert value(metrics, "kling_jobs", state="queued") == 0 and value(metrics, "kling_credits_spent") == 0

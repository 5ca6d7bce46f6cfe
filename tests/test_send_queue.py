"""The Discord send queue's ordering, dropping and budget rules, with a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.discord_app.send_queue import Dropped, Lane, Priority, SendQueue, Window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recorder(log: list[str], name: str) -> Callable[[], Awaitable[str]]:
    async def send() -> str:
        log.append(name)
        return name

    return send


def test_a_window_allows_limit_events_per_period_sliding() -> None:
    window = Window(2, 5.0)
    assert window.free_at(0.0) == 0.0
    window.take(0.0)
    window.take(1.0)
    assert window.free_at(1.0) == 5.0  # the oldest leaves the window at 5 s
    assert window.free_at(5.0) == 5.0
    assert window.free_at(1.0, allowed=1) == 6.0  # a smaller share waits for both to leave


async def test_the_order_is_finals_then_logs_then_progress_each_oldest_first() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    lane = Lane.channel(1)
    for i in range(5):  # the channel's budget is used up: everything below waits in line
        await queue.send(f"filler{i}", Priority.FINAL, lane, recorder(log, f"filler{i}"))
    waiting = []
    for name, job, priority in [
        ("progress-a", "a", Priority.PROGRESS),
        ("log", "x", Priority.LOG),
        ("progress-b", "b", Priority.PROGRESS),
        ("final-c", "c", Priority.FINAL),
        ("final-d", "d", Priority.FINAL),
    ]:
        waiting.append(asyncio.ensure_future(queue.send(job, priority, lane, recorder(log, name))))
        await asyncio.sleep(0.01)
    for _ in range(3):  # budget comes back window after window
        clock.now += 6.0
        queue._wake.set()
        await asyncio.sleep(0.02)
    await asyncio.gather(*waiting)
    assert log[5:] == ["final-c", "final-d", "log", "progress-a", "progress-b"]
    await queue.close()


async def test_a_newer_progress_edit_replaces_the_waiting_one_and_keeps_its_place() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    lane = Lane.channel(1)
    # Fill the channel's budget so everything below has to wait in line.
    for i in range(5):
        await queue.send(f"filler{i}", Priority.FINAL, lane, recorder(log, f"filler{i}"))
    first = asyncio.ensure_future(queue.send("a", Priority.PROGRESS, lane, recorder(log, "a-old")))
    other = asyncio.ensure_future(queue.send("b", Priority.PROGRESS, lane, recorder(log, "b")))
    await asyncio.sleep(0.01)
    newer = asyncio.ensure_future(queue.send("a", Priority.PROGRESS, lane, recorder(log, "a-new")))
    await asyncio.sleep(0.01)
    with pytest.raises(Dropped):
        await first
    clock.now += 6.0  # the budget is back
    queue._wake.set()
    await asyncio.sleep(0.02)
    assert await newer == "a-new" and await other == "b"
    assert log[5:] == ["a-new", "b"]  # the newer edit went in the older one's place, before b
    assert queue.dropped == 1
    await queue.close()


async def test_a_final_drops_the_jobs_waiting_and_later_progress_and_overtakes_the_rest() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    lane = Lane.channel(1)
    for i in range(5):
        await queue.send(f"filler{i}", Priority.FINAL, lane, recorder(log, f"filler{i}"))
    waiting = [
        asyncio.ensure_future(queue.send(job, Priority.PROGRESS, lane, recorder(log, f"progress-{job}")))
        for job in ("a", "b", "c")
    ]
    await asyncio.sleep(0.01)
    final = asyncio.ensure_future(queue.send("b", Priority.FINAL, lane, recorder(log, "final-b")))
    await asyncio.sleep(0.01)
    with pytest.raises(Dropped):
        await waiting[1]  # b's progress edit will never be sent
    with pytest.raises(Dropped):
        await queue.send("b", Priority.PROGRESS, lane, recorder(log, "late-progress-b"))
    for _ in range(2):
        clock.now += 6.0
        queue._wake.set()
        await asyncio.sleep(0.02)
    assert await final == "final-b"
    await asyncio.gather(waiting[0], waiting[2])
    assert log[5:] == ["final-b", "progress-a", "progress-c"]  # the result overtook the queued edits
    await queue.close()


async def test_channel_budget_is_respected_and_other_channels_are_not_held_up() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    busy, quiet = Lane.channel(1), Lane.channel(2)
    pending = [
        asyncio.ensure_future(queue.send(f"j{i}", Priority.PROGRESS, busy, recorder(log, f"busy{i}")))
        for i in range(8)
    ]
    await asyncio.sleep(0.05)
    assert log == [f"busy{i}" for i in range(3)]  # progress leaves two of the channel's five free
    assert await queue.send("r", Priority.FINAL, busy, recorder(log, "result")) == "result"  # at once
    assert await queue.send("q", Priority.PROGRESS, quiet, recorder(log, "quiet")) == "quiet"
    for _ in range(3):
        clock.now += 5.0 + queue.margin
        queue._wake.set()
        await asyncio.sleep(0.02)
    await asyncio.gather(*pending)
    assert log[-5:] == ["busy3", "busy4", "busy5", "busy6", "busy7"]
    await queue.close()


async def test_progress_uses_only_its_share_of_the_global_budget_so_results_find_room() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock, global_limit=10, progress_share=0.5)
    log: list[str] = []
    # A restart: one progress edit for each of many jobs, each in its own channel.
    pending = [
        asyncio.ensure_future(
            queue.send(f"j{i}", Priority.PROGRESS, Lane.channel(i), recorder(log, f"progress{i}"))
        )
        for i in range(30)
    ]
    await asyncio.sleep(0.05)
    assert len(log) == 5  # a burst is spread: half the global budget per second for progress
    result = await queue.send("r", Priority.FINAL, Lane.channel(999), recorder(log, "result"))
    assert result == "result"  # room was left for the result
    for _ in range(10):
        clock.now += 1.0 + queue.margin
        queue._wake.set()
        await asyncio.sleep(0.02)
    await asyncio.gather(*pending)
    assert len(log) == 31
    await queue.close()


async def test_a_failing_send_reaches_the_caller_and_the_queue_goes_on() -> None:
    queue = SendQueue(clock=Clock())

    async def broken() -> None:
        raise RuntimeError("discord is on fire")

    with pytest.raises(RuntimeError):
        await queue.send("a", Priority.FINAL, Lane.webhook("a"), broken)
    assert await queue.send("b", Priority.FINAL, Lane.webhook("b"), recorder([], "ok")) == "ok"
    await queue.close()

"""The Discord send queue's ordering, dropping and budget rules, with a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.discord_app.send_queue import Budget, Dropped, Lane, Priority, Route, SendQueue, Window, lane_for


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


async def full_channel() -> tuple[Clock, SendQueue, list[str], Lane]:
    """A queue on a fake clock whose channel 1 budget five results used up (`filler0` … `filler4` in
    the log): what is sent to that lane next waits for the window to pass."""
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    lane = Lane.channel(1)
    for i in range(5):
        await queue.send(f"filler{i}", Priority.FINAL, lane, recorder(log, f"filler{i}"))
    return clock, queue, log, lane


def test_a_window_allows_limit_events_per_period_sliding() -> None:
    window = Window(2, 5.0)
    assert window.free_at(0.0) == 0.0
    window.take(0.0)
    window.take(1.0)
    assert window.free_at(1.0) == 5.0  # the oldest leaves the window at 5 s
    assert window.free_at(5.0) == 5.0
    assert window.free_at(1.0, allowed=1) == 6.0  # a smaller share waits for both to leave


async def test_the_order_is_finals_then_logs_then_progress_each_oldest_first() -> None:
    clock, queue, log, lane = await full_channel()  # everything below waits in line
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
    clock, queue, log, lane = await full_channel()  # everything below has to wait in line
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
    clock, queue, log, lane = await full_channel()
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


# --- lanes per route, alternatives and the results-first rule per channel ------------------------


def test_each_route_and_channel_is_its_own_lane_and_webhook_tokens_are_not_kept() -> None:
    assert lane_for("PATCH", "/api/v10/channels/7/messages/9") == Lane.channel(7)
    assert lane_for("POST", "/api/v10/channels/7/messages") == Lane.create(7)
    assert lane_for("DELETE", "/api/v10/channels/7/messages/9") == Lane.delete(7)
    assert lane_for("PATCH", "/api/v10/webhooks/1/secret-token/messages/@original") == Lane.webhook(
        "secret-token"
    )
    assert lane_for("GET", "/api/v10/channels/7/messages/9") is None
    assert lane_for("POST", "/api/v10/interactions/1/tok/callback") is None
    assert len({Lane.channel(7), Lane.create(7), Lane.delete(7), Lane.channel(8)}) == 4
    assert "secret-token" not in Lane.webhook("secret-token").key


async def test_a_result_takes_whichever_of_its_lanes_has_room_edit_first() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    edit, create = Lane.channel(1), Lane.create(1)
    # Discord said the two routes are separate buckets (as it keys them by route).
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(5, 4, 5.0, bucket="edit"))
    queue.observe("POST", "/api/v10/channels/1/messages", 200, _headers(5, 4, 5.0, bucket="create"))
    for i in range(7):
        await queue.send(
            f"r{i}",
            Priority.FINAL,
            edit,
            recorder(log, f"edit{i}"),
            alternative=(create, recorder(log, f"post{i}")),
        )
    # Five edits fill the edit bucket; the next results are posted from the create bucket at once.
    assert log == [f"edit{i}" for i in range(5)] + ["post5", "post6"]
    await queue.close()


async def test_when_discord_says_two_routes_share_a_bucket_what_each_used_counts_for_both() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    edit, create = Lane.channel(1), Lane.create(1)
    for i in range(4):
        await queue.send(f"e{i}", Priority.FINAL, edit, recorder(log, f"edit{i}"))
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(5, 1, 5.0, bucket="shared"))
    # Documented as separate routes: the first post leaves at once, and its answer names the same
    # bucket, so the four edits and the post now count together.
    await queue.send("p0", Priority.FINAL, create, recorder(log, "post0"))
    queue.observe("POST", "/api/v10/channels/1/messages", 200, _headers(5, 4, 5.0, bucket="shared"))
    later = asyncio.ensure_future(queue.send("p1", Priority.FINAL, create, recorder(log, "post1")))
    await asyncio.sleep(0.05)
    assert log == ["edit0", "edit1", "edit2", "edit3", "post0"]
    clock.now += 5.0 + queue.margin
    queue._wake.set()
    assert await later == "post1"
    await queue.close()


async def test_no_progress_edit_leaves_for_a_channel_while_a_result_for_it_waits() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    busy, other = Lane.channel(1), Lane.channel(2)
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(5, 4, 5.0, bucket="edit"))
    queue.observe("POST", "/api/v10/channels/1/messages", 200, _headers(5, 4, 5.0, bucket="create"))
    for i in range(5):
        await queue.send(f"f{i}", Priority.FINAL, Lane.create(1), recorder(log, f"filler{i}"))
    # The result for channel 1 waits for the create bucket; its edit bucket is empty, yet the
    # progress edits for channel 1 hold back until the result has left. Channel 2 is not held.
    result = asyncio.ensure_future(queue.send("r", Priority.FINAL, Lane.create(1), recorder(log, "result")))
    await asyncio.sleep(0.01)
    progress = asyncio.ensure_future(queue.send("p", Priority.PROGRESS, busy, recorder(log, "progress")))
    elsewhere = asyncio.ensure_future(queue.send("q", Priority.PROGRESS, other, recorder(log, "other")))
    await asyncio.sleep(0.05)
    assert log[5:] == ["other"]
    clock.now += 6.0
    queue._wake.set()
    await asyncio.gather(result, progress, elsewhere)
    assert log[5:] == ["other", "result", "progress"]
    await queue.close()


# --- learning from Discord's headers ----------------------------------------------------------


def _headers(limit: int, remaining: int, reset_after: float, bucket: str = "abc") -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


async def test_limit_and_window_are_learned_from_the_first_answer_of_a_window() -> None:
    queue = SendQueue(clock=Clock())
    assert queue.budget(Route.MESSAGE_EDIT) == Budget(5, 5.0)
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(10, 9, 7.95))
    assert queue.budget(Route.MESSAGE_EDIT) == Budget(10, 8.0)
    # Later answers of the same window say less time is left: the window's length stays.
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(10, 5, 3.0))
    assert queue.budget(Route.MESSAGE_EDIT) == Budget(10, 8.0)
    # A message route not heard from yet takes the strictest of its documented budget and what was
    # heard: the documented 5 requests, over the heard 8 s window. Once heard from, its own budget.
    assert queue.budget(Route.MESSAGE_CREATE) == Budget(5, 8.0)
    queue.observe("POST", "/api/v10/channels/1/messages", 200, _headers(5, 4, 5.0, bucket="create"))
    assert queue.budget(Route.MESSAGE_CREATE) == Budget(5, 5.0)
    assert queue.budget(Route.MESSAGE_EDIT) == Budget(10, 8.0)
    assert queue.budget(Route.WEBHOOK) == Budget(5, 2.0)  # a webhook is not a channel message route
    await queue.close()


async def test_remaining_zero_closes_the_bucket_until_its_reset() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    lane = Lane.channel(1)
    # Another process (same token) used the bucket: the server says it is empty for 3 s more.
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(5, 0, 3.0))
    pending = asyncio.ensure_future(queue.send("a", Priority.FINAL, lane, recorder(log, "a")))
    await asyncio.sleep(0.05)
    assert log == []
    clock.now += 3.0 + queue.margin
    queue._wake.set()
    assert await pending == "a"
    await queue.close()


async def test_routes_answering_with_one_bucket_share_one_budget_per_channel() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    for method, path in (("PATCH", "/channels/1/messages/2"), ("POST", "/channels/1/messages")):
        queue.observe(method, "/api/v10" + path, 200, _headers(5, 4, 5.0, bucket="channel-messages"))
    edit, create = Lane.channel(1), Lane.create(1)
    pending = [
        asyncio.ensure_future(
            queue.send(
                f"r{i}",
                Priority.FINAL,
                edit,
                recorder(log, f"edit{i}"),
                alternative=(create, recorder(log, f"post{i}")),
            )
        )
        for i in range(8)
    ]
    await asyncio.sleep(0.05)
    assert len(log) == 5  # one bucket: five in the window, whichever way they leave
    clock.now += 5.0 + queue.margin
    queue._wake.set()
    await asyncio.gather(*pending)
    assert len(log) == 8
    await queue.close()


async def test_a_429_closes_its_bucket_and_a_global_one_closes_every_bot_token_route() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 429, {"Retry-After": "2", "Via": "1.1 google"})
    assert queue.rate_limited == 1
    held = asyncio.ensure_future(queue.send("a", Priority.FINAL, Lane.channel(1), recorder(log, "held")))
    free = asyncio.ensure_future(queue.send("b", Priority.FINAL, Lane.channel(2), recorder(log, "free")))
    await asyncio.sleep(0.05)
    assert log == ["free"]
    queue.observe(
        "POST", "/api/v10/channels/3/messages", 429, {"Retry-After": "4", "X-RateLimit-Global": "true"}
    )
    blocked = asyncio.ensure_future(queue.send("c", Priority.FINAL, Lane.create(3), recorder(log, "global")))
    webhook = asyncio.ensure_future(
        queue.send("d", Priority.FINAL, Lane.webhook("t"), recorder(log, "webhook"))
    )
    await asyncio.sleep(0.05)
    assert log == ["free", "webhook"]  # interaction webhooks are not under the bot token's global limit
    clock.now += 4.0 + queue.margin
    queue._wake.set()
    await asyncio.gather(held, free, blocked, webhook)
    assert sorted(log[2:]) == ["global", "held"]
    await queue.close()


async def test_a_global_429_pauses_every_bot_token_lane_for_retry_after_not_the_route_reset() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    # Discord's global 429: the route's own bucket headers may ride along (here it resets in 0.5 s),
    # but the whole token waits Retry-After.
    queue.observe(
        "PATCH",
        "/api/v10/channels/1/messages/2",
        429,
        {
            "Retry-After": "3",
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
            "X-RateLimit-Reset-After": "0.5",
        },
    )
    waiting = [
        asyncio.ensure_future(queue.send("a", Priority.FINAL, Lane.channel(1), recorder(log, "edit"))),
        asyncio.ensure_future(queue.send("b", Priority.FINAL, Lane.create(2), recorder(log, "create"))),
        asyncio.ensure_future(queue.send("c", Priority.TIDY, Lane.delete(3), recorder(log, "delete"))),
    ]
    clock.now += 0.5 + queue.margin
    queue._wake.set()
    await asyncio.sleep(0.05)
    assert log == []  # the route reset is no reason to send: the global pause is 3 s
    clock.now += 2.5
    queue._wake.set()
    await asyncio.gather(*waiting)
    assert sorted(log) == ["create", "delete", "edit"]
    await queue.close()


async def test_windows_that_count_nothing_are_forgotten_so_one_per_job_does_not_pile_up() -> None:
    clock = Clock()
    queue = SendQueue(clock=clock)
    log: list[str] = []
    # A job's interaction webhook each: a window per token, as every job of a long-lived bot has.
    for job in range(30):
        await queue.send(f"job-{job}", Priority.FINAL, Lane.webhook(f"token-{job}"), recorder(log, "sent"))
    assert len(log) == 30 and queue.windows() == 30
    # A closed bucket (a 429) is remembered until it opens, whatever else is forgotten.
    clock.now += 40.0
    queue.observe("PATCH", "/api/v10/channels/7/messages/1", 429, {"Retry-After": "30"})
    clock.now += 21.0  # a minute since the queue began: the next request prunes
    await queue.send("later", Priority.FINAL, Lane.webhook("token-later"), recorder(log, "later"))
    assert log[-1] == "later"
    assert queue.windows() == 2  # the 429'd channel, and the one just used
    blocked = asyncio.ensure_future(queue.send("c", Priority.FINAL, Lane.channel(7), recorder(log, "closed")))
    await asyncio.sleep(0.05)
    assert log[-1] == "later"  # the channel's bucket is still closed
    clock.now += 10.0
    queue._wake.set()
    await blocked
    await queue.close()


async def test_odd_headers_teach_nothing() -> None:
    queue = SendQueue(clock=Clock())
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, {"X-RateLimit-Limit": "nan"})
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, {"X-RateLimit-Limit": "0"})
    queue.observe("GET", "/api/v10/users/@me", 200, _headers(1, 0, 100.0))
    assert queue.budget(Route.MESSAGE_EDIT) == Budget(5, 5.0)
    queue.observe("PATCH", "/api/v10/channels/1/messages/2", 200, _headers(10_000, 9_999, 10_000.0))
    assert queue.budget(Route.MESSAGE_EDIT) == Budget(50, 60.0)  # clamped
    await queue.close()

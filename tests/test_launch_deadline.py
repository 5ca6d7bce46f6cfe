"""The acknowledgement guard in launch: a slow read before the first answer defers the interaction in
time, a quick one leaves the first answer free (so a refusal can still be private)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import discord

from bot.discord_app.launch import before_the_deadline


class _Response:
    def __init__(self) -> None:
        self.deferred: list[dict[str, Any]] = []

    def is_done(self) -> bool:
        return bool(self.deferred)

    async def defer(self, **options: Any) -> None:
        self.deferred.append({**options, "at": asyncio.get_running_loop().time()})


class _Interaction:
    def __init__(self) -> None:
        self.response = _Response()


async def _value_after(seconds: float, value: str) -> str:
    await asyncio.sleep(seconds)
    return value


async def test_a_slow_read_defers_publicly_before_the_guard_ends_and_still_returns_its_value() -> None:
    interaction = _Interaction()
    started = asyncio.get_running_loop().time()
    value = await before_the_deadline(
        cast(discord.Interaction[Any], interaction), _value_after(0.3, "prefs"), guard=0.05
    )
    assert value == "prefs"
    [deferral] = interaction.response.deferred
    assert deferral["thinking"] is True
    assert deferral["at"] - started < 0.3  # deferred while the read was still running


async def test_a_quick_read_leaves_the_first_answer_free() -> None:
    interaction = _Interaction()
    value = await before_the_deadline(
        cast(discord.Interaction[Any], interaction), _value_after(0.0, "prefs"), guard=0.5
    )
    assert value == "prefs" and interaction.response.deferred == []


async def test_an_interaction_already_answered_is_not_deferred_twice() -> None:
    interaction = _Interaction()
    interaction.response.deferred.append({"thinking": True})
    await before_the_deadline(cast(discord.Interaction[Any], interaction), _value_after(0.1, "x"), guard=0.01)
    assert len(interaction.response.deferred) == 1

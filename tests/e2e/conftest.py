"""Fixtures for the end-to-end tests: the fake Discord, the fake AceData and the bot subprocess."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.harness import AceDataServer, BotHarness, maybe_await


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def fake_acedata() -> AsyncIterator[AceDataServer]:
    try:
        from tests.fakes.acedata import FakeAceData  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        pytest.skip("tests/fakes/acedata.py (FakeAceData) is not there yet")
    server = FakeAceData()
    await maybe_await(server.start())
    try:
        yield server
    finally:
        await maybe_await(server.stop())


@pytest.fixture
async def bot_harness(
    tmp_path: Path, fake_discord: FakeDiscord, fake_acedata: AceDataServer
) -> AsyncIterator[BotHarness]:
    """The bot, not yet started: ``await bot_harness.start()``. Stopped (SIGTERM, then SIGKILL) afterwards."""
    harness = BotHarness(tmp_path, discord=fake_discord, acedata=fake_acedata)
    try:
        yield harness
    finally:
        await harness.stop()

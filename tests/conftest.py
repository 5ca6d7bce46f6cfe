"""Fixtures shared by the whole test suite. Keep this small: put helpers in their own modules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.acedata import FakeAceData


@pytest.fixture
async def fake_acedata() -> AsyncIterator[FakeAceData]:
    """A started fake AceData on 127.0.0.1 (ephemeral port), stopped after the test."""
    async with FakeAceData(render_seconds=0.2) as fake:
        yield fake

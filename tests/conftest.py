"""Fixtures shared by the whole test suite. Keep this small: put helpers in their own modules."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fakes.acedata import FakeAceData
from tests.postgres_cluster import SKIP_REASON, PostgresCluster, find_server_bin
from tests.storage_backends import Backend, PostgresBackend, SqliteBackend


@pytest.fixture
async def fake_acedata() -> AsyncIterator[FakeAceData]:
    """A started fake AceData on 127.0.0.1 (ephemeral port), stopped after the test."""
    async with FakeAceData(render_seconds=0.2) as fake:
        yield fake


# --- storage backends ----------------------------------------------------------------------------
# Every test that takes `backend` (or `store` in tests/test_storage.py) runs once on SQLite and once
# on PostgreSQL. The PostgreSQL cluster starts once per session, only when such a test runs.


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_server_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but " + SKIP_REASON, pytrace=False)
        pytest.skip(SKIP_REASON)
    cluster = PostgresCluster.start(bin_dir)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    with postgres_cluster.fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    chosen: Backend
    if request.param == "sqlite":
        chosen = SqliteBackend(tmp_path / "bot.sqlite3")
    else:
        chosen = PostgresBackend(request.getfixturevalue("postgres_url"))
    try:
        yield chosen
    finally:
        await chosen.close_all()

"""The storage backends every contract test runs against: SQLite on a temporary file, PostgreSQL on a
fresh database of the throw-away cluster (tests/postgres_cluster.py).

A `Backend` opens any number of stores on ONE database (as several bot processes would) and answers
raw questions about it (row counts) without going through the store under test."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from bot.storage import SqliteStore, Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import Migration

Clock = Callable[[], float]


class Backend:
    kind: str

    def __init__(self) -> None:
        self._opened: list[Store] = []

    async def _open(self, clock: Clock, migrations: Sequence[Migration] | None) -> Store:
        raise NotImplementedError

    async def open(self, *, clock: Clock = time.time, migrations: Sequence[Migration] | None = None) -> Store:
        """Another store on the same database (closed at the end of the test if still open)."""
        store = await self._open(clock, migrations)
        self._opened.append(store)
        return store

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One raw statement on the database, outside any store (`?` placeholders)."""
        raise NotImplementedError

    def count_rows(self, table: str = "jobs") -> int:
        return int(self.execute(f"SELECT COUNT(*) FROM {table}")[0][0])

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()


class SqliteBackend(Backend):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    async def _open(self, clock: Clock, migrations: Sequence[Migration] | None) -> Store:
        return await SqliteStore.open(self.path, clock=clock, migrations=migrations)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as db:
            return [tuple(row) for row in db.execute(sql, tuple(params)).fetchall()]


class PostgresBackend(Backend):
    kind = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    async def _open(self, clock: Clock, migrations: Sequence[Migration] | None) -> Store:
        return await PostgresStore.open(self.url, clock=clock, migrations=migrations)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), tuple(params))  # type: ignore[arg-type]
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

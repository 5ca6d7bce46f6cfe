"""Another process writing to a SQLite file, for the tests of what the bot does while it waits."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's view: a raw connection inside BEGIN IMMEDIATE, holding the database write
    lock (a RESERVED lock in rollback mode) until the block ends or the test rolls back itself."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield other
        finally:
            with contextlib.suppress(sqlite3.OperationalError):  # released early by the test
                other.execute("ROLLBACK")

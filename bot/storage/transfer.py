"""`python -m bot migrate --to postgresql://…`: copy a SQLite database into PostgreSQL.

Both sides are first brought to the newest schema by their own migrations, so they have the same
tables and columns. Then, in ONE PostgreSQL transaction, every table is copied row for row (jobs in
flight included, states and task ids untouched, in insertion order so ties sort the same) and the
row counts are compared; any difference rolls the whole copy back. The SQLite side is read in one
read transaction, so it is a consistent snapshot; stop the bot first so nothing changes after it.

Generated columns (model, mode, duration; PostgreSQL's `seq`) are recomputed by PostgreSQL, not copied.
The target must not hold any job yet: copying twice would duplicate nothing, but would silently mix
two histories, so it is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bot.storage.postgres import PostgresStore, redact_url
from bot.storage.sqlite import DERIVED_TABLES, SqliteStore, StorageUnavailable

#: Copied first so foreign keys find their parents; other tables follow in name order.
_FIRST_TABLES = ("jobs",)
#: SQLite's usage ledger, /usage rollups and job counts (migrations 003 and 008) are derived from the
#: jobs by triggers. PostgreSQL's own triggers (its migration 008) fill its rollups and counts as the
#: jobs are copied, and it computes the ledger's figures from the job rows, so none are copied.
_BOOKKEEPING_TABLES = {"schema_version", *DERIVED_TABLES}


class TransferError(Exception):
    """The copy was refused or did not verify; nothing was written to the target."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    rows: int


def _sqlite_tables(db: sqlite3.Connection) -> list[str]:
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return [*(t for t in _FIRST_TABLES if t in names), *sorted(t for t in names if t not in _FIRST_TABLES)]


def _sqlite_columns(db: sqlite3.Connection, table: str) -> list[str]:
    # table_xinfo's `hidden` is 2 or 3 for generated columns, 0 for stored ones.
    return [row[1] for row in db.execute(f'PRAGMA table_xinfo("{table}")') if row[6] == 0]


def _postgres_columns(db: psycopg.Connection[tuple[object, ...]], table: str) -> set[str]:
    rows = db.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s
              AND is_generated = 'NEVER' AND COALESCE(identity_generation, '') <> 'ALWAYS'""",
        (table,),
    ).fetchall()
    return {str(row[0]) for row in rows}


@contextlib.contextmanager
def _snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("BEGIN")  # one read transaction: every table from the same snapshot
        yield db
        db.execute("COMMIT")
    finally:
        db.close()


def copy_sqlite_to_postgres(source: Path, target_url: str) -> list[TableCopy]:
    """Copy every table of the (already migrated) SQLite file into the (already migrated, empty)
    PostgreSQL database; returns the verified row count of each table."""
    copied: list[TableCopy] = []
    with _snapshot(source) as lite, psycopg.connect(target_url) as pg:
        tables = [t for t in _sqlite_tables(lite) if t not in _BOOKKEEPING_TABLES]
        (existing,) = pg.execute("SELECT COUNT(*) FROM jobs").fetchone() or (0,)
        if existing:
            raise TransferError(
                f"{redact_url(target_url)} already holds {existing} jobs; migrate into an empty database."
            )
        pg.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in tables:
            wanted = _postgres_columns(pg, table)
            if not wanted:
                raise TransferError(f"PostgreSQL has no table {table!r}; is its migration missing?")
            columns = [column for column in _sqlite_columns(lite, table) if column in wanted]
            missing = set(_sqlite_columns(lite, table)) - wanted
            if missing:
                raise TransferError(f"PostgreSQL's {table} lacks the columns {sorted(missing)}.")
            quoted = ", ".join(f'"{column}"' for column in columns)
            with pg.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in lite.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid'):
                    copy.write_row(row)
            (expected,) = lite.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
            (landed,) = pg.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone() or (0,)
            if int(landed) != int(expected):
                raise TransferError(f"{table}: {expected} rows in SQLite but {landed} in PostgreSQL")
            copied.append(TableCopy(table, int(landed)))
        pg.commit()  # only when every table verified; leaving the block otherwise rolls back
    return copied


async def migrate_to_postgres(source: Path, target_url: str) -> list[TableCopy]:
    """Bring both databases to the newest schema, then copy and verify (see the module doc)."""
    if not await asyncio.to_thread(source.is_file):
        raise TransferError(f"There is no SQLite database at {source}; set DATABASE_PATH or pass --from.")
    for opened in (await SqliteStore.open(source), await PostgresStore.open(target_url)):
        await opened.close()
    try:
        return await asyncio.to_thread(copy_sqlite_to_postgres, source, target_url)
    except (psycopg.Error, sqlite3.Error) as exc:
        raise TransferError(f"The copy failed and was rolled back: {exc}") from exc


__all__ = [
    "StorageUnavailable",
    "TableCopy",
    "TransferError",
    "copy_sqlite_to_postgres",
    "migrate_to_postgres",
]

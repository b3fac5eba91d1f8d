"""The one SQLite connection: opening, transactions, compaction, and the small `meta` table.

One long-lived aiosqlite connection in autocommit mode; every write is an explicit
`BEGIN IMMEDIATE` transaction, and an asyncio lock keeps one coroutine's transaction from
interleaving with another's on the shared connection. The file is created 0600 with
`secure_delete` on; `compact()` rebuilds it (VACUUM) and truncates the write-ahead log, retrying
the truncation for a while when a reader (a backup, `waypoint report`) holds it open.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.errors import StoreClosedError
from bot.store.migrations import migrate

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA secure_delete=ON",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
)
CHECKPOINT_ATTEMPTS = 8  # TRUNCATE checkpoints tried while a reader holds the WAL...
CHECKPOINT_FIRST_PAUSE_S = 0.05  # ...pausing this long after the first, doubling...
CHECKPOINT_MAX_PAUSE_S = 1.0  # ...up to this (about 4 s in all), the store free meanwhile

Row = tuple[Any, ...]


def prepare_file(path: Path) -> None:
    """Create the database privately, set its pragmas and bring the schema up to date."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    else:
        try:
            os.chmod(path, 0o600)
        except OSError as exc:
            logger.warning("could not make %s private: %s", path, exc)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            db.execute(pragma)
        applied = migrate(db)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
    finally:
        db.close()


async def fetch(db: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    """Every row of one query, as tuples."""
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def get_meta(db: aiosqlite.Connection, name: str) -> str | None:
    """The value stored under `name` in `meta`, or None."""
    rows = await fetch(db, "SELECT value FROM meta WHERE name = ?", (name,))
    return str(rows[0][0]) if rows else None


async def set_meta(db: aiosqlite.Connection, name: str, value: str) -> None:
    """Store `value` under `name` in `meta`, replacing any; run inside a write."""
    await db.execute(
        "INSERT INTO meta (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


class Database:
    """The shared connection with its lock; `read()` and `write()` hand it out."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn: aiosqlite.Connection | None = conn
        self.path = path
        self._lock = asyncio.Lock()
        self.wal_dirty = False  # a truncation failed: retry at the next compaction

    @classmethod
    async def open(cls, path: Path) -> Database:
        """Prepare (create, migrate) the file at `path` and open the connection."""
        path = Path(path)
        await asyncio.to_thread(prepare_file, path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            for pragma in PRAGMAS:
                await conn.execute(pragma)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    @property
    def closed(self) -> bool:
        """True once `close()` has run."""
        return self._conn is None

    async def close(self) -> None:
        """Close the connection; later use raises StoreClosedError."""
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await conn.close()

    def _live(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreClosedError("the store is closed")
        return self._conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, for reads (and statements that manage their own transaction)."""
        async with self._lock:
            yield self._live()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection inside one `BEGIN IMMEDIATE` transaction, rolled back on error."""
        async with self._lock:
            conn = self._live()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def compact(self) -> bool:
        """Rebuild the file and truncate the WAL, so deleted rows leave no trace; True if done.

        `secure_delete` zeroes deleted cells, but a page rebalanced by SQLite can keep stale
        bytes in its unallocated middle; VACUUM writes every page anew. The WAL, which holds
        old page images, is then copied back and truncated to zero bytes (`checkpoint`).
        """
        async with self.read() as conn:
            await conn.execute("VACUUM")
        return await self.checkpoint()

    async def checkpoint(self) -> bool:
        """Truncate the WAL; while a reader holds it, retry a bounded number of times.

        Each attempt fails at once instead of waiting on the busy timeout, and the store is
        free for other work between attempts. False (logged) if the reader never let go: the
        next compaction tries again.
        """
        pause = CHECKPOINT_FIRST_PAUSE_S
        for attempt in range(CHECKPOINT_ATTEMPTS):
            async with self.read() as conn:
                await conn.execute("PRAGMA busy_timeout=0")
                try:
                    rows = await fetch(conn, "PRAGMA wal_checkpoint(TRUNCATE)")
                finally:
                    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if rows and not rows[0][0]:
                self.wal_dirty = False
                return True
            if attempt + 1 < CHECKPOINT_ATTEMPTS:
                await asyncio.sleep(pause)
                pause = min(pause * 2, CHECKPOINT_MAX_PAUSE_S)
        self.wal_dirty = True
        logger.warning(
            "the WAL could not be truncated: a reader kept it open through %d attempts; "
            "the next compaction tries again",
            CHECKPOINT_ATTEMPTS,
        )
        return False

"""Scheduled deletions (auto-delete, and what /forget removes from the chat).

Each row holds only when it is due; the chat id, the message id and the owner's pseudonym are
sealed together, so nothing readable ties two deletions to one person, and /forget finds a
person's rows by unsealing. Bots cannot delete private messages older than 48 hours, so a row
overdue by more than that is dropped at the next purge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.store.crypto import DELETION_PURPOSE, InvalidTag, Sealer
from bot.store.db import Database, Row, fetch

logger = logging.getLogger(__name__)

DELETION_GRACE_S = 2 * 86_400.0  # bots cannot delete private messages older than 48 hours
_UNREADABLE = (InvalidTag, ValueError, TypeError, KeyError)


@dataclass(frozen=True)
class Deletion:
    """A bot or user message to delete from a chat (auto-delete or /forget)."""

    row_id: int
    chat_id: int
    message_id: int


class ScheduledDeletions:
    """The sealed table of messages to delete."""

    def __init__(self, database: Database, sealer: Sealer, clock: Callable[[], float]) -> None:
        self._database = database
        self._sealer = sealer
        self._clock = clock

    async def schedule(self, owner: str, chat_id: int, message_id: int, due: float) -> None:
        """Remember to delete a message at `due` (epoch seconds); `owner` is a pseudonym."""
        value = {"c": chat_id, "m": message_id, "o": owner}
        sealed = self._sealer.seal(value, purpose=DELETION_PURPOSE)
        async with self._database.write() as db:
            await db.execute("INSERT INTO deletions (due, sealed) VALUES (?, ?)", (due, sealed))

    async def due(self, now: float | None = None) -> list[Deletion]:
        """The deletions due by `now`, earliest first."""
        when = self._clock() if now is None else now
        async with self._database.read() as db:
            rows = await fetch(
                db, "SELECT id, sealed FROM deletions WHERE due <= ? ORDER BY due, id", (when,)
            )
        return [d for d, _ in await self._open(rows)]

    async def pending_for(self, owner: str) -> list[Deletion]:
        """Every scheduled deletion of `owner`, due or not, earliest first."""
        async with self._database.read() as db:
            rows = await fetch(db, "SELECT id, sealed FROM deletions ORDER BY due, id")
        return [d for d, o in await self._open(rows) if o == owner]

    async def done(self, row_id: int) -> None:
        """Forget a deletion once it was carried out (or can no longer be)."""
        async with self._database.write() as db:
            await db.execute("DELETE FROM deletions WHERE id = ?", (row_id,))

    async def forget(self, db: aiosqlite.Connection, owner: str) -> None:
        """Delete the rows of `owner` (inside /forget's transaction)."""
        rows = await fetch(db, "SELECT id, sealed FROM deletions")
        mine = [(d.row_id,) for d, o in self._unseal(rows)[0] if o == owner]
        await db.executemany("DELETE FROM deletions WHERE id = ?", mine)

    async def purge(self, db: aiosqlite.Connection) -> int:
        """Delete rows overdue by more than 48 hours; return how many."""
        cursor = await db.execute(
            "DELETE FROM deletions WHERE due < ?", (self._clock() - DELETION_GRACE_S,)
        )
        return max(cursor.rowcount, 0)

    async def _open(self, rows: Sequence[Row]) -> list[tuple[Deletion, str]]:
        found, unreadable = self._unseal(rows)
        if unreadable:
            logger.warning("dropping %d deletions that cannot be unsealed", len(unreadable))
            async with self._database.write() as db:
                await db.executemany("DELETE FROM deletions WHERE id = ?", unreadable)
        return found

    def _unseal(self, rows: Sequence[Row]) -> tuple[list[tuple[Deletion, str]], list[tuple[int]]]:
        found: list[tuple[Deletion, str]] = []
        unreadable: list[tuple[int]] = []
        for row_id, sealed in rows:
            try:
                value = self._sealer.unseal(sealed, purpose=DELETION_PURPOSE)
                deletion = Deletion(row_id=row_id, chat_id=value["c"], message_id=value["m"])
            except _UNREADABLE:
                unreadable.append((row_id,))
                continue
            found.append((deletion, str(value.get("o"))))
        return found, unreadable

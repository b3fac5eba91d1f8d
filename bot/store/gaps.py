"""Kept unanswered questions (WAYPOINT_KEEP_UNANSWERED): scrubbed, sealed, 30 days.

Only what staff need to improve the sources is kept: the scrubbed text (bot.store.scrub), its
language and topics, and when it was asked. All of it is sealed (AES-GCM) together with the
author's pseudonym, which /forget needs to find it; the only readable column is the hour it
was kept, used for the 30-day retention. Nothing is kept while the setting is off, and texts
kept before the operator turned it off go at the next purge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.store.crypto import GAP_PURPOSE, InvalidTag, Sealer
from bot.store.db import Database, fetch
from bot.store.scrub import scrub

logger = logging.getLogger(__name__)

GAP_RETENTION_S = 30 * 86_400.0
_UNREADABLE = (InvalidTag, ValueError, TypeError, KeyError)


@dataclass(frozen=True)
class Gap:
    """An unanswered question, scrubbed, kept only when the operator opted in."""

    text: str
    language: str
    at: float
    topics: tuple[str, ...] = ()


class KeptTexts:
    """The sealed table of kept unanswered questions."""

    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        clock: Callable[[], float],
        *,
        enabled: bool,
    ) -> None:
        self._database = database
        self._sealer = sealer
        self._clock = clock
        self.enabled = enabled

    async def keep(
        self,
        text: str,
        language: str,
        owner: str | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        """Keep a scrubbed question, if the operator opted in; `owner` is a pseudonym."""
        if not self.enabled:
            return
        cleaned = scrub(text)
        if not cleaned:
            return
        now = self._clock()
        value = {"t": cleaned, "l": language, "at": now, "o": owner, "k": list(topics)}
        sealed = self._sealer.seal(value, purpose=GAP_PURPOSE)
        async with self._database.write() as db:
            await db.execute(
                "INSERT INTO gaps (hour, sealed) VALUES (?, ?)", (now - now % 3600, sealed)
            )

    async def recent(self, limit: int = 20, since: float | None = None) -> list[Gap]:
        """The newest kept questions (of the last 30 days, or since `since`)."""
        cutoff = max(since or 0.0, self._clock() - GAP_RETENTION_S)
        async with self._database.read() as db:
            rows = await fetch(
                db, "SELECT id, sealed FROM gaps WHERE hour >= ?", (cutoff - cutoff % 3600,)
            )
        found = [
            (row_id, value)
            for row_id, value in self._open(rows)
            if float(value["at"]) >= cutoff
        ]
        found.sort(key=lambda item: (item[1]["at"], item[0]), reverse=True)
        return [
            Gap(
                text=str(v["t"]),
                language=str(v["l"]),
                at=float(v["at"]),
                topics=tuple(str(k) for k in v.get("k", [])),
            )
            for _, v in found[:limit]
        ]

    async def forget(self, db: aiosqlite.Connection, owner: str) -> int:
        """Delete the texts of `owner` (inside /forget's transaction); return how many."""
        rows = await fetch(db, "SELECT id, sealed FROM gaps")
        mine = [(row_id,) for row_id, value in self._open(rows) if value.get("o") == owner]
        await db.executemany("DELETE FROM gaps WHERE id = ?", mine)
        return len(mine)

    async def purge(self, db: aiosqlite.Connection) -> int:
        """Delete texts older than 30 days (all of them when keeping is off)."""
        if not self.enabled:
            cursor = await db.execute("DELETE FROM gaps")
        else:
            cursor = await db.execute(
                "DELETE FROM gaps WHERE hour < ?", (self._clock() - GAP_RETENTION_S,)
            )
        return max(cursor.rowcount, 0)

    def _open(self, rows: Sequence[tuple[int, bytes]]) -> list[tuple[int, dict[str, Any]]]:
        opened: list[tuple[int, dict[str, Any]]] = []
        for row_id, sealed in rows:
            try:
                value = self._sealer.unseal(sealed, purpose=GAP_PURPOSE)
            except _UNREADABLE:
                logger.warning("a kept text could not be unsealed; skipped")
                continue
            if isinstance(value, dict):
                opened.append((row_id, value))
        return opened

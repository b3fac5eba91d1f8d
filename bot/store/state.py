"""The state store: a person's settings and scheduled deletions, /forget, retention, health,
and the parts that live beside them (`usage`, `inbox`, `kept`).

Keyed by person, and only for what must be found again: the `users` row (language, auto-delete
delay) under the pseudonym HMAC-SHA256(secret, user id). Everything else that belongs to one
person (a scheduled deletion, a pending update, a kept text) is sealed with the pseudonym
inside, so /forget finds it by unsealing, and no readable column links two of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.ratelimit import SlidingWindow
from bot.store.crypto import Sealer, pseudonym
from bot.store.db import Database, fetch
from bot.store.deletions import Deletion, ScheduledDeletions
from bot.store.errors import StoreClosedError
from bot.store.gaps import Gap, KeptTexts
from bot.store.inbox import Inbox
from bot.store.migrations import utc_day
from bot.store.secret import OperatorKey
from bot.store.stats import DAY_S, Stats, Usage
from bot.store.upgrade import bind_key

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0


class Store:
    """Waypoint's state in one SQLite file (see the package docstring for what must succeed)."""

    def __init__(
        self,
        database: Database,
        *,
        secret: bytes,
        keep_unanswered: bool,
        retention_days: int,
        clock: Callable[[], float],
    ) -> None:
        self.database = database
        self._secret = secret
        self._sealer = Sealer(secret)
        self._retention_s = retention_days * DAY_S
        self._clock = clock
        self._log_key = (os.urandom(32), "")  # in memory only, a new one each day
        self.usage = Usage(database, self._sealer, clock)
        self.kept = KeptTexts(database, self._sealer, clock, enabled=keep_unanswered)
        self.inbox = Inbox(database, self._sealer, self.pseudonym, clock)
        self.deletions = ScheduledDeletions(database, self._sealer, clock)
        self._windows: dict[tuple[int, float], SlidingWindow] = {}

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        secret: bytes | OperatorKey,
        keep_unanswered: bool = False,
        retention_days: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Open (creating and migrating as needed) the database at `path`.

        Raises KeyMismatchError if the database was written with another key.
        """
        if retention_days <= 0:
            raise ValueError("retention_days must be positive")
        if isinstance(secret, OperatorKey):
            key = secret
        else:
            key = getattr(secret, "operator_key", None) or OperatorKey.of(secret)
        database = await Database.open(Path(path))
        try:
            chosen = await bind_key(database, key)
        except BaseException:
            await database.close()
            raise
        return cls(
            database,
            secret=chosen,
            keep_unanswered=keep_unanswered,
            retention_days=retention_days,
            clock=clock,
        )

    async def close(self) -> None:
        """Close the connection; later calls raise StoreClosedError."""
        await self.database.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def pseudonym(self, user_id: int) -> str:
        """Return the user's key at rest: hex HMAC-SHA256(secret, str(user_id))."""
        return pseudonym(self._secret, user_id)

    def log_tag(self, user_id: int) -> str:
        """A short tag for log lines: stable for a day, from a key that never leaves memory."""
        day = utc_day(self._clock())
        if self._log_key[1] != day:
            self._log_key = (os.urandom(32), day)
        mac = hmac.new(self._log_key[0], str(user_id).encode("ascii"), hashlib.sha256)
        return mac.hexdigest()[:12]

    # -- preferences -------------------------------------------------------------------------

    async def get_language(self, user_id: int) -> str | None:
        """Return the user's chosen interface language, if any."""
        return await self._user_value("language", user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember the user's interface language."""
        await self._set_user_value("language", user_id, language)

    async def get_autodelete(self, user_id: int) -> int | None:
        """Return the user's auto-delete delay in seconds, or None when it is off."""
        value = await self._user_value("autodelete_s", user_id)
        return None if value is None else int(value)

    async def set_autodelete(self, user_id: int, seconds: int | None) -> None:
        """Set the user's auto-delete delay (None turns it off)."""
        if seconds is not None and seconds <= 0:
            raise ValueError("auto-delete delay must be positive or None")
        await self._set_user_value("autodelete_s", user_id, seconds)

    async def _user_value(self, column: str, user_id: int) -> Any:
        async with self.database.read() as db:
            rows = await fetch(
                db, f"SELECT {column} FROM users WHERE pseudonym = ?", (self.pseudonym(user_id),)
            )
        return rows[0][0] if rows else None

    async def _set_user_value(self, column: str, user_id: int, value: object) -> None:
        now = self._clock()
        async with self.database.write() as db:
            await db.execute(
                f"INSERT INTO users (pseudonym, {column}, created_at) VALUES (?, ?, ?)"
                f" ON CONFLICT (pseudonym) DO UPDATE SET {column} = excluded.{column}",
                (self.pseudonym(user_id), value, now - now % DAY_S),
            )

    # -- scheduled deletions -----------------------------------------------------------------

    async def schedule_deletion(
        self, user_id: int, chat_id: int, message_id: int, due: float
    ) -> None:
        """Remember to delete a message at `due` (epoch seconds); the ids are sealed."""
        await self.deletions.schedule(self.pseudonym(user_id), chat_id, message_id, due)

    async def due_deletions(self, now: float | None = None) -> list[Deletion]:
        """Return the deletions due by `now`, earliest first."""
        return await self.deletions.due(now)

    async def pending_deletions_for(self, user_id: int) -> list[Deletion]:
        """Return every scheduled deletion of this user's chat, due or not."""
        return await self.deletions.pending_for(self.pseudonym(user_id))

    async def deletion_done(self, row_id: int) -> None:
        """Forget a deletion once it was carried out (or can no longer be)."""
        await self.deletions.done(row_id)

    # -- erasure, retention, health -------------------------------------------------------------

    async def forget(self, user_id: int) -> None:
        """Delete everything of this user in one transaction, then compact the file and WAL.

        Must succeed or raise: the caller tells the user which. A reader holding the WAL only
        delays its truncation (retried here, then at the next compaction).
        """
        key = self.pseudonym(user_id)
        async with self.database.write() as db:
            await self.inbox.forget(db, key)
            await self.kept.forget(db, key)
            await self.deletions.forget(db, key)
            await self.usage.forget_today(db, user_id)
            await db.execute("DELETE FROM users WHERE pseudonym = ?", (key,))
        for window in self._windows.values():
            window.forget(user_id)
        await self.database.compact()

    async def purge_expired(self) -> int:
        """Delete what is past retention; return how many rows went."""
        now = self._clock()
        async with self.database.write() as db:
            removed = await self.usage.purge(db, now - self._retention_s)
            removed += await self.kept.purge(db)
            removed += await self.inbox.purge(db)
            removed += await self.deletions.purge(db)
        if removed or self.database.wal_dirty:
            await self.database.compact()
        if removed:
            logger.info("retention removed %d rows", removed)
        return removed

    async def is_writable(self) -> bool:
        """Return True if a write transaction commits (the health check)."""
        if self.database.closed:
            return False
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S), self.database.write() as db:
                await db.execute(
                    "INSERT INTO heartbeat (id, at) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    (self._clock(),),
                )
        except (sqlite3.Error, StoreClosedError, TimeoutError, ValueError, OSError) as exc:
            logger.warning("state store is not writable: %s", type(exc).__name__)
            return False
        return True

    # -- the parts beside it, under their earlier names ------------------------------------------

    async def record_event(self, user_id: int, **event: Any) -> None:
        """Count one handled update (`Usage.record_event`)."""
        await self.usage.record_event(user_id, **event)

    async def record_feedback(self, user_id: int, *, helpful: bool, topic: str | None) -> None:
        """Count a vote (`Usage.record_feedback`)."""
        await self.usage.record_feedback(user_id, helpful=helpful, topic=topic)

    async def stats(self, days: int) -> Stats:
        """Usage over the last `days` UTC days, with the kept texts of the window."""
        if days < 1:
            raise ValueError("days must be at least 1")
        window_start = self._clock() - (days - 1) * DAY_S
        gaps = await self.kept.recent(20, since=window_start - window_start % DAY_S)
        return await self.usage.stats(days, gaps)

    async def keep_unanswered(
        self,
        text: str,
        language: str,
        user_id: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        """Keep a scrubbed unanswered question for 30 days, if the operator opted in."""
        owner = None if user_id is None else self.pseudonym(user_id)
        await self.kept.keep(text, language, owner, topics)

    async def recent_gaps(self, limit: int = 20) -> list[Gap]:
        """Return the newest kept unanswered questions."""
        return await self.kept.recent(limit)

    async def inbox_put(
        self, update_id: int, payload: Mapping[str, Any], *, user_id: int | None = None
    ) -> bool:
        """`Inbox.put`."""
        return await self.inbox.put(update_id, payload, user_id=user_id)

    async def inbox_done(self, update_id: int) -> None:
        """`Inbox.mark_done`."""
        await self.inbox.mark_done(update_id)

    async def inbox_pending(self) -> list[tuple[int, dict[str, Any]]]:
        """`Inbox.pending`."""
        return await self.inbox.pending()

    async def allow_question(self, user_id: int, *, limit: int, window_s: float = 60.0) -> bool:
        """In-memory rate limit (bot.ratelimit.SlidingWindow; kept for earlier callers)."""
        window = self._windows.get((limit, window_s))
        if window is None:
            window = SlidingWindow(limit, window_s, clock=self._clock)
            self._windows[(limit, window_s)] = window
        return window.allow(user_id)


"""The durable inbox: no question lost to a crash, none answered twice.

Every update worth answering is written (sealed) before it is handled, and marked done as soon
as its reply is out, so a hard kill mid-answer loses nothing (the next start replays it) and
a redelivered update is recognised and not answered again. A done update leaves a tombstone
(its id and times, nothing else) for 24 hours, as long as Telegram may redeliver it.

`Inbox` owns all of it: the sealed rows, and this process's bookkeeping (updates in flight,
those already answered, our own replayed copies, the tasks handling them, so a shutdown can
give up on stuck ones while their updates stay pending). The Telegram side (which updates to
keep, decoding a stored one, queueing it) is the caller's: bot.handlers.inbox.

    record(update_id, payload, user_id=…, update=…)  before handling; False: a duplicate, stop
    answered(update_id)   the reply went out: done now, whatever bookkeeping follows
    done(update_id)       handling ended (marks done unless answered() did); release() after
    replay(decode, enqueue)  at start: queue what the previous run left unanswered
    track_task(), give_up()  the tasks handling updates, for a bounded shutdown

Store failures propagate (sqlite3.Error, StoreError); callers that must not let them stop an
answer wrap these calls (Services.best_effort) and answer without the inbox's protection.
The sealed row holds the update and its sender's pseudonym (so /forget finds it); no column
readable without the key ties two updates to one person.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiosqlite

from bot.store.crypto import InvalidTag, Sealer, inbox_purpose
from bot.store.db import Database, fetch

logger = logging.getLogger(__name__)

PENDING_TTL_S = 12 * 3_600.0  # an update this old is not worth answering any more
TOMBSTONE_TTL_S = 86_400.0  # Telegram keeps undelivered updates for 24 hours
_UNREADABLE = (InvalidTag, ValueError, TypeError, KeyError)


def sender_id(payload: Mapping[str, Any]) -> int | None:
    """The user (or, for channel posts, chat) id of a Telegram update dict."""
    for value in payload.values():
        if not isinstance(value, Mapping):
            continue
        for key in ("from", "user", "chat"):
            who = value.get(key)
            if isinstance(who, Mapping) and isinstance(who.get("id"), int):
                return int(who["id"])
    return None


class Inbox:
    """Durable updates and this process's bookkeeping of them (see the module docstring)."""

    def __init__(
        self,
        database: Database,
        sealer: Sealer,
        pseudonym: Callable[[int], str],
        clock: Callable[[], float],
    ) -> None:
        self._database = database
        self._sealer = sealer
        self._pseudonym = pseudonym
        self._clock = clock
        self.inflight: set[int] = set()  # recorded here, to mark done once handled
        self.answered_ids: set[int] = set()  # in flight and already marked done
        self.replaying: dict[int, object] = {}  # our own re-queued copies, by update id
        self.handling: set[asyncio.Task[Any]] = set()  # tasks handling updates now
        self.abandoned = 0  # tasks given up on at shutdown

    # -- the lifecycle of one update ---------------------------------------------------------

    async def record(
        self,
        update_id: int,
        payload: Mapping[str, Any] | None,
        *,
        user_id: int | None = None,
        update: object | None = None,
    ) -> bool:
        """Store an update before handling it; False if it was seen before (do not handle).

        `payload` None means "not worth keeping" (handled without the inbox). `update` is the
        object being handled: our own replayed copy is recognised by identity, not stored again.
        """
        if update is not None and self.claim_replayed(update_id, update):
            return True
        if payload is None:
            return True
        if not await self.put(update_id, payload, user_id=user_id):
            logger.info("duplicate update ignored")
            return False
        self.inflight.add(update_id)
        return True

    def claim_replayed(self, update_id: int, update: object) -> bool:
        """True (and now in flight) if `update` is our own replayed copy, not a redelivery."""
        if self.replaying.get(update_id) is not update:
            return False
        del self.replaying[update_id]
        self.inflight.add(update_id)
        return True

    async def answered(self, update_id: int) -> None:
        """Mark the update done as soon as its reply is out (once; no-op if not recorded).

        What follows the reply (usage counts, auto-delete) is bookkeeping: a crash or a
        shutdown that gives up during it must not make the next start answer it again.
        """
        if update_id not in self.inflight or update_id in self.answered_ids:
            return
        self.answered_ids.add(update_id)
        await self.mark_done(update_id)

    async def done(self, update_id: int) -> None:
        """Handling ended: mark the update done unless `answered` already did."""
        if update_id not in self.inflight:
            return
        try:
            if update_id in self.answered_ids:
                self.answered_ids.discard(update_id)
            else:
                await self.mark_done(update_id)
        finally:
            self.release(update_id)

    def release(self, update_id: int) -> None:
        """Forget the update's bookkeeping (also when `done` could not reach the store)."""
        self.inflight.discard(update_id)
        self.answered_ids.discard(update_id)

    async def replay(
        self,
        decode: Callable[[dict[str, Any]], object],
        enqueue: Callable[[object], Awaitable[object]],
    ) -> int:
        """Queue the updates left unanswered by the previous run; return how many.

        `decode` turns a stored payload into the update object (raising KeyError, TypeError
        or ValueError if it cannot); an undecodable one is marked done and dropped.
        """
        queued = 0
        for update_id, payload in await self.pending():
            try:
                update = decode(payload)
            except (KeyError, TypeError, ValueError) as exc:
                logger.warning("unreadable inbox update dropped: %s", type(exc).__name__)
                await self.mark_done(update_id)
                continue
            self.replaying[update_id] = update
            await enqueue(update)
            queued += 1
        if queued:
            logger.info("re-processing %d updates left unanswered", queued)
        return queued

    # -- shutdown ------------------------------------------------------------------------------

    def track_task(self) -> None:
        """Remember the running task as handling an update (shutdown may give up on it)."""
        task = asyncio.current_task()
        if task is not None and task not in self.handling:
            self.handling.add(task)
            task.add_done_callback(self.handling.discard)

    def give_up(self) -> int:
        """Cancel the tasks still handling updates; their updates stay pending for the next
        start (a reply already sent marked its update done). Return how many."""
        stuck = [task for task in self.handling if not task.done()]
        for task in stuck:
            task.cancel()
        self.abandoned += len(stuck)
        return len(stuck)

    # -- the table -----------------------------------------------------------------------------

    async def put(
        self, update_id: int, payload: Mapping[str, Any], *, user_id: int | None = None
    ) -> bool:
        """Store an update (sealed with its sender's pseudonym); False if seen already."""
        sender = user_id if user_id is not None else sender_id(payload)
        owner = None if sender is None else self._pseudonym(sender)
        value = {"u": dict(payload), "o": owner}
        sealed = self._sealer.seal(value, purpose=inbox_purpose(update_id))
        async with self._database.write() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, received_at, sealed) VALUES (?, ?, ?)",
                (update_id, self._clock(), sealed),
            )
            return cursor.rowcount == 1

    async def mark_done(self, update_id: int) -> None:
        """Drop the update's payload, keeping only its id and times to recognise redelivery."""
        now = self._clock()
        async with self._database.write() as db:
            await db.execute(
                "INSERT INTO inbox (update_id, received_at, done_at) VALUES (?, ?, ?)"
                " ON CONFLICT (update_id) DO UPDATE SET sealed = NULL, done_at = excluded.done_at",
                (update_id, now, now),
            )

    async def pending(self) -> list[tuple[int, dict[str, Any]]]:
        """Unfinished updates, oldest first; those older than 12 hours are dropped."""
        async with self._database.write() as db:
            await db.execute(
                "DELETE FROM inbox WHERE done_at IS NULL AND received_at < ?",
                (self._clock() - PENDING_TTL_S,),
            )
            rows = await fetch(
                db,
                "SELECT update_id, sealed FROM inbox WHERE done_at IS NULL AND sealed IS NOT NULL"
                " ORDER BY received_at, update_id",
            )
        opened = self._open(rows)
        unreadable = [(uid,) for uid, _ in rows if uid not in opened]
        if unreadable:
            logger.warning("dropping %d inbox updates that cannot be unsealed", len(unreadable))
            async with self._database.write() as db:
                await db.executemany("DELETE FROM inbox WHERE update_id = ?", unreadable)
        return [(uid, value["u"]) for uid, value in opened.items()]

    async def forget(self, db: aiosqlite.Connection, owner: str) -> int:
        """Delete the pending updates of `owner` (inside /forget's transaction)."""
        rows = await fetch(db, "SELECT update_id, sealed FROM inbox WHERE sealed IS NOT NULL")
        mine = [(uid,) for uid, value in self._open(rows).items() if value.get("o") == owner]
        await db.executemany("DELETE FROM inbox WHERE update_id = ?", mine)
        return len(mine)

    async def purge(self, db: aiosqlite.Connection) -> int:
        """Delete stale pending updates and old tombstones; return how many rows went."""
        now = self._clock()
        removed = 0
        for sql, cutoff in (
            ("DELETE FROM inbox WHERE done_at IS NULL AND received_at < ?", now - PENDING_TTL_S),
            ("DELETE FROM inbox WHERE done_at < ?", now - TOMBSTONE_TTL_S),
        ):
            cursor = await db.execute(sql, (cutoff,))
            removed += max(cursor.rowcount, 0)
        return removed

    def _open(self, rows: list[tuple[Any, ...]]) -> dict[int, dict[str, Any]]:
        opened: dict[int, dict[str, Any]] = {}
        for update_id, sealed in rows:
            try:
                value = self._sealer.unseal(sealed, purpose=inbox_purpose(update_id))
            except _UNREADABLE:
                continue
            if isinstance(value, dict) and isinstance(value.get("u"), dict):
                opened[update_id] = value
        return opened

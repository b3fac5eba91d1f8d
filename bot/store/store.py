"""The bot's state: preferences, usage events, scheduled deletions and the durable inbox.

People who use Waypoint may be hunted by their own governments, so nothing at rest names them:
users are keyed by a pseudonym (HMAC-SHA256 of the Telegram id under the operator secret);
the few values that must be usable again (a chat id and message id to delete, an update to
replay after a crash) are sealed with AES-GCM under a key derived from the same secret and
stored next to the pseudonym, so `forget()` finds them. The database runs with
`secure_delete` on, and `forget()` and the retention job rebuild the file (VACUUM) and truncate
the WAL afterwards, so deleted rows do not linger in free space or old WAL frames.

One long-lived aiosqlite connection in autocommit mode; every write is an explicit
`BEGIN IMMEDIATE` transaction, and an asyncio lock keeps one coroutine's transaction from
interleaving with another's on the shared connection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import os
import re
import secrets
import sqlite3
import statistics
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store.crypto import InvalidTag, Sealer, pseudonym
from bot.store.errors import SecretError, StoreClosedError
from bot.store.migrations import migrate

logger = logging.getLogger(__name__)

SECRET_FILE = "secret.key"
MIN_SECRET_CHARS = 16

QUESTION_KIND = "question"  # the `kind` of an event that counts in answered/not-found stats

DAY_S = 86_400.0
GAP_RETENTION_S = 30 * DAY_S
INBOX_PENDING_TTL_S = 12 * 3_600.0  # an update this old is not worth answering any more
INBOX_TOMBSTONE_TTL_S = DAY_S  # Telegram keeps undelivered updates for 24 hours
DELETION_GRACE_S = 2 * DAY_S  # bots cannot delete private messages older than 48 hours
MAX_GAP_CHARS = 500
HEALTH_TIMEOUT_S = 2.0

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA secure_delete=ON",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA busy_timeout=5000",
)


@dataclass(frozen=True)
class Gap:
    """An unanswered question, scrubbed of contact details, kept only when opted in."""

    text: str
    language: str
    at: float


@dataclass(frozen=True)
class Deletion:
    """A bot or user message to delete from a chat (auto-delete or /forget)."""

    row_id: int
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class DayCounts:
    """Questions on one UTC day, by outcome (an emergency counts only as an emergency)."""

    day: str  # YYYY-MM-DD, UTC
    answered: int = 0
    not_found: int = 0
    emergency: int = 0

    @property
    def total(self) -> int:
        return self.answered + self.not_found + self.emergency


@dataclass(frozen=True)
class Stats:
    """Aggregate usage over the last `days` UTC days (today included)."""

    days: int
    since: float  # start of the first day, epoch seconds
    per_day: list[DayCounts]  # every day of the window, oldest first, zeros included
    people: int  # distinct pseudonyms with any event in the window
    kinds: dict[str, int]  # all events by kind
    topics: dict[str, int]  # questions by topic, most asked first
    languages: dict[str, int]  # questions by language, most used first
    helpful: int
    not_helpful: int
    feedback_by_topic: dict[str, tuple[int, int]]  # topic -> (helpful, not helpful)
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def questions(self) -> int:
        return sum(day.total for day in self.per_day)

    @property
    def answered(self) -> int:
        return sum(day.answered for day in self.per_day)

    @property
    def not_found(self) -> int:
        return sum(day.not_found for day in self.per_day)

    @property
    def emergency(self) -> int:
        return sum(day.emergency for day in self.per_day)

    @property
    def not_found_rate(self) -> float:
        return self.not_found / self.questions if self.questions else 0.0


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@\w{3,}")
_DIGITS = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")
_SPACES = re.compile(r"\s+")


def scrub(text: str) -> str:
    """Replace emails, links, @handles and phone-like digit runs; collapse whitespace."""

    def phone(match: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in match.group())
        return "[phone]" if digits >= 7 else match.group()

    text = _EMAIL.sub("[email]", text)
    text = _URL.sub("[link]", text)
    text = _HANDLE.sub("[handle]", text)
    text = _DIGITS.sub(phone, text)
    return _SPACES.sub(" ", text).strip()[:MAX_GAP_CHARS]


def load_or_create_secret(data_dir: Path, env_value: str | None) -> bytes:
    """Return WAYPOINT_SECRET_KEY, else the key in data_dir/secret.key, created once (0600)."""
    if env_value is not None and env_value.strip():
        value = env_value.strip()
        if len(value) < MIN_SECRET_CHARS:
            raise SecretError(
                f"WAYPOINT_SECRET_KEY: must be at least {MIN_SECRET_CHARS} characters "
                "(e.g. `openssl rand -hex 32`)"
            )
        return value.encode("utf-8")
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_new_key(path)
        logger.info("generated a new secret key in %s", path)
    return _read_key(path)


def _write_new_key(path: Path) -> None:
    # Write to a private temporary file, then link it into place: another process starting
    # at the same moment either sees the complete key or creates none of its own.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_bytes(32).hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SecretError(f"{path}: unreadable or not a hex key ({exc})") from None
    if len(key) < MIN_SECRET_CHARS:
        raise SecretError(f"{path}: key too short ({len(key)} bytes)")
    return key


def _sender_id(payload: Mapping[str, Any]) -> int | None:
    """Return the user (or, for channel posts, chat) id of a Telegram update dict."""
    for value in payload.values():
        if not isinstance(value, Mapping):
            continue
        for key in ("from", "user", "chat"):
            who = value.get(key)
            if isinstance(who, Mapping) and isinstance(who.get("id"), int):
                return int(who["id"])
    return None


def _prepare_file(path: Path) -> None:
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
        for pragma in _PRAGMAS:
            db.execute(pragma)
        applied = migrate(db)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
    finally:
        db.close()


class Store:
    """Waypoint's state in one SQLite file; see the module docstring for what it holds."""

    rate_sweep_at = 10_000  # rate windows kept in memory before idle ones are swept

    def __init__(
        self,
        db: aiosqlite.Connection,
        *,
        secret: bytes,
        keep_unanswered: bool,
        retention_days: int,
        clock: Callable[[], float],
    ) -> None:
        self._db: aiosqlite.Connection | None = db
        self._secret = secret
        self._sealer = Sealer(secret)
        self._keep_unanswered = keep_unanswered
        self._retention_s = retention_days * DAY_S
        self._clock = clock
        self._lock = asyncio.Lock()
        self._recent: dict[str, deque[float]] = {}  # rate limiting, in memory only

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        secret: bytes,
        keep_unanswered: bool = False,
        retention_days: int = 90,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Open (creating and migrating as needed) the database at `path`."""
        if retention_days <= 0:
            raise ValueError("retention_days must be positive")
        path = Path(path)
        await asyncio.to_thread(_prepare_file, path)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            for pragma in _PRAGMAS:
                await db.execute(pragma)
        except BaseException:
            await db.close()
            raise
        return cls(
            db,
            secret=secret,
            keep_unanswered=keep_unanswered,
            retention_days=retention_days,
            clock=clock,
        )

    async def close(self) -> None:
        """Close the connection; later calls raise StoreClosedError."""
        db, self._db = self._db, None
        if db is not None:
            async with self._lock:
                await db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def pseudonym(self, user_id: int) -> str:
        """Return the user's key at rest: hex HMAC-SHA256(secret, str(user_id))."""
        return pseudonym(self._secret, user_id)

    # -- connection plumbing -------------------------------------------------------------

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreClosedError("the store is closed")
        return self._db

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            yield self._conn()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            db = self._conn()
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _compact(self) -> None:
        """Rebuild the database and truncate the WAL, so deleted rows leave no trace.

        `secure_delete` zeroes deleted cells, but a page rebalanced by SQLite can keep stale
        bytes in its unallocated middle; VACUUM writes every page anew. The WAL, which holds
        old page images, is then copied back and truncated to zero bytes.
        """
        async with self._read() as db:
            await db.execute("VACUUM")
            rows = await _all(db, "PRAGMA wal_checkpoint(TRUNCATE)", ())
        if rows and rows[0][0]:
            logger.warning("WAL checkpoint was blocked by a reader; it will complete later")

    @staticmethod
    async def _ensure_user(db: aiosqlite.Connection, key: str, now: float) -> None:
        await db.execute(
            "INSERT OR IGNORE INTO users (pseudonym, created_at) VALUES (?, ?)", (key, now)
        )

    # -- preferences ---------------------------------------------------------------------

    async def get_language(self, user_id: int) -> str | None:
        """Return the user's chosen interface language, if any."""
        async with self._read() as db:
            rows = await _all(
                db, "SELECT language FROM users WHERE pseudonym = ?", (self.pseudonym(user_id),)
            )
        return rows[0][0] if rows else None

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember the user's interface language."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO users (pseudonym, language, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (pseudonym) DO UPDATE SET language = excluded.language",
                (self.pseudonym(user_id), language, self._clock()),
            )

    async def get_autodelete(self, user_id: int) -> int | None:
        """Return the user's auto-delete delay in seconds, or None when it is off."""
        async with self._read() as db:
            rows = await _all(
                db, "SELECT autodelete_s FROM users WHERE pseudonym = ?", (self.pseudonym(user_id),)
            )
        return rows[0][0] if rows else None

    async def set_autodelete(self, user_id: int, seconds: int | None) -> None:
        """Set the user's auto-delete delay (None turns it off)."""
        if seconds is not None and seconds <= 0:
            raise ValueError("auto-delete delay must be positive or None")
        async with self._write() as db:
            await db.execute(
                "INSERT INTO users (pseudonym, autodelete_s, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (pseudonym) DO UPDATE SET autodelete_s = excluded.autodelete_s",
                (self.pseudonym(user_id), seconds, self._clock()),
            )

    # -- usage -----------------------------------------------------------------------------

    async def record_event(
        self,
        user_id: int,
        *,
        kind: str,
        language: str,
        topics: Sequence[str],
        answer_found: bool,
        emergency: bool,
        latency_ms: float,
    ) -> None:
        """Record one handled update (use kind=QUESTION_KIND for questions)."""
        key, now = self.pseudonym(user_id), self._clock()
        async with self._write() as db:
            await self._ensure_user(db, key, now)
            await db.execute(
                "INSERT INTO events (pseudonym, at, kind, language, topics, answer_found,"
                " emergency, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    now,
                    kind,
                    language,
                    json.dumps(list(topics)),
                    int(answer_found),
                    int(emergency),
                    float(latency_ms),
                ),
            )

    async def record_feedback(self, user_id: int, *, helpful: bool, topic: str | None) -> None:
        """Record a helpful / not helpful vote."""
        key, now = self.pseudonym(user_id), self._clock()
        async with self._write() as db:
            await self._ensure_user(db, key, now)
            await db.execute(
                "INSERT INTO feedback (pseudonym, at, helpful, topic) VALUES (?, ?, ?, ?)",
                (key, now, int(helpful), topic),
            )

    async def allow_question(self, user_id: int, *, limit: int, window_s: float = 60.0) -> bool:
        """Return False when the user already asked `limit` questions in the last window.

        Kept in memory only: timestamps of who asked when are not worth a row at rest.
        A refused question does not count against the user.
        """
        key, now = self.pseudonym(user_id), self._clock()
        if len(self._recent) >= self.rate_sweep_at:
            self._sweep(now - window_s)
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0] <= now - window_s:
            recent.popleft()
        if len(recent) >= limit:
            return False
        recent.append(now)
        return True

    def _sweep(self, before: float) -> None:
        """Drop the windows of everyone whose last question is older than `before`."""
        for key in [k for k, times in self._recent.items() if not times or times[-1] <= before]:
            del self._recent[key]

    # -- knowledge gaps ------------------------------------------------------------------

    async def keep_unanswered(
        self, text: str, language: str, user_id: int | None = None
    ) -> None:
        """Keep a scrubbed unanswered question for 30 days, if the operator opted in.

        With `user_id`, the text is tied to the author's pseudonym so /forget removes it.
        """
        if not self._keep_unanswered:
            return
        cleaned = scrub(text)
        if not cleaned:
            return
        async with self._write() as db:
            await db.execute(
                "INSERT INTO gaps (text, language, at, pseudonym) VALUES (?, ?, ?, ?)",
                (cleaned, language, self._clock(),
                 None if user_id is None else self.pseudonym(user_id)),
            )

    async def recent_gaps(self, limit: int = 20) -> list[Gap]:
        """Return the newest kept unanswered questions."""
        return await self._gaps(self._clock() - GAP_RETENTION_S, limit)

    async def _gaps(self, since: float, limit: int) -> list[Gap]:
        async with self._read() as db:
            rows = await _all(
                db,
                "SELECT text, language, at FROM gaps WHERE at >= ?"
                " ORDER BY at DESC, id DESC LIMIT ?",
                (since, limit),
            )
        return [Gap(text=r[0], language=r[1], at=r[2]) for r in rows]

    # -- statistics ----------------------------------------------------------------------

    async def stats(self, days: int) -> Stats:
        """Return aggregate usage over the last `days` UTC days, today included."""
        if days < 1:
            raise ValueError("days must be at least 1")
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()
        first = today - dt.timedelta(days=days - 1)
        since = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC).timestamp()
        question = (QUESTION_KIND, since)
        async with self._read() as db:
            per_day_rows = await _all(
                db,
                "SELECT date(at, 'unixepoch') AS day,"
                " SUM(emergency = 0 AND answer_found != 0),"
                " SUM(emergency = 0 AND answer_found = 0),"
                " SUM(emergency != 0)"
                " FROM events WHERE kind = ? AND at >= ? GROUP BY day",
                question,
            )
            topic_rows = await _all(
                db,
                "SELECT t.value, COUNT(*) AS n FROM events, json_each(events.topics) AS t"
                " WHERE kind = ? AND at >= ? GROUP BY t.value ORDER BY n DESC, t.value",
                question,
            )
            language_rows = await _all(
                db,
                "SELECT language, COUNT(*) AS n FROM events WHERE kind = ? AND at >= ?"
                " GROUP BY language ORDER BY n DESC, language",
                question,
            )
            kind_rows = await _all(
                db,
                "SELECT kind, COUNT(*) AS n FROM events WHERE at >= ?"
                " GROUP BY kind ORDER BY n DESC, kind",
                (since,),
            )
            people_rows = await _all(
                db, "SELECT COUNT(DISTINCT pseudonym) FROM events WHERE at >= ?", (since,)
            )
            latency_rows = await _all(
                db, "SELECT latency_ms FROM events WHERE kind = ? AND at >= ?", question
            )
            feedback_rows = await _all(
                db,
                "SELECT topic, helpful, COUNT(*) FROM feedback WHERE at >= ?"
                " GROUP BY topic, helpful",
                (since,),
            )
        counts = {
            r[0]: DayCounts(day=r[0], answered=r[1], not_found=r[2], emergency=r[3])
            for r in per_day_rows
        }
        per_day = []
        for offset in range(days):
            day = (first + dt.timedelta(days=offset)).isoformat()
            per_day.append(counts.get(day, DayCounts(day=day)))
        helpful = sum(r[2] for r in feedback_rows if r[1])
        not_helpful = sum(r[2] for r in feedback_rows if not r[1])
        by_topic: dict[str, tuple[int, int]] = {}
        for topic, was_helpful, n in feedback_rows:
            if topic is None:
                continue
            yes, no = by_topic.get(topic, (0, 0))
            by_topic[topic] = (yes + n, no) if was_helpful else (yes, no + n)
        latencies = sorted(r[0] for r in latency_rows)
        gaps = await self._gaps(max(since, self._clock() - GAP_RETENTION_S), 20)
        return Stats(
            days=days,
            since=since,
            per_day=per_day,
            people=people_rows[0][0] if people_rows else 0,
            kinds={r[0]: r[1] for r in kind_rows},
            topics={r[0]: r[1] for r in topic_rows},
            languages={r[0]: r[1] for r in language_rows},
            helpful=helpful,
            not_helpful=not_helpful,
            feedback_by_topic=dict(sorted(by_topic.items())),
            latency_p50_ms=_percentile(latencies, 50),
            latency_p95_ms=_percentile(latencies, 95),
            gaps=gaps,
        )

    # -- scheduled deletions ---------------------------------------------------------------

    async def schedule_deletion(
        self, user_id: int, chat_id: int, message_id: int, due: float
    ) -> None:
        """Remember to delete a message at `due` (epoch seconds); the ids are sealed."""
        key = self.pseudonym(user_id)
        sealed = self._sealer.seal([chat_id, message_id], purpose=_deletion_purpose(key))
        async with self._write() as db:
            await self._ensure_user(db, key, self._clock())
            await db.execute(
                "INSERT INTO deletions (pseudonym, due, sealed) VALUES (?, ?, ?)",
                (key, due, sealed),
            )

    async def due_deletions(self, now: float | None = None) -> list[Deletion]:
        """Return the deletions due by `now`, earliest first."""
        when = self._clock() if now is None else now
        async with self._read() as db:
            rows = await _all(
                db,
                "SELECT id, pseudonym, sealed FROM deletions WHERE due <= ? ORDER BY due, id",
                (when,),
            )
        return await self._unseal_deletions(rows)

    async def pending_deletions_for(self, user_id: int) -> list[Deletion]:
        """Return every scheduled deletion of this user's chat, due or not."""
        async with self._read() as db:
            rows = await _all(
                db,
                "SELECT id, pseudonym, sealed FROM deletions WHERE pseudonym = ? ORDER BY due, id",
                (self.pseudonym(user_id),),
            )
        return await self._unseal_deletions(rows)

    async def _unseal_deletions(self, rows: Sequence[tuple[Any, ...]]) -> list[Deletion]:
        found: list[Deletion] = []
        unreadable: list[int] = []
        for row_id, key, sealed in rows:
            try:
                chat_id, message_id = self._sealer.unseal(sealed, purpose=_deletion_purpose(key))
            except (InvalidTag, ValueError):
                unreadable.append(row_id)
                continue
            found.append(Deletion(row_id=row_id, chat_id=chat_id, message_id=message_id))
        if unreadable:
            logger.warning("dropping %d deletions sealed under another key", len(unreadable))
            async with self._write() as db:
                await db.executemany(
                    "DELETE FROM deletions WHERE id = ?", [(i,) for i in unreadable]
                )
        return found

    async def deletion_done(self, row_id: int) -> None:
        """Forget a deletion once it was carried out (or can no longer be)."""
        async with self._write() as db:
            await db.execute("DELETE FROM deletions WHERE id = ?", (row_id,))

    # -- erasure and retention ----------------------------------------------------------------

    async def forget(self, user_id: int) -> None:
        """Delete everything of this user in one transaction, then compact the file and WAL."""
        key = self.pseudonym(user_id)
        async with self._write() as db:
            for table in ("inbox", "deletions", "feedback", "events", "gaps", "users"):
                await db.execute(f"DELETE FROM {table} WHERE pseudonym = ?", (key,))
        self._recent.pop(key, None)
        await self._compact()

    async def purge_expired(self) -> int:
        """Delete what is past retention; return how many rows went."""
        now = self._clock()
        # Gaps kept before the operator turned keeping off go at the next purge.
        gap_cutoff = now - GAP_RETENTION_S if self._keep_unanswered else math.inf
        statements = (
            ("DELETE FROM events WHERE at < ?", now - self._retention_s),
            ("DELETE FROM feedback WHERE at < ?", now - self._retention_s),
            ("DELETE FROM gaps WHERE at < ?", gap_cutoff),
            (
                "DELETE FROM inbox WHERE done_at IS NULL AND received_at < ?",
                now - INBOX_PENDING_TTL_S,
            ),
            ("DELETE FROM inbox WHERE done_at < ?", now - INBOX_TOMBSTONE_TTL_S),
            ("DELETE FROM deletions WHERE due < ?", now - DELETION_GRACE_S),
        )
        removed = 0
        async with self._write() as db:
            for sql, cutoff in statements:
                cursor = await db.execute(sql, (cutoff,))
                removed += max(cursor.rowcount, 0)
        if removed:
            await self._compact()
            logger.info("retention removed %d rows", removed)
        return removed

    async def is_writable(self) -> bool:
        """Return True if a write transaction commits (the health check)."""
        if self._db is None:
            return False
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S), self._write() as db:
                await db.execute(
                    "INSERT INTO heartbeat (id, at) VALUES (1, ?)"
                    " ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    (self._clock(),),
                )
        except (sqlite3.Error, StoreClosedError, TimeoutError, ValueError, OSError) as exc:
            logger.warning("state store is not writable: %s", type(exc).__name__)
            return False
        return True

    # -- durable inbox -------------------------------------------------------------------------

    async def inbox_put(
        self, update_id: int, payload: dict[str, Any], *, user_id: int | None = None
    ) -> bool:
        """Store an incoming update before handling it; False if it was seen already.

        The payload is sealed; the sender's pseudonym (taken from the payload unless
        `user_id` is given) is kept beside it so forget() finds it.
        """
        sender = user_id if user_id is not None else _sender_id(payload)
        key = None if sender is None else self.pseudonym(sender)
        sealed = self._sealer.seal(payload, purpose=_inbox_purpose(update_id))
        async with self._write() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, pseudonym, received_at, sealed)"
                " VALUES (?, ?, ?, ?)",
                (update_id, key, self._clock(), sealed),
            )
            return cursor.rowcount == 1

    async def inbox_done(self, update_id: int) -> None:
        """Drop the update's payload, keeping only its id and time to recognise redelivery."""
        now = self._clock()
        async with self._write() as db:
            await db.execute(
                "INSERT INTO inbox (update_id, received_at, done_at) VALUES (?, ?, ?)"
                " ON CONFLICT (update_id) DO UPDATE"
                " SET pseudonym = NULL, sealed = NULL, done_at = excluded.done_at",
                (update_id, now, now),
            )

    async def inbox_pending(self) -> list[tuple[int, dict[str, Any]]]:
        """Return unfinished updates, oldest first; drop those older than 12 hours."""
        async with self._write() as db:
            await db.execute(
                "DELETE FROM inbox WHERE done_at IS NULL AND received_at < ?",
                (self._clock() - INBOX_PENDING_TTL_S,),
            )
            rows = await _all(
                db,
                "SELECT update_id, sealed FROM inbox WHERE done_at IS NULL AND sealed IS NOT NULL"
                " ORDER BY received_at, update_id",
                (),
            )
        pending: list[tuple[int, dict[str, Any]]] = []
        unreadable: list[int] = []
        for update_id, sealed in rows:
            try:
                payload = self._sealer.unseal(sealed, purpose=_inbox_purpose(update_id))
            except (InvalidTag, ValueError):
                unreadable.append(update_id)
                continue
            pending.append((update_id, payload))
        if unreadable:
            logger.warning("dropping %d inbox updates sealed under another key", len(unreadable))
            async with self._write() as db:
                await db.executemany(
                    "DELETE FROM inbox WHERE update_id = ?", [(i,) for i in unreadable]
                )
        return pending


def _deletion_purpose(key: str) -> bytes:
    return b"deletion:" + key.encode("ascii")


def _inbox_purpose(update_id: int) -> bytes:
    return b"inbox:%d" % update_id


async def _all(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


def _percentile(sorted_values: Sequence[float], pct: int) -> float | None:
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    cuts = statistics.quantiles(sorted_values, n=100, method="inclusive")
    return float(cuts[pct - 1])

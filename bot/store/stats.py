"""Usage that cannot be traced back to a person: daily counts, and today's distinct visitors.

A question adds one to the counters of its UTC day (by kind, language and outcome; by topic;
by latency bucket); a vote adds one to its day, topic and verdict. No row names a person or
holds a time finer than the day, so the counts cannot be joined with each other or with
anything else to tell which events came from the same person.

Distinct people per day are counted with a tag per person, HMAC(day key, user id), kept for
the current day only; the day key is random, sealed in `meta`, and replaced (every tag with it)
when the day changes. A person who comes back on another day counts again: `Stats.people` is
the sum of the days' counts ("person-days"), not distinct people over the window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiosqlite

from bot.store.crypto import DAY_KEY_PURPOSE, Sealer
from bot.store.db import Database, fetch, get_meta, set_meta
from bot.store.gaps import Gap
from bot.store.migrations import LATENCY_BASE, latency_bucket, outcome, utc_day

QUESTION_KIND = "question"  # the `kind` of an event that counts in answered/not-found stats
DAY_S = 86_400.0


@dataclass(frozen=True)
class DayCounts:
    """Questions on one UTC day, by outcome (an emergency counts only as an emergency)."""

    day: str  # YYYY-MM-DD, UTC
    answered: int = 0
    not_found: int = 0
    emergency: int = 0
    people: int = 0  # distinct people with any event that day

    @property
    def total(self) -> int:
        """All the day's questions."""
        return self.answered + self.not_found + self.emergency


@dataclass(frozen=True)
class Stats:
    """Aggregate usage over the last `days` UTC days (today included)."""

    days: int
    since: float  # start of the first day, epoch seconds
    per_day: list[DayCounts]  # every day of the window, oldest first, zeros included
    people: int  # person-days: distinct people per day, summed over the window
    kinds: dict[str, int]  # all events by kind
    topics: dict[str, int]  # questions by topic, most asked first
    languages: dict[str, int]  # questions by language, most used first
    helpful: int
    not_helpful: int
    feedback_by_topic: dict[str, tuple[int, int]]  # topic -> (helpful, not helpful)
    latency_p50_ms: float | None  # from 2 %-wide buckets: within 1 % of the true value
    latency_p95_ms: float | None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def questions(self) -> int:
        """Questions over the window."""
        return sum(day.total for day in self.per_day)

    @property
    def answered(self) -> int:
        """Questions answered from the sources."""
        return sum(day.answered for day in self.per_day)

    @property
    def not_found(self) -> int:
        """Questions with no answer in the sources."""
        return sum(day.not_found for day in self.per_day)

    @property
    def emergency(self) -> int:
        """Questions treated as emergencies."""
        return sum(day.emergency for day in self.per_day)

    @property
    def not_found_rate(self) -> float:
        """The share of questions not found (0.0 with no questions)."""
        return self.not_found / self.questions if self.questions else 0.0


class Usage:
    """The daily counters: record events and votes, read them back as `Stats`."""

    def __init__(self, database: Database, sealer: Sealer, clock: Callable[[], float]) -> None:
        self._database = database
        self._sealer = sealer
        self._clock = clock
        self._day: str | None = None
        self._day_key: bytes | None = None

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
        """Count one handled update (use kind=QUESTION_KIND for questions)."""
        day = utc_day(self._clock())
        async with self._database.write() as db:
            await _add(db, "usage_daily", (day, kind, language, outcome(answer_found, emergency)))
            if kind == QUESTION_KIND:
                await _add(db, "latency_daily", (day, latency_bucket(float(latency_ms))))
                for topic in dict.fromkeys(topics):
                    await _add(db, "topics_daily", (day, str(topic)))
            await self._visit(db, user_id, day)

    async def record_feedback(self, user_id: int, *, helpful: bool, topic: str | None) -> None:
        """Count a helpful / not helpful vote (the voter is counted as today's visitor)."""
        day = utc_day(self._clock())
        async with self._database.write() as db:
            await _add(db, "feedback_daily", (day, topic or "", int(helpful)))
            await self._visit(db, user_id, day)

    async def _visit(self, db: aiosqlite.Connection, user_id: int, day: str) -> None:
        tag = await self._tag(db, user_id, day)
        cursor = await db.execute("INSERT OR IGNORE INTO visitors (tag) VALUES (?)", (tag,))
        if cursor.rowcount == 1:
            await _add(db, "people_daily", (day,))

    async def _tag(self, db: aiosqlite.Connection, user_id: int, day: str) -> str:
        """Today's tag of this person; a new day gets a new key and forgets every tag."""
        if self._day != day or self._day_key is None:
            stored_day = await get_meta(db, "visitor_day")
            sealed = await get_meta(db, "visitor_key")
            if stored_day == day and sealed is not None:
                hex_key = self._sealer.unseal(bytes.fromhex(sealed), purpose=_purpose(day))
                key = bytes.fromhex(hex_key)
            else:
                key = os.urandom(32)
                await db.execute("DELETE FROM visitors")
                await set_meta(db, "visitor_day", day)
                blob = self._sealer.seal(key.hex(), purpose=_purpose(day))
                await set_meta(db, "visitor_key", blob.hex())
            self._day, self._day_key = day, key
        return hmac.new(self._day_key, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()

    async def forget_today(self, db: aiosqlite.Connection, user_id: int) -> None:
        """Drop the person's tag of today (inside /forget's transaction); the counts stay."""
        day = utc_day(self._clock())
        if self._day == day or await get_meta(db, "visitor_day") == day:
            tag = await self._tag(db, user_id, day)
            await db.execute("DELETE FROM visitors WHERE tag = ?", (tag,))

    async def purge(self, db: aiosqlite.Connection, before: float) -> int:
        """Delete the counts of days that ended before `before`; return how many rows went."""
        cutoff = utc_day(before)
        removed = 0
        for table in _KEYS:
            cursor = await db.execute(f"DELETE FROM {table} WHERE day < ?", (cutoff,))
            removed += max(cursor.rowcount, 0)
        if await get_meta(db, "visitor_day") not in (None, utc_day(self._clock())):
            await db.execute("DELETE FROM visitors")  # yesterday's tags: nothing counts them now
        return removed

    async def stats(self, days: int, gaps: Sequence[Gap] = ()) -> Stats:
        """Aggregate usage over the last `days` UTC days, today included."""
        if days < 1:
            raise ValueError("days must be at least 1")
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()
        first = today - dt.timedelta(days=days - 1)
        since = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC).timestamp()
        start = first.isoformat()
        q = (QUESTION_KIND, start)
        async with self._database.read() as db:
            outcome_rows = await fetch(
                db,
                "SELECT day, outcome, SUM(n) FROM usage_daily WHERE kind = ? AND day >= ?"
                " GROUP BY day, outcome",
                q,
            )
            people_rows = await fetch(
                db, "SELECT day, n FROM people_daily WHERE day >= ?", (start,)
            )
            topic_rows = await fetch(
                db,
                "SELECT topic, SUM(n) AS c FROM topics_daily WHERE day >= ?"
                " GROUP BY topic ORDER BY c DESC, topic",
                (start,),
            )
            language_rows = await fetch(
                db,
                "SELECT language, SUM(n) AS c FROM usage_daily WHERE kind = ? AND day >= ?"
                " GROUP BY language ORDER BY c DESC, language",
                q,
            )
            kind_rows = await fetch(
                db,
                "SELECT kind, SUM(n) AS c FROM usage_daily WHERE day >= ?"
                " GROUP BY kind ORDER BY c DESC, kind",
                (start,),
            )
            latency_rows = await fetch(
                db,
                "SELECT bucket, SUM(n) FROM latency_daily WHERE day >= ?"
                " GROUP BY bucket ORDER BY bucket",
                (start,),
            )
            feedback_rows = await fetch(
                db,
                "SELECT topic, helpful, SUM(n) FROM feedback_daily WHERE day >= ?"
                " GROUP BY topic, helpful",
                (start,),
            )
        by_day: dict[str, dict[str, int]] = {}
        for day, result, n in outcome_rows:
            by_day.setdefault(day, {})[result] = n
        people = {r[0]: r[1] for r in people_rows}
        per_day = []
        for offset in range(days):
            day = (first + dt.timedelta(days=offset)).isoformat()
            counts = by_day.get(day, {})
            per_day.append(
                DayCounts(
                    day=day,
                    answered=counts.get("answered", 0),
                    not_found=counts.get("not_found", 0),
                    emergency=counts.get("emergency", 0),
                    people=people.get(day, 0),
                )
            )
        by_topic: dict[str, tuple[int, int]] = {}
        for topic, was_helpful, n in feedback_rows:
            if topic:
                yes, no = by_topic.get(topic, (0, 0))
                by_topic[topic] = (yes + n, no) if was_helpful else (yes, no + n)
        histogram = [(int(b), int(n)) for b, n in latency_rows]
        return Stats(
            days=days,
            since=since,
            per_day=per_day,
            people=sum(day.people for day in per_day),
            kinds={r[0]: r[1] for r in kind_rows},
            topics={r[0]: r[1] for r in topic_rows},
            languages={r[0]: r[1] for r in language_rows},
            helpful=sum(r[2] for r in feedback_rows if r[1]),
            not_helpful=sum(r[2] for r in feedback_rows if not r[1]),
            feedback_by_topic=dict(sorted(by_topic.items())),
            latency_p50_ms=percentile(histogram, 50),
            latency_p95_ms=percentile(histogram, 95),
            gaps=list(gaps),
        )


def percentile(histogram: Sequence[tuple[int, int]], pct: int) -> float | None:
    """The `pct`th percentile of a latency histogram [(bucket, count)], sorted by bucket:
    the geometric middle of the bucket that holds it."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    rank = max(1, -(-total * pct // 100))  # the ceil(pct % of total)th value, 1-based
    seen = 0
    for bucket, n in histogram:
        seen += n
        if seen >= rank:
            return float(LATENCY_BASE ** (bucket + 0.5))
    return float(LATENCY_BASE ** (histogram[-1][0] + 0.5))


_KEYS = {
    "usage_daily": "day, kind, language, outcome",
    "topics_daily": "day, topic",
    "feedback_daily": "day, topic, helpful",
    "latency_daily": "day, bucket",
    "people_daily": "day",
}


async def _add(db: aiosqlite.Connection, table: str, key: tuple[object, ...]) -> None:
    """Add one to the counter of `key` in `table`."""
    marks = ", ".join("?" * (len(key) + 1))
    await db.execute(
        f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT ({_KEYS[table]}) DO UPDATE"
        " SET n = n + 1",
        (*key, 1),
    )


def _purpose(day: str) -> bytes:
    return DAY_KEY_PURPOSE + b":" + day.encode("ascii")

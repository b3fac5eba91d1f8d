"""Named, ordered schema migrations, recorded by name in the `migrations` table.

The pattern is simonw/llm's `migrations.py`: a list of functions, applied in order, each in
its own transaction together with the row that records it. Never edit or reorder a migration
that has shipped; add a new one at the end.

Data at rest, by table, since m005 (no raw Telegram ids, names or message texts anywhere, and
nothing that ties two events to one person):
  users           pseudonym, language, auto-delete seconds, day of the first choice
  usage_daily     per UTC day, kind, language and outcome: a count
  topics_daily    per day and topic: a count of questions
  feedback_daily  per day, topic and vote: a count
  latency_daily   per day and latency bucket (2 % wide): a count
  people_daily    per day: how many distinct people
  visitors        today only: one tag per person, HMAC under a random day key that is sealed
                  in `meta` and replaced (with every tag) when the day changes
  gaps            scrubbed unanswered questions, sealed with their author's pseudonym, when
                  the operator opted in (30 days); the hour they were kept
  deletions       due time, sealed (chat id, message id, pseudonym)
  inbox           update id, time, sealed (update, pseudonym); a tombstone once done
  meta            the key fingerprint; the sealed day key
  heartbeat       one row, rewritten by the health check
m005 renames the old deletions, inbox and gaps tables to legacy_*; the store converts their
rows with the key when it opens (bot.store.upgrade) and drops them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from bot.store.errors import MigrationError

Migration = Callable[[sqlite3.Connection], None]

LATENCY_BASE = 1.02  # latency buckets: [1.02**b, 1.02**(b+1)) milliseconds


def latency_bucket(ms: float) -> int:
    """The latency bucket of `ms` milliseconds (everything under 1 ms is bucket 0)."""
    return max(0, math.floor(math.log(max(ms, 1.0)) / math.log(LATENCY_BASE)))


def outcome(answer_found: bool, emergency: bool) -> str:
    """How a question ended: an emergency counts only as an emergency."""
    return "emergency" if emergency else "answered" if answer_found else "not_found"


def utc_day(at: float) -> str:
    """YYYY-MM-DD of an epoch time, in UTC."""
    return dt.datetime.fromtimestamp(at, dt.UTC).date().isoformat()

MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register `fn` as the next migration; its name is what the database records."""
    MIGRATIONS.append(fn)
    return fn


def _run(db: sqlite3.Connection, *statements: str) -> None:
    # Not executescript(): it would COMMIT the migration's transaction half-way.
    for statement in statements:
        db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    """Users, their events and votes, unanswered questions, and the heartbeat."""
    _run(
        db,
        """
        CREATE TABLE users (
            pseudonym TEXT PRIMARY KEY,
            language TEXT,
            created_at REAL NOT NULL
        )
        """,
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL REFERENCES users(pseudonym) ON DELETE CASCADE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            language TEXT NOT NULL,
            topics TEXT NOT NULL DEFAULT '[]',
            answer_found INTEGER NOT NULL,
            emergency INTEGER NOT NULL,
            latency_ms REAL NOT NULL
        )
        """,
        "CREATE INDEX events_at ON events(at)",
        "CREATE INDEX events_pseudonym ON events(pseudonym)",
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL REFERENCES users(pseudonym) ON DELETE CASCADE,
            at REAL NOT NULL,
            helpful INTEGER NOT NULL,
            topic TEXT
        )
        """,
        "CREATE INDEX feedback_at ON feedback(at)",
        "CREATE INDEX feedback_pseudonym ON feedback(pseudonym)",
        """
        CREATE TABLE gaps (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            language TEXT NOT NULL,
            at REAL NOT NULL
        )
        """,
        "CREATE INDEX gaps_at ON gaps(at)",
        "CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL)",
    )


@migration
def m002_autodelete(db: sqlite3.Connection) -> None:
    """Each user's auto-delete choice, and the messages due for deletion."""
    _run(
        db,
        "ALTER TABLE users ADD COLUMN autodelete_s INTEGER",
        """
        CREATE TABLE deletions (
            id INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL REFERENCES users(pseudonym) ON DELETE CASCADE,
            due REAL NOT NULL,
            sealed BLOB NOT NULL
        )
        """,
        "CREATE INDEX deletions_due ON deletions(due)",
        "CREATE INDEX deletions_pseudonym ON deletions(pseudonym)",
    )


@migration
def m003_inbox(db: sqlite3.Connection) -> None:
    """The durable inbox: each update is kept until it has been handled."""
    # A row with `sealed` set is pending; a row with `done_at` set is a tombstone kept only
    # so a redelivered update is recognised (it holds no pseudonym and no payload).
    _run(
        db,
        """
        CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            pseudonym TEXT,
            received_at REAL NOT NULL,
            sealed BLOB,
            done_at REAL
        )
        """,
        "CREATE INDEX inbox_received_at ON inbox(received_at)",
        "CREATE INDEX inbox_pseudonym ON inbox(pseudonym)",
    )


@migration
def m004_gap_owner(db: sqlite3.Connection) -> None:
    """Kept unanswered texts carry their author's pseudonym so /forget removes them too."""
    _run(
        db,
        "ALTER TABLE gaps ADD COLUMN pseudonym TEXT",
        "CREATE INDEX gaps_pseudonym ON gaps(pseudonym)",
    )


@migration
def m005_unlinkable(db: sqlite3.Connection) -> None:
    """Nothing at rest may tie two events to one person: usage becomes daily counts, and the
    sealed tables lose their pseudonym column (the store re-seals their rows with the
    pseudonym inside when it opens with the key; see bot.store.upgrade)."""
    _run(
        db,
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE usage_daily (
            day TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL,
            outcome TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, kind, language, outcome)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE topics_daily (
            day TEXT NOT NULL, topic TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (day, topic)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE feedback_daily (
            day TEXT NOT NULL, topic TEXT NOT NULL, helpful INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, topic, helpful)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE latency_daily (
            day TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, bucket)
        ) WITHOUT ROWID
        """,
        "CREATE TABLE people_daily (day TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE visitors (tag TEXT PRIMARY KEY) WITHOUT ROWID",
    )
    usage: Counter[tuple[str, str, str, str]] = Counter()
    topics: Counter[tuple[str, str]] = Counter()
    latency: Counter[tuple[str, int]] = Counter()
    people: defaultdict[str, set[str]] = defaultdict(set)
    for at, kind, language, topic_list, found, emergency, ms, key in db.execute(
        "SELECT at, kind, language, topics, answer_found, emergency, latency_ms, pseudonym"
        " FROM events"
    ):
        day = utc_day(at)
        usage[(day, kind, language, outcome(bool(found), bool(emergency)))] += 1
        people[day].add(key)
        if kind == "question":
            latency[(day, latency_bucket(ms))] += 1
            for topic in json.loads(topic_list or "[]"):
                topics[(day, str(topic))] += 1
    feedback: Counter[tuple[str, str, int]] = Counter()
    for at, helpful, topic in db.execute("SELECT at, helpful, topic FROM feedback"):
        feedback[(utc_day(at), topic or "", int(bool(helpful)))] += 1
    db.executemany("INSERT INTO usage_daily VALUES (?, ?, ?, ?, ?)", _rows(usage))
    db.executemany("INSERT INTO topics_daily VALUES (?, ?, ?)", _rows(topics))
    db.executemany("INSERT INTO latency_daily VALUES (?, ?, ?)", _rows(latency))
    db.executemany("INSERT INTO feedback_daily VALUES (?, ?, ?, ?)", _rows(feedback))
    db.executemany(
        "INSERT INTO people_daily VALUES (?, ?)", [(d, len(keys)) for d, keys in people.items()]
    )
    _run(
        db,
        "DROP TABLE events",
        "DROP TABLE feedback",
        "UPDATE users SET created_at = CAST(created_at / 86400 AS INTEGER) * 86400",
        # deletions: rows move to a new table once re-sealed with the key
        "DROP INDEX deletions_due",
        "DROP INDEX deletions_pseudonym",
        "ALTER TABLE deletions RENAME TO legacy_deletions",
        """
        CREATE TABLE deletions (
            id INTEGER PRIMARY KEY, due REAL NOT NULL, sealed BLOB NOT NULL
        )
        """,
        "CREATE INDEX deletions_due ON deletions(due)",
        # inbox: tombstones move at once (they hold no pseudonym); pending rows once re-sealed
        "DROP INDEX inbox_received_at",
        "DROP INDEX inbox_pseudonym",
        "ALTER TABLE inbox RENAME TO legacy_inbox",
        """
        CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            received_at REAL NOT NULL,
            sealed BLOB,
            done_at REAL
        )
        """,
        "CREATE INDEX inbox_received_at ON inbox(received_at)",
        "INSERT INTO inbox (update_id, received_at, done_at)"
        " SELECT update_id, received_at, done_at FROM legacy_inbox WHERE done_at IS NOT NULL",
        "DELETE FROM legacy_inbox WHERE done_at IS NOT NULL",
        # gaps: the text is sealed with its owner; only the hour stays readable
        "DROP INDEX gaps_at",
        "DROP INDEX gaps_pseudonym",
        "ALTER TABLE gaps RENAME TO legacy_gaps",
        "CREATE TABLE gaps (id INTEGER PRIMARY KEY, hour REAL NOT NULL, sealed BLOB NOT NULL)",
        "CREATE INDEX gaps_hour ON gaps(hour)",
    )


def _rows(counts: Counter[Any]) -> list[tuple[Any, ...]]:
    return [(*key, n) for key, n in counts.items()]


def applied(db: sqlite3.Connection) -> list[str]:
    """Return the names of the migrations recorded in `db`, in the order applied."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    return [row[0] for row in db.execute("SELECT name FROM migrations ORDER BY rowid")]


def migrate(
    db: sqlite3.Connection,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    upto: int | None = None,
    clock: Callable[[], float] = time.time,
) -> list[str]:
    """Apply the migrations `db` lacks (the first `upto` only, if given); return their names.

    `db` must be in autocommit mode (`isolation_level=None`): each migration runs in its own
    `BEGIN IMMEDIATE` transaction with the row that records it.
    """
    if db.isolation_level is not None:
        raise MigrationError("migrate() needs a connection opened with isolation_level=None")
    known = [fn.__name__ for fn in migrations]
    done = applied(db)
    unknown = [name for name in done if name not in known]
    if unknown:
        raise MigrationError(
            f"the database has migrations this code does not know ({', '.join(unknown)}); "
            "it was written by a newer Waypoint"
        )
    newly: list[str] = []
    for fn in list(migrations)[:upto]:
        if fn.__name__ in done:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            fn(db)
            db.execute(
                "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (fn.__name__, clock())
            )
        except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
            db.execute("ROLLBACK")
            raise MigrationError(f"migration {fn.__name__} failed: {exc}") from exc
        db.execute("COMMIT")
        newly.append(fn.__name__)
    return newly

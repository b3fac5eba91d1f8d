"""Named, ordered schema migrations, recorded by name in the `migrations` table.

The pattern is simonw/llm's `migrations.py`: a list of functions, applied in order, each in
its own transaction together with the row that records it. Never edit or reorder a migration
that has shipped; add a new one at the end.

Data at rest, by table (no raw Telegram ids, names or message texts anywhere):
  users       pseudonym, language, autodelete seconds
  events      pseudonym, time, kind, language, topics, outcome flags, latency
  feedback    pseudonym, time, helpful, topic
  gaps        scrubbed unanswered questions, only when the operator opted in (30 days)
  deletions   pseudonym, due time, sealed (chat id, message id)
  inbox       update id, pseudonym, time, sealed update payload; a tombstone once done
  heartbeat   one row, rewritten by the health check
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from bot.store.errors import MigrationError

Migration = Callable[[sqlite3.Connection], None]

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
    # Kept unanswered texts carry their author's pseudonym so /forget removes them too.
    _run(
        db,
        "ALTER TABLE gaps ADD COLUMN pseudonym TEXT",
        "CREATE INDEX gaps_pseudonym ON gaps(pseudonym)",
    )


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
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise MigrationError(f"migration {fn.__name__} failed: {exc}") from exc
        db.execute("COMMIT")
        newly.append(fn.__name__)
    return newly

"""Schema migrations: from nothing, and from every earlier schema with data in it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.store import MigrationError, Store
from bot.store.crypto import Sealer, pseudonym
from bot.store.migrations import MIGRATIONS, applied, migrate

SECRET = b"migration-test-secret-0123456789"
USER = 555000111
NAMES = [fn.__name__ for fn in MIGRATIONS]


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_the_list_has_at_least_two_uniquely_named_migrations() -> None:
    assert len(NAMES) >= 2
    assert len(set(NAMES)) == len(NAMES)


def test_from_an_empty_database(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite3")
    assert migrate(db) == NAMES
    assert applied(db) == NAMES
    assert {"users", "events", "feedback", "gaps", "deletions", "inbox", "migrations"} <= tables(db)
    assert migrate(db) == []  # nothing left to do
    db.close()


async def test_store_open_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    async with await Store.open(path, secret=SECRET):
        pass
    async with await Store.open(path, secret=SECRET):  # reopening applies nothing twice
        pass
    db = connect(path)
    rows = db.execute("SELECT name FROM migrations ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == NAMES
    db.close()


# Rows that each schema level can hold, written the way that schema's code wrote them.
def seed_v1(db: sqlite3.Connection) -> None:
    key = pseudonym(SECRET, USER)
    db.execute("INSERT INTO users (pseudonym, language, created_at) VALUES (?, 'tr', 1)", (key,))
    db.execute(
        "INSERT INTO events (pseudonym, at, kind, language, topics, answer_found, emergency,"
        " latency_ms) VALUES (?, strftime('%s','now'), 'question', 'tr', ?, 0, 0, 12.5)",
        (key, json.dumps(["detention"])),
    )
    db.execute(
        "INSERT INTO feedback (pseudonym, at, helpful, topic)"
        " VALUES (?, strftime('%s','now'), 1, 'detention')",
        (key,),
    )
    db.execute("INSERT INTO gaps (text, language, at) VALUES ('a gap', 'tr', strftime('%s','now'))")


def seed_v2(db: sqlite3.Connection) -> None:
    key = pseudonym(SECRET, USER)
    db.execute("UPDATE users SET autodelete_s = 600 WHERE pseudonym = ?", (key,))
    sealed = Sealer(SECRET).seal([USER, 77], purpose=b"deletion:" + key.encode())
    db.execute("INSERT INTO deletions (pseudonym, due, sealed) VALUES (?, 1, ?)", (key, sealed))


SEEDS: list[Callable[[sqlite3.Connection], None]] = [seed_v1, seed_v2]


@pytest.mark.parametrize("k", range(1, len(MIGRATIONS)), ids=lambda k: f"from-{NAMES[k - 1]}")
async def test_from_each_earlier_schema(tmp_path: Path, k: int) -> None:
    path = tmp_path / "s.sqlite3"
    db = connect(path)
    assert migrate(db, upto=k) == NAMES[:k]
    for seed in SEEDS[:k]:
        seed(db)
    db.close()

    async with await Store.open(path, secret=SECRET) as store:
        assert await store.get_language(USER) == "tr"
        stats = await store.stats(1)
        assert (stats.questions, stats.not_found, stats.helpful) == (1, 1, 1)
        assert stats.topics == {"detention": 1}
        assert [g.text for g in await store.recent_gaps()] == ["a gap"]
        if k >= 2:
            assert await store.get_autodelete(USER) == 600
            assert [(d.chat_id, d.message_id) for d in await store.due_deletions()] == [(USER, 77)]
        else:
            assert await store.get_autodelete(USER) is None
        # the newest schema works on the old data
        assert await store.inbox_put(1, {"message": {"from": {"id": USER}}})
        await store.forget(USER)
        assert await store.get_language(USER) is None

    db = connect(path)
    assert applied(db) == NAMES
    db.close()


def test_a_database_from_newer_code_is_refused(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite3")
    migrate(db)
    db.execute("INSERT INTO migrations (name, applied_at) VALUES ('m999_future', 0)")
    with pytest.raises(MigrationError, match="m999_future"):
        migrate(db)
    db.close()


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    def m001_ok(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE a (x)")

    def m002_broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE b (x)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    db = connect(tmp_path / "s.sqlite3")
    with pytest.raises(MigrationError, match="m002_broken"):
        migrate(db, migrations=[m001_ok, m002_broken])
    assert applied(db) == ["m001_ok"]
    assert "a" in tables(db) and "b" not in tables(db)
    db.close()


def test_migrate_needs_explicit_transactions(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.sqlite3")  # default: implicit transactions
    with pytest.raises(MigrationError, match="isolation_level"):
        migrate(db)
    db.close()

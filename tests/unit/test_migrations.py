"""Schema migrations: from nothing, and from every earlier schema with data in it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.store import KeyMismatchError, MigrationError, Store, load_or_create_secret, load_secret
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
    expected = {"users", "usage_daily", "gaps", "deletions", "inbox", "meta", "migrations"}
    assert expected <= tables(db)
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


def seed_v3(db: sqlite3.Connection) -> None:
    key = pseudonym(SECRET, USER)
    payload = {"update_id": 41, "message": {"from": {"id": USER}, "text": "still pending"}}
    sealed = Sealer(SECRET).seal(payload, purpose=b"inbox:41")
    db.execute(
        "INSERT INTO inbox (update_id, pseudonym, received_at, sealed)"
        " VALUES (41, ?, strftime('%s','now'), ?)",
        (key, sealed),
    )
    db.execute("INSERT INTO inbox (update_id, received_at, done_at) VALUES (40, 1, 1)")


def seed_v4(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO gaps (text, language, at, pseudonym)"
        " VALUES ('my name is Olga, where to hide', 'en', strftime('%s','now'), ?)",
        (pseudonym(SECRET, USER),),
    )


SEEDS: list[Callable[[sqlite3.Connection], None]] = [seed_v1, seed_v2, seed_v3, seed_v4]


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
        gaps = [g.text for g in await store.recent_gaps()]
        assert gaps == (["a gap"] if k < 4 else ["my name is [name], where to hide", "a gap"])
        assert [uid for uid, _ in await store.inbox_pending()] == ([41] if k >= 3 else [])
        if k >= 3:
            assert await store.inbox_put(40, {"update_id": 40}) is False  # tombstone kept
        if k >= 2:
            assert await store.get_autodelete(USER) == 600
            assert [(d.chat_id, d.message_id) for d in await store.due_deletions()] == [(USER, 77)]
        else:
            assert await store.get_autodelete(USER) is None
        # the newest schema works on the old data
        assert await store.inbox_put(1, {"message": {"from": {"id": USER}}})
        await store.forget(USER)
        assert await store.get_language(USER) is None
        assert await store.inbox_pending() == [] and await store.due_deletions() == []
        assert [g.text for g in await store.recent_gaps()] == ["a gap"]  # it had no owner

    db = connect(path)
    assert applied(db) == NAMES
    assert not {t for t in tables(db) if t.startswith("legacy_")}
    assert not {t for t in tables(db) if "pseudonym" in columns(db, t)} - {"users"}
    db.close()


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def old_database(path: Path, secret: bytes, *, sealed: bool) -> None:
    """A database as the last version before fingerprints left it."""
    db = connect(path)
    migrate(db, upto=NAMES.index("m005_unlinkable"))
    key = pseudonym(secret, USER)
    db.execute("INSERT INTO users (pseudonym, language, created_at) VALUES (?, 'fa', 1)", (key,))
    if sealed:
        blob = Sealer(secret).seal([USER, 9], purpose=b"deletion:" + key.encode())
        db.execute("INSERT INTO deletions (pseudonym, due, sealed) VALUES (?, 1, ?)", (key, blob))
    db.close()


HEX_KEY = "9f" * 32  # e.g. from `openssl rand -hex 32`


@pytest.mark.parametrize("sealed", [True, False], ids=["checked-by-sealed-rows", "unchecked"])
async def test_a_hex_environment_key_keeps_the_reading_it_was_written_with(
    tmp_path: Path, sealed: bool
) -> None:
    # The earlier version read WAYPOINT_SECRET_KEY as text, a key file as hex.
    path = tmp_path / "s.sqlite3"
    old_database(path, HEX_KEY.encode(), sealed=sealed)
    key = load_secret(tmp_path, HEX_KEY)
    assert key.key == bytes.fromhex(HEX_KEY)  # read as hex now, like a key file
    async with await Store.open(path, secret=key) as store:
        assert await store.get_language(USER) == "fa"
        if sealed:
            assert [d.message_id for d in await store.due_deletions()] == [9]
    # The same value, moved to a key file, still opens it (the fingerprint decides).
    (tmp_path / "k").write_text(HEX_KEY + "\n")
    async with await Store.open(path, secret=load_secret(tmp_path, None, tmp_path / "k")) as store:
        assert await store.get_language(USER) == "fa"


async def test_an_old_database_sealed_under_another_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    old_database(path, b"the-key-it-was-written-with!", sealed=True)
    with pytest.raises(KeyMismatchError):
        await Store.open(path, secret=SECRET)
    db = connect(path)
    assert applied(db) == NAMES and "legacy_deletions" in tables(db)  # nothing converted
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


async def test_the_earlier_key_api_keeps_the_older_reading_too(tmp_path: Path) -> None:
    # Services that still call load_or_create_secret() get bytes that remember their text.
    path = tmp_path / "s.sqlite3"
    old_database(path, HEX_KEY.encode(), sealed=False)
    secret = load_or_create_secret(tmp_path, HEX_KEY)
    assert secret == bytes.fromhex(HEX_KEY) and HEX_KEY not in repr(secret)
    async with await Store.open(path, secret=secret) as store:
        assert await store.get_language(USER) == "fa"

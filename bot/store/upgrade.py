"""Binding the database to one key, and re-sealing rows that earlier versions wrote.

Run once per open, before anything else touches the data:
1. The database keeps the fingerprint of its key (`meta.key_fingerprint`). A store opened with
   another key is refused (KeyMismatchError): going on would silently lose every setting and
   scheduled deletion, and /forget would no longer find a person's rows.
2. A database from before fingerprints has none. The key is then checked against the rows it
   sealed, trying each reading of the key's text (see bot.store.secret); with nothing sealed to
   check, the reading the earlier version used for the key's source is taken. Rows sealed under
   none of the readings mean another key: refused as in 1.
3. The rows of the legacy_* tables left by migration m005 are unsealed in their old layout,
   sealed again with the owner's pseudonym inside (kept texts scrubbed again, more thoroughly),
   and the legacy tables dropped; the file is then compacted, so the old layout leaves no trace.
"""

from __future__ import annotations

import logging

import aiosqlite

from bot.store.crypto import (
    DELETION_PURPOSE,
    GAP_PURPOSE,
    InvalidTag,
    Sealer,
    fingerprint,
    inbox_purpose,
    legacy_deletion_purpose,
    legacy_inbox_purpose,
)
from bot.store.db import Database, fetch, get_meta, set_meta
from bot.store.errors import KeyMismatchError
from bot.store.scrub import scrub
from bot.store.secret import OperatorKey

logger = logging.getLogger(__name__)

FINGERPRINT = "key_fingerprint"
SAMPLE_ROWS = 20
LEGACY_TABLES = ("legacy_deletions", "legacy_inbox", "legacy_gaps")
_UNREADABLE = (InvalidTag, ValueError, TypeError, UnicodeDecodeError)


async def bind_key(database: Database, key: OperatorKey) -> bytes:
    """Return the key bytes this database is written with; refuse a key it was not."""
    async with database.write() as db:
        stored = await get_meta(db, FINGERPRINT)
        if stored is not None:
            chosen = _matching(stored, key, database)
        else:
            chosen = await _first_binding(db, key, database)
            await set_meta(db, FINGERPRINT, fingerprint(chosen))
        legacy = await _legacy_tables(db)
        if legacy:
            await _convert(db, Sealer(chosen), legacy)
    if legacy:
        await database.compact()
    return chosen


def _matching(stored: str, key: OperatorKey, database: Database) -> bytes:
    for reading in key.readings():
        if fingerprint(reading) == stored:
            if reading is not key.key:
                logger.info("the key is read as text, as when this database was created")
            return reading
    raise KeyMismatchError(
        f"{database.path} was written with another secret key (key fingerprint "
        f"{stored[:12]}…; the key from {key.source} has {fingerprint(key.key)[:12]}…). "
        "Set WAYPOINT_SECRET_KEY or WAYPOINT_SECRET_KEY_FILE to the key it was written with; "
        "to start over instead, move the database aside (every setting and scheduled "
        "deletion in it would be lost)"
    )


async def _first_binding(db: aiosqlite.Connection, key: OperatorKey, database: Database) -> bytes:
    samples = await _sealed_samples(db)
    readings = key.readings()
    if samples:
        opened = [_opens(Sealer(r), samples) for r in readings]
        best = max(range(len(readings)), key=lambda n: opened[n])
        if opened[best] == 0:
            raise KeyMismatchError(
                f"{database.path} holds rows sealed under another secret key than the one from "
                f"{key.source}. Set WAYPOINT_SECRET_KEY or WAYPOINT_SECRET_KEY_FILE to the key "
                "it was written with; to start over instead, move the database aside"
            )
        return readings[best]
    if key.older is not None and key.older_was_used and await _has_keyed_rows(db):
        logger.warning(
            "nothing sealed to check the key against: %s is read as text, as the earlier "
            "version did, and this database is bound to that reading",
            key.source,
        )
        return key.older
    return key.key


async def _legacy_tables(db: aiosqlite.Connection) -> list[str]:
    rows = await fetch(
        db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'legacy\\_%'"
        " ESCAPE '\\'"
    )
    return [r[0] for r in rows if r[0] in LEGACY_TABLES]


async def _sealed_samples(db: aiosqlite.Connection) -> list[tuple[bytes, bytes]]:
    """(sealed blob, purpose) of a few rows sealed by an earlier version."""
    tables = await _legacy_tables(db)
    samples: list[tuple[bytes, bytes]] = []
    if "legacy_deletions" in tables:
        for key, sealed in await fetch(
            db, "SELECT pseudonym, sealed FROM legacy_deletions LIMIT ?", (SAMPLE_ROWS,)
        ):
            samples.append((sealed, legacy_deletion_purpose(key)))
    if "legacy_inbox" in tables:
        for update_id, sealed in await fetch(
            db,
            "SELECT update_id, sealed FROM legacy_inbox WHERE sealed IS NOT NULL LIMIT ?",
            (SAMPLE_ROWS,),
        ):
            samples.append((sealed, legacy_inbox_purpose(update_id)))
    return samples


def _opens(sealer: Sealer, samples: list[tuple[bytes, bytes]]) -> int:
    opened = 0
    for sealed, purpose in samples:
        try:
            sealer.unseal(sealed, purpose=purpose)
        except _UNREADABLE:
            continue
        opened += 1
    return opened


async def _has_keyed_rows(db: aiosqlite.Connection) -> bool:
    rows = await fetch(db, "SELECT EXISTS (SELECT 1 FROM users)")
    if rows[0][0]:
        return True
    if "legacy_gaps" in await _legacy_tables(db):
        rows = await fetch(
            db, "SELECT EXISTS (SELECT 1 FROM legacy_gaps WHERE pseudonym IS NOT NULL)"
        )
        return bool(rows[0][0])
    return False


async def _convert(db: aiosqlite.Connection, sealer: Sealer, tables: list[str]) -> None:
    moved = dropped = 0
    if "legacy_deletions" in tables:
        for key, due, sealed in await fetch(
            db, "SELECT pseudonym, due, sealed FROM legacy_deletions ORDER BY id"
        ):
            try:
                chat_id, message_id = sealer.unseal(sealed, purpose=legacy_deletion_purpose(key))
            except _UNREADABLE:
                dropped += 1
                continue
            value = {"c": chat_id, "m": message_id, "o": key}
            await db.execute(
                "INSERT INTO deletions (due, sealed) VALUES (?, ?)",
                (due, sealer.seal(value, purpose=DELETION_PURPOSE)),
            )
            moved += 1
    if "legacy_inbox" in tables:
        for update_id, key, received_at, sealed in await fetch(
            db,
            "SELECT update_id, pseudonym, received_at, sealed FROM legacy_inbox"
            " WHERE sealed IS NOT NULL",
        ):
            try:
                payload = sealer.unseal(sealed, purpose=legacy_inbox_purpose(update_id))
            except _UNREADABLE:
                dropped += 1
                continue
            value = {"u": payload, "o": key}
            await db.execute(
                "INSERT OR IGNORE INTO inbox (update_id, received_at, sealed) VALUES (?, ?, ?)",
                (update_id, received_at, sealer.seal(value, purpose=inbox_purpose(update_id))),
            )
            moved += 1
    if "legacy_gaps" in tables:
        for text, language, at, key in await fetch(
            db, "SELECT text, language, at, pseudonym FROM legacy_gaps ORDER BY id"
        ):
            cleaned = scrub(text)
            if not cleaned:
                continue
            value = {"t": cleaned, "l": language, "at": at, "o": key, "k": []}
            await db.execute(
                "INSERT INTO gaps (hour, sealed) VALUES (?, ?)",
                (at - at % 3600, sealer.seal(value, purpose=GAP_PURPOSE)),
            )
            moved += 1
    for table in tables:
        await db.execute(f"DROP TABLE {table}")
    if moved or dropped:
        logger.info("re-sealed %d rows of an earlier version, dropped %d", moved, dropped)

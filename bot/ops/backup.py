"""`waypoint backup DEST`: a consistent copy of the state, and a manifest of the knowledge.

DEST (mode 0700) receives, each file 0600:
  state.sqlite3   an online backup (sqlite3 backup API) of the state database, safe while the
                  bot runs, switched to a single self-contained file (journal_mode=DELETE)
  manifest.json   when, what, where the key comes from and its fingerprint (not the key), and
                  every file of the knowledge folder with size and sha256
  secret.key      only with --include-key: the operator key (from the key file, or the value
                  of WAYPOINT_SECRET_KEY). Without it, whoever holds the backup cannot read the
                  sealed rows or test a Telegram id against the pseudonyms.
The index is not backed up: `waypoint ingest --rebuild` rebuilds it from knowledge/.
See docs/BACKUP.md for the restore.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.store.secret import SECRET_FILE, locate_key_file
from bot.store.upgrade import FINGERPRINT

BACKUP_DB = "state.sqlite3"
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def knowledge_manifest(knowledge_dir: Path) -> list[dict[str, Any]]:
    """List every file under `knowledge_dir` (sorted) with its size and sha256."""
    if not knowledge_dir.is_dir():
        return []
    return [
        {
            "path": path.relative_to(knowledge_dir).as_posix(),
            "size": path.stat().st_size,
            "sha256": sha256_file(path),
        }
        for path in sorted(knowledge_dir.rglob("*"))
        if path.is_file()
    ]


def backup_database(source: Path, target: Path) -> None:
    """Copy the live database at `source` into `target` with SQLite's online backup."""
    target.unlink(missing_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o600))
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        (result,) = dst.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise sqlite3.DatabaseError(f"backup failed its integrity check: {result}")
    finally:
        dst.close()
        src.close()


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by its owner only (0600), whatever the umask."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def key_fingerprint(db_copy: Path) -> str | None:
    """The fingerprint of the key the database is written with (None before the first start)."""
    db = sqlite3.connect(f"{db_copy.resolve().as_uri()}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE name = ?", (FINGERPRINT,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return None if row is None else str(row[0])


def main(settings: Settings, dest: Path, *, include_key: bool = False) -> int:
    """Back up the state database and a knowledge manifest (and the key, if asked) to `dest`."""
    source = settings.state_db
    if not source.is_file():
        print(f"backup: no state database at {source}", file=sys.stderr)
        return 1
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        backup_database(source, dest / BACKUP_DB)
    except sqlite3.Error as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1

    db_copy = dest / BACKUP_DB
    key_file = None if settings.secret_key else locate_key_file(
        settings.data_dir, settings.secret_key_file
    )
    secret: dict[str, Any] = {
        "source": "WAYPOINT_SECRET_KEY" if settings.secret_key else "file" if key_file else None,
        "fingerprint": key_fingerprint(db_copy),
        "included": False,
        "file": None,
    }
    (dest / SECRET_FILE).unlink(missing_ok=True)  # never leave an older key behind
    if include_key and (settings.secret_key or key_file):
        if settings.secret_key:
            key = (settings.secret_key + "\n").encode("utf-8")
        else:
            assert key_file is not None
            key = key_file.read_bytes()
        write_private(dest / SECRET_FILE, key)
        secret.update(included=True, file=SECRET_FILE)

    manifest = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "state_db": {
            "file": BACKUP_DB,
            "size": db_copy.stat().st_size,
            "sha256": sha256_file(db_copy),
        },
        "secret_key": secret,
        "knowledge_dir": str(settings.knowledge_dir),
        "knowledge": knowledge_manifest(settings.knowledge_dir),
    }
    write_private(dest / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    print(f"backup written to {dest} ({len(manifest['knowledge'])} knowledge files listed)")
    if secret["included"]:
        print("it holds the secret key: keep it as safe as the server itself")
    else:
        print("the secret key is not in it: a restore needs the key, kept apart from backups")
    return 0

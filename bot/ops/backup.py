"""`waypoint backup DEST`: a consistent copy of the state, and a manifest of the knowledge.

DEST receives
  state.sqlite3   an online backup (sqlite3 backup API) of the state database, safe while the
                  bot runs, switched to a single self-contained file (journal_mode=DELETE)
  secret.key      the generated secret key, if the bot uses one (not WAYPOINT_SECRET_KEY)
  manifest.json   when, what, and every file of the knowledge folder with size and sha256
The index is not backed up: `waypoint ingest --rebuild` rebuilds it from knowledge/.
See docs/BACKUP.md for the restore.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.store.store import SECRET_FILE

BACKUP_DB = "state.sqlite3"
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
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


def main(settings: Settings, dest: Path) -> int:
    """Back up the state database, the secret key and a knowledge manifest into `dest`."""
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

    key_file = settings.data_dir / SECRET_FILE
    secret: dict[str, Any]
    if settings.secret_key:
        secret = {"source": "WAYPOINT_SECRET_KEY", "file": None}
    elif key_file.is_file():
        (dest / SECRET_FILE).unlink(missing_ok=True)
        os.close(os.open(dest / SECRET_FILE, os.O_WRONLY | os.O_CREAT, 0o600))
        shutil.copyfile(key_file, dest / SECRET_FILE)
        secret = {"source": "file", "file": SECRET_FILE}
    else:
        secret = {"source": None, "file": None}

    db_copy = dest / BACKUP_DB
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
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"backup written to {dest} ({len(manifest['knowledge'])} knowledge files listed)")
    if secret["file"]:
        print("it holds the secret key: keep it as safe as the server itself")
    return 0

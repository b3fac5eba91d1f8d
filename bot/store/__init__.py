"""Waypoint's state: a person's settings, anonymous usage counts, scheduled deletions, the
durable inbox and (if the operator opts in) kept unanswered questions, in one SQLite file.

Modules, by job:
  state      `Store`: settings, scheduled deletions, /forget, retention, health; opens the rest
  stats      `Usage`: daily counts that name no one; `Stats` for /stats and `waypoint report`
  inbox      `Inbox`: durable updates, and this process's bookkeeping of them
  gaps       `KeptTexts`: kept unanswered questions, scrubbed and sealed
  scrub      the scrubber for kept texts
  secret     where the operator key comes from and how its text is read
  upgrade    the key fingerprint check, and re-sealing rows of earlier versions
  crypto     pseudonyms, sealing, fingerprints
  db         the connection, transactions, compaction; migrations the schema

Which calls must succeed, and which are best-effort:
  must succeed or raise (the caller reports the failure; never swallowed):
    `Store.open` (a key that does not match the database is refused: KeyMismatchError),
    `forget` (one transaction; a reader holding the WAL delays only its truncation),
    `set_language`, `set_autodelete` (the user is told the choice was saved),
    `schedule_deletion` when /autodelete is turned on, `purge_expired`, `Inbox.replay`.
  best-effort (handlers wrap them in `Services.best_effort`, so a failing store never stands
  between a question and its answer):
    `get_language`, `get_autodelete`, `record_event`, `record_feedback`, `keep_unanswered`,
    `schedule_deletion` for the messages of a conversation, `Inbox.record`, `Inbox.answered`,
    `Inbox.done`, `is_writable` (returns False instead of raising).

What a copy of the data directory (or a backup) reveals without the key: daily counts by
language, topic, outcome, vote and latency; how many distinct people each day; for each person
who chose a language or auto-delete, an opaque pseudonym with that choice and the day it was
first made; sealed blobs (pending updates, scheduled deletions, kept texts) with their times.
Nothing links two events to one person. With the key as well, a suspected Telegram id can be
tested against the pseudonyms, and the sealed blobs read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.store.deletions import Deletion
from bot.store.errors import (
    KeyMismatchError,
    MigrationError,
    SecretError,
    StoreClosedError,
    StoreError,
)
from bot.store.gaps import Gap
from bot.store.inbox import Inbox
from bot.store.scrub import scrub
from bot.store.secret import OperatorKey, load_or_create_secret, load_secret
from bot.store.state import Store
from bot.store.stats import QUESTION_KIND, DayCounts, Stats

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "QUESTION_KIND",
    "DayCounts",
    "Deletion",
    "Gap",
    "Inbox",
    "KeyMismatchError",
    "MigrationError",
    "OperatorKey",
    "SecretError",
    "Stats",
    "Store",
    "StoreClosedError",
    "StoreError",
    "load_or_create_secret",
    "load_secret",
    "open_store",
    "scrub",
]


async def open_store(settings: Settings) -> Store:
    """Open the state database with the operator key, as the settings say."""
    import asyncio

    key = await asyncio.to_thread(
        load_secret,
        settings.data_dir,
        settings.secret_key,
        settings.secret_key_file,
    )
    return await Store.open(
        settings.state_db,
        secret=key,
        keep_unanswered=settings.keep_unanswered,
        retention_days=settings.retention_days,
    )

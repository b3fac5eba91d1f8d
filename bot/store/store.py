"""The names earlier code imported from `bot.store.store`; the store now lives in modules by
job (see the `bot.store` package docstring). Import from `bot.store` instead."""

from __future__ import annotations

from bot.store.deletions import DELETION_GRACE_S, Deletion
from bot.store.gaps import GAP_RETENTION_S, Gap
from bot.store.inbox import PENDING_TTL_S as INBOX_PENDING_TTL_S
from bot.store.inbox import TOMBSTONE_TTL_S as INBOX_TOMBSTONE_TTL_S
from bot.store.scrub import MAX_KEPT_CHARS as MAX_GAP_CHARS
from bot.store.scrub import scrub
from bot.store.secret import MIN_SECRET_CHARS, SECRET_FILE, load_or_create_secret
from bot.store.state import HEALTH_TIMEOUT_S, Store
from bot.store.stats import DAY_S, QUESTION_KIND, DayCounts, Stats

__all__ = [
    "DAY_S",
    "DELETION_GRACE_S",
    "GAP_RETENTION_S",
    "HEALTH_TIMEOUT_S",
    "INBOX_PENDING_TTL_S",
    "INBOX_TOMBSTONE_TTL_S",
    "MAX_GAP_CHARS",
    "MIN_SECRET_CHARS",
    "QUESTION_KIND",
    "SECRET_FILE",
    "DayCounts",
    "Deletion",
    "Gap",
    "Stats",
    "Store",
    "load_or_create_secret",
    "scrub",
]

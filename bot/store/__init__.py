"""Waypoint's state store: pseudonymous preferences, usage, deletions and the durable inbox."""

from bot.store.errors import MigrationError, SecretError, StoreClosedError, StoreError
from bot.store.store import (
    QUESTION_KIND,
    DayCounts,
    Deletion,
    Gap,
    Stats,
    Store,
    load_or_create_secret,
    scrub,
)

__all__ = [
    "QUESTION_KIND",
    "DayCounts",
    "Deletion",
    "Gap",
    "MigrationError",
    "SecretError",
    "Stats",
    "Store",
    "StoreClosedError",
    "StoreError",
    "load_or_create_secret",
    "scrub",
]

"""The store's exceptions.

StoreError             anything the store cannot do; the message is for the operator's log
├── MigrationError     the schema cannot be brought up to date (or is newer than the code)
├── SecretError        WAYPOINT_SECRET_KEY is malformed, or data/secret.key is unusable
└── StoreClosedError   the store was used after close()
"""

from __future__ import annotations


class StoreError(Exception):
    """The state store failed."""


class MigrationError(StoreError):
    """The schema cannot be brought up to date."""


class SecretError(StoreError):
    """The operator secret is missing, malformed or unreadable."""


class StoreClosedError(StoreError):
    """The store was used after close()."""

"""The store's exceptions.

StoreError             anything the store cannot do; the message is for the operator's log
├── MigrationError     the schema cannot be brought up to date (or is newer than the code)
├── SecretError        the secret key is missing, malformed or unreadable
│   └── KeyMismatchError   the database was written with another key (refused at start)
└── StoreClosedError   the store was used after close()
"""

from __future__ import annotations


class StoreError(Exception):
    """The state store failed."""


class MigrationError(StoreError):
    """The schema cannot be brought up to date."""


class SecretError(StoreError):
    """The operator secret is missing, malformed or unreadable."""


class KeyMismatchError(SecretError):
    """The configured key is not the one the state database was written with."""


class StoreClosedError(StoreError):
    """The store was used after close()."""

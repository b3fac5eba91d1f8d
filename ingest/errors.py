"""Errors raised while turning files into index entries.

IngestError
├── DocumentError      one file could not be used (reason is shown to staff)
└── IndexError_        the index cannot be opened or written
    ├── EncoderMismatch   the index was built by another encoder
    └── IndexLocked       another process writes the embedded index
"""

from __future__ import annotations


class IngestError(Exception):
    """Base class of ingest errors."""


class DocumentError(IngestError):
    """One document is unusable; `reason` says why in words staff understand."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


class IndexError_(IngestError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The index cannot be opened or written."""


class EncoderMismatch(IndexError_):
    """The collection was built by a different encoder than the one configured."""


class IndexLocked(IndexError_):
    """Another process holds the embedded index."""

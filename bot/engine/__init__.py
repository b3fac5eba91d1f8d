"""The answer engine: a defender's message in, a grounded `Answer` out. No Telegram imports.

`build_engine(config)` (an `EngineConfig`, or the app settings that make one) loads the
encoders and opens the index once; `Engine.answer` is
blocking (encoding, Chroma) and is awaited from the bot through `asyncio.to_thread`.
"""

from __future__ import annotations

from typing import Protocol

from bot.engine.types import Answer, Guidance, Passage, Referral
from ingest.metadata import Vocabulary
from ingest.schema import IngestSummary

__all__ = ["Answer", "AnswerEngine", "Passage", "Referral"]


class AnswerEngine(Protocol):
    """What the Telegram layer and the CLI need from the engine."""

    vocabulary: Vocabulary  # the topics of knowledge/topics.yaml, with their names

    def answer(
        self, question: str, *, language: str | None = None, topic: str | None = None
    ) -> Answer:
        """Answer one question (blocking). `language` forces the UI language if given."""

    def detect_language(self, text: str) -> str:
        """ISO 639-1 code of `text` (falls back to "en")."""

    def organizations(self, topic: str | None = None, language: str = "en") -> list[Referral]:
        """The directory (never closed organizations), optionally for one topic; offers
        described in `language` where the directory has it."""

    def emergency_contacts(self, language: str = "en") -> tuple[Referral, ...]:
        """The 24/7 contacts, first in any emergency answer."""

    def situation_protocol(self, situation: str, language: str = "en") -> Guidance | None:
        """The steps for one emergency situation (`ingest.schema.SITUATIONS`), in `language`
        where the knowledge has them; None if the knowledge has no protocol for it."""

    def reindex(self) -> IngestSummary:
        """Re-ingest knowledge/ (blocking); returns the summary `waypoint ingest --json` prints."""

    def index_size(self) -> int:
        """Number of chunks in the index (0 when it is unavailable)."""

"""The engine's own configuration: only what answering needs, nothing of Telegram or storage.

The application builds it from its settings (`Settings.engine_config()`); tests and
benchmarks build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ingest.encoders import DEFAULT_EMBEDDINGS


@dataclass(frozen=True)
class EngineConfig:
    """Where the knowledge and the index are, which encoders, and the optional LLM."""

    knowledge_dir: Path
    data_dir: Path
    embeddings: str = DEFAULT_EMBEDDINGS
    chroma_url: str | None = None
    chroma_token: str | None = field(default=None, repr=False)
    chroma_ca_file: Path | None = None
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 20.0

    @property
    def chroma_dir(self) -> Path:
        """Where the embedded Chroma index lives (unused when `chroma_url` is set)."""
        return self.data_dir / "chroma"

    @property
    def llm_enabled(self) -> bool:
        """True when both an LLM endpoint and a model are configured."""
        return bool(self.llm_base_url and self.llm_model)


class HasEngineConfig(Protocol):
    """Anything that can say how the engine is configured (the app's Settings)."""

    def engine_config(self) -> EngineConfig:
        """The engine's part of the settings."""


def as_engine_config(source: EngineConfig | HasEngineConfig) -> EngineConfig:
    """The engine configuration itself, or the one the app's settings derive."""
    return source if isinstance(source, EngineConfig) else source.engine_config()

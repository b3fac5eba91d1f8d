"""What the bot will not answer: requests to locate or identify a person, and everyday
questions far from protection. Nearest neighbours over multilingual examples (`scope.yaml`)
against the knowledge itself (answer-unit titles and topic descriptions) as the in-scope side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.engine.text import phrase_in, tokens
from ingest.encoders import Encoder

DATA = Path(__file__).with_name("scope.yaml")
LOCATE_CUE_MARGIN = -0.10  # with a locate cue in the message, a weaker closeness suffices
LOCATE_CUE_FLOOR = 0.30
LOCATE_MARGIN = 0.02  # closer to the locate examples than to anything we answer, by this much
LOCATE_FLOOR = 0.45
OUT_MARGIN = 0.03
OUT_FLOOR = 0.35


@dataclass(frozen=True)
class ScopeResult:
    """What the bot will not answer in one message, and how close it is to what it does."""

    locate_person: bool
    out_of_scope: bool
    inside: float  # similarity to the nearest in-scope examples


class Scope:
    """Refusal decisions for one message, from its primary-encoder vector."""

    def __init__(
        self,
        encoder: Encoder,
        in_scope: list[str],
        data: dict[str, Any] | None = None,
        *,
        k: int = 3,
    ) -> None:
        data = data or yaml.safe_load(DATA.read_text(encoding="utf-8"))
        self.k = k
        locate = [s for texts in data["locate_person"].values() for s in texts]
        out = [s for texts in data["out_of_scope"].values() for s in texts]
        self._locate = encoder.encode(locate)
        self._out = encoder.encode(out)
        self.outside = out  # everyday questions: also calm examples for triage
        in_scope = in_scope + [str(t) for t in data.get("in_scope") or []]
        self._in = encoder.encode(in_scope) if in_scope else np.zeros((0, encoder.dim))
        self._cues = [str(c) for c in data.get("locate_cues") or []]

    def _knn(self, matrix: np.ndarray, vector: np.ndarray) -> float:
        if not len(matrix):
            return 0.0
        sims = matrix @ vector
        return float(np.sort(sims)[-self.k :].mean())

    def assess(self, text: str, vector: np.ndarray) -> ScopeResult:
        """`vector` is the message's primary-encoder embedding (computed once upstream)."""
        inside = self._knn(self._in, vector)
        locate = self._knn(self._locate, vector)
        out = self._knn(self._out, vector)
        toks = tokens(text[:2000])
        cue = any(phrase_in(c, toks) for c in self._cues)
        margin, floor = (
            (LOCATE_CUE_MARGIN, LOCATE_CUE_FLOOR) if cue else (LOCATE_MARGIN, LOCATE_FLOOR)
        )
        return ScopeResult(
            locate_person=locate > floor and locate > inside + margin,
            out_of_scope=out > OUT_FLOOR and out > inside + OUT_MARGIN,
            inside=inside,
        )

"""Emergency recognition before retrieval: nearest neighbours over multilingual examples,
backed by lexical cues (a `now` cue together with a `danger` cue).

The examples live in `triage.yaml` beside this module: add a sentence there to teach a case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.engine.text import normalize, phrase_in, tokens
from ingest.encoders import Encoder

DATA = Path(__file__).with_name("triage.yaml")
# A message far closer to the danger examples than to the calm ones is flagged even when it
# resembles none of them strongly (short or unusual wording).
CLEAR_MARGIN = 0.10
CLEAR_FLOOR = 0.25
# Lexical cues (a `now` cue with a `danger` cue) flag a message unless it is clearly calm.
LEXICAL_MARGIN = -0.06


@dataclass(frozen=True)
class TriageResult:
    """Whether one message is an emergency, with the evidence behind the decision."""

    emergency: bool
    score: float  # positive-minus-negative similarity margin
    lexical: bool


class Triage:
    """Emergency decisions for one message, from its primary-encoder vector and its words."""

    def __init__(
        self,
        encoder: Encoder,
        data: dict[str, Any] | None = None,
        *,
        k: int = 3,
        margin: float = 0.06,
        floor: float = 0.35,
    ) -> None:
        data = data or yaml.safe_load(DATA.read_text(encoding="utf-8"))
        self.encoder = encoder
        self.k = k
        self.margin = margin
        self.floor = floor
        pos = [s for texts in data["emergency"].values() for s in texts]
        neg = [s for texts in data["not_emergency"].values() for s in texts]
        self._pos = encoder.encode(pos)
        self._neg = encoder.encode(neg)
        cues = data.get("cues") or {}
        self._now = [p for words in (cues.get("now") or {}).values() for p in words]
        self._danger = [p for words in (cues.get("danger") or {}).values() for p in words]

    def learn(self, emergency: list[str], calm: list[str]) -> None:
        """Add examples from the knowledge: protocol questions are emergencies, answer-unit
        questions are calm (the hard negatives that keep false alarms down)."""
        if emergency:
            self._pos = np.vstack([self._pos, self.encoder.encode(emergency)])
        if calm:
            self._neg = np.vstack([self._neg, self.encoder.encode(calm)])

    def _knn(self, matrix: np.ndarray, vector: np.ndarray) -> float:
        sims = matrix @ vector
        top = np.sort(sims)[-self.k :]
        return float(top.mean())

    def assess(self, text: str, vector: np.ndarray, *, words_only: bool = False) -> TriageResult:
        """`vector` is the question's embedding by the same encoder (computed once upstream).

        `words_only`: the encoder cannot read how the message is written (Arabic in Latin
        letters), so its margin is noise and the cues decide alone.
        """
        pos = self._knn(self._pos, vector)
        neg = self._knn(self._neg, vector)
        score = pos - neg
        toks = tokens(text)
        lowered = normalize(text)
        lexical = _any_cue(self._now, toks, lowered) and _any_cue(self._danger, toks, lowered)
        semantic = (score > self.margin and pos > self.floor) or (
            score > CLEAR_MARGIN and pos > CLEAR_FLOOR
        )
        emergency = semantic or (lexical and (words_only or score > LEXICAL_MARGIN))
        return TriageResult(emergency, score, lexical)


# Scripts written without spaces between words (Chinese, Japanese): a cue there is a substring.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def _any_cue(cues: list[str], toks: list[str], lowered: str) -> bool:
    return any(
        normalize(cue) in lowered if _UNSPACED.search(cue) else phrase_in(cue, toks)
        for cue in cues
    )

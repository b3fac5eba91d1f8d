"""What the bot will not answer: requests to locate or identify a person, and everyday
questions far from protection. Nearest neighbours over multilingual examples (`scope.yaml`)
against the knowledge itself (answer-unit titles and topic descriptions) as the in-scope side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bot.engine.text import phrase_in, tokens
from ingest.encoders import Encoder

# Texts to their vectors by one encoder, embedded as messages ("query").
Embed = Callable[[list[str]], np.ndarray]
DATA = Path(__file__).with_name("scope.yaml")
LOCATE_CUE_MARGIN = -0.10  # with a locate cue in the message, a weaker closeness suffices
LOCATE_CUE_FLOOR = 0.30
LOCATE_MARGIN = 0.02  # closer to the locate examples than to anything we answer, by this much
LOCATE_FLOOR = 0.45
OUT_MARGIN = 0.03
OUT_FLOOR = 0.35
# The linear second opinion on everyday questions (see `Scope.fit_linear`), chosen on dev.
LINEAR_C = 8.0
LINEAR_THRESHOLD = 0.5


@dataclass(frozen=True)
class ScopeResult:
    """What the bot will not answer in one message, and how close it is to what it does."""

    locate_person: bool
    out_of_scope: bool
    inside: float  # similarity to the nearest in-scope examples
    linear: float | None = None  # the linear model's probability of an everyday question


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
        self._inside_texts = list(in_scope)
        self._linear: tuple[str, np.ndarray, float] | None = None
        self._in = encoder.encode(in_scope) if in_scope else np.zeros((0, encoder.dim))
        self._cues = [str(c) for c in data.get("locate_cues") or []]

    def _knn(self, matrix: np.ndarray, vector: np.ndarray) -> float:
        if not len(matrix):
            return 0.0
        sims = matrix @ vector
        return float(np.sort(sims)[-self.k :].mean())

    def fit_linear(self, name: str, embed: Embed, inside: Sequence[str] = ()) -> None:
        """Fit the second opinion on everyday questions: a logistic regression over encoder
        `name`'s vectors of the out-of-scope examples against everything we answer (and
        `inside`, e.g. the triage examples)."""
        from sklearn.linear_model import LogisticRegression

        out, ours = self.outside, self._inside_texts + list(inside)
        if not out or not ours:
            return
        x = embed(out + ours)
        y = np.r_[np.ones(len(out)), np.zeros(len(ours))]
        model = LogisticRegression(C=LINEAR_C, max_iter=3000, class_weight="balanced")
        model.fit(x, y)
        self._linear = (name, model.coef_[0].astype(np.float32), float(model.intercept_[0]))

    def assess(
        self, text: str, vector: np.ndarray, vectors: Mapping[str, np.ndarray] | None = None
    ) -> ScopeResult:
        """`vector` is the message's primary-encoder embedding (computed once upstream);
        `vectors` its vector by each encoder, for the linear second opinion."""
        inside = self._knn(self._in, vector)
        locate = self._knn(self._locate, vector)
        out = self._knn(self._out, vector)
        toks = tokens(text[:2000])
        cue = any(phrase_in(c, toks) for c in self._cues)
        margin, floor = (
            (LOCATE_CUE_MARGIN, LOCATE_CUE_FLOOR) if cue else (LOCATE_MARGIN, LOCATE_FLOOR)
        )
        outside = out > OUT_FLOOR and out > inside + OUT_MARGIN
        linear = None
        if self._linear is not None and vectors is not None and self._linear[0] in vectors:
            name, weights, bias = self._linear
            linear = float(1.0 / (1.0 + np.exp(-(float(vectors[name] @ weights) + bias))))
            outside = outside or linear > LINEAR_THRESHOLD
        return ScopeResult(
            locate_person=locate > floor and locate > inside + margin,
            out_of_scope=outside,
            inside=inside,
            linear=linear,
        )

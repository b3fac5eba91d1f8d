"""Which emergency situation a message describes (raid, detention, device, border, threat):
a logistic regression over one encoder's vectors of the example messages in `situations.yaml`
and the protocols' own titles and questions. Its answer picks the protocol whose steps the
person reads first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

Embed = Callable[[list[str]], np.ndarray]
DATA = Path(__file__).with_name("situations.yaml")
# Chosen on the development sets' emergencies (C = 1-16 score within a point of each other).
LINEAR_C = 4.0
# Below this probability the model is unsure and no protocol is chosen: the person gets the
# general first steps, not the steps for another situation ("ask for the warrant through the
# door" to someone whose friend has just disappeared). On the development sets' emergencies,
# 11 of 116 fall below it, 7 of which the model would have answered with the wrong protocol.
SURE = 0.35


class Situations:
    """The situation of an emergency message, learned from labelled examples."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data if data is not None else yaml.safe_load(DATA.read_text(encoding="utf-8"))
        self._examples = [
            (str(situation), str(text))
            for situation, languages in (data.get("situations") or {}).items()
            for texts in (languages or {}).values()
            for text in texts or ()
        ]
        self._model: tuple[str, list[str], np.ndarray, np.ndarray] | None = None

    def examples(self) -> list[str]:
        """Every example message: all of them are emergencies."""
        return [text for _, text in self._examples]

    def fit(self, name: str, embed: Embed, extra: Sequence[tuple[str, str]] = ()) -> None:
        """Fit over encoder `name`'s vectors of the examples plus `extra` (situation, text)
        pairs, e.g. the protocols' titles and questions. Needs two situations at least."""
        from sklearn.linear_model import LogisticRegression

        pairs = list(dict.fromkeys([*self._examples, *extra]))
        labels = sorted({s for s, _ in pairs})
        if len(labels) < 2:
            self._model = None
            return
        x = embed([text for _, text in pairs])
        y = np.array([labels.index(s) for s, _ in pairs])
        model = LogisticRegression(C=LINEAR_C, max_iter=3000)
        model.fit(x, y)
        coef = model.coef_.astype(np.float32)
        bias = model.intercept_.astype(np.float32)
        if len(labels) == 2:  # a binary model keeps one row: the second label's side
            coef, bias = np.vstack([-coef, coef]), np.r_[-bias, bias]
        self._model = (name, labels, coef, bias)

    @property
    def fitted(self) -> bool:
        """Whether the model is fitted (else the caller chooses another way)."""
        return self._model is not None

    def classify(self, vectors: Mapping[str, np.ndarray]) -> str | None:
        """The most likely situation; None when the model is unsure (under SURE), not fitted,
        or not fitted for these vectors."""
        if self._model is None or self._model[0] not in vectors:
            return None
        from scipy.special import softmax

        name, labels, coef, bias = self._model
        probs = softmax(coef @ vectors[name] + bias)
        best = int(np.argmax(probs))
        return labels[best] if probs[best] >= SURE else None

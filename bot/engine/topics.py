"""Which topics of the vocabulary a question is about, in any language: its embedding
against the multilingual topic descriptions, plus the topic keywords it contains.

Where a second reader is set (e5, which knows Ukrainian and Persian), each encoder's
similarities are standardised across the topics and averaged, then put back on the primary
encoder's scale: the ranking uses both readers while the scores stay comparable to the
thresholds chosen on the primary encoder alone."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from bot.engine.text import phrase_in, tokens
from ingest.encoders import Encoder
from ingest.metadata import Topic

KEYWORD_BONUS = 0.08
KEYWORD_CAP = 0.16


class TopicModel:
    """The topic vocabulary with the primary encoder's vectors of its descriptions and names."""

    def __init__(self, encoder: Encoder, topics: dict[str, Topic]) -> None:
        self.topics = topics
        labels: list[str] = []
        texts: list[str] = []
        for topic in topics.values():
            for lang, description in topic.descriptions.items():
                labels.append(topic.id)
                texts.append(description)
                words = topic.keywords.get(lang) or []
                name = topic.names.get(lang, topic.id)
                labels.append(topic.id)
                texts.append(f"{name}: {', '.join(words)}")
        self._labels = np.array(labels)
        self.texts = texts  # what each topic is embedded as (descriptions, names with keywords)
        self._vectors = encoder.encode(texts)
        self._second: tuple[str, np.ndarray] | None = None
        self._keywords = {
            t.id: [w for words in t.keywords.values() for w in words] for t in topics.values()
        }

    def descriptions(self) -> list[str]:
        """Every topic description, in every language (what the knowledge is about)."""
        return [d for t in self.topics.values() for d in t.descriptions.values()]

    def mentioned(self, question: str) -> bool:
        """Whether the question contains any topic's keyword (it names something we cover)."""
        return bool(self.named(question))

    def named(self, question: str) -> list[str]:
        """The topics whose keywords the question contains ("pegasus": digital security)."""
        toks = tokens(question)
        return [t for t, words in self._keywords.items() if any(phrase_in(w, toks) for w in words)]

    def set_reader(self, name: str, vectors: np.ndarray) -> None:
        """A second encoder's vectors of `texts` (embedded as passages), read alongside."""
        self._second = (name, vectors)

    def score(
        self,
        question: str,
        vector: np.ndarray,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> list[tuple[str, float]]:
        """(topic, score) for every topic, best first; `vector` is the message by the primary
        encoder, `vectors` by every encoder (for the second reader)."""
        best = self._closest(self._vectors @ vector)
        if self._second is not None and vectors and self._second[0] in vectors:
            name, second = self._second
            other = self._closest(second @ vectors[name])
            ids = list(best)
            primary = np.array([best[t] for t in ids])
            mixed = (_standard(primary) + _standard(np.array([other[t] for t in ids]))) / 2
            best = dict(zip(ids, (primary.mean() + primary.std() * mixed).tolist(), strict=True))
        toks = tokens(question)
        for topic_id, words in self._keywords.items():
            hits = sum(1 for w in words if phrase_in(w, toks))
            best[topic_id] = best.get(topic_id, -1.0) + min(KEYWORD_BONUS * hits, KEYWORD_CAP)
        return sorted(best.items(), key=lambda kv: kv[1], reverse=True)

    def _closest(self, sims: np.ndarray) -> dict[str, float]:
        """Per topic, its closest text's similarity."""
        best: dict[str, float] = defaultdict(lambda: -1.0)
        for label, sim in zip(self._labels, sims, strict=True):
            best[str(label)] = max(best[str(label)], float(sim))
        return best


def _standard(values: np.ndarray) -> np.ndarray:
    """Standard scores across the topics (all zero when they are all equal)."""
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)

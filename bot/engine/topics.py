"""Which topics of the vocabulary a question is about, in any language: its embedding
against the multilingual topic descriptions, plus the topic keywords it contains."""

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
        self._vectors = encoder.encode(texts)
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

    def score(self, question: str, vector: np.ndarray) -> list[tuple[str, float]]:
        """(topic, score) for every topic, best first."""
        sims = self._vectors @ vector
        best: dict[str, float] = defaultdict(lambda: -1.0)
        for label, sim in zip(self._labels, sims, strict=True):
            best[str(label)] = max(best[str(label)], float(sim))
        toks = tokens(question)
        for topic_id, words in self._keywords.items():
            hits = sum(1 for w in words if phrase_in(w, toks))
            best[topic_id] += min(KEYWORD_BONUS * hits, KEYWORD_CAP)
        return sorted(best.items(), key=lambda kv: kv[1], reverse=True)

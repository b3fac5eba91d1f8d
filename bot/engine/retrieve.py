"""Hybrid retrieval: dense (one or two encoders) plus BM25, fused by weighted reciprocal rank.

The BM25 side is built in memory from the index's own entries when the engine starts, so
Chroma stays the single source of truth for what is searchable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np

from bot.engine.text import tokens
from ingest.index import Collection, Hit
from ingest.schema import embed_text

logger = logging.getLogger(__name__)

RRF_K = 60


@dataclass
class Candidate:
    """One index entry found for a question, with its score from each side of the search.

    `dense` holds the cosine similarity by encoder, `bm25` the raw BM25 score, and `fused`
    the weighted reciprocal-rank sum the candidates are ranked by.
    """

    id: str
    text: str
    metadata: dict[str, Any]
    dense: dict[str, float] = field(default_factory=dict)  # encoder -> cosine similarity
    bm25: float = 0.0
    fused: float = 0.0

    @property
    def kind(self) -> str:
        """What the entry is: "document", "organization" or "unit"."""
        return str(self.metadata.get("kind", "document"))

    @property
    def doc_id(self) -> str:
        """The document the entry was cut from (the entry's own id when unknown)."""
        return str(self.metadata.get("doc_id", self.id))

    @property
    def topics(self) -> list[str]:
        """The vocabulary topics the entry is tagged with."""
        return list(self.metadata.get("topics") or [])


class LexicalIndex:
    """BM25 over every entry of the index (documents and organizations)."""

    def __init__(self, entries: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        self.ids = [e[0] for e in entries]
        self.texts = [e[1] for e in entries]
        self.metas = [e[2] for e in entries]
        self.position = {chunk_id: n for n, chunk_id in enumerate(self.ids)}
        corpus = [tokens(embed_text(m, t)) for _, t, m in entries]
        self._bm25 = bm25s.BM25()
        if corpus:
            self._bm25.index([c or ["_"] for c in corpus], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every entry, in index order (all zero for an empty query)."""
        if not self.ids or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_tokens), dtype=np.float32)


class Retriever:
    """Search over the Chroma collections (one per encoder) and the BM25 index together."""

    def __init__(self, collections: dict[str, Collection], lexical: LexicalIndex) -> None:
        self.collections = collections
        self.lexical = lexical

    def search(
        self,
        question: str,
        vectors: dict[str, np.ndarray],
        *,
        weights: dict[str, float],
        k: int = 40,
        where: dict[str, Any] | None = None,
        mode: str = "hybrid",
    ) -> list[Candidate]:
        """Candidates ranked by fused score. `weights` holds one weight per encoder plus "bm25"."""
        pool: dict[str, Candidate] = {}
        if mode in ("hybrid", "dense"):
            for name, vector in vectors.items():
                weight = weights.get(name, 0.0)
                if weight <= 0:
                    continue
                hits = self.collections[name].query(vector, k, where)
                for rank, hit in enumerate(hits):
                    cand = pool.get(hit.id) or _candidate(hit)
                    cand.dense[name] = hit.similarity
                    cand.fused += weight / (RRF_K + rank + 1)
                    pool[hit.id] = cand
        if mode in ("hybrid", "bm25") and weights.get("bm25", 0.0) > 0:
            scores = self.lexical.scores(tokens(question))
            order = np.argsort(-scores)[:k]
            rank = 0
            for idx in order:
                if scores[idx] <= 0:
                    break
                meta = self.lexical.metas[idx]
                if where and not _matches(meta, where):
                    continue
                chunk_id = self.lexical.ids[idx]
                cand = pool.get(chunk_id) or Candidate(chunk_id, self.lexical.texts[idx], meta)
                cand.bm25 = float(scores[idx])
                cand.fused += weights["bm25"] / (RRF_K + rank + 1)
                pool[chunk_id] = cand
                rank += 1
        return sorted(pool.values(), key=lambda c: c.fused, reverse=True)


def _candidate(hit: Hit) -> Candidate:
    return Candidate(hit.id, hit.text, hit.metadata)


def _matches(meta: dict[str, Any], where: dict[str, Any]) -> bool:
    """Evaluate the subset of Chroma's `where` syntax the engine uses."""
    for key, cond in where.items():
        if key == "$and":
            if not all(_matches(meta, c) for c in cond):
                return False
            continue
        if key == "$or":
            if not any(_matches(meta, c) for c in cond):
                return False
            continue
        value = meta.get(key)
        if isinstance(cond, dict):
            if "$contains" in cond and cond["$contains"] not in (value or []):
                return False
            if "$in" in cond and value not in cond["$in"]:
                return False
            if "$eq" in cond and value != cond["$eq"]:
                return False
        elif value != cond:
            return False
    return True


# Small lifts after fusion (chosen on dev): the question's topics, then the reader's language.
TOPIC_BOOST = 0.010
LANGUAGE_BOOST = 0.004
FOREIGN_PENALTY = 0.02


def led_by(topics: Sequence[str], topic_scores: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """`topic_scores` with `topics` raised to the best score (the topics an answer is on)."""
    best = topic_scores[0][1] if topic_scores else 0.0
    return [(t, best) for t in topics] + [ts for ts in topic_scores if ts[0] not in topics]


def rerank(
    candidates: list[Candidate], topic_scores: list[tuple[str, float]], language: str
) -> list[Candidate]:
    """Lift passages on the question's topics, and those written in the user's language."""
    scores = dict(topic_scores)
    best = topic_scores[0][1] if topic_scores else 0.0
    for cand in candidates:
        fit = max((scores.get(t, 0.0) for t in cand.topics), default=0.0)
        cand.fused += TOPIC_BOOST * max(0.0, 1.0 - 4.0 * (best - fit))
        doc_language = cand.metadata.get("language")
        if doc_language == language:
            cand.fused += LANGUAGE_BOOST
        elif doc_language != "en":  # neither the user's language nor the common English
            cand.fused -= FOREIGN_PENALTY
    return sorted(candidates, key=lambda c: c.fused, reverse=True)

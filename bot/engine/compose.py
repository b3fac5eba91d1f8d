"""From ranked candidates to what a person reads: the direct answer and the quoted passages.

A direct answer is, by preference, a vetted answer unit in the reader's language; when no
unit fits, it is the one to three sentences of the best passage closest in meaning to the
question (chosen with the multilingual encoder, so a Turkish question finds the right English
sentence). A quote is never shorter than a real sentence of content.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from bot.engine.retrieve import Candidate
from bot.engine.text import tokens
from bot.engine.types import Guidance, Passage
from bot.engine.units import Unit
from ingest.schema import translation_group

MAX_QUOTE_CHARS = 650
MIN_SENTENCE_WORDS = 6  # shorter pieces ("1.", a heading) are not sentences of content
MAX_DIRECT_WORDS = 70
_SENTENCE_END = re.compile(r"(?<=[.!?。؟])\s+|\n+")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s*")
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
# A directory id in brackets, "(interpol-ccf)": bounded so the pattern stays linear.
_INTERNAL_ID = re.compile(r"\s{0,3}\((?:[a-z0-9]{1,40}-){1,8}[a-z0-9]{1,40}\)")

Encode = Callable[[list[str]], np.ndarray]


def words(text: str) -> int:
    """Words made of letters (numbers, list marks and punctuation do not count)."""
    return len(_LETTER_WORD.findall(text))


def sentences(text: str) -> list[str]:
    """The sentences of a passage, list marks and emphasis removed, fragments dropped."""
    text = _INTERNAL_ID.sub("", _EMPHASIS.sub("", text))
    out = []
    for piece in _SENTENCE_END.split(text):
        piece = _LIST_MARK.sub("", piece).strip()
        if piece and not piece.startswith("#") and words(piece) >= MIN_SENTENCE_WORDS:
            out.append(piece)
    return out


def quote(text: str, question_tokens: set[str], limit: int = MAX_QUOTE_CHARS) -> str:
    """The window of consecutive sentences that shares most words with the question."""
    parts = sentences(text)
    if not parts:
        return ""
    best: tuple[float, int, int] = (-1.0, 0, 1)
    for start in range(len(parts)):
        length = 0
        overlap = 0.0
        for end in range(start, len(parts)):
            length += len(parts[end]) + 1
            if length > limit and end > start:
                break
            overlap += len(question_tokens & set(tokens(parts[end])))
            score = overlap - 0.01 * start
            if score > best[0]:
                best = (score, start, end + 1)
    _, start, end = best
    chosen = " ".join(parts[start:end])
    if len(chosen) > limit:
        chosen = chosen[: limit - 1].rsplit(" ", 1)[0] + "…"
    return chosen


class SentencePicker:
    """The sentences of a passage closest to a question, by the multilingual encoder.

    Sentence vectors are cached per passage, so a passage costs one encoding the first time it
    is quoted and nothing after.
    """

    def __init__(self, encode: Encode, cache_size: int = 2048) -> None:
        self.encode = encode
        self._cache: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._size = cache_size

    def _sentences(self, key: str, text: str) -> tuple[list[str], np.ndarray]:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        parts = sentences(text)
        vectors = self.encode(parts) if parts else np.zeros((0, 1), dtype=np.float32)
        self._cache[key] = (parts, vectors)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return parts, vectors

    def pick(self, key: str, text: str, qvec: np.ndarray, max_words: int = MAX_DIRECT_WORDS) -> str:
        """The best sentence and, while it fits, its best neighbour (in reading order)."""
        parts, vectors = self._sentences(key, text)
        if not parts:
            return ""
        sims = vectors @ qvec
        best = int(np.argmax(sims))
        chosen = {best}
        budget = max_words - words(parts[best])
        for n in (best + 1, best - 1):
            if 0 <= n < len(parts) and words(parts[n]) <= budget and sims[n] >= sims[best] - 0.08:
                chosen.add(n)
                budget -= words(parts[n])
        return " ".join(parts[n] for n in sorted(chosen))


def from_unit(unit: Unit) -> Guidance:
    """A unit as the direct answer (or the protocol) of a reply."""
    return Guidance(
        text=unit.parts.answer,
        language=unit.language,
        title=unit.title,
        source_url=unit.source_url,
        doc_id=unit.doc_id,
        kind=unit.kind,
        do=unit.parts.do,
        dont=unit.parts.dont,
        steps=unit.parts.steps,
        sources=unit.sources,
        situation=unit.situation,
        organizations=unit.organizations,
    )


def from_passage(cand: Candidate, text: str) -> Guidance:
    """Sentences quoted from a retrieved passage as the direct answer of a reply."""
    meta = cand.metadata
    return Guidance(
        text=text,
        language=str(meta.get("language", "en")),
        title=str(meta.get("title", cand.doc_id)),
        source_url=str(meta.get("source_url", "")),
        doc_id=cand.doc_id,
        kind="passage",
    )


def passages(
    candidates: Sequence[Candidate],
    question: str,
    limit: int = 8,
    *,
    skip_groups: set[str] | None = None,
) -> tuple[Passage, ...]:
    """One passage per document and its translations (diversity), best first."""
    seen: set[str] = set(skip_groups or ())
    out: list[Passage] = []
    q = set(tokens(question))
    for cand in candidates:
        group = translation_group(cand.doc_id)
        if cand.kind != "document" or group in seen:
            continue
        text = quote(cand.text, q)
        if not text:
            continue
        seen.add(group)
        meta = cand.metadata
        out.append(
            Passage(
                doc_id=cand.doc_id,
                title=str(meta.get("title", cand.doc_id)),
                url=str(meta.get("source_url", "")),
                topics=tuple(meta.get("topics") or ()),
                score=round(cand.fused, 5),
                text=text,
                language=str(meta.get("language", "en")),
            )
        )
        if len(out) >= limit:
            break
    return tuple(out)

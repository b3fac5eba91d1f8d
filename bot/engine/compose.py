"""Extractive, grounded passages: the sentences of a retrieved chunk that fit the question."""

from __future__ import annotations

import re

from bot.engine.retrieve import Candidate
from bot.engine.text import tokens
from bot.engine.types import Passage

MAX_QUOTE_CHARS = 650
_SENTENCE_END = re.compile(r"(?<=[.!?。؟])\s+|\n+")


_EMPHASIS = re.compile(r"(\*\*|__|`)")


def quote(text: str, question_tokens: set[str], limit: int = MAX_QUOTE_CHARS) -> str:
    """The window of consecutive sentences that shares most words with the question."""
    text = _EMPHASIS.sub("", text).strip()
    if len(text) <= limit:
        return text
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    best: tuple[float, int, int] = (-1.0, 0, 1)
    for start in range(len(sentences)):
        length = 0
        overlap = 0.0
        for end in range(start, len(sentences)):
            length += len(sentences[end]) + 1
            if length > limit and end > start:
                break
            overlap += len(question_tokens & set(tokens(sentences[end])))
            score = overlap - 0.01 * start
            if score > best[0]:
                best = (score, start, end + 1)
    _, start, end = best
    chosen = " ".join(sentences[start:end])
    if len(chosen) > limit:
        chosen = chosen[: limit - 1].rsplit(" ", 1)[0] + "…"
    return chosen


_TRANSLATION = re.compile(r"\.([a-z]{2})(\.[a-z]+)$")


def translation_group(doc_id: str) -> str:
    """`guides/emergency.ru.md` and `guides/emergency.md` are one document in two languages."""
    return _TRANSLATION.sub(r"\2", doc_id)


def passages(candidates: list[Candidate], question: str, limit: int = 8) -> tuple[Passage, ...]:
    """One passage per document and its translations (diversity), best first."""
    seen: set[str] = set()
    out: list[Passage] = []
    q = set(tokens(question))
    for cand in candidates:
        group = translation_group(cand.doc_id)
        if cand.kind != "document" or group in seen:
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
                text=quote(cand.text, q),
                language=str(meta.get("language", "en")),
            )
        )
        if len(out) >= limit:
            break
    return tuple(out)

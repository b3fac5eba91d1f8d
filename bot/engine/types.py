"""The answer engine's output: plain data the Telegram layer, the CLI and `eval` render."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved piece of `knowledge/`, quoted in its source language."""

    doc_id: str  # path of the document relative to knowledge/, e.g. "guides/red-notices.md"
    title: str
    url: str  # source_url of the document
    topics: tuple[str, ...]
    score: float
    text: str  # the quoted excerpt (sentences picked for this question)
    language: str = "en"


@dataclass(frozen=True)
class Referral:
    """An organization that fits the question, with how to reach it (directory data only)."""

    id: str
    name: str
    url: str
    offer: str  # what it offers for this need, from the directory's `offers`
    contacts: tuple[tuple[str, str], ...] = ()  # (kind, value): ("phone", "+353 ..."), ...
    check_note: str | None = None  # unverified details: "check on their site"
    emergency_line: bool = False


@dataclass(frozen=True)
class Answer:
    question_language: str  # detected ISO 639-1 code of the question
    emergency: bool
    answer_found: bool
    topics: tuple[str, ...] = ()  # topics detected for the question, best first
    passages: tuple[Passage, ...] = ()  # best first; the first few are shown, the rest on demand
    referrals: tuple[Referral, ...] = ()  # 1-3 organizations, never a closed one
    emergency_contacts: tuple[Referral, ...] = ()  # the 24/7 contacts, when emergency is True
    general_contacts: tuple[Referral, ...] = ()  # shown when nothing relevant was found
    search_unavailable: bool = False  # the index could not be reached; contacts only
    synthesized: str | None = None  # optional LLM answer with [n] citations, already guarded
    timings_ms: dict[str, float] = field(default_factory=dict)

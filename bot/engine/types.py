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
    reason: str = ""  # one line on why it fits this question, in the reader's language


@dataclass(frozen=True)
class Guidance:
    """The direct answer a person reads first: a vetted unit, or sentences of a passage."""

    text: str  # 1-4 sentences in `language` (for a protocol: its one-line opening)
    language: str
    title: str
    source_url: str
    doc_id: str
    kind: str  # "answer" | "protocol" | "passage"
    do: tuple[str, ...] = ()
    dont: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    situation: str | None = None
    organizations: tuple[str, ...] = ()  # the ids the unit names for its question, best first


@dataclass(frozen=True)
class Answer:
    """What the engine says to one message; the Telegram layer, CLI and eval render it."""

    question_language: str  # detected ISO 639-1 code of the question
    emergency: bool
    answer_found: bool
    topics: tuple[str, ...] = ()  # topics detected for the question, best first
    passages: tuple[Passage, ...] = ()  # best first; the first few are shown, the rest on demand
    referrals: tuple[Referral, ...] = ()  # 1-3 organizations, never a closed one
    emergency_contacts: tuple[Referral, ...] = ()  # the 24/7 contacts, when emergency is True
    general_contacts: tuple[Referral, ...] = ()  # shown when nothing relevant was found
    search_unavailable: bool = False  # the index could not be reached; contacts only
    # The situation protocol for this message, shown if the person answers the follow-up
    # "is this happening now?" with yes (a non-emergency answer only).
    if_urgent: Guidance | None = None
    synthesized: str | None = None  # optional LLM answer with [n] citations, already guarded
    ui_language: str = "en"  # the interface language to answer in (has a catalog)
    guidance: Guidance | None = None  # the direct answer or the emergency protocol
    # emergencies: raid | detention | device | border | threat
    situation: str | None = None
    refusal: str | None = None  # "out_of_scope" | "not_found" | "locate_person" | "injection"
    timings_ms: dict[str, float] = field(default_factory=dict)

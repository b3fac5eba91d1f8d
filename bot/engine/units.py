"""The answer units of the index, by unit and language: the direct answers and protocols.

A unit is written once per language (`units/x.md`, `units/x.ru.md`, ...). Retrieval may find
any translation of it; the reader gets the one in their own language when it exists, else the
interface language, else English.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.engine.text import tokens
from ingest.schema import ChunkMeta, UnitParts, parse_unit, translation_group

SITUATION_WORD_WEIGHT = 0.03  # per situation-specific word in the message
SITUATION_WORDS_CAP = 3.0


@dataclass(frozen=True)
class Unit:
    """One translation of an answer unit, parsed."""

    group: str  # shared by all translations, e.g. "units/red-notice-check.md"
    doc_id: str
    language: str
    kind: str  # "answer" | "protocol"
    situation: str | None
    title: str
    question: str
    asked: tuple[str, ...]  # other phrasings of the question
    source_url: str
    sources: tuple[str, ...]
    topics: tuple[str, ...]
    organizations: tuple[str, ...]
    parts: UnitParts


class UnitBook:
    """Every unit in the index, with the primary encoder's vectors of the protocols."""

    def __init__(self, entries: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        self._units: dict[str, dict[str, Unit]] = defaultdict(dict)
        for _, text, raw in entries:
            meta = ChunkMeta.from_metadata(raw)
            if meta.kind != "unit":
                continue
            unit = Unit(
                group=meta.group,
                doc_id=meta.doc_id,
                language=meta.language,
                kind=meta.unit_kind or "answer",
                situation=meta.situation,
                title=meta.title,
                question=meta.question,
                asked=meta.asked,
                source_url=meta.source_url,
                sources=meta.sources,
                topics=meta.topics,
                organizations=meta.organizations,
                parts=parse_unit(text),
            )
            self._units[unit.group][unit.language] = unit
        self._protocol_ids: list[str] = []
        self._protocol_vectors: np.ndarray | None = None
        self._intent_groups: list[str] = []
        self._intent_vectors: np.ndarray | None = None
        # Words that name one situation (or two) in any language: "обыск", "gözaltı", "پلیس".
        words: dict[str, set[str]] = defaultdict(set)
        for group, versions in self._units.items():
            for unit in versions.values():
                if unit.kind != "protocol":
                    continue
                text = " ".join((unit.title, unit.question, unit.parts.answer, *unit.parts.steps))
                for token in tokens(text):
                    words[token].add(group)
        self._situation_words = {
            t: {g: 1.0 / len(groups) ** 2 for g in groups}
            for t, groups in words.items()
            if len(groups) <= 2
        }

    def __len__(self) -> int:
        return len(self._units)

    def __contains__(self, group: str) -> bool:
        return group in self._units

    def pick(self, group: str, languages: Sequence[str]) -> Unit | None:
        """The unit's text in the first of `languages` it is written in (then English)."""
        versions = self._units.get(group) or {}
        for lang in (*languages, "en"):
            if lang in versions:
                return versions[lang]
        return next(iter(versions.values()), None)

    def protocol_of(self, situation: str) -> str | None:
        """The protocol written for `situation`, if the knowledge has one."""
        return next(
            (
                g
                for g, versions in self._units.items()
                for u in versions.values()
                if u.kind == "protocol" and u.situation == situation
            ),
            None,
        )

    def calm_sides(self, group: str) -> set[str]:
        """The situations whose everyday form answer unit `group` serves (its `situation:`)."""
        return {
            u.situation
            for u in (self._units.get(group) or {}).values()
            if u.kind == "answer" and u.situation
        }

    def situation_examples(self) -> list[tuple[str, str]]:
        """(situation, text) for the title and question of every protocol, in every language."""
        return [
            (str(u.situation), text)
            for versions in self._units.values()
            for u in versions.values()
            if u.kind == "protocol" and u.situation
            for text in (u.title, u.question)
            if text
        ]

    def set_protocol_vectors(self, ids: list[str], vectors: np.ndarray) -> None:
        """Vectors (primary encoder) of protocol entries, any language, keyed by doc id."""
        self._protocol_ids = ids
        self._protocol_vectors = vectors

    def nearest_protocol(self, vector: np.ndarray, text: str = "") -> tuple[str | None, float]:
        """The protocol whose text (in any language) is closest to the message: meaning by
        the encoder, plus the words that belong to one situation only."""
        if self._protocol_vectors is None or not len(self._protocol_ids):
            return None, 0.0
        groups = [translation_group(d) for d in self._protocol_ids]
        scored = _closest_by_group(groups, self._protocol_vectors @ vector)
        lexical: dict[str, float] = defaultdict(float)
        for token in set(tokens(text[:2000])):
            for g, weight in self._situation_words.get(token, {}).items():
                lexical[g] += weight
        for g in scored:
            scored[g] += SITUATION_WORD_WEIGHT * min(lexical[g], SITUATION_WORDS_CAP)
        group = max(scored, key=lambda g: scored[g])
        return group, scored[group]

    def _texts(
        self, keep: Callable[[Unit], bool], *, asked: bool = False
    ) -> list[tuple[str, str]]:
        """(group, text) for the title and question of every kept unit, in every language;
        with `asked`, their other phrasings too. Those are written to tell sibling units apart,
        not as examples of calm or in-scope messages ("held at the airport over a red notice"
        is a phrasing of the extradition unit and an emergency)."""
        return [
            (u.group, text)
            for versions in self._units.values()
            for u in versions.values()
            if keep(u)
            for text in (u.title, u.question, *(u.asked if asked else ()))
            if text
        ]

    def intents(self) -> list[tuple[str, str]]:
        """(group, text) for every answer unit's title, question and other phrasings, in
        every language."""
        return self._texts(lambda u: u.kind == "answer", asked=True)

    def set_intent_vectors(self, groups: list[str], vectors: np.ndarray) -> None:
        """Vectors (primary encoder) of the texts `intents()` lists, with their unit groups."""
        self._intent_groups = groups
        self._intent_vectors = vectors

    def intent_scores(self, vector: np.ndarray) -> dict[str, float]:
        """How close the message is to what each answer unit answers (its questions and titles
        in every language: mean of the three closest)."""
        if self._intent_vectors is None or not len(self._intent_vectors):
            return {}
        return _closest_by_group(self._intent_groups, self._intent_vectors @ vector)

    def questions_of(self, kind: str) -> list[str]:
        """The questions (and titles) of every unit of one kind, in every language."""
        return [text for _, text in self._texts(lambda u: u.kind == kind)]

    def calm_questions(self) -> list[str]:
        """Questions of answer units that are never about danger now: the hard negatives of
        triage. Units on emergencies, on legal aid (a relative detained) and on digital security
        (a phone taken minutes ago reads like one returned last week) are left out."""
        calm = {"emergency", "legal-aid", "digital-security"}
        return [
            text
            for _, text in self._texts(lambda u: u.kind == "answer" and not calm & set(u.topics))
        ]

    def questions(self) -> list[str]:
        """Every unit's title and question in every language: what people ask that we answer."""
        return [text for _, text in self._texts(lambda u: True)]


def clear_lead(intent: dict[str, float], margin: float) -> str | None:
    """The unit closest to the message, if it leads the next one by `margin` at least."""
    closest = sorted(intent.items(), key=lambda item: item[1], reverse=True)[:2]
    if len(closest) == 2 and closest[0][1] - closest[1][1] >= margin:
        return closest[0][0]
    return None


def _closest_by_group(groups: Sequence[str], sims: np.ndarray) -> dict[str, float]:
    """Per group, the mean of its three closest texts: one lucky translation or phrasing does
    not decide alone."""
    by_group: dict[str, list[float]] = defaultdict(list)
    for group, sim in zip(groups, sims, strict=True):
        by_group[group].append(float(sim))
    return {g: float(np.mean(sorted(v)[-3:])) for g, v in by_group.items()}

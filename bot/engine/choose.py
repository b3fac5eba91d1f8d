"""Which vetted text answers a message: the emergency protocol for its situation, the answer
unit that fits, or, without one, the sentences of the best passage."""

from __future__ import annotations

import numpy as np

from bot.engine.compose import SentencePicker, from_passage, from_unit
from bot.engine.retrieve import Candidate
from bot.engine.types import Guidance
from bot.engine.units import Unit, UnitBook, clear_lead
from ingest.schema import translation_group

UNIT_WINDOW = 8  # a unit ranked among the first candidates answers the question directly
UNIT_SLACK = 0.10  # ... if its similarity is this close to the best candidate's
PASSAGE_WINDOW = 20  # without a unit, the direct answer comes from the best of these passages
OWN_LANGUAGE_SLACK = 0.004  # fused-score distance a passage in the reader's language may lose
# With no unit among the first candidates, a unit whose questions are clearly the closest to
# the message (by this much over the next unit's; dev's window-less questions stay under
# 0.01) still answers, if it is on one of the message's topics.
CLEAR_INTENT = 0.02
# A unit whose questions are closer to the message than any other unit's by this much answers
# it wherever retrieval ranked it and whatever topics were detected: the reader encoder knows
# more languages than the topic and retrieval encoders (a Persian red-notice question). Chosen
# over every tuning set's calm in-scope questions (676): between 0.025 and 0.05 the closest
# unit was on an expected topic for all 146 questions, the unit chosen through the detected
# topics for 132 (a laptop returned months after a raid answered as an urgent relocation).
DECISIVE_INTENT = 0.025
# A message of this many words or fewer names a subject rather than asking one thing ("red
# notice check"): a vetted unit on its topic answers it better than a sentence from a guide.
FEW_WORDS = 4


def protocol(
    units: UnitBook,
    qvec: np.ndarray,
    readers: tuple[str, ...],
    text: str = "",
    situation: str | None = None,
) -> Guidance | None:
    """The emergency protocol for the situation the message describes (`situation`, as the
    situation model read it; without one, the protocol closest to the message), in the
    reader's language when it is written in it."""
    chosen = situation_protocol(units, situation, readers) if situation else None
    if chosen is not None:
        return chosen
    group, _ = units.nearest_protocol(qvec, text)
    return unit_in(units, group, readers) if group else None


def situation_protocol(
    units: UnitBook, situation: str, readers: tuple[str, ...]
) -> Guidance | None:
    """The protocol written for `situation`, in the reader's language when it exists."""
    group = units.protocol_of(situation)
    return unit_in(units, group, readers) if group else None


def unit_in(units: UnitBook, group: str, readers: tuple[str, ...]) -> Guidance | None:
    """Unit `group` as the direct answer, in the reader's language where it is written."""
    unit = units.pick(group, readers)
    return from_unit(unit) if unit else None


def answer_unit(
    units: UnitBook,
    ranked: list[Candidate],
    readers: tuple[str, ...],
    qvec: np.ndarray,
    primary: str,
    topics: tuple[str, ...] = (),
    words: int = FEW_WORDS + 1,
) -> Guidance | None:
    """The answer unit that fits the question: among the units ranked near the top and on one
    of the message's `topics`, the one whose own questions (in any language) are closest to
    the message; with none, a unit on those topics whose questions are clearly the closest
    (or, for a message of a few `words` or in another language than English, the closest)."""
    best_sim = max((c.dense.get(primary, 0.0) for c in ranked[:UNIT_WINDOW]), default=0.0)
    groups = [
        translation_group(c.doc_id)
        for c in ranked[:UNIT_WINDOW]
        if c.kind == "unit"
        and c.metadata.get("unit_kind") == "answer"
        and c.dense.get(primary, 0.0) >= best_sim - UNIT_SLACK
    ]
    if topics:  # a unit on none of the message's topics answers another question
        groups = [g for g in groups if _on_topic(units, g, readers, topics)]
    intent = units.intent_scores(qvec)
    decisive = clear_lead(intent, DECISIVE_INTENT)
    clear = units.pick(decisive, readers) if decisive is not None else None
    if clear is not None:
        return from_unit(clear)
    if not groups:
        return _clear_intent(units, intent, readers, topics) or _closest_on_topic(
            units, intent, readers, topics, few_words=words <= FEW_WORDS
        )
    order = {g: n for n, g in enumerate(groups)}  # ties keep the retrieval order
    best = max(dict.fromkeys(groups), key=lambda g: (intent.get(g, 0.0), -order[g]))
    unit: Unit | None = units.pick(best, readers)
    return from_unit(unit) if unit is not None else None


def _on_topic(
    units: UnitBook, group: str, readers: tuple[str, ...], topics: tuple[str, ...]
) -> bool:
    unit = units.pick(group, readers)
    return unit is not None and bool(set(unit.topics) & set(topics))


def _clear_intent(
    units: UnitBook, intent: dict[str, float], readers: tuple[str, ...], topics: tuple[str, ...]
) -> Guidance | None:
    group = clear_lead(intent, CLEAR_INTENT)
    unit = units.pick(group, readers) if group is not None else None
    if unit is None or not _on_topic(units, unit.group, readers, topics):
        return None
    return from_unit(unit)


def _closest_on_topic(
    units: UnitBook,
    intent: dict[str, float],
    readers: tuple[str, ...],
    topics: tuple[str, ...],
    *,
    few_words: bool,
) -> Guidance | None:
    """With no unit clearly answering: the unit closest to the message on its main topic, if
    it is written in the reader's language, for a reader of another language than English (a
    vetted paragraph on the right topic in their language beats an English sentence) or for a
    message of a few words (a subject named, not a question a guide's sentence answers)."""
    if not topics or (readers[0] == "en" and not few_words):
        return None
    for group, _ in sorted(intent.items(), key=lambda item: item[1], reverse=True):
        unit = units.pick(group, readers[:1])
        if unit is not None and topics[0] in unit.topics:
            return from_unit(unit) if unit.language == readers[0] else None
    return None


def passage(
    picker: SentencePicker, ranked: list[Candidate], qvec: np.ndarray, language: str
) -> Guidance | None:
    """The sentences of the best passage closest in meaning to the question; a passage in the
    person's language wins over a close one in another language."""
    documents = [c for c in ranked[:PASSAGE_WINDOW] if c.kind == "document"]
    if not documents:
        return None
    best = documents[0].fused
    own = [
        c
        for c in documents
        if c.metadata.get("language") == language and c.fused >= best - OWN_LANGUAGE_SLACK
    ]
    for cand in own + documents:
        text = picker.pick(cand.id, cand.text, qvec)
        if text:
            return from_passage(cand, text)
    return None


def unit_topics(units: UnitBook, guidance: Guidance | None) -> tuple[str, ...]:
    """The topics of the chosen unit (none for a passage or no guidance)."""
    if guidance is None or guidance.kind == "passage":
        return ()
    unit = units.pick(translation_group(guidance.doc_id), (guidance.language,))
    return unit.topics if unit else ()


def unit_organizations(units: UnitBook, guidance: Guidance | None) -> tuple[str, ...]:
    """The organizations the chosen unit names for its question, best first."""
    if guidance is None or guidance.kind == "passage":
        return ()
    unit = units.pick(translation_group(guidance.doc_id), (guidance.language,))
    return unit.organizations if unit else ()

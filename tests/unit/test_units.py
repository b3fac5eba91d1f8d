"""Answer units: the body format, the knowledge's coverage in six languages, eval shape figures."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import frontmatter

from bot.engine import choose
from bot.engine.evaluate import Case, shape_scores
from bot.engine.types import Answer, Guidance, Referral
from bot.engine.units import UnitBook
from ingest.schema import SITUATIONS, parse_unit, translation_group

REPO = Path(__file__).resolve().parents[2]
SIX = {"en", "ru", "es", "fr", "tr", "ar"}
# What a person in danger or facing a deadline needs, in every language (issue contract).
MUST_TRANSLATE = {"red-notices", "visas", "grants", "relocation"}


def test_parse_unit_cuts_answer_and_lists() -> None:
    body = "First line\nof the answer.\n\n## Do\n- one\n- two\n  continued\n\n## Don't\n- three\n"
    parts = parse_unit(body)
    assert parts.answer == "First line of the answer."
    assert parts.do == ("one", "two continued") and parts.dont == ("three",)
    protocol = parse_unit("Stay calm.\n\n## Steps\n1. ask\n2) call\n")
    assert protocol.steps == ("ask", "call") and protocol.answer == "Stay calm."


def _units() -> dict[str, dict[str, dict[str, object]]]:
    groups: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    for path in sorted((REPO / "knowledge").rglob("*.md")):
        meta = frontmatter.load(str(path)).metadata
        if meta.get("kind") in ("answer", "protocol"):
            doc_id = path.relative_to(REPO / "knowledge").as_posix()
            groups[translation_group(doc_id)][str(meta.get("language", "en"))] = meta
    return groups


def test_every_protocol_and_deadline_unit_exists_in_six_languages() -> None:
    groups = _units()
    needed = {
        group: versions
        for group, versions in groups.items()
        if any(
            v.get("kind") == "protocol" or MUST_TRANSLATE & set(v.get("topics") or ())  # type: ignore[arg-type]
            for v in versions.values()
        )
    }
    assert needed, "the knowledge has answer units"
    missing = {g: sorted(SIX - set(v)) for g, v in needed.items() if not set(v) >= SIX}
    assert missing == {}


def test_every_situation_has_a_protocol() -> None:
    situations = {
        str(meta.get("situation"))
        for versions in _units().values()
        for meta in versions.values()
        if meta.get("kind") == "protocol"
    }
    assert set(SITUATIONS) <= situations


def _hotline() -> Referral:
    return Referral("hot", "Hotline Org", "https://hot.org", "", (("phone_24_7", "+1 555 0100"),))


def test_shape_scores_read_what_the_person_reads() -> None:
    unit = Guidance(
        text="Grants reach EUR 7,500 for protection costs such as legal fees and security.",
        language="es",
        title="T",
        source_url="https://ex.org",
        doc_id="units/g.es.md",
        kind="answer",
    )
    answer = Answer("es", False, True, guidance=unit, ui_language="es")
    case = Case("x", "q", "es", ("grants",), (), False, True, key_facts=("7 500", "nowhere"))
    scores = shape_scores(case, answer)
    assert scores["quote_in_user_language"] == 1.0 and scores["fragment_rate"] == 0.0
    assert scores["key_facts"] == 0.5  # digit grouping does not matter; a missing fact counts
    short = Answer("es", False, True, guidance=unit.__class__(**{**unit.__dict__, "text": "1."}))
    assert shape_scores(case, short)["fragment_rate"] == 1.0


def test_hotline_first_for_emergencies() -> None:
    steps = Guidance(
        "Calm.", "en", "Raid", "https://ex.org", "units/r.md", "protocol", steps=("a",)
    )
    answer = Answer("en", True, True, emergency_contacts=(_hotline(),), guidance=steps)
    case = Case("y", "q", "en", (), (), True, True)
    assert shape_scores(case, answer)["hotline_first"] == 1.0


def _book(*units: tuple[str, str, tuple[str, ...]]) -> UnitBook:
    """A unit book from (doc_id, language, topics) triples, each with a short answer."""
    entries = [
        (
            doc_id,
            "A vetted answer of a few words, in its own language.",
            {"kind": "unit", "doc_id": doc_id, "language": lang, "topics": list(topics)},
        )
        for doc_id, lang, topics in units
    ]
    return UnitBook(entries)


def test_a_reader_of_another_language_gets_the_closest_unit_on_the_topic_in_it() -> None:
    book = _book(
        ("units/a.md", "en", ("visas",)),
        ("units/a.ru.md", "ru", ("visas",)),
        ("units/b.md", "en", ("grants",)),
        ("units/b.ru.md", "ru", ("grants",)),
        ("units/c.md", "en", ("visas",)),
    )
    intent = {"units/b.md": 0.9, "units/a.md": 0.85, "units/c.md": 0.8}
    def closest(intent, readers, topics, few_words=False):  # type: ignore[no-untyped-def]
        return choose._closest_on_topic(book, intent, readers, topics, few_words=few_words)

    chosen = closest(intent, ("ru", "ru"), ("visas", "grants"))
    assert chosen is not None and chosen.doc_id == "units/a.ru.md"  # on the main topic
    # The closest unit on the topic has no Russian text: an English passage stays the answer
    # rather than a less fitting unit; English readers of a full question keep the passage too.
    closer = {**intent, "units/c.md": 0.88}
    assert closest(closer, ("ru", "ru"), ("visas",)) is None
    assert closest(intent, ("en", "en"), ("visas",)) is None
    assert closest(intent, ("ru", "ru"), ()) is None
    # A few words name a subject: the closest unit on it answers English readers too.
    named = closest(intent, ("en", "en"), ("visas",), few_words=True)
    assert named is not None and named.doc_id == "units/a.md"


def test_other_phrasings_of_a_question_count_towards_its_unit() -> None:
    from ingest.metadata import DocMeta

    meta = DocMeta.model_validate(
        {
            "title": "Check",
            "source_url": "https://ex.org",
            "topics": ["red-notices"],
            "kind": "answer",
            "question": "Is there a red notice on me?",
            "asked": ["how do i find out safely", "can I check without a lawyer"],
        }
    )
    assert meta.asked == ["how do i find out safely", "can I check without a lawyer"]
    stored = {
        "kind": "unit",
        "unit_kind": "answer",
        "doc_id": "units/check.md",
        "title": meta.title,
        "question": meta.question,
        "asked": meta.asked,
        "language": "en",
        "topics": ["red-notices"],
    }
    plain = {**stored, "doc_id": "units/other.md", "asked": []}
    book = UnitBook([("units/check.md", "Answer.", stored), ("units/other.md", "Answer.", plain)])
    texts = dict.fromkeys(t for g, t in book.intents() if g == "units/check.md")
    assert list(texts) == ["Check", "Is there a red notice on me?", *meta.asked]
    assert [t for g, t in book.intents() if g == "units/other.md"] == ["Check", meta.question]
    # They tell units apart; they are not examples of calm or in-scope messages.
    assert not set(meta.asked) & set(book.questions() + book.calm_questions())


def test_an_answer_unit_naming_a_situation_serves_its_everyday_form() -> None:
    from bot.engine.reading import CALM_SIDE_MARGIN, calm_side

    def entry(doc_id: str, **meta: object) -> tuple[str, str, dict[str, object]]:
        raw = {"kind": "unit", "doc_id": doc_id, "language": "en", "topics": ["digital-security"]}
        return doc_id, "A vetted answer.", {**raw, **meta}

    book = UnitBook(
        [
            entry("units/recover.md", situation="device"),
            entry("units/check.md"),
            entry("units/steps.md", unit_kind="protocol", situation="device"),
        ]
    )
    assert book.calm_sides("units/recover.md") == {"device"}
    assert book.calm_sides("units/check.md") == set()
    assert book.calm_sides("units/steps.md") == set()  # a protocol is the emergency side
    assert book.protocol_of("device") == "units/steps.md"
    clear = {"units/recover.md": 0.9, "units/check.md": 0.9 - 2 * CALM_SIDE_MARGIN}
    assert calm_side(book, "device", clear) == "units/recover.md"
    assert calm_side(book, "raid", clear) is None  # another situation than the unit's
    close = {"units/recover.md": 0.9, "units/check.md": 0.9 - CALM_SIDE_MARGIN / 2}
    assert calm_side(book, "device", close) is None  # not clearly this unit's question
    other = {"units/check.md": 0.9, "units/recover.md": 0.8}
    assert calm_side(book, "device", other) is None  # the closest unit names no situation

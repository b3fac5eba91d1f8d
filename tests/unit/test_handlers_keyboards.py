"""Callback data: each kind is built and parsed by one class, fits 64 bytes, and refuses
values outside the vocabulary; the keyboards only carry data their handlers accept."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram import InlineKeyboardMarkup

from bot.engine.types import Answer, Guidance
from bot.handlers.keyboards import (
    MAX_DATA_BYTES,
    AutoDeleteChoice,
    CallbackData,
    ForgetChoice,
    HappeningNow,
    LanguageChoice,
    MoreSources,
    Review,
    SituationChoice,
    TopicChoice,
    Vote,
    WhoCanHelp,
    answer_keyboard,
    autodelete_keyboard,
    forget_keyboard,
    language_keyboard,
    review_keyboard,
    situation_keyboard,
    topic_keyboard,
    topic_or_none,
    without_votes,
)
from bot.i18n import LANGUAGES
from ingest.metadata import Vocabulary
from ingest.schema import SITUATIONS

VOCABULARY = Vocabulary.from_dir(Path(__file__).resolve().parents[2] / "knowledge")

KINDS: list[type[CallbackData]] = [
    HappeningNow,
    LanguageChoice,
    TopicChoice,
    AutoDeleteChoice,
    ForgetChoice,
    MoreSources,
    WhoCanHelp,
    Vote,
    Review,
    SituationChoice,
]
SAMPLES: list[CallbackData] = [
    *(LanguageChoice(code) for code in LANGUAGES),
    *(TopicChoice(topic) for topic in VOCABULARY.ids),
    AutoDeleteChoice(None),
    AutoDeleteChoice(3600),
    AutoDeleteChoice(86400),
    ForgetChoice(True),
    ForgetChoice(False),
    MoreSources("AbC-_12345678901"),
    *(SituationChoice(situation) for situation in SITUATIONS),
    WhoCanHelp("tok", "red-notices"),
    WhoCanHelp("tok", None),
    Vote(True, "tok"),
    Vote(False, "tok"),
    Review(True, "abcdefgh1234"),
    Review(False, "abcdefgh1234"),
]


def parse(kind: type[CallbackData], data: str) -> CallbackData | None:
    match = kind.pattern.match(data)
    return kind.parse(match) if match else None


@pytest.mark.parametrize("value", SAMPLES, ids=lambda v: v.data())
def test_every_kind_round_trips_and_only_its_own_pattern_matches(value: CallbackData) -> None:
    data = value.data()
    assert len(data.encode()) <= MAX_DATA_BYTES
    assert parse(type(value), data) == value
    others = [k for k in KINDS if k is not type(value) and k.pattern.match(data)]
    assert others == []


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (LanguageChoice, "lang:xx"),
        (LanguageChoice, "lang:it"),  # a neighbour language, not one of ours
        (AutoDeleteChoice, "ad:12345"),
    ],
)
def test_well_formed_data_outside_the_vocabulary_is_refused(
    kind: type[CallbackData], data: str
) -> None:
    match = kind.pattern.match(data)
    assert match is None or kind.parse(match) is None


def test_topics_outside_topics_yaml_are_refused() -> None:
    # The vocabulary is knowledge (topics.yaml), so handlers check parsed topics against it.
    assert topic_or_none("cooking", VOCABULARY) is None
    assert topic_or_none(VOCABULARY.ids[0], VOCABULARY) == VOCABULARY.ids[0]
    assert topic_or_none("-", VOCABULARY) is None


@pytest.mark.parametrize(
    "data", ["more:", "more:" + "x" * 17, "orgs:zz:../../etc", "fb:7:abc", "up:ok:short", "x" * 64]
)
def test_malformed_data_matches_no_kind(data: str) -> None:
    assert [k for k in KINDS if k.pattern.match(data)] == []


def _data(markup: InlineKeyboardMarkup) -> list[str]:
    return [str(b.callback_data) for row in markup.inline_keyboard for b in row if b.callback_data]


def test_keyboards_carry_only_data_the_handlers_accept() -> None:
    answer = Answer(
        question_language="en", emergency=False, answer_found=True, topics=("red-notices",)
    )
    markups = [
        language_keyboard("ru"),
        topic_keyboard("ar", VOCABULARY),
        autodelete_keyboard("en", 3600),
        forget_keyboard("fr"),
        answer_keyboard("tr", "tok123", answer),
        review_keyboard("es", "abcdefgh1234"),
        situation_keyboard("fa"),
    ]
    for markup in markups:
        for data in _data(markup):
            assert any(parse(kind, data) is not None for kind in KINDS), data
    assert set(_data(topic_keyboard("en", VOCABULARY))) == {f"topic:{t}" for t in VOCABULARY.ids}


def test_removing_the_vote_row_keeps_the_other_buttons() -> None:
    answer = Answer(question_language="en", emergency=False, answer_found=False)
    markup = answer_keyboard("en", "tok", answer)
    rest = without_votes(markup)
    assert rest is not None
    assert _data(rest) == ["orgs:tok:-"]
    assert not any(re.match(r"^fb:", d) for d in _data(rest))


def test_situation_buttons_only_under_an_emergency_without_its_steps() -> None:
    protocol = Guidance("go", "en", "Raid", "", "units/p.md", "protocol", steps=("a",))
    unclear = Answer("en", emergency=True, answer_found=True)
    clear = Answer("en", emergency=True, answer_found=True, guidance=protocol)
    calm = Answer("en", emergency=False, answer_found=True)

    def situations(answer: Answer) -> list[str]:
        return [d for d in _data(answer_keyboard("en", "tok", answer)) if d.startswith("sit:")]

    assert situations(unclear) == [f"sit:{s}" for s in SITUATIONS]
    assert situations(clear) == [] and situations(calm) == []

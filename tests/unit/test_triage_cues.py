"""Lexical cues of the triage: the backup that flags danger the examples miss."""

from __future__ import annotations

import numpy as np
import pytest

from bot.engine.triage import Triage
from tests.conftest import HashEncoder

DATA = {
    "emergency": {"en": ["men are at my door right now"]},
    "not_emergency": {"en": ["how do grants work"]},
    "cues": {
        "now": {"en": ["right now"], "zh": ["门口", "今晚"]},
        "danger": {"en": ["police"], "zh": ["警察"]},
    },
}


@pytest.fixture
def triage() -> Triage:
    return Triage(HashEncoder("use", 64), DATA)


@pytest.mark.parametrize(
    ("text", "lexical"),
    [
        ("the police are here right now", True),
        ("警察现在就在我家门口", True),  # no spaces between words: cues are found inside the text
        ("今晚警察会来吗", True),
        ("警察的统计数据在哪里", False),  # a danger word without a "now" cue
        ("police statistics for my thesis", False),
    ],
)
def test_cues_need_a_now_and_a_danger_word_in_any_script(
    triage: Triage, text: str, lexical: bool
) -> None:
    neutral = np.zeros(64, dtype=np.float32)  # no help from the examples either way
    assert triage.assess(text, neutral).lexical is lexical


def test_when_the_encoder_cannot_read_the_message_the_cues_decide(triage: Triage) -> None:
    text = "the police are here right now"
    calm = triage.encoder.encode(["how do grants work"])[0]  # the examples say: calm
    assert not triage.assess(text, calm).emergency
    assert triage.assess(text, calm, words_only=True).emergency
    assert not triage.assess("how do grants work", calm, words_only=True).emergency


def _examples_only() -> tuple[Triage, HashEncoder]:
    """A triage with three danger and two calm examples and no cues."""
    encoder = HashEncoder("use", 64)
    data = {
        "emergency": {"en": ["police at my door", "police raid my office", "police took my son"]},
        "not_emergency": {"en": ["how do grants work", "grant deadline for visas"]},
        "cues": {},
    }
    return Triage(encoder, data), encoder


def test_the_linear_second_opinion_is_fitted_on_the_examples() -> None:
    triage, encoder = _examples_only()
    danger, calm = encoder.encode(["police raid"])[0], encoder.encode(["grants deadline"])[0]
    assert triage.assess("police raid", danger).linear is None  # not fitted yet
    triage.fit_linear("use", encoder.encode, calm=["best cake recipe"])
    hot = triage.assess("police raid", danger, vectors={"use": danger})
    cold = triage.assess("grants deadline", calm, vectors={"use": calm})
    assert hot.linear is not None and cold.linear is not None
    assert hot.linear > 0.5 > cold.linear and hot.emergency and not cold.emergency
    # Arabic in Latin letters: no encoder reads it, so the model is not asked either.
    unread = triage.assess("police raid", danger, vectors={"use": danger}, words_only=True)
    assert unread.linear is None


def test_where_the_linear_model_is_fitted_it_replaces_the_neighbour_margins() -> None:
    triage, encoder = _examples_only()
    danger, calm = encoder.encode(["police raid"])[0], encoder.encode(["grants deadline"])[0]
    assert triage.assess("police raid", danger).emergency  # the margins alone say danger
    triage.fit_linear("e5", encoder.encode, calm=["best cake recipe"], danger=["police again"])
    # The neighbours still say danger, the linear model (on its own encoder's vector) says calm.
    assert not triage.assess("police raid", danger, vectors={"e5": calm}).emergency
    assert triage.assess("police raid", calm, vectors={"e5": danger}).emergency


def test_an_unsure_linear_model_needs_the_neighbours_not_to_lean_calm() -> None:
    triage, encoder = _examples_only()
    danger, calm = encoder.encode(["police raid"])[0], encoder.encode(["grants deadline"])[0]
    flat = np.zeros(64, dtype=np.float32)

    def fitted(probability: float) -> Triage:  # a model that says `probability` to anything
        triage._linear = ("e5", flat, float(np.log(probability / (1 - probability))))
        return triage

    unsure, sure = fitted(0.68), 0.9
    assert unsure.assess("police raid", danger, vectors={"e5": flat}).emergency
    assert not unsure.assess("grants deadline", calm, vectors={"e5": flat}).emergency
    assert fitted(sure).assess("grants deadline", calm, vectors={"e5": flat}).emergency
    assert not fitted(0.4).assess("police raid", danger, vectors={"e5": flat}).emergency


def test_a_model_leaning_to_danger_flags_what_the_neighbours_clearly_call_danger() -> None:
    triage, encoder = _examples_only()
    danger, calm = encoder.encode(["police raid"])[0], encoder.encode(["grants deadline"])[0]
    flat = np.zeros(64, dtype=np.float32)
    triage._linear = ("e5", flat, float(np.log(0.55 / 0.45)))  # leans to danger, not past 0.6
    assert triage.assess("police raid", danger).score > 0.10  # the neighbours clearly agree
    assert triage.assess("police raid", danger, vectors={"e5": flat}).emergency
    assert not triage.assess("grants deadline", calm, vectors={"e5": flat}).emergency
    triage._linear = ("e5", flat, float(np.log(0.45 / 0.55)))  # leans calm: the model decides
    assert not triage.assess("police raid", danger, vectors={"e5": flat}).emergency


def test_danger_words_do_not_flag_what_the_linear_model_is_sure_is_calm() -> None:
    triage = Triage(HashEncoder("use", 64), DATA)
    text = "the police right now"  # a "now" cue and a "danger" cue
    vector = triage.encoder.encode([text])[0]
    flat = np.zeros(64, dtype=np.float32)
    triage._linear = ("e5", flat, float(np.log(0.1 / 0.9)))  # sure it is calm
    calm = triage.assess(text, vector, vectors={"e5": flat})
    assert calm.lexical and not calm.emergency
    triage._linear = ("e5", flat, float(np.log(0.4 / 0.6)))  # calm, but not sure
    assert triage.assess(text, vector, vectors={"e5": flat}).emergency
    # Unreadable text (Arabic in Latin letters): the cues decide alone.
    assert triage.assess(text, vector, words_only=True, vectors={"e5": flat}).emergency

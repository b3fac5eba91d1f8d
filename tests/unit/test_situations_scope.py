"""The linear models that read a message: its emergency situation and what is out of scope."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import bot.engine.scope as scope_module
from bot.engine.scope import Scope
from bot.engine.situations import Situations
from tests.conftest import HashEncoder

SITUATIONS = {
    "situations": {
        "raid": {"en": ["police searching my flat now", "they search the office with a warrant"]},
        "detention": {"en": ["my colleague was arrested an hour ago", "they arrested my brother"]},
        "device": {"en": ["they seized my phone and laptop", "my phone was seized at the protest"]},
    }
}


def test_the_situation_is_read_from_the_labelled_examples() -> None:
    encoder = HashEncoder("e5", 128)
    situations = Situations(SITUATIONS)
    vector = {"e5": encoder.encode(["police are searching the flat"])[0]}
    assert situations.classify(vector) is None  # not fitted yet
    situations.fit("e5", encoder.encode, [("device", "my phone is seized")])
    assert situations.classify(vector) == "raid"
    assert situations.classify({"e5": encoder.encode(["arrested this morning"])[0]}) == "detention"
    assert situations.classify({"e5": encoder.encode(["seized phone"])[0]}) == "device"
    assert situations.classify({"use": vector["e5"]}) is None  # another encoder's vector
    assert len(situations.examples()) == 6


def test_two_situations_are_enough_and_one_is_not() -> None:
    encoder = HashEncoder("e5", 128)
    two = {"situations": {k: SITUATIONS["situations"][k] for k in ("raid", "device")}}
    situations = Situations(two)
    situations.fit("e5", encoder.encode)
    assert situations.classify({"e5": encoder.encode(["seized phone"])[0]}) == "device"
    assert situations.classify({"e5": encoder.encode(["police searching"])[0]}) == "raid"
    one = Situations({"situations": {"raid": SITUATIONS["situations"]["raid"]}})
    one.fit("e5", encoder.encode)
    assert one.classify({"e5": encoder.encode(["police searching"])[0]}) is None


SCOPE = {
    "locate_person": {
        "en": ["home address of the journalist", "where does this activist live", "phone number"]
    },
    "out_of_scope": {
        "en": ["chocolate cake recipe", "football match result", "cheap mortgage rate"]
    },
    "in_scope": ["how do I hide my own home address"],
    "locate_cues": ["home address"],
}
OURS = ["how to challenge a red notice", "emergency grant for defenders", "schengen visa refused"]


@pytest.fixture
def scope() -> tuple[Scope, HashEncoder]:
    encoder = HashEncoder("use", 128)
    return Scope(encoder, OURS, SCOPE, k=1), encoder


def test_the_linear_model_refuses_everyday_and_locate_requests(
    scope: tuple[Scope, HashEncoder],
) -> None:
    model, encoder = scope
    model.fit_linear("e5", encoder.encode)

    def assess(text: str) -> scope_module.ScopeResult:
        vector = encoder.encode([text])[0]
        return model.assess(text, np.zeros_like(vector), vectors={"e5": vector})

    cake, address, ours = (
        assess("cake recipe"),
        assess("journalist home address"),
        assess("red notice challenge"),
    )
    assert cake.out_of_scope and not cake.locate_person
    assert address.locate_person and not address.out_of_scope
    assert not ours.out_of_scope and not ours.locate_person
    assert cake.refuse is not None and ours.refuse is not None and cake.refuse > ours.refuse


def test_a_message_naming_our_field_takes_more_to_refuse(
    scope: tuple[Scope, HashEncoder], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, encoder = scope
    model.fit_linear("e5", encoder.encode)
    monkeypatch.setattr(scope_module, "LINEAR_REFUSE", 0.0)  # refuse anything unanchored
    monkeypatch.setattr(scope_module, "LINEAR_REFUSE_ANCHORED", 1.01)  # and nothing anchored
    vector = encoder.encode(["visa football"])[0]
    zeros = np.zeros_like(vector)
    plain = model.assess("visa football", zeros, vectors={"e5": vector})
    anchored = model.assess("visa football", zeros, vectors={"e5": vector}, anchored=True)
    assert plain.out_of_scope or plain.locate_person
    assert not anchored.out_of_scope and not anchored.locate_person


def test_without_a_fitted_model_the_neighbours_decide(scope: tuple[Scope, HashEncoder]) -> None:
    model, encoder = scope
    vector = encoder.encode(["chocolate cake recipe"])[0]
    result = model.assess("chocolate cake recipe", vector, vectors={"e5": vector})
    assert result.refuse is None and result.out_of_scope


def test_an_unsure_model_chooses_no_situation(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.engine.situations as situations_module

    encoder = HashEncoder("e5", 128)
    situations = Situations(SITUATIONS)
    situations.fit("e5", encoder.encode)
    assert situations.fitted
    vector = {"e5": encoder.encode(["police are searching the flat"])[0]}
    assert situations.classify(vector) == "raid"
    monkeypatch.setattr(situations_module, "SURE", 1.01)  # nothing is sure enough
    assert situations.classify(vector) is None


def test_reading_tells_outside_and_locate_apart() -> None:
    from bot.engine.reading import Reading, words_of
    from bot.engine.scope import ScopeResult

    def reading(scope: ScopeResult | None, named: tuple[str, ...] = ()) -> Reading:
        return Reading(words_of("a message"), False, False, named, False, scope, [])

    everyday = ScopeResult(False, True, 0.2, refuse=0.9)
    finding = ScopeResult(True, False, 0.2, refuse=0.9)
    assert not reading(None).outside and not reading(None).locate
    assert reading(everyday).outside and not reading(everyday, ("cpj",)).outside
    assert reading(finding).locate and not reading(finding, ("cpj",)).locate
    # Clearly asking one of our units' questions makes an "everyday-looking" message ours;
    # a request to find a person stays refused whatever it resembles.
    asks = Reading(words_of("a message"), False, False, (), False, everyday, [], None, "units/a.md")
    assert not asks.outside
    assert replace(asks, scope=finding).locate


def test_near_topic_questions_are_refused_but_never_calm_examples_for_triage() -> None:
    data = {
        **SCOPE,
        "near_topic": {"en": ["student visa for my masters", "passport for my child holiday"]},
        "near_ours": ["schengen visa for a defender invited to speak"],
    }
    encoder = HashEncoder("use", 128)
    model = Scope(encoder, OURS, data, k=1)
    near = set(data["near_topic"]["en"])
    assert not near & set(model.outside)
    assert set(SCOPE["out_of_scope"]["en"]) <= set(model.outside)
    student = "student visa for my masters"
    assert model.assess(student, encoder.encode([student])[0]).out_of_scope
    ours = "schengen visa for a defender invited to speak"
    assert not model.assess(ours, encoder.encode([ours])[0]).out_of_scope


def test_the_shipped_near_topic_examples_cover_the_languages_of_the_everyday_ones() -> None:
    import yaml

    data = yaml.safe_load(scope_module.DATA.read_text(encoding="utf-8"))
    assert set(data["near_topic"]) == set(data["out_of_scope"])
    assert all(len(texts) >= 3 for texts in data["near_topic"].values())
    assert data["near_ours"]


def test_a_sure_linear_model_overrules_the_everyday_neighbours(
    scope: tuple[Scope, HashEncoder], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, encoder = scope
    model.fit_linear("e5", encoder.encode)
    monkeypatch.setattr(scope_module, "LINEAR_REFUSE", 1.01)  # the model itself refuses nothing
    text = "chocolate cake recipe"
    vector = encoder.encode([text])[0]
    assert model.assess(text, vector, vectors={"e5": vector}).out_of_scope  # by neighbours
    monkeypatch.setattr(scope_module, "LINEAR_OVERRULES_NEIGHBOURS", 1.01)  # model always sure
    assert not model.assess(text, vector, vectors={"e5": vector}).out_of_scope


def test_a_message_the_encoders_cannot_read_gets_the_general_steps() -> None:
    from types import SimpleNamespace

    from bot.engine.build import Engine
    from bot.engine.reading import words_of
    from bot.engine.units import UnitBook

    encoder = HashEncoder("e5", 128)
    situations = SimpleNamespace(fitted=True, classify=lambda vectors: "raid")  # always sure
    raid = {
        "kind": "unit",
        "unit_kind": "protocol",
        "situation": "raid",
        "doc_id": "units/raid.md",
        "language": "en",
        "topics": ["emergency"],
    }
    stub = SimpleNamespace(
        reading=SimpleNamespace(situations=situations),
        reader="e5",
        units=UnitBook([("units/raid.md", "Stay calm.\n\n## Steps\n1. Ask for a warrant.", raid)]),
    )

    def protocol(message: str):  # type: ignore[no-untyped-def]
        vectors = {"e5": encoder.encode([message])[0]}
        return Engine._protocol(stub, vectors["e5"], vectors, ("en",), words_of(message))  # type: ignore[arg-type]

    read = protocol("police searching my flat now")
    assert read is not None and read.situation == "raid"
    # Arabic in Latin letters: the vectors place it nowhere, so no situation's steps are guessed.
    assert protocol("el bolis by fattesho el sha2a dlw2ty") is None

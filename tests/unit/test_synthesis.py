"""The optional LLM answer: accepted only when grounded and cited; timeouts fall back."""

from __future__ import annotations

import time

import pytest

from bot.engine.synthesis import Synthesizer, guard
from bot.engine.types import Guidance, Passage
from tests.support.llm_stub import LLMStub

PASSAGES = (
    Passage("g/e.md", "Emergency", "https://fld.example.org/emergency", ("emergency",), 1.0,
            "Front Line Defenders answers its emergency line at +353 1 21 00 489 day and night."),
    Passage("g/g.md", "Grants", "https://fld.example.org/grants", ("grants",), 0.9,
            "Protection grants go up to EUR 7,500."),
)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Call the line at +353 1 21 00 489 [1]. Grants reach EUR 7,500 [2].", True),
        ("Call the 24/7 line [1].", False),  # 24 is in no source,
        ("Call the line at +1 555 0100 [1].", False),  # invented phone
        ("Grants reach EUR 9,000 [2].", False),  # invented amount
        ("Write to help@fld.example.org [1].", False),  # invented email
        ("See https://evil.example.com/form [1].", False),  # invented URL
        ("Front Line Defenders has an emergency line.", False),  # no citation
        ("Grants exist [7].", False),  # cites a passage that does not exist
    ],
)
def test_guard(text, ok):
    assert (guard(text, PASSAGES) is not None) is ok


def test_stub_answer_is_used_when_grounded():
    with LLMStub() as stub:
        stub.reply = "The line answers day and night [1]."
        synth = Synthesizer(stub.url, "stub-model", timeout=5)
        assert synth.write("Is there a hotline?", "en", PASSAGES) == stub.reply
        (request,) = stub.requests
        assert request["model"] == "stub-model"
        assert "Front Line Defenders answers" in request["messages"][-1]["content"]


def test_the_vetted_unit_is_source_one_in_the_reader_language():
    unit = Guidance(
        text="A red notice can be challenged at the CCF within 9 months.",
        language="es",
        title="Unit",
        source_url="https://ccf.example.org",
        doc_id="units/u.es.md",
        kind="answer",
        do=("Hire a lawyer.",),
    )
    with LLMStub() as stub:
        stub.reply = "Puede impugnarla ante la CCF en 9 meses [1]."
        synth = Synthesizer(stub.url, "m", timeout=5)
        assert synth.write("¿Cómo la impugno?", "es", PASSAGES, unit) == stub.reply
        system, user = (m["content"] for m in stub.requests[0]["messages"])
        assert "Spanish" in system
        first = user.split("[2]")[0]
        assert "[1] Unit" in first and "9 months" in first and "Hire a lawyer." in first


def test_stub_answer_with_invented_number_is_rejected():
    with LLMStub() as stub:
        stub.reply = "Call +44 20 7946 0000 now [1]."
        assert Synthesizer(stub.url, "m", timeout=5).write("q", "en", PASSAGES) is None


def test_hanging_endpoint_times_out_to_none():
    with LLMStub() as stub:
        stub.delay = 5
        synth = Synthesizer(stub.url, "m", timeout=0.5)
        started = time.monotonic()
        assert synth.write("q", "en", PASSAGES) is None
        assert time.monotonic() - started < 4

"""The LLM grounding guard: every URL, host, @handle, e-mail, phone number and number in a
reply must equal one in the sources; prefixes, look-alikes and digit soup are rejected."""

from __future__ import annotations

import time

import pytest

from bot.engine.synthesis import facts, guard
from bot.engine.types import Passage

PASSAGES = (
    Passage(
        "g/e.md", "Emergency", "https://fld.example.org/emergency", ("emergency",), 1.0,
        "Front Line Defenders answers its 24/7 emergency line (2 people on duty) "
        "at +353 1 21 00 489. "
        "Write to @fld_help on Telegram or see t.me/fld_channel and www.ccf.example.int.",
    ),
    Passage(
        "g/g.md", "Grants", "https://fld.example.org/grants", ("grants",), 0.9,
        "Protection grants go up to EUR 7,500 and are decided within 1.5 weeks; "
        "write to grants@fld.example.org.",
    ),
)

ACCEPTED = [
    "Call the 24/7 line at +353 1 21 00 489 [1]. Grants reach EUR 7,500 [2].",
    "Call +353 (1) 2100489 [1].",  # same digits, other grouping
    "Grants reach EUR 7.500 [2].",  # other digit grouping
    "See https://fld.example.org/emergency [1] or fld.example.org [2].",
    "See https://www.fld.example.org/emergency/ [1].",  # www. and a trailing slash
    "Write to @fld_help or t.me/fld_channel [1].",
    "Telegram: @fld_channel [1].",  # the handle of a t.me link in the sources
    "Decisions take about 1.5 weeks; write to grants@fld.example.org [2].",
    "Check ccf.example.int [1].",
    "1. Call the line [1].\n2. Apply for a grant [2].",  # list numbers are not facts
]

REJECTED = [
    ("Answers within 72 hours [1].", "digits of 24/7 reordered"),
    ("Grants reach EUR 75 [2].", "a prefix of 7,500's digits"),
    ("Call +353 1 21 00 48 [1].", "a prefix of the phone number"),
    ("Call 21 00 489 [1].", "part of the phone number as a number"),
    ("Write to @fld [1].", "a prefix of a handle"),
    ("Write to @fld_help_desk [1].", "a longer handle"),
    ("Join t.me/fld_help_now [1].", "an unknown t.me link"),
    ("Join https://t.me/joinchat/abc [1].", "an unknown t.me link with scheme"),
    ("File it at interpol-ccf.ru/request [1].", "an unknown host with a path"),
    ("See interpol-ccf.ru [1].", "an unknown bare host"),
    ("See https://fld.example.org/emerg [1].", "a prefix of a real URL"),
    ("See https://fld.example.org/emergency-form [1].", "a real URL extended"),
    ("See https://fld.example.org.evil.example/emergency [1].", "a look-alike host"),
    ("See example.org [1].", "a suffix of a real host"),
    ("Write to help@fld.example.org [1].", "an invented e-mail"),
    ("Grants take 15 weeks [2].", "1.5 read as 15"),
    ("Front Line Defenders has an emergency line.", "no citation"),
    ("Grants exist [7].", "a passage that does not exist"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_grounded_replies_pass(text):
    assert guard(text, PASSAGES) == text.strip()


@pytest.mark.parametrize(("text", "why"), REJECTED)
def test_ungrounded_replies_are_rejected(text, why):
    assert guard(text, PASSAGES) is None, why


def test_facts_are_parsed_whole():
    found = facts("Call +353 1 21 00 489, 24/7; see t.me/x_y, @abc, https://a.example.org/p. 7,500")
    assert found.phones == {"353121004" + "89"}
    assert found.numbers == {"24", "7", "7500"}
    assert found.urls == {"t.me/x_y", "a.example.org/p"}
    assert found.hosts == {"t.me", "a.example.org"}
    assert found.handles == {"@abc"}


@pytest.mark.parametrize(
    "hostile",
    [
        "1." * 2048,
        "a." * 2048,
        "@" * 4096,
        "a@" * 2048,
        "1 " * 2048,
        "https://" + "a/" * 2040,
        "+" + "1-" * 2047,
        ("вопросдруги" * 400)[:4096],
    ],
)
def test_guard_is_fast_on_hostile_replies(hostile):
    start = time.perf_counter()
    guard(hostile + " [1]", PASSAGES)
    assert time.perf_counter() - start < 0.5

"""Scrubbing kept unanswered questions: contact details, numbers and names go, the question
stays; linear time on adversarial input."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.store.scrub import MAX_KEPT_CHARS, MAX_SCAN_CHARS, scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to me at ana.k+hr@mail.example.org now", "write to me at [email] now"),
        ("my phone is +7 (912) 345-67-89, call", "my phone is [phone], call"),
        ("passport 4509123456 seized", "passport [phone] seized"),
        ("see https://t.me/somechannel?x=1 and www.example.com", "see [link] and [link]"),
        ("posted on example.org/page today", "posted on [link] today"),
        ("ask @my_lawyer_2 about it", "ask [handle] about it"),
        ("write me on t.me/anna_k or signal.me/#eu/abc", "write me on [link] or [link]"),
        ("my signal is anna_k.42 please", "my signal is [handle] please"),
        ("case 1-234/2023 and file A-12345", "case [phone] and file [number]"),
        ("decision no. 48213 of the court", "decision no. [number] of the court"),
        ("arrested in 2024 with 3 others", "arrested in 2024 with 3 others"),
        ("  spaced\n\n out  ", "spaced out"),
        # names: after an introducing phrase, inside a sentence, two at a sentence's start
        ("my name is ivan and I need help", "my name is [name] and I need help"),
        ("Hello, I am Anna from Gomel.", "Hello, I am [name] from [name]."),
        ("I am a lawyer", "I am a lawyer"),
        ("Oleg Ivanov was detained yesterday", "[name] was detained yesterday"),
        ("they took my brother Oleg Ivanov, help", "they took my brother [name], help"),
        ("меня зовут Анна Иванова, я журналист", "меня зовут [name], я журналист"),
        ("je m'appelle Jean-Luc, aidez-moi", "je m'appelle [name], aidez-moi"),
        ("me llamo carlos y necesito ayuda", "me llamo [name] y necesito ayuda"),
        ("Benim adım Ayşe Yılmaz, yardım", "Benim adım [name], yardım"),
        ("اسمي أحمد علي وأنا صحفي", "اسمي [name] وأنا صحفي"),
        # what staff need stays: countries, months, acronyms, institutions
        ("can I get a visa to Germany in March?", "can I get a visa to Germany in March?"),
        ("an Interpol red notice, the CCF and UNHCR", "an Interpol red notice, the CCF and UNHCR"),
        ("I fled to the United Kingdom", "I fled to the United Kingdom"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_scrub_truncates() -> None:
    assert len(scrub("word " * 5_000)) == MAX_KEPT_CHARS


# Adversarial inputs in six scripts: long runs that a backtracking pattern would try from
# every position (the injection guard took 30 s on the first one).
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "cyrillic": lambda n: ("вопросдруги" * n)[:n],
    "latin-at": lambda n: ("a@" * n)[:n],
    "digits": lambda n: ("1-" * n)[:n],
    "names": lambda n: ("Aa " * n)[:n],
    "arabic": lambda n: ("اسمي " * n)[:n],
    "han": lambda n: ("我的名字" * n)[:n],
    "devanagari": lambda n: ("मेरा नाम " * n)[:n],
    "hebrew-links": lambda n: ("שם.קום/" * n)[:n],
    "one-token": lambda n: "x" * n,
    "dots": lambda n: ("a." * n)[:n],
}


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_scrub_time_grows_linearly(name: str) -> None:
    make = ADVERSARIAL[name]
    small, large = make(MAX_SCAN_CHARS // 4), make(MAX_SCAN_CHARS)
    t_small = best_of(5, lambda: scrub(small))
    t_large = best_of(5, lambda: scrub(large))
    # Four times the text: about four times the work (a quadratic pattern would take 16x);
    # the millisecond absorbs timer noise on tiny inputs.
    assert t_large <= 6 * t_small + 0.001, (t_small, t_large)
    # A full Telegram message costs no more than the scanned part of it.
    telegram_max = make(4_096)
    assert best_of(5, lambda: scrub(telegram_max)) <= 2 * t_large + 0.001
    assert t_large < 0.05

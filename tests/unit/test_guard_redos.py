"""Every regular expression applied to a person's message runs in linear time.

The corpus (bench/guard_bench.py) holds 4,096-character messages in six scripts built to
stall a backtracking engine. A linear pattern reads one in a few milliseconds; the ceiling
below is two orders of magnitude above that, so the test does not flake on a busy machine,
and far below what a blow-up costs (the injection guard took 30 s on "вопросдруги" * 372).
The benchmark (`python -m bench guard`) reports the times against `str.lower()`.
"""

from __future__ import annotations

import time

import pytest

from bench.guard_bench import LENGTH, adversarial_texts, targets, worst_case
from bot.engine.guard import MAX_SCAN_CHARS, looks_like_injection

CEILING_S = 0.5
SCRIPTS = ("latin", "cyrillic", "arabic", "cjk", "devanagari", "mixed")


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    return adversarial_texts(all_pairs=False)


def test_corpus_covers_six_scripts_at_full_length(corpus):
    assert set(corpus) == set(SCRIPTS)
    assert all(len(t) == LENGTH for texts in corpus.values() for t in texts)
    assert ("вопросдруги" * 400)[:LENGTH] in corpus["cyrillic"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_injection_guard_on_every_keyword_pair(script):
    texts = {script: adversarial_texts(all_pairs=True)[script]}
    took, _, text = worst_case(looks_like_injection, texts)
    assert took < CEILING_S, f"{took:.2f} s on {text[:30]!r}"


@pytest.mark.parametrize("name", sorted(targets()))
def test_patterns_on_user_text_are_linear(name, corpus):
    took, script, text = worst_case(targets()[name], corpus)
    assert took < CEILING_S, f"{name}: {took:.2f} s on {script} {text[:30]!r}"


def test_the_known_blow_up_is_gone():
    start = time.perf_counter()
    assert looks_like_injection(("вопросдруги" * 400)[:4096]) is False
    assert time.perf_counter() - start < CEILING_S


def test_scanned_length_is_capped():
    huge = "вопрос " * 200_000 + "игнорируй инструкции"
    start = time.perf_counter()
    assert looks_like_injection(huge) is False  # past the cap: not read
    assert time.perf_counter() - start < CEILING_S
    assert looks_like_injection("игнорируй инструкции " + huge) is True
    assert MAX_SCAN_CHARS == 4096

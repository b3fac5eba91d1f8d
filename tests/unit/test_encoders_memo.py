"""Example messages are embedded once, however often the classifiers are refitted."""

from __future__ import annotations

import numpy as np

from ingest.encoders import memo_embed
from tests.conftest import HashEncoder


def test_each_text_is_encoded_once_and_rows_follow_the_input() -> None:
    encoder = HashEncoder("use", 32)
    embed = memo_embed(encoder)
    first = embed(["a red notice", "a visa", "a red notice"])
    assert encoder.texts == 2 and first.shape == (3, 32)
    again = embed(["a visa", "a grant"])
    assert encoder.texts == 3  # only "a grant" was new
    assert np.array_equal(again[0], first[1]) and np.array_equal(first[0], first[2])


def test_no_texts_is_an_empty_matrix_of_the_encoders_width() -> None:
    encoder = HashEncoder("use", 32)
    assert memo_embed(encoder)([]).shape == (0, 32) and encoder.calls == 0

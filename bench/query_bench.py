"""Warm single-question latency of the whole answer path against its floor
(query embedding + vector search alone), in the same run, on the shipped knowledge."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench.common import ROOT, machine, percentile, summary_ms, timed, write_section
from bot.engine.build import build_engine
from bot.settings import Settings
from ingest.encoders import DEFAULT_EMBEDDINGS, encode_as
from ingest.service import ingest, load_encoders

COMMAND = "make bench (python -m bench query)"
ROUNDS = 3


def questions() -> list[str]:
    lines = (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def run() -> dict[str, float]:
    qs = questions()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        ingest(
            knowledge_dir=ROOT / "knowledge",
            data_dir=data,
            chroma_url=None,
            encoders=load_encoders(DEFAULT_EMBEDDINGS),
        )
        # The production path: the engine exactly as `waypoint run` builds it (encoders behind
        # the micro-batching workers, embedded Chroma, the index lock).
        settings = Settings.from_env(
            {
                "WAYPOINT_DATA_DIR": str(data),
                "WAYPOINT_KNOWLEDGE_DIR": str(ROOT / "knowledge"),
                "WAYPOINT_EMBEDDINGS": DEFAULT_EMBEDDINGS,
            },
            env_file=None,
        )
        engine = build_engine(settings)
        raw = {name: getattr(enc, "inner", enc) for name, enc in engine.encoders.items()}
        for q in qs[:5]:  # warm up
            engine.answer(q)

        def floor(q: str) -> None:
            """The raw encoders and the vector search alone, in the same process."""
            for name, encoder in raw.items():
                engine.collections[name].query(encode_as(encoder, [q], "query")[0], 40)

        full: list[float] = []
        base: list[float] = []
        for _ in range(ROUNDS):
            for q in qs:
                base += timed(lambda q=q: floor(q), 1)
                full += timed(lambda q=q: engine.answer(q), 1)
        engine.close()
    ratio = percentile(full, 0.95) / percentile(base, 0.95)
    write_section(
        "Query latency",
        f"""
Command: `{COMMAND}` — {machine()}; {len(qs)} dev questions × {ROUNDS} rounds, warm, one at a
time, WAYPOINT_EMBEDDINGS={DEFAULT_EMBEDDINGS} (the default), embedded Chroma; the engine is
built by `build_engine` as `waypoint run` builds it; the floor uses the raw encoders.

| path | latency |
|---|---|
| floor: query embedding (every encoder) + vector search (every collection) | {summary_ms(base)} |
| whole answer path: language, triage, scope, situation, topics, hybrid search + BM25, rerank, unit choice, referrals | {summary_ms(full)} |
| **p95 ratio (answer / floor)** | **{ratio:.2f}** (target ≤ 1.5) |
""",
    )
    return {
        "floor_p95": percentile(base, 0.95),
        "answer_p95": percentile(full, 0.95),
        "ratio": ratio,
    }


if __name__ == "__main__":
    print(run())

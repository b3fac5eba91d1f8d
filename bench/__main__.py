"""`python -m bench [ingest|query|scale|load|guard ...]` — with no argument, every benchmark."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "ingest": "bench.ingest_bench",
    "query": "bench.query_bench",
    "scale": "bench.scale_bench",
    "load": "bench.load_bench",
    "guard": "bench.guard_bench",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    for name in names:
        module = importlib.import_module(BENCHMARKS[name])
        print(f"== {name}", flush=True)
        print(module.run(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

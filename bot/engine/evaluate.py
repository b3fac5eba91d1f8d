"""`waypoint eval FILE.jsonl`: retrieval, referral and triage quality, overall and per language,
for the hybrid engine and its BM25-only and dense-only baselines in the same run."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.engine.types import Answer
from bot.settings import Settings

MODES = ("hybrid", "bm25", "dense")
METRICS = (
    "topic@3",
    "org@3",
    "mrr",
    "emergency_recall",
    "false_alarm_rate",
    "out_of_scope_refusal",
    "in_scope_answered",
)


@dataclass(frozen=True)
class Case:
    id: str
    q: str
    lang: str
    topics: tuple[str, ...]
    expect_orgs: tuple[str, ...]
    emergency: bool
    in_scope: bool


def load_cases(path: Path) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        raw = json.loads(line)
        cases.append(
            Case(
                id=str(raw.get("id", n)),
                q=raw["q"],
                lang=raw.get("lang", "en"),
                topics=tuple(raw.get("topics") or ()),
                expect_orgs=tuple(raw.get("expect_orgs") or ()),
                emergency=bool(raw.get("emergency")),
                in_scope=bool(raw.get("in_scope", True)),
            )
        )
    return cases


def case_scores(case: Case, answer: Answer) -> dict[str, float | None]:
    """Each metric for one question (None when the metric does not apply to it)."""
    scores: dict[str, float | None] = dict.fromkeys(METRICS)
    if case.in_scope:
        scores["in_scope_answered"] = float(answer.answer_found)
        if case.topics:
            top = {t for p in answer.passages[:3] for t in p.topics}
            scores["topic@3"] = float(bool(top & set(case.topics)))
            rr = 0.0
            for rank, passage in enumerate(answer.passages[:10], 1):
                if set(passage.topics) & set(case.topics):
                    rr = 1.0 / rank
                    break
            scores["mrr"] = rr
        if case.expect_orgs:
            orgs = {r.id for r in answer.referrals[:3]}
            scores["org@3"] = float(bool(orgs & set(case.expect_orgs)))
    else:
        scores["out_of_scope_refusal"] = float(not answer.answer_found)
    if case.emergency:
        scores["emergency_recall"] = float(answer.emergency)
    else:
        scores["false_alarm_rate"] = float(answer.emergency)
    return scores


def aggregate(rows: Iterable[dict[str, float | None]]) -> dict[str, float | None]:
    sums: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for key, value in row.items():
            if value is not None:
                sums[key].append(value)
    return {m: (round(sum(sums[m]) / len(sums[m]), 3) if sums[m] else None) for m in METRICS}


def evaluate(engine: Any, cases: list[Case]) -> dict[str, Any]:
    """Run every case through each retrieval mode (queries encoded once)."""
    per_mode: dict[str, list[tuple[Case, dict[str, float | None]]]] = {m: [] for m in MODES}
    failures: list[dict[str, Any]] = []
    for case in cases:
        vectors = engine.encode_query(case.q)
        for mode in MODES:
            answer = engine.answer(case.q, mode=mode, vectors=vectors)
            scores = case_scores(case, answer)
            per_mode[mode].append((case, scores))
            if (
                mode == "hybrid"
                and any(
                    scores[m] == 0.0
                    for m in ("topic@3", "org@3", "emergency_recall", "out_of_scope_refusal")
                )
                or (mode == "hybrid" and scores["false_alarm_rate"] == 1.0)
            ):
                failures.append(
                    {
                        "id": case.id,
                        "lang": case.lang,
                        "failed": [
                            m
                            for m, v in scores.items()
                            if (v == 0.0 and m != "false_alarm_rate")
                            or (m == "false_alarm_rate" and v == 1.0)
                        ],
                        "got_topics": sorted({t for p in answer.passages[:3] for t in p.topics}),
                        "got_orgs": [r.id for r in answer.referrals],
                        "emergency": answer.emergency,
                        "found": answer.answer_found,
                    }
                )
    result: dict[str, Any] = {"questions": len(cases), "modes": {}}
    for mode, rows in per_mode.items():
        by_lang: dict[str, list[dict[str, float | None]]] = defaultdict(list)
        for case, scores in rows:
            by_lang[case.lang].append(scores)
        result["modes"][mode] = {
            "overall": aggregate(s for _, s in rows),
            "non_english": aggregate(s for c, s in rows if c.lang != "en"),
            "by_language": {lang: aggregate(v) for lang, v in sorted(by_lang.items())},
        }
    result["failures"] = failures
    return result


def main(settings: Settings, file: Path, *, as_json: bool) -> int:
    from rich.console import Console
    from rich.table import Table

    from bot.engine.build import build_engine

    engine = build_engine(settings)
    result = evaluate(engine, load_cases(file))
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    console = Console()
    table = Table(title=f"waypoint eval {file.name} ({result['questions']} questions)")
    table.add_column("mode / slice")
    for metric in METRICS:
        table.add_column(metric, justify="right")
    for mode, data in result["modes"].items():
        slices = [("overall", data["overall"]), ("non-en", data["non_english"])]
        if mode == "hybrid":
            slices += list(data["by_language"].items())
        for name, agg in slices:
            table.add_row(
                f"{mode} / {name}", *("–" if agg[m] is None else f"{agg[m]:.2f}" for m in METRICS)
            )
    console.print(table)
    for failure in result["failures"]:
        console.print(
            f"[yellow]{failure['id']}[/yellow] ({failure['lang']}) "
            f"failed {', '.join(failure['failed'])}: topics {failure['got_topics']}, "
            f"orgs {failure['got_orgs']}"
        )
    return 0

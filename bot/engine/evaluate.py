"""`waypoint eval FILE.jsonl`: retrieval, referral and triage quality, overall and per language,
for the hybrid engine and its BM25-only and dense-only baselines in the same run."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.engine.config import EngineConfig, HasEngineConfig
from bot.engine.types import Answer

MODES = ("hybrid", "bm25", "dense")
METRICS = (
    "topic@3",
    "org@3",
    "mrr",
    "emergency_recall",
    "false_alarm_rate",
    "out_of_scope_refusal",
    "in_scope_answered",
    "quote_in_user_language",
    "fragment_rate",
    "hotline_first",
    "situation",
    "key_facts",
)
# Answer-shape figures measured on what the person reads (hybrid mode only); words are
# reported as medians, the rest as means.
WORD_METRICS = ("median_words", "median_words_emergency", "median_words_all")
FRAGMENT_WORDS = 8


@dataclass(frozen=True)
class Case:
    """One line of the eval file: a question and what a good answer to it contains."""

    id: str
    q: str
    lang: str
    topics: tuple[str, ...]
    expect_orgs: tuple[str, ...]
    emergency: bool
    in_scope: bool
    key_facts: tuple[str, ...] = ()
    situation: str | None = None


def load_cases(path: Path) -> list[Case]:
    """The cases of a JSONL file, one per non-blank line (the line number when `id` is missing)."""
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
                key_facts=tuple(raw.get("key_facts") or ()),
                situation=raw.get("situation"),
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


def shape_scores(case: Case, answer: Answer) -> dict[str, float | None]:
    """What the person reads: language of the direct answer, fragments, length, key facts."""
    from bot.engine.compose import words
    from bot.render import first_message

    lang = answer.ui_language
    full = first_message(answer, lang)
    body = first_message(answer, lang, contacts=False)
    scores: dict[str, float | None] = {}
    guidance = answer.guidance
    if case.in_scope and answer.answer_found and case.lang != "en" and not case.emergency:
        scores["quote_in_user_language"] = float(
            guidance is not None and guidance.language == case.lang
        )
    if answer.answer_found and not answer.emergency:
        quoted = [guidance.text] if guidance is not None and guidance.kind != "protocol" else []
        quoted = quoted or [p.text for p in answer.passages[:1]]
        scores["fragment_rate"] = float(any(words(q) < FRAGMENT_WORDS for q in quoted))
    if case.emergency and answer.emergency:
        numbers = [v for r in answer.emergency_contacts for k, v in r.contacts if "phone" in k]
        first_line = full.strip().split("\n\n")[0]
        scores["hotline_first"] = float(any(n in first_line for n in numbers))
    if case.emergency and answer.emergency and case.situation:
        scores["situation"] = float(answer.situation == case.situation)
    if case.key_facts:
        text = _fact_text(full)
        hits = [
            any(_fact_text(alt) in text for alt in fact.split("|") if alt.strip())
            for fact in case.key_facts
        ]
        scores["key_facts"] = sum(hits) / len(hits)
    scores["words"] = float(words(body))
    scores["words_all"] = float(words(full))
    return scores


_DIGIT_GROUPS = re.compile(r"(?<=\d)[\s.,\u00a0\u202f](?=\d)")


def _fact_text(text: str) -> str:
    """Case- and digit-grouping-insensitive text: "EUR 7,500" matches "7 500" and "7.500"."""
    return _DIGIT_GROUPS.sub("", text.casefold()).strip()


def aggregate(rows: Iterable[dict[str, float | None]]) -> dict[str, float | None]:
    """Mean of each metric over the questions it applies to, to three places (None if none)."""
    sums: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for key, value in row.items():
            if value is not None:
                sums[key].append(value)
    return {m: (round(sum(sums[m]) / len(sums[m]), 3) if sums[m] else None) for m in METRICS}


def median_words(rows: Iterable[tuple[Case, Answer, dict[str, float | None]]]) -> dict[str, Any]:
    """Median words of the first message: normal answers, emergencies, and all with contacts."""
    import statistics

    normal = [s["words"] or 0.0 for c, a, s in rows if a.answer_found and not a.emergency]
    urgent = [s["words"] or 0.0 for c, a, s in rows if a.emergency]
    everything = [s["words_all"] or 0.0 for c, a, s in rows if a.answer_found]
    return {
        "median_words_all": statistics.median(everything) if everything else None,
        "median_words": statistics.median(normal) if normal else None,
        "median_words_emergency": statistics.median(urgent) if urgent else None,
    }


def evaluate(engine: Any, cases: list[Case]) -> dict[str, Any]:
    """Run every case through each retrieval mode (queries encoded once)."""
    per_mode: dict[str, list[tuple[Case, dict[str, float | None]]]] = {m: [] for m in MODES}
    failures: list[dict[str, Any]] = []
    answers: list[tuple[Case, Answer, dict[str, float | None]]] = []
    for case in cases:
        vectors = engine.encode_query(case.q)
        for mode in MODES:
            answer = engine.answer(case.q, mode=mode, vectors=vectors)
            scores = case_scores(case, answer)
            if mode == "hybrid":
                shape = shape_scores(case, answer)
                scores.update({k: v for k, v in shape.items() if k in METRICS})
                answers.append((case, answer, shape))
            per_mode[mode].append((case, scores))
            if (
                mode == "hybrid"
                and any(
                    scores[m] == 0.0
                    for m in (
                        "topic@3",
                        "org@3",
                        "emergency_recall",
                        "out_of_scope_refusal",
                        "quote_in_user_language",
                        "hotline_first",
                        "situation",
                    )
                )
                or (mode == "hybrid" and scores["false_alarm_rate"] == 1.0)
                or (mode == "hybrid" and scores["fragment_rate"] == 1.0)
                or (mode == "hybrid" and (scores["key_facts"] or 1.0) < 1.0)
            ):
                failures.append(
                    {
                        "id": case.id,
                        "lang": case.lang,
                        "failed": [
                            m
                            for m, v in scores.items()
                            if (v == 0.0 and m not in ("false_alarm_rate", "fragment_rate"))
                            or (m in ("false_alarm_rate", "fragment_rate") and v == 1.0)
                            or (m == "key_facts" and v is not None and v < 1.0)
                        ],
                        "got_topics": sorted({t for p in answer.passages[:3] for t in p.topics}),
                        "got_orgs": [r.id for r in answer.referrals],
                        "emergency": answer.emergency,
                        "situation": answer.situation,
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
    by_lang_answers: dict[str, list[tuple[Case, Answer, dict[str, float | None]]]] = defaultdict(
        list
    )
    for row in answers:
        by_lang_answers[row[0].lang].append(row)
    result["shape"] = {
        "overall": median_words(answers),
        "by_language": {k: median_words(v) for k, v in sorted(by_lang_answers.items())},
    }
    result["failures"] = failures
    return result


def main(settings: EngineConfig | HasEngineConfig, file: Path, *, as_json: bool) -> int:
    """Evaluate the cases in `file` and print the tables (or the JSON); the exit code."""
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
    words = Table(title="median words of the first message (without contacts)")
    words.add_column("slice")
    for metric in WORD_METRICS:
        words.add_column(metric, justify="right")
    shape = result["shape"]
    for name, agg in [("overall", shape["overall"]), *shape["by_language"].items()]:
        words.add_row(name, *("–" if agg[m] is None else f"{agg[m]:.0f}" for m in WORD_METRICS))
    console.print(words)
    for failure in result["failures"]:
        console.print(
            f"[yellow]{failure['id']}[/yellow] ({failure['lang']}) "
            f"failed {', '.join(failure['failed'])}: topics {failure['got_topics']}, "
            f"orgs {failure['got_orgs']}"
        )
    return 0

"""`waypoint report`: usage for staff, from the aggregate store only (no user appears).

Prints a rich table (usage by day, topics, languages, not-found rate, feedback, and the
knowledge gaps when the operator keeps them) or one JSON object, and optionally writes a
PNG stacked bar chart of questions per day by outcome.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.settings import Settings
from bot.store import SecretError, Stats, Store, StoreError, load_or_create_secret

OUTCOME_COLORS = {"answered": "#2e7d32", "not_found": "#f9a825", "emergency": "#c62828"}


async def build_report(store: Store, days: int) -> dict[str, Any]:
    """Return the usage report over the last `days` days as plain JSON-ready data."""
    return report_from_stats(await store.stats(days))


def report_from_stats(stats: Stats) -> dict[str, Any]:
    """Turn `Stats` into the report's JSON shape."""
    return {
        "days": stats.days,
        "since": _iso(stats.since),
        "questions": stats.questions,
        "people": stats.people,
        "outcomes": {
            "answered": stats.answered,
            "not_found": stats.not_found,
            "emergency": stats.emergency,
        },
        "not_found_rate": round(stats.not_found_rate, 4),
        "per_day": [
            {
                "day": d.day,
                "answered": d.answered,
                "not_found": d.not_found,
                "emergency": d.emergency,
                "total": d.total,
            }
            for d in stats.per_day
        ],
        "kinds": stats.kinds,
        "topics": stats.topics,
        "languages": stats.languages,
        "feedback": {
            "helpful": stats.helpful,
            "not_helpful": stats.not_helpful,
            "by_topic": {
                topic: {"helpful": yes, "not_helpful": no}
                for topic, (yes, no) in stats.feedback_by_topic.items()
            },
        },
        "latency_ms": {"p50": _round(stats.latency_p50_ms), "p95": _round(stats.latency_p95_ms)},
        "gaps": [{"text": g.text, "language": g.language, "at": _iso(g.at)} for g in stats.gaps],
    }


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def print_report(report: dict[str, Any], console: Console) -> None:
    """Print the report as rich tables."""
    console.print(
        f"[bold]Waypoint usage[/bold], last {report['days']} days (since {report['since']}): "
        f"{report['questions']} questions; {report['people']} people counted once a day, "
        f"not found {report['not_found_rate']:.0%}"
    )
    by_day = Table(title="Questions by day")
    for column in ("day", "answered", "not found", "emergency", "total"):
        by_day.add_column(column, justify="left" if column == "day" else "right")
    for d in report["per_day"]:
        by_day.add_row(
            d["day"], str(d["answered"]), str(d["not_found"]), str(d["emergency"]), str(d["total"])
        )
    console.print(by_day)
    console.print(_counts_table("Topics", "topic", report["topics"]))
    console.print(_counts_table("Languages", "language", report["languages"]))

    feedback = report["feedback"]
    votes = Table(title="Feedback")
    for column in ("topic", "helpful", "not helpful"):
        votes.add_column(column, justify="left" if column == "topic" else "right")
    for topic, counts in feedback["by_topic"].items():
        votes.add_row(Text(topic), str(counts["helpful"]), str(counts["not_helpful"]))
    votes.add_row("[bold]all[/bold]", str(feedback["helpful"]), str(feedback["not_helpful"]))
    console.print(votes)

    latency = report["latency_ms"]
    if latency["p50"] is not None:
        console.print(
            f"Answer time: median {latency['p50']} ms, 95th percentile {latency['p95']} ms"
        )
    if report["gaps"]:
        gaps = Table(title="Unanswered questions (scrubbed, newest first)")
        for column in ("when", "language", "question"):
            gaps.add_column(column)
        for gap in report["gaps"]:
            gaps.add_row(gap["at"], Text(gap["language"]), Text(gap["text"]))
        console.print(gaps)


def _counts_table(title: str, label: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column(label)
    table.add_column("questions", justify="right")
    for name, n in counts.items():
        table.add_row(Text(name), str(n))
    if not counts:
        table.add_row("-", "0")
    return table


def write_chart(report: dict[str, Any], png: Path) -> None:
    """Write a stacked bar chart of questions per day by outcome."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = [d["day"][5:] for d in report["per_day"]]  # MM-DD
    figure = Figure(figsize=(max(6.0, 0.35 * len(days) + 2), 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    bottom = [0] * len(days)
    for outcome, color in OUTCOME_COLORS.items():
        values = [d[outcome] for d in report["per_day"]]
        axes.bar(days, values, bottom=bottom, color=color, label=outcome.replace("_", " "))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(f"Questions per day, last {report['days']} days")
    axes.set_ylabel("questions")
    axes.legend(loc="upper left")
    axes.tick_params(axis="x", labelrotation=60, labelsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png, format="png")


async def _collect(settings: Settings, days: int) -> dict[str, Any]:
    secret = load_or_create_secret(settings.data_dir, settings.secret_key)
    store = await Store.open(
        settings.state_db,
        secret=secret,
        keep_unanswered=settings.keep_unanswered,
        retention_days=settings.retention_days,
    )
    try:
        return await build_report(store, days)
    finally:
        await store.close()


def main(settings: Settings, days: int, as_json: bool, png: Path | None) -> int:
    """Print the usage report; return the exit status."""
    if days < 1:
        print("report: --days must be at least 1", file=sys.stderr)
        return 2
    if not settings.state_db.exists():
        print(f"report: no state database at {settings.state_db}", file=sys.stderr)
        return 1
    try:
        report = asyncio.run(_collect(settings, days))
    except (SecretError, StoreError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report, Console())
    if png is not None:
        write_chart(report, png)
        if not as_json:
            print(f"chart written to {png}")
    return 0

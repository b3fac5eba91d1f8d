"""The bodies of `waypoint ingest`, `check`, `ask` and `chat` (the CLI stays a dispatcher)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from bot.settings import Settings
from ingest.errors import IngestError

T = TypeVar("T")
SUMMARY_COLUMNS = (
    "added", "updated", "unchanged", "removed", "failed", "chunks_embedded", "chunks_total",
)


def ingest_command(settings: Settings, args: argparse.Namespace) -> int:
    """Index `knowledge/` (only what changed, unless `--rebuild`) and print the summary."""
    from ingest.encoders import encoders_for
    from ingest.service import ingest, is_stale, load_encoders

    err = Console(stderr=True)
    if args.if_stale and not is_stale(
        settings.knowledge_dir,
        settings.data_dir,
        settings.chroma_url,
        encoders_for(settings.embeddings),
        token=settings.chroma_token,
        ca_file=settings.chroma_ca_file,
    ):
        err.print("[green]index is up to date[/green]")
        return 0

    def progress(items: Iterable[T]) -> Iterable[T]:
        from rich.progress import track

        return track(list(items), description="Indexing", console=err, transient=True)

    try:
        summary = ingest(
            knowledge_dir=settings.knowledge_dir,
            data_dir=settings.data_dir,
            chroma_url=settings.chroma_url,
            encoders=load_encoders(settings.embeddings),
            rebuild=args.rebuild,
            dry_run=args.dry_run,
            progress=None if args.json else progress,
            token=settings.chroma_token,
            ca_file=settings.chroma_ca_file,
        )
    except IngestError as exc:
        err.print(f"[red]ingest failed:[/red] {exc}")
        return 2
    if not args.dry_run:
        from bot import ingest_report

        ingest_report.save(settings.data_dir, summary)
    if args.json:
        print(summary.to_json())
    else:
        table = Table(title="Ingest" + (" (dry run)" if args.dry_run else ""))
        for key in SUMMARY_COLUMNS:
            table.add_column(key.replace("_", " "), justify="right")
        table.add_row(*(str(getattr(summary, key)) for key in SUMMARY_COLUMNS))
        console = Console(soft_wrap=True)
        console.print(table)
        for error in summary.errors:
            console.print(f"[red]✗[/red] {error['file']}: {error['reason']}")
        console.print(f"{summary.seconds:.1f} s")
    if summary.failed and getattr(args, "keep_going", False):
        err.print(f"[yellow]{summary.failed} file(s) not indexed; the bot starts without them[/]")
        return 0
    return 1 if summary.failed else 0


def check_command(settings: Settings) -> int:
    """Print the errors and warnings found in `knowledge/`; 1 if there are errors."""
    from ingest.check import check_knowledge

    report = check_knowledge(settings.knowledge_dir)
    console = Console(soft_wrap=True)
    for file, reason in report.errors:
        console.print(f"[red]error[/red]   {file}: {reason}")
    for file, reason in report.warnings:
        console.print(f"[yellow]warning[/yellow] {file}: {reason}")
    status = "[green]ok[/green]" if report.ok else "[red]errors found[/red]"
    console.print(
        f"{status}: {report.documents} documents, {len(report.errors)} errors, "
        f"{len(report.warnings)} warnings"
    )
    return 0 if report.ok else 1


def answer_record(question: str, answer: Any, rendered: str) -> dict[str, Any]:
    """The `waypoint ask --json` object (its keys are a contract)."""
    return {
        "question": question,
        "language": answer.question_language,
        "emergency": answer.emergency,
        "answer_found": answer.answer_found,
        "answer": rendered,
        "passages": [
            {
                "doc_id": p.doc_id,
                "title": p.title,
                "url": p.url,
                "topics": list(p.topics),
                "score": p.score,
                "text": p.text,
            }
            for p in answer.passages
        ],
        "organizations": [{"id": r.id, "name": r.name, "url": r.url} for r in answer.referrals],
    }


def _open_engine(settings: Settings) -> Any:
    from bot.engine.build import build_engine

    try:
        return build_engine(settings)
    except IngestError as exc:
        print(f"waypoint: {exc}", file=sys.stderr)
        return None


def ask_command(settings: Settings, question: str | None, *, as_json: bool) -> int:
    """Answer one question, or one per line of stdin, as plain text or JSON lines."""
    from bot.engine.language import ui_language
    from bot.render import render_answer, to_plain

    engine = _open_engine(settings)
    if engine is None:
        return 2
    questions = [question] if question else (line.strip() for line in sys.stdin)
    for q in questions:
        if not q:
            continue
        answer = engine.answer(q)
        html = "\n\n".join(render_answer(answer, ui_language(answer.question_language)))
        if as_json:
            print(json.dumps(answer_record(q, answer, html), ensure_ascii=False), flush=True)
        else:
            print(to_plain(html), end="\n\n", flush=True)
    return 0


def chat_command(settings: Settings) -> int:
    """Answer questions typed in the terminal until Ctrl-D; nothing is written to disk."""
    from bot.engine.language import ui_language
    from bot.render import render_answer, to_plain

    console = Console(soft_wrap=True)
    console.print("[bold]Waypoint[/bold] — loading…")
    engine = _open_engine(settings)
    if engine is None:
        return 2
    console.print(
        "Ask in your language (Ctrl-D to quit). This terminal chat keeps nothing on disk."
    )
    while True:
        try:
            q = console.input("[bold cyan]› [/bold cyan]").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not q:
            continue
        answer = engine.answer(q)
        html = "\n\n".join(render_answer(answer, ui_language(answer.question_language)))
        console.print(to_plain(html), markup=False, highlight=False)

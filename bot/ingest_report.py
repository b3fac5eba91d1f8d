"""The last ingest's per-file failures, kept beside the index so the bot can report them.

`waypoint ingest` (and the bot's own reindex) writes `<data dir>/ingest-report.json`; the bot
reads it when it starts, logs each file that is not in the index as a warning and shows them
in /stats. One bad document is a warning for staff, never a reason not to start.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPORT_FILE = "ingest-report.json"


@dataclass(frozen=True)
class FileProblem:
    """A knowledge file the last ingest could not index, and why."""

    file: str
    reason: str


def summary_dict(summary: Any) -> dict[str, Any]:
    """An ingest summary (the pipeline's summary object or its dict form) as a dict."""
    to_dict = getattr(summary, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return dict(summary) if isinstance(summary, Mapping) else {}


def problems_in(summary: Any) -> list[FileProblem]:
    """The failed files of an ingest summary."""
    errors = summary_dict(summary).get("errors") or []
    return [
        FileProblem(str(e.get("file", "?")), str(e.get("reason", "")))
        for e in errors
        if isinstance(e, Mapping)
    ]


def save(data_dir: Path, summary: Any) -> list[FileProblem]:
    """Write the report of `summary`; return its problems. A failure to write is logged."""
    problems = problems_in(summary)
    body = {"at": time.time(), "errors": [p.__dict__ for p in problems]}
    path = data_dir / REPORT_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(part, path)
    except OSError as exc:
        logger.warning("could not write %s: %s", REPORT_FILE, type(exc).__name__)
    return problems


def load(data_dir: Path) -> list[FileProblem]:
    """The problems of the last ingest (none if it never ran or the report is unreadable)."""
    try:
        body = json.loads((data_dir / REPORT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        logger.warning("could not read %s: %s", REPORT_FILE, type(exc).__name__)
        return []
    return problems_in(body if isinstance(body, Mapping) else {})


def log_problems(problems: list[FileProblem]) -> None:
    """One warning per file that is not in the index."""
    for problem in problems:
        logger.warning("not in the index: %s: %s", problem.file, problem.reason)

"""`waypoint`: the one console script. Thin: each subcommand calls into a module."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The `waypoint` argument parser, one subparser per subcommand."""
    parser = argparse.ArgumentParser(prog="waypoint", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="load knowledge/ into the index (incremental)")
    p.add_argument(
        "--knowledge", type=Path, help="knowledge folder (default WAYPOINT_KNOWLEDGE_DIR)"
    )
    p.add_argument("--rebuild", action="store_true", help="drop the index and embed everything")
    p.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    p.add_argument("--json", action="store_true", help="print one JSON summary")
    p.add_argument("--if-stale", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="exit 0 when only single files failed (they are reported and logged by `run`)",
    )

    p = sub.add_parser("check", help="validate knowledge/ (front matter, ids, review dates)")
    p.add_argument("--knowledge", type=Path)

    p = sub.add_parser("ask", help="answer questions (one argument, or one per stdin line)")
    p.add_argument("question", nargs="?")
    p.add_argument("--json", action="store_true")

    sub.add_parser("chat", help="talk to Waypoint in the terminal")

    p = sub.add_parser("eval", help="measure retrieval, referrals and triage on a JSONL file")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("run", help="run the Telegram bot (long polling unless --webhook-url)")
    p.add_argument("--webhook-url")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8443)

    p = sub.add_parser("report", help="usage report for staff")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.add_argument("--png", type=Path)

    p = sub.add_parser("backup", help="back up the state database and a manifest of knowledge/")
    p.add_argument("dest", type=Path)
    p.add_argument(
        "--include-key",
        action="store_true",
        help="also copy the secret key (then the backup alone can unmask pseudonyms)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Read the settings, configure logging and run one subcommand; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"waypoint: configuration error: {exc}", file=sys.stderr)
        return 2
    if getattr(args, "knowledge", None):
        settings = settings.with_(knowledge_dir=args.knowledge)
    from bot.ops.logging import configure_logging

    configure_logging(
        settings.log_format, logging.WARNING if args.command != "run" else logging.INFO
    )
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from ingest.encoders import offline

    offline()
    command = args.command
    if command == "ingest":
        from bot.commands import ingest_command

        return ingest_command(settings, args)
    if command == "check":
        from bot.commands import check_command

        return check_command(settings)
    if command == "ask":
        from bot.commands import ask_command

        return ask_command(settings, args.question, as_json=args.json)
    if command == "chat":
        from bot.commands import chat_command

        return chat_command(settings)
    if command == "eval":
        from bot.engine.evaluate import main as eval_main

        return eval_main(settings, args.file, as_json=args.json)
    if command == "run":
        from bot.app import run

        return run(settings, webhook_url=args.webhook_url, listen=args.listen, port=args.port)
    if command == "report":
        from bot.ops.report import main as report_main

        return report_main(settings, days=args.days, as_json=args.json, png=args.png)
    if command == "backup":
        from bot.ops.backup import main as backup_main

        return backup_main(settings, args.dest, include_key=args.include_key)
    raise AssertionError(command)


def print_json(obj: object) -> None:
    """Print `obj` as one line of JSON, non-ASCII kept as is."""
    print(json.dumps(obj, ensure_ascii=False))


if __name__ == "__main__":
    raise SystemExit(main())

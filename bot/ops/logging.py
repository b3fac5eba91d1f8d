"""Logging for operators: text or JSON lines, pseudonymous, with bot tokens redacted.

Call `configure_logging()` once from an entry point. Every record passes a filter that
replaces anything shaped like a Telegram bot token, and the formatters redact again after
formatting (tracebacks of HTTP errors can carry the Bot API URL, which contains the token).
Log a handled update with `log_update()`: the user appears only as a short pseudonym.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Sequence
from typing import IO, Any

TOKEN_PATTERN = re.compile(r"(?<!\d)\d{1,20}:[A-Za-z0-9_-]{30,}")
REDACTED = "[token]"
# Loggers that at DEBUG/INFO would print URLs with the token, SQL parameters or update
# payloads (message texts): never below WARNING, whatever level the operator asks for.
QUIET_LOGGERS = (
    "httpx", "httpcore", "telegram", "telegram.ext", "aiohttp.access", "aiosqlite",
    "apscheduler", "chromadb", "urllib3", "hpack", "bm25s", "sentence_transformers",
)
LOG_USER_CHARS = 16

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def redact(text: str) -> str:
    """Replace anything shaped like a bot token."""
    return TOKEN_PATTERN.sub(REDACTED, text)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class RedactTokens(logging.Filter):
    """Rewrite a record's message and string extras with tokens redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed %-format; keep what we can
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        for key, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...`, tokens redacted."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The standard line, then the record's extra fields as `key=value`."""
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in extras.items())
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON; values JSON cannot hold become strings."""
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def _text_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def configure_logging(
    fmt: str = "text", level: int = logging.INFO, stream: IO[str] | None = None
) -> None:
    """Send all logging to `stream` (stderr by default) as text or JSON lines."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_waypoint", False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler._waypoint = True  # type: ignore[attr-defined]
    handler.addFilter(RedactTokens())
    handler.setLevel(level)  # libraries that set their own logger to DEBUG on import stay quiet
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def log_update(
    logger: logging.Logger,
    *,
    user: str,
    handler: str,
    language: str | None,
    topics: Sequence[str],
    latency_ms: float,
    outcome: str,
) -> None:
    """Log one handled update; `user` is a pseudonym, shortened to 16 characters."""
    logger.info(
        "update handled",
        extra={
            "user": user[:LOG_USER_CHARS],
            "handler": handler,
            "language": language,
            "topics": list(topics),
            "latency_ms": round(latency_ms, 1),
            "outcome": outcome,
        },
    )

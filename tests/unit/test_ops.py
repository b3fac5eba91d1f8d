"""Logging and metrics (the backup: test_backup.py)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ops.logging import configure_logging, log_update, redact
from bot.ops.metrics import Metrics

TOKEN = "123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
USER = 246813579


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "telegram.ext")}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# -- logging ---------------------------------------------------------------------------------


def test_redact() -> None:
    assert redact(f"GET https://api.telegram.org/bot{TOKEN}/getMe") == (
        "GET https://api.telegram.org/bot[token]/getMe"
    )
    assert redact("12:short") == "12:short"


def test_json_lines_parse_and_carry_extras(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    log = logging.getLogger("waypoint.test")

    log.info("answered in %d ms", 42, extra={"handler": "question"})
    log.warning("second")

    first, second = json_lines(stream)
    assert first["message"] == "answered in 42 ms" and first["handler"] == "question"
    assert first["level"] == "INFO" and first["logger"] == "waypoint.test"
    assert str(first["time"]).endswith("+00:00")
    assert second["level"] == "WARNING"


def test_tokens_never_reach_the_log(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", level=logging.DEBUG, stream=stream)
    log = logging.getLogger("waypoint.somewhere")

    log.info("calling https://api.telegram.org/bot%s/sendMessage", TOKEN)
    log.info(f"inline {TOKEN}")
    log.info("extra", extra={"url": f"bot{TOKEN}/x"})
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/getUpdates failed")
    except RuntimeError:
        log.exception("boom")

    lines = json_lines(stream)
    assert len(lines) == 4
    assert TOKEN not in stream.getvalue()
    assert TOKEN.split(":")[1] not in stream.getvalue()
    assert "[token]" in str(lines[0]["message"]) and "[token]" in str(lines[3]["exc"])


def test_text_format_redacts_and_shows_extras(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("text", stream=stream)
    log_update(
        logging.getLogger("bot.handlers"),
        user="ab" * 32,
        handler="question",
        language="ru",
        topics=["detention", "legal-aid"],
        latency_ms=123.456,
        outcome="answered",
    )
    logging.getLogger("x").error("token %s", TOKEN)
    out = stream.getvalue()
    assert "update handled" in out and "topics=detention,legal-aid" in out
    assert f"user={'ab' * 8} " in out and "latency_ms=123.5" in out
    assert TOKEN not in out


def test_log_update_is_one_pseudonymous_line(restore_logging: None, tmp_path: Path) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    key = hashlib.sha256(b"x").hexdigest()

    log_update(
        logging.getLogger("bot.handlers.questions"),
        user=key,
        handler="question",
        language=None,
        topics=(),
        latency_ms=5,
        outcome="not_found",
    )

    (line,) = json_lines(stream)
    assert line["user"] == key[:16]
    assert line["topics"] == [] and line["language"] is None and line["outcome"] == "not_found"
    assert str(USER) not in stream.getvalue()


def test_configure_twice_keeps_one_handler_and_quiets_http(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", stream=io.StringIO())
    configure_logging("json", stream=stream)
    logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot...")
    logging.getLogger("w").info("one")
    assert [line["message"] for line in json_lines(stream)] == ["one"]
    assert logging.getLogger("httpcore").level == logging.WARNING
    assert logging.getLogger("telegram.ext").level == logging.WARNING


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_render_every_metric() -> None:
    metrics = Metrics()
    metrics.updates.labels(handler="question").inc()
    metrics.answers.labels(outcome="answered").inc(2)
    metrics.latency.observe(0.3)
    metrics.rate_limited.inc()
    metrics.errors.labels(type="TimedOut").inc()
    metrics.index_size.set(1234)

    text = metrics.render().decode()

    for name in (
        "waypoint_updates_total",
        "waypoint_answers_total",
        "waypoint_answer_seconds_bucket",
        "waypoint_rate_limited_total",
        "waypoint_errors_total",
        "waypoint_index_chunks",
    ):
        assert name in text
    assert 'waypoint_answers_total{outcome="answered"} 2.0' in text
    assert 'waypoint_answers_total{outcome="search_unavailable"} 0.0' in text
    assert "waypoint_index_chunks 1234.0" in text


def test_each_metrics_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.rate_limited.inc()
    assert "waypoint_rate_limited_total 1.0" in one.render().decode()
    assert "waypoint_rate_limited_total 0.0" in two.render().decode()

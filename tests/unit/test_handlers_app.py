"""The Application's wiring: HTML by default with a plain-text fallback, "typing…" outside the
Bot API limiter, and a bot that starts (and says what is missing) when some knowledge files
could not be indexed."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from bot import ingest_report
from bot.app import ChatActionExempt
from tests.support.inprocess import ADMIN, ALICE, harness

REPO = Path(__file__).resolve().parents[2]


async def test_messages_are_html_by_default_and_plain_when_refused(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(ALICE, "red notice")
        (first,) = h.calls("sendMessage")
        assert first.params["parse_mode"] == "HTML"
        refused = "Bad Request: can't parse entities"
        h.api.fail("sendMessage", kind="bad_request", description=refused)
        (plain,) = await h.text(ALICE, "red notice again")
        last = h.calls("sendMessage")[-1]
        assert "parse_mode" not in last.params and "<b>" not in plain["text"]


async def test_typing_goes_out_before_the_answer(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await h.text(ALICE, "red notice")
        methods = [c.method for c in h.api.calls if c.method in {"sendChatAction", "sendMessage"}]
        assert methods[:2] == ["sendChatAction", "sendMessage"]


async def test_chat_actions_do_not_wait_for_the_bot_api_limiter() -> None:
    limiter = ChatActionExempt(overall_max_rate=1, overall_time_period=60, max_retries=0)
    sent: list[str] = []

    async def call(name: str) -> bool:
        sent.append(name)
        return True

    async def request(endpoint: str) -> Any:
        return await limiter.process_request(
            call, (endpoint,), {}, endpoint, {"chat_id": 42}, None
        )

    await request("sendMessage")  # the limiter's one request this minute
    started = time.monotonic()
    for _ in range(20):
        await asyncio.wait_for(request("sendChatAction"), timeout=1.0)
    assert time.monotonic() - started < 1.0
    # A message still waits its turn.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(request("sendMessage"), timeout=0.3)
    assert sent.count("sendChatAction") == 20 and sent.count("sendMessage") == 1


async def test_the_application_uses_the_exempting_limiter(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        assert isinstance(h.app.bot.rate_limiter, ChatActionExempt)


async def test_the_update_queue_is_bounded(tmp_path: Path) -> None:
    from bot.app import UPDATE_QUEUE_MAX

    async with harness(tmp_path) as h:
        assert 0 < h.app.update_queue.maxsize == UPDATE_QUEUE_MAX


# -- a knowledge file that cannot be indexed -------------------------------------------------


class _Summary:
    failed = 1
    errors = [{"file": "guides/bad.md", "reason": "source_url: must be an http(s) URL"}]
    seconds = 0.1
    added = updated = unchanged = removed = chunks_embedded = chunks_total = 0

    def to_dict(self) -> dict[str, Any]:
        return {"failed": 1, "errors": self.errors}

    def to_json(self) -> str:
        return "{}"


@pytest.mark.parametrize(("keep_going", "code"), [(False, 1), (True, 0)])
def test_ingest_keeps_going_past_single_files_and_reports_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_going: bool, code: int
) -> None:
    import ingest.service
    from bot.commands import ingest_command
    from tests.support.inprocess import unit_settings

    monkeypatch.setattr(ingest.service, "load_encoders", lambda _name: {})
    monkeypatch.setattr(ingest.service, "ingest", lambda **_kwargs: _Summary())
    settings = unit_settings(tmp_path)
    args = argparse.Namespace(
        if_stale=False, rebuild=False, dry_run=False, json=True, keep_going=keep_going
    )
    assert ingest_command(settings, args) == code
    assert ingest_report.load(settings.data_dir) == [
        ingest_report.FileProblem("guides/bad.md", "source_url: must be an http(s) URL")
    ]


async def test_the_bot_starts_and_reports_files_not_indexed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.support.inprocess import unit_settings

    caplog.set_level(logging.WARNING, logger="bot")
    ingest_report.save(unit_settings(tmp_path).data_dir, _Summary())
    async with harness(tmp_path) as h:
        assert [p.file for p in h.services.knowledge_problems] == ["guides/bad.md"]
        assert any("guides/bad.md" in r.getMessage() for r in caplog.records)
        (stats,) = await h.command(ADMIN, "stats")
        assert "guides/bad.md" in stats["text"] and "http(s) URL" in stats["text"]
        (answer,) = await h.text(ALICE, "red notice")  # and it answers
        assert answer["reply_markup"]


def test_the_image_and_make_run_start_the_bot_despite_bad_files() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, re.MULTILINE)
    if cmd.strip() == "[]":  # the image's entrypoint script decides what starts
        cmd = (REPO / "docker" / "entrypoint.sh").read_text()
        assert 'ENTRYPOINT ["waypoint-entrypoint"]' in dockerfile
    makefile = (REPO / "Makefile").read_text()
    run_target = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    for command in (cmd, run_target):
        assert "ingest --if-stale --keep-going" in command
        assert "--keep-going &&" not in command  # a failed ingest does not keep the bot down

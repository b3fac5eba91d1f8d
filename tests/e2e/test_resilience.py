"""A defender's message must not vanish: a failing state database, a second instance on the
same token, Bot API outages, SIGKILL and SIGTERM mid-answer, a sendMessage that times out.

In-process tests use the real Application and Store against the stand-in (conftest `bot`);
the kill and stop tests run `waypoint run`'s `run()` in a real subprocess, given (through its
`services` argument) an engine that blocks in `answer` until a file appears.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import services as services_module
from bot.app import DRAIN_S
from bot.polling import POLL_RETRY_MAX_S
from bot.store.store import Store
from tests.e2e.conftest import ALICE, BORIS, SECRET, ask, buttons, settled
from tests.support.botapi import TOKEN, BotAPI

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PTB_POLLING_TRACEBACK = "Exception happened while polling for updates"


def answers(api: BotAPI, chat_id: int, since: int = 0) -> list[dict[str, Any]]:
    """Answers to questions (they carry buttons), not apologies or notices."""
    return [m for m in api.sent(chat_id, since=since) if buttons(m)]


def lines(caplog: pytest.LogCaptureFixture, needle: str, level: int | None = None) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if needle in r.getMessage() and (level is None or r.levelno == level)
    ]


def metric(bot: Any, kind: str) -> float:
    return float(bot.bot_data.metrics.errors.labels(type=kind)._value.get())


# -- 1. the state database is locked or full ---------------------------------------------------


@pytest.mark.parametrize("reason", ["database is locked", "database or disk is full"])
async def test_failing_store_calls_do_not_stop_the_answer(
    api: BotAPI,
    bot: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    reason: str,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    monkeypatch.setattr(services_module, "STORE_PAUSE_S", 0.0)  # try (and fail) every call
    store = bot.bot_data.store
    failed: list[str] = []

    def failing(name: str) -> Callable[..., Any]:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            failed.append(name)
            raise sqlite3.OperationalError(reason)

        return fail

    # The question is stored (inbox_put works); every other call on the answer path fails.
    # Auto-delete reads as on, so that scheduling deletions is tried (and fails) too.
    for name in ("get_language", "record_event", "keep_unanswered", "schedule_deletion"):
        monkeypatch.setattr(store, name, failing(name))
    monkeypatch.setattr(store.inbox, "mark_done", failing("inbox_done"))

    async def autodelete_on(user_id: int) -> int:
        return 3600

    monkeypatch.setattr(store, "get_autodelete", autodelete_on)

    mark = api.mark()
    api.push_text(ALICE, "nothing about my red notice, which worries me")
    await api.wait_sent(ALICE.id, since=mark)
    await settled(bot)
    await api.quiet(0.3)
    (reply,) = api.sent(ALICE.id, since=mark)  # exactly one message, and it is the answer
    assert buttons(reply)

    assert set(failed) == {
        "get_language",
        "inbox_done",
        "record_event",
        "keep_unanswered",
        "schedule_deletion",
    }
    assert metric(bot, "OperationalError") == len(failed)
    logged = lines(caplog, "state store failed in", logging.ERROR)
    assert len(logged) == len(failed)
    assert all("OperationalError" in line for line in logged)
    assert reason not in caplog.text  # by type, never the message
    assert "red notice" not in caplog.text


async def test_a_locked_database_costs_one_busy_wait_and_the_answer_still_goes_out(
    api: BotAPI,
    bot: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    monkeypatch.setattr(services_module, "STORE_PAUSE_S", 1.0)
    # Another process holds the write lock (e.g. a stuck maintenance script).
    other = sqlite3.connect(settings.state_db, isolation_level=None, timeout=0)
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        replies = await ask(api, ALICE, "red notice while the database is locked")
        took = time.monotonic() - started
        await settled(bot)
        await api.quiet(0.3)
        assert len(replies) == 1 and buttons(replies[0])
        assert len(api.sent(ALICE.id)) == 1
        # One busy timeout (5 s) for the inbox, then the store is left alone for the pause.
        assert took < 9.0, took
        (logged,) = lines(caplog, "state store failed in", logging.ERROR)
        assert "inbox_put" in logged and "OperationalError (SQLITE_BUSY)" in logged
        assert "database is locked" not in caplog.text
        assert metric(bot, "OperationalError") == 1
    finally:
        other.rollback()
        other.close()
    # Once the lock is gone and the pause is over, questions are stored and counted again.
    await asyncio.sleep(1.1)
    await ask(api, BORIS, "red notice after the lock")
    await settled(bot)
    stats = await bot.bot_data.store.stats(1)
    assert stats.questions == 1  # the second question; the first was answered without the store
    assert len(lines(caplog, "state store failed in")) == 1


# -- 2. a second instance polls with the same token ----------------------------------------------


async def test_a_second_instance_is_reported_once_and_polling_resumes(
    api: BotAPI, bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    mark = api.mark()
    api.conflict(True)
    refused = await api.wait_call("getUpdates", since=mark, ok=False, count=5, timeout=20)
    assert all("terminated by other getUpdates request" in (c.error or "") for c in refused)
    # Backing off, not hammering: the retries are spaced out and the bot keeps running.
    gaps = [b.at - a.at for a, b in zip(refused, refused[1:], strict=False)]
    assert all(gap >= 0.4 for gap in gaps), gaps
    assert bot.updater.running
    (logged,) = lines(caplog, "another bot instance is polling with this token", logging.ERROR)
    assert "409 Conflict" in logged and "Stop the other instance" in logged
    assert not lines(caplog, PTB_POLLING_TRACEBACK)

    api.conflict(False)
    ended = time.monotonic()
    (reply,) = await ask(api, ALICE, "red notice after the conflict")
    resumed_in = time.monotonic() - ended
    assert buttons(reply)
    assert resumed_in < POLL_RETRY_MAX_S + 3, resumed_in
    assert lines(caplog, "polling resumed after", logging.WARNING)
    assert metric(bot, "Conflict") == len(api.calls_of("getUpdates", ok=False))

    # A new conflict later is a new occurrence: reported again, once.
    mark = api.mark()
    api.conflict(True)
    await api.wait_call("getUpdates", since=mark, ok=False, count=2, timeout=10)
    api.conflict(False)
    await ask(api, BORIS, "red notice after the second conflict", count=1)
    assert len(lines(caplog, "another bot instance is polling", logging.ERROR)) == 2
    assert bot.updater.running


# -- 3. polling recovers from 5xx bursts and a long outage ---------------------------------------


async def _burst(api: BotAPI, bot: Any, statuses: tuple[int, ...], text: str) -> float:
    """Fail the next getUpdates with `statuses`, ask during the burst; return recovery seconds."""
    mark = api.mark()
    for status in statuses:
        api.fail("getUpdates", kind="server_error", status=status)
    await api.wait_call("getUpdates", since=mark, ok=False)  # polling is in trouble now
    api.push_text(ALICE, text)
    (reply,) = await api.wait_sent(ALICE.id, since=mark, timeout=20)
    assert buttons(reply)
    failures = [c for c in api.calls[mark:] if c.method == "getUpdates" and not c.ok]
    assert len(failures) == len(statuses)
    first_ok = next(c for c in api.calls[mark:] if c.method == "getUpdates" and c.ok)
    return first_ok.at - failures[-1].at


async def test_polling_resumes_after_5xx_bursts_and_loses_nothing(
    api: BotAPI, bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    first = await _burst(api, bot, (500, 502, 500, 502), "red notice during the first burst")
    second = await _burst(api, bot, (502, 502), "red notice during the second burst")
    await settled(bot)
    await api.quiet(0.3)
    assert len(answers(api, ALICE.id)) == 2 and len(api.sent(ALICE.id)) == 2
    assert first <= POLL_RETRY_MAX_S + 1, first
    assert second <= 1.0 + 1, second  # the backoff started afresh: 0.5 s, then 1 s
    assert len(lines(caplog, "polling for updates failed", logging.WARNING)) == 2
    assert len(lines(caplog, "polling resumed after", logging.WARNING)) == 2
    assert not lines(caplog, PTB_POLLING_TRACEBACK)


@pytest.mark.slow
async def test_polling_resumes_within_10_s_after_a_60_s_outage(
    api: BotAPI, bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    mark = api.mark()
    api.outage(True)
    began = time.monotonic()
    await api.wait_call("getUpdates", since=mark, ok=False)
    api.push_text(ALICE, "red notice sent while Telegram was down")
    await asyncio.sleep(60 - (time.monotonic() - began))
    api.outage(False)
    back = time.monotonic()
    (reply,) = await api.wait_sent(ALICE.id, since=mark, timeout=15)
    answered_in = time.monotonic() - back
    assert buttons(reply)
    attempts = api.calls_of("getUpdates", ok=False)
    first_ok = next(c for c in api.calls[mark:] if c.method == "getUpdates" and c.ok)
    resumed_in = first_ok.at - back
    print(f"\nrecovery after a 60 s outage: polling {resumed_in:.1f} s, reply {answered_in:.1f} s")
    assert resumed_in <= 10 and answered_in <= 10
    assert len(attempts) < 30  # about one attempt per POLL_RETRY_MAX_S, no tight loop
    assert len(lines(caplog, "polling for updates failed", logging.WARNING)) == 1
    assert len(lines(caplog, "polling resumed after", logging.WARNING)) == 1
    await settled(bot)
    await api.quiet(0.3)
    assert len(api.sent(ALICE.id)) == 1


# -- 6. a sendMessage whose response never comes in time --------------------------------------


async def test_a_timed_out_send_is_not_retried_blindly(
    api: BotAPI, bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    read_timeout = bot.bot.request.read_timeout
    assert read_timeout is not None and read_timeout <= 10
    # Telegram delivers the message but its response arrives after PTB stopped waiting.
    api.fail("sendMessage", kind="late", delay=read_timeout + 3)
    mark = api.mark()
    api.push_text(ALICE, "red notice while Telegram is sluggish")
    await api.wait_call("sendMessage", since=mark)
    gave_up = time.monotonic() + read_timeout + 2
    while not lines(caplog, "sending timed out"):
        assert time.monotonic() < gave_up, "the bot did not time out"
        await asyncio.sleep(0.1)
    await settled(bot)
    await api.quiet(1.0)
    assert len([c for c in api.calls[mark:] if c.method == "sendMessage"]) == 1
    assert len(api.sent(ALICE.id, since=mark)) == 1
    assert await bot.bot_data.store.inbox_pending() == []


# -- 4 and 5. SIGKILL and SIGTERM mid-answer, in a real process --------------------------------

LAUNCHER = textwrap.dedent(
    """
    import logging, os, sys, time
    from pathlib import Path
    from tests.support.fakes import FakeEngine

    class GatedEngine(FakeEngine):
        # "gated" questions wait for the GATE_OPEN file; every answer is appended to ANSWERS.
        def answer(self, question, **kwargs):
            if "gated" in question:
                Path(os.environ["GATE_STARTED"]).touch()
                while not Path(os.environ["GATE_OPEN"]).exists():
                    time.sleep(0.02)
            result = super().answer(question, **kwargs)
            with open(os.environ["ANSWERS"], "a") as log:
                log.write(question + "\\n")
            return result

    from bot.app import run
    from bot.ops.logging import configure_logging
    from bot.services import Services
    from bot.settings import Settings

    configure_logging("text", logging.INFO)
    services = Services(engine_factory=lambda s: GatedEngine(s.knowledge_dir))
    sys.exit(
        run(
            Settings.from_env(env_file=None),
            webhook_url=None,
            listen="127.0.0.1",
            port=0,
            services=services,
        )
    )
    """
)


class BotProcess:
    """`waypoint run` with the gated engine in a subprocess; files under `root`."""

    def __init__(self, api: BotAPI, root: Path) -> None:
        self.api = api
        self.root = root
        self.started = root / "gate-started"
        self.gate = root / "gate-open"
        self.answers = root / "answers.txt"
        self.process: asyncio.subprocess.Process | None = None
        self.logs: list[Path] = []

    async def start(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WAYPOINT_", "TELEGRAM_"))},
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": self.api.base_url,
            "WAYPOINT_DATA_DIR": str(self.root / "data"),
            "WAYPOINT_KNOWLEDGE_DIR": str(self.root),
            "WAYPOINT_SECRET_KEY": SECRET,
            "PYTHONPATH": str(REPO),
            "GATE_STARTED": str(self.started),
            "GATE_OPEN": str(self.gate),
            "ANSWERS": str(self.answers),
        }
        log = self.root / f"stderr-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", LAUNCHER, cwd=self.root, env=env, stderr=err
            )

    @property
    def log(self) -> str:
        return self.logs[-1].read_text()

    async def wait_file(self, path: Path, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not path.exists():
            assert self.process is not None and self.process.returncode is None, self.log
            assert time.monotonic() < deadline, f"{path.name} did not appear"
            await asyncio.sleep(0.05)

    async def wait_polling(self, since: int, timeout: float = 30.0) -> None:
        """Until this process has long-polled successfully at least once."""
        await self.api.wait_call("getUpdates", since=since, timeout=timeout)

    def answered(self) -> list[str]:
        return self.answers.read_text().splitlines() if self.answers.exists() else []

    async def stop(self, timeout: float = 20.0) -> tuple[int, float]:
        """SIGTERM; return the exit code and how long the process took to exit."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        return code, time.monotonic() - began

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def _pending_inbox(root: Path) -> list[tuple[int, dict[str, Any]]]:
    store = await Store.open(root / "data" / "state.sqlite3", secret=SECRET.encode())
    try:
        return await store.inbox_pending()
    finally:
        await store.close()


async def test_sigkill_mid_answer_loses_nothing_and_a_restart_answers_once(
    api: BotAPI, tmp_path: Path
) -> None:
    bot = BotProcess(api, tmp_path)
    try:
        await bot.start()
        await bot.wait_polling(since=0)
        mark = api.mark()
        update = api.push_text(ALICE, "gated question about my red notice")
        await bot.wait_file(bot.started)  # the engine is answering it now
        await bot.kill()  # kill -9
        assert api.sent(ALICE.id, since=mark) == []
        assert [u for u, _ in await _pending_inbox(tmp_path)] == [update["update_id"]]

        # The restarted bot replays its inbox, and Telegram delivers the update again too.
        api.push({"message": update["message"]}, update_id=update["update_id"])
        bot.gate.touch()
        await bot.start()
        await api.wait_sent(ALICE.id, since=mark, timeout=30)
        await api.wait_until(lambda: not api.updates, timeout=10)
        await api.quiet(1.0)
        code, _ = await bot.stop()
        assert code == 0
        assert "re-processing 1 updates left unanswered" in bot.log
        assert "duplicate update ignored" in bot.log
        assert await _pending_inbox(tmp_path) == []

        # Delivered once more after another restart, now that it was answered: ignored.
        api.push({"message": update["message"]}, update_id=update["update_id"])
        await bot.start()
        await ask(api, BORIS, "another question about visas")
        await api.wait_until(lambda: not api.updates, timeout=10)
        await api.quiet(1.0)
        code, _ = await bot.stop()
        assert code == 0
        assert "duplicate update ignored" in bot.log
        assert "re-processing" not in bot.log

        assert len(api.sent(ALICE.id, since=mark)) == 1
        assert len(answers(api, ALICE.id, since=mark)) == 1
        assert bot.answered() == [
            "gated question about my red notice",
            "another question about visas",
        ]
    finally:
        await bot.kill()


async def test_sigterm_waits_for_a_slow_answer_in_flight(api: BotAPI, tmp_path: Path) -> None:
    bot = BotProcess(api, tmp_path)
    try:
        await bot.start()
        await bot.wait_polling(since=0)
        mark = api.mark()
        api.push_text(ALICE, "gated question about a visa refusal")
        await bot.wait_file(bot.started)
        stopping = asyncio.create_task(bot.stop())
        await asyncio.sleep(2.0)  # SIGTERM arrived while the answer was being written
        assert not stopping.done()
        bot.gate.touch()
        code, took = await stopping
        assert code == 0 and took < 15, (code, took)
        assert len(answers(api, ALICE.id, since=mark)) == 1
        assert "gave up" not in bot.log
        assert await _pending_inbox(tmp_path) == []
    finally:
        await bot.kill()


async def test_sigterm_gives_up_on_a_hanging_answer_and_the_next_start_answers_it(
    api: BotAPI, tmp_path: Path
) -> None:
    bot = BotProcess(api, tmp_path)
    try:
        await bot.start()
        await bot.wait_polling(since=0)
        mark = api.mark()
        update = api.push_text(ALICE, "gated question that hangs")
        await bot.wait_file(bot.started)
        code, took = await bot.stop()  # the gate never opens: the answer hangs
        print(f"\nexit {took:.1f} s after SIGTERM with a hanging answer")
        assert code == 0
        assert DRAIN_S <= took < 15, took
        assert "gave up on 1 update(s)" in bot.log
        assert api.sent(ALICE.id, since=mark) == []
        assert [u for u, _ in await _pending_inbox(tmp_path)] == [update["update_id"]]

        bot.gate.touch()
        await bot.start()
        await api.wait_sent(ALICE.id, since=mark, timeout=30)
        await api.quiet(1.0)
        assert len(answers(api, ALICE.id, since=mark)) == 1
        code, _ = await bot.stop()
        assert code == 0
        assert await _pending_inbox(tmp_path) == []
    finally:
        await bot.kill()

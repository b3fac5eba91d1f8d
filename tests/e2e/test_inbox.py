"""The durable inbox and shutdown: no question lost to a crash, none answered twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.handlers.inbox import inbox_payload
from tests.e2e.conftest import ALICE, ask, buttons, open_store, running, settled
from tests.support.botapi import BotAPI

pytestmark = pytest.mark.integration


def _question_update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 41,
            "date": int(time.time()),
            "chat": {"id": ALICE.id, "type": "private"},
            "from": {"id": ALICE.id, "is_bot": False, "first_name": "", "language_code": "en"},
            "text": text,
        },
    }


async def test_pending_inbox_update_is_answered_once_after_a_restart(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    # A previous run stored the question and died before answering it...
    store = await open_store(settings, clock)
    assert await store.inbox_put(5000, _question_update(5000, "red notice, lost in a crash"))
    await store.close()
    # ...and Telegram, never told it was handled, delivers it again after the restart.
    api.push(_question_update(5000, "red notice, lost in a crash"), update_id=5000)
    async with running(settings, engine, clock) as app:
        await api.wait_sent(ALICE.id)
        await api.quiet(0.5)
        await settled(app)
        answers = [m for m in api.sent(ALICE.id) if buttons(m)]
        assert len(answers) == 1
        assert [q for q, _, _ in engine.questions] == ["red notice, lost in a crash"]
        assert await app.bot_data.store.inbox_pending() == []


async def test_an_update_answered_before_a_restart_is_not_answered_again(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    async with running(settings, engine, clock):
        mark = api.mark()
        api.push_text(ALICE, "red notice", update_id=777)
        await api.wait_sent(ALICE.id, since=mark)
    api.push(_question_update(777, "red notice"), update_id=777)  # redelivered
    async with running(settings, engine, clock):
        mark = api.mark()
        await api.wait_until(lambda: not api.updates)  # fetched
        await ask(api, ALICE, "a new question")
        assert len(api.sent(ALICE.id, since=mark)) == 1
        assert len(engine.questions) == 2


async def test_question_is_durable_while_it_is_being_answered(
    api: BotAPI, bot: Any, settings: Any, engine: Any, clock: Any
) -> None:
    engine.hold()
    mark = api.mark()
    update = api.push_text(ALICE, "slow red notice question")
    await asyncio.to_thread(engine.started.wait, 5)
    # A hard kill now would leave this in the inbox: another process sees it pending.
    observer = await open_store(settings, clock)
    try:
        pending = await observer.inbox_pending()
    finally:
        await observer.close()
    assert [update_id for update_id, _ in pending] == [update["update_id"]]
    stored = pending[0][1]
    assert stored["message"]["text"] == "slow red notice question"
    assert (
        "first_name" not in stored["message"]["from"]
        or stored["message"]["from"]["first_name"] == ""
    )
    assert "username" not in stored["message"]["from"]
    engine.release()
    await api.wait_sent(ALICE.id, since=mark)
    await settled(bot)
    assert await bot.bot_data.store.inbox_pending() == []


async def test_stopping_answers_what_was_already_received(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    async with running(settings, engine, clock) as app:
        engine.hold()
        mark = api.mark()
        api.push_text(ALICE, "slow question about a red notice")
        await asyncio.to_thread(engine.started.wait, 5)
        # What SIGTERM does in run_polling: stop fetching, then stop the application.
        await app.updater.stop()
        stopping = asyncio.create_task(app.stop())
        await asyncio.sleep(0.2)
        assert not stopping.done()  # waits for the answer in progress
        engine.release()
        await asyncio.wait_for(stopping, 10)
        assert [m for m in api.sent(ALICE.id, since=mark) if buttons(m)]
        assert await app.bot_data.store.inbox_pending() == []


def test_payload_is_minimal() -> None:
    from telegram import Update

    from tests.support.botapi import BotAPI as Api

    api = Api()
    raw = api.push_text(ALICE, "hello")
    raw["message"]["from"]["username"] = "alice_secret"
    raw["message"]["from"]["last_name"] = "Secret"
    payload = inbox_payload(Update.de_json(raw, None))
    assert payload is not None
    assert set(payload["message"]) == {"message_id", "date", "chat", "from", "text"}
    assert payload["message"]["from"] == {
        "id": ALICE.id,
        "is_bot": False,
        "first_name": "",
        "language_code": "en",
    }
    assert payload["message"]["chat"] == {"id": ALICE.id, "type": "private"}

"""Telegram misbehaving: 429 with retry_after, 5xx, 403 Forbidden, refused HTML, an outage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ALICE, BORIS, PASSAGE_LINK, ask, is_answer, settled
from tests.support.botapi import BotAPI

pytestmark = pytest.mark.integration


async def test_retry_after_is_waited_out_and_the_reply_arrives_once(api: BotAPI, bot: Any) -> None:
    api.fail("sendMessage", kind="retry_after", retry_after=1)
    mark = api.mark()
    api.push_text(ALICE, "red notice")
    (reply,) = await api.wait_sent(ALICE.id, since=mark, timeout=10)
    await settled(bot)
    refused = [c for c in api.calls[mark:] if c.method == "sendMessage" and not c.ok]
    assert [c.error for c in refused] == ["Too Many Requests: retry after 1"]
    assert len(api.sent(ALICE.id, since=mark)) == 1
    assert refused[0].at + 1.0 <= api.calls_of("sendMessage")[-1].at + 0.05
    assert is_answer(reply)


async def test_server_error_is_retried_once(api: BotAPI, bot: Any) -> None:
    api.fail("sendMessage", kind="server_error", status=500)
    (reply,) = await ask(api, ALICE, "red notice")
    await settled(bot)
    assert len(api.calls_of("sendMessage", ok=False)) == 1
    assert is_answer(reply)


async def test_blocked_user_does_not_break_the_bot(api: BotAPI, bot: Any) -> None:
    api.fail("sendMessage", kind="forbidden")
    mark = api.mark()
    api.push_text(ALICE, "red notice")
    await api.wait_call("sendMessage", since=mark, ok=False)
    await settled(bot)
    assert (
        api.calls_of("sendMessage", ok=False)[-1].error == "Forbidden: bot was blocked by the user"
    )
    assert len(api.calls_of("sendMessage", ok=False)) == 1  # no retry, no apology
    assert "waypoint_errors_total{" not in bot.bot_data.metrics.render().decode()
    (reply,) = await ask(api, BORIS, "red notice")  # the next user is served as usual
    assert "<blockquote>" in reply["text"]


async def test_refused_html_falls_back_to_plain_text(api: BotAPI, bot: Any) -> None:
    api.fail("sendMessage", kind="bad_request", description="Bad Request: can't parse entities: x")
    (reply,) = await ask(api, ALICE, "red notice")
    assert "<b>" not in reply["text"] and "<a href" not in reply["text"]
    assert "https://example.org/red-notices/" in reply["text"] and is_answer(reply)


async def test_unexpected_error_is_reported_briefly(api: BotAPI, bot: Any) -> None:
    api.fail("sendMessage", kind="bad_request", description="Bad Request: chat not found")
    (apology,) = await ask(api, ALICE, "red notice")
    assert apology["text"].startswith("Sorry, something went wrong")
    assert 'waypoint_errors_total{type="BadRequest"} 1.0' in bot.bot_data.metrics.render().decode()


async def test_outage_then_recovery(api: BotAPI, bot: Any) -> None:
    api.outage(True)
    api.push_text(ALICE, "red notice during the outage")
    await api.wait_call("getUpdates", ok=False, since=api.mark())
    api.outage(False)
    mark = api.mark()
    (reply,) = await api.wait_sent(ALICE.id, since=mark, timeout=15)
    assert PASSAGE_LINK in reply["text"]


async def test_slow_bot_api_still_gets_one_reply(api: BotAPI, bot: Any) -> None:
    api.fail("sendMessage", kind="delay", delay=0.5)
    api.fail("sendChatAction", kind="delay", delay=0.5)
    (reply,) = await ask(api, ALICE, "red notice")
    await settled(bot)
    assert len(api.sent(ALICE.id)) == 1 and "<blockquote>" in reply["text"]

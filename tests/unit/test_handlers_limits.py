"""One rate limit for every update a user causes: questions, commands and buttons count
alike, a flood gets one notice per window, the 24/7 contacts stay reachable, group chatter
does not count, and nothing of a refused update is stored or asked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.handlers.base import t
from bot.handlers.limits import RATE_LIMITED
from bot.ratelimit import SlidingWindow
from tests.support.inprocess import ALICE, BORIS, GROUP_ID, buttons, harness


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_admits_the_limit_and_tells_once_per_window() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60.0, clock=clock)
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]
    assert window.allow("b")  # per key
    assert window.first_refusal("a") and not window.first_refusal("a")
    clock.now += 30
    assert not window.allow("a")  # refusals do not count, but the window has not moved yet
    clock.now += 31
    assert window.allow("a")  # the first three left the window
    assert window.first_refusal("a")  # a new window, a new notice


def test_sliding_window_drops_idle_keys() -> None:
    clock = Clock()
    window = SlidingWindow(1, 10.0, clock=clock, sweep_at=3)
    for key in "abc":
        window.allow(key)
    clock.now += 11
    window.allow("d")
    assert len(window) == 1


async def test_commands_buttons_and_questions_share_one_limit(tmp_path: Path) -> None:
    async with harness(tmp_path, rate_limit_per_minute=5) as h:
        (answer,) = await h.text(BORIS, "вопрос про red notice")
        data = buttons(answer)
        await h.command(BORIS, "help")
        await h.tap(BORIS, answer, _orgs(data))
        await h.command(BORIS, "orgs")
        await h.command(BORIS, "privacy")
        assert h.services.metrics.rate_limited._value.get() == 0

        mark = h.api.mark()
        flood = [
            h.api.push_command(BORIS, "orgs"),
            h.api.push_callback(BORIS, answer, _vote(data)),
            h.api.push_text(BORIS, "ещё один вопрос"),
            h.api.push_command(BORIS, "start"),
        ]
        replies = [await h.send(update) for update in flood]
        assert [len(r) for r in replies] == [1, 0, 0, 0]  # one notice for the whole flood
        assert replies[0][0]["text"] == t("ru", RATE_LIMITED)
        assert len(h.api.sent(BORIS.id, since=mark)) == 1
        assert len(h.engine.questions) == 1
        assert h.services.metrics.rate_limited._value.get() == 4
        stats = await h.services.store.stats(1)
        assert stats.helpful == 0 and stats.not_helpful == 0
        # Nothing of the refused updates reached the durable inbox.
        with sqlite3.connect(h.services.settings.state_db) as db:
            stored = {row[0] for row in db.execute("SELECT update_id FROM inbox")}
        assert stored and not stored & {u["update_id"] for u in flood}

        # Another user is not affected.
        (other,) = await h.text(ALICE, "red notice")
        assert buttons(other)


async def test_emergency_stays_reachable_when_limited(tmp_path: Path) -> None:
    async with harness(tmp_path, rate_limit_per_minute=1) as h:
        await h.command(ALICE, "help")
        (notice,) = await h.command(ALICE, "orgs")
        assert notice["text"] == t("en", RATE_LIMITED)
        (sos,) = await h.command(ALICE, "emergency")
        assert "+353 1 21 00 489" in sos["text"]  # the fake directory's 24/7 line
        assert await h.command(ALICE, "start") == []  # refused, and told already
        assert h.services.metrics.rate_limited._value.get() == 2


async def test_group_chatter_never_counts(tmp_path: Path) -> None:
    async with harness(tmp_path, rate_limit_per_minute=2) as h:
        for n in range(10):
            await h.send(h.api.push_group_text(ALICE, GROUP_ID, f"chatter {n}"))
        (reply,) = await h.send(h.api.push_group_mention(ALICE, GROUP_ID, "my red notice?"))
        assert buttons(reply)
        assert h.services.metrics.rate_limited._value.get() == 0


async def test_a_refused_message_is_still_deleted_with_the_chat(tmp_path: Path) -> None:
    async with harness(tmp_path, rate_limit_per_minute=2) as h:
        await h.command(ALICE, "autodelete", "1h")
        await h.text(ALICE, "red notice")
        update = h.api.push_text(ALICE, "my name and my city, sent too fast")
        await h.send(update)
        due = await h.services.store.due_deletions(now=10**12)
        assert update["message"]["message_id"] in {d.message_id for d in due}


def _orgs(data: dict[str, str]) -> str:
    return next(v for v in data.values() if v.startswith("orgs:"))


def _vote(data: dict[str, str]) -> str:
    return next(v for v in data.values() if v.startswith("fb:1"))


def test_idle_users_in_memory_state_is_dropped_after_a_day() -> None:
    from bot.handlers.limits import IDLE_AFTER_S, LAST_SEEN, forget_idle_users

    now = 10 * IDLE_AFTER_S
    user_data = {
        1: {LAST_SEEN: now - 60},  # active a minute ago
        2: {LAST_SEEN: now - IDLE_AFTER_S - 1},  # idle for more than a day
        3: {},  # never seen since this process started counting
    }
    assert sorted(forget_idle_users(user_data, now)) == [2, 3]

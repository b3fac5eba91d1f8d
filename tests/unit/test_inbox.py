"""`Inbox`: one update's life (record, answered, done), replay after a restart, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store

SECRET = b"inbox-test-secret-0123456789abcd"
ALICE = 700001


def update(update_id: int, user: int = ALICE, text: str = "red notice") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {"message_id": 1, "text": text, "from": {"id": user}, "chat": {"id": user}},
    }


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "state.sqlite3", secret=SECRET)
    yield s
    await s.close()


async def test_an_update_is_recorded_once_and_done_after_its_reply(store: Store) -> None:
    inbox = store.inbox
    assert await inbox.record(1, update(1)) is True
    assert await inbox.record(1, update(1)) is False  # redelivered: do not handle
    assert [uid for uid, _ in await inbox.pending()] == [1]
    await inbox.answered(1)  # the reply is out: no longer pending, even if we crash now
    assert await inbox.pending() == []
    await inbox.answered(1)  # once only
    await inbox.done(1)
    assert inbox.inflight == set() and inbox.answered_ids == set()


async def test_updates_not_worth_keeping_are_handled_without_a_row(store: Store) -> None:
    assert await store.inbox.record(2, None) is True
    assert store.inbox.inflight == set()
    await store.inbox.done(2)  # nothing to do
    assert await store.inbox.pending() == []


async def test_replay_queues_what_was_left_and_recognises_its_own_copies(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    async with await Store.open(path, secret=SECRET) as first:
        await first.inbox.record(5, update(5, text="lost in a crash"))
        await first.inbox.record(6, {"update_id": 6, "broken": True})
    async with await Store.open(path, secret=SECRET) as second:
        inbox, queue = second.inbox, asyncio.Queue[object]()

        def decode(payload: dict[str, Any]) -> object:
            if "message" not in payload:
                raise KeyError("message")
            return ("decoded", payload["update_id"])

        assert await inbox.replay(decode, queue.put) == 1  # the broken one is dropped
        copy = queue.get_nowait()
        assert await inbox.record(5, update(5), update=copy) is True  # ours: not a duplicate
        assert inbox.inflight == {5}
        assert await inbox.record(5, update(5), update=("another", 5)) is False  # redelivery
        await inbox.done(5)
        assert await inbox.pending() == []


async def test_give_up_cancels_stuck_handlers(store: Store) -> None:
    inbox = store.inbox
    started = asyncio.Event()

    async def handler() -> None:
        inbox.track_task()
        await inbox.record(9, update(9))
        started.set()
        await asyncio.sleep(60)

    task = asyncio.create_task(handler())
    await started.wait()
    assert inbox.give_up() == 1 and inbox.abandoned == 1
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [uid for uid, _ in await inbox.pending()] == [9]  # answered at the next start


async def test_forget_finds_pending_updates_by_their_sealed_owner(store: Store) -> None:
    await store.inbox.record(1, update(1, ALICE))
    await store.inbox.record(2, update(2, 700002))
    await store.forget(ALICE)
    assert [uid for uid, _ in await store.inbox.pending()] == [2]

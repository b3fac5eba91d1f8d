"""/forget and /autodelete, including deletions that survive a restart."""

from __future__ import annotations

from typing import Any

import pytest

from bot.i18n import gettext
from tests.e2e.conftest import ALICE, GROUP_ID, ask, buttons, command, running, settled, tap
from tests.support.botapi import BotAPI

pytestmark = pytest.mark.integration


def _visible(api: BotAPI, chat_id: int) -> set[int]:
    return {mid for (chat, mid) in api.messages if chat == chat_id}


async def test_forget_deletes_data_and_the_visible_conversation(api: BotAPI, bot: Any) -> None:
    store = bot.bot_data.store
    (prompt,) = await command(api, ALICE, "language")
    await api.wait_sent(ALICE.id, since=await tap(api, ALICE, prompt, "lang:fr"))
    await command(api, ALICE, "autodelete", "24h")
    await ask(api, ALICE, "red notice")
    assert await store.get_language(ALICE.id) == "fr"
    assert await store.pending_deletions_for(ALICE.id)
    before = _visible(api, ALICE.id)

    (confirm,) = await command(api, ALICE, "forget")
    assert set(buttons(confirm).values()) == {"forget:yes", "forget:no"}
    mark = await tap(api, ALICE, confirm, "forget:yes")
    (done,) = await api.wait_sent(ALICE.id, since=mark)
    await settled(bot)
    deleted = {m for c in api.calls_of("deleteMessages") for m in c.params["message_ids"]}
    assert before <= deleted
    assert _visible(api, ALICE.id) == {done["message_id"]}
    assert await store.get_language(ALICE.id) is None
    assert await store.get_autodelete(ALICE.id) is None
    assert await store.pending_deletions_for(ALICE.id) == []
    # Honest about what stays, still in the language the user had chosen.
    assert "48 heures" in done["text"] and "Supprimer la discussion" in done["text"]


async def test_forget_can_be_cancelled(api: BotAPI, bot: Any) -> None:
    (prompt,) = await command(api, ALICE, "language")
    await api.wait_sent(ALICE.id, since=await tap(api, ALICE, prompt, "lang:es"))
    (confirm,) = await command(api, ALICE, "forget")
    mark = await tap(api, ALICE, confirm, "forget:no")
    (edit,) = await api.wait_call("editMessageText", since=mark)
    assert edit.params["text"] == gettext("es", "Nothing was deleted.")
    assert await bot.bot_data.store.get_language(ALICE.id) == "es"
    assert not api.calls_of("deleteMessages")


async def test_autodelete_choices(api: BotAPI, bot: Any) -> None:
    store = bot.bot_data.store
    (shown,) = await command(api, ALICE, "autodelete")
    assert "Auto-delete is off" in shown["text"]
    (bad,) = await command(api, ALICE, "autodelete", "5min")
    assert set(buttons(bad).values()) == {"ad:0", "ad:3600", "ad:86400"}
    (on,) = await command(api, ALICE, "autodelete", "1h")
    assert "1 hour" in on["text"]
    assert await store.get_autodelete(ALICE.id) == 3600
    mark = await tap(api, ALICE, bad, "ad:86400")
    (edit,) = await api.wait_call("editMessageText", since=mark)
    assert "24 hours" in edit.params["text"]
    assert await store.get_autodelete(ALICE.id) == 86400
    (off,) = await command(api, ALICE, "autodelete", "off")
    assert "off" in off["text"]
    assert await store.get_autodelete(ALICE.id) is None


async def test_autodelete_deletes_both_sides_even_after_a_restart(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    async with running(settings, engine, clock) as app:
        (on,) = await command(api, ALICE, "autodelete", "1h")
        (answer,) = await ask(api, ALICE, "red notice")
        await settled(app)
        pending = await app.bot_data.store.pending_deletions_for(ALICE.id)
        # The command, its reply, the question and the answer (and earlier messages on screen).
        assert {on["message_id"], answer["message_id"]} <= {d.message_id for d in pending}
        assert len(pending) >= 4
    async with running(settings, engine, clock) as app:
        job = next(j for j in app.job_queue.jobs() if j.name == "autodelete")
        await job.run(app)
        assert not api.calls_of("deleteMessage")  # not due yet
        clock.advance(3601)
        await job.run(app)
        assert _visible(api, ALICE.id) == set()
        assert len(api.calls_of("deleteMessage")) >= 4
        assert await app.bot_data.store.pending_deletions_for(ALICE.id) == []


async def test_scheduled_deletion_of_a_vanished_message_is_dropped(
    api: BotAPI, bot: Any, clock: Any
) -> None:
    await command(api, ALICE, "autodelete", "1h")
    await settled(bot)
    api.messages.clear()  # the user deleted the chat themselves
    clock.advance(3601)
    job = next(j for j in bot.job_queue.jobs() if j.name == "autodelete")
    await job.run(bot)
    assert api.calls_of("deleteMessage", ok=False)
    assert await bot.bot_data.store.due_deletions() == []


async def test_autodelete_is_private_only(api: BotAPI, bot: Any) -> None:
    mark = api.mark()
    api.push_group_command(ALICE, GROUP_ID, "autodelete", "1h")
    (reply,) = await api.wait_sent(GROUP_ID, since=mark)
    assert "private chat" in reply["text"]
    assert await bot.bot_data.store.get_autodelete(ALICE.id) is None

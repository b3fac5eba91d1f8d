"""Questions, /emergency and /orgs through the real handlers with the fake engine."""

from __future__ import annotations

from pathlib import Path

from bot.engine.types import Answer
from bot.handlers.questions import answer_language
from tests.support.fakes import FakeEngine
from tests.support.inprocess import ALICE, BORIS, GROUP_ID, buttons, harness


async def test_a_question_gets_an_answer_with_its_buttons_and_is_counted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (answer,) = await h.text(ALICE, "Someone filed a red notice against me")
        assert h.engine.questions == [("Someone filed a red notice against me", None, None)]
        kinds = sorted(v.split(":")[0] for v in buttons(answer).values())
        assert kinds == ["fb", "fb", "more", "now", "orgs"]
        assert all(len(v.encode()) <= 64 for v in buttons(answer).values())
        stats = await h.services.store.stats(1)
        assert stats.questions == 1 and stats.answered == 1
        metrics = h.services.metrics.render().decode()
        assert 'waypoint_answers_total{outcome="answered"} 1.0' in metrics


async def test_a_failing_engine_still_gives_the_contacts(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (reply,) = await h.text(ALICE, "crash the engine please")
        assert "+353 1 21 00 489" in reply["text"]  # the fake directory's 24/7 line
        assert buttons(reply)


async def test_the_topic_tapped_goes_with_the_next_question_only(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        *_, menu = await h.command(ALICE, "start")
        await h.tap(ALICE, menu, "topic:red-notices")
        await h.text(ALICE, "what now?")
        await h.text(ALICE, "and later?")
        assert [q[2] for q in h.engine.questions] == ["red-notices", None]


async def test_groups_get_answers_to_mentions_only(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        assert await h.send(h.api.push_group_text(ALICE, GROUP_ID, "private plans")) == []
        (reply,) = await h.send(h.api.push_group_mention(ALICE, GROUP_ID, "is my notice valid?"))
        assert reply["chat"]["id"] == GROUP_ID
        assert h.engine.questions == [("is my notice valid?", None, None)]


async def test_the_interface_language_follows_the_choice_then_the_engine() -> None:
    answer = Answer(question_language="de", emergency=False, answer_found=True, ui_language="fr")
    assert answer_language("ar", answer, "ru") == "ar"  # chosen with /language
    # Otherwise the engine's choice, not Telegram's setting (one decision, in the engine).
    assert answer_language(None, answer, "ru") == "fr"


async def test_replayed_updates_are_not_limited_again(tmp_path: Path) -> None:
    engine = FakeEngine()
    async with harness(tmp_path, engine=engine) as h:
        updates = [h.api.push_text(BORIS, f"red notice {n}") for n in range(4)]
        for update in updates:  # received, then the process died before answering
            await h.services.inbox.put(update["update_id"], update, user_id=BORIS.id)
    async with harness(tmp_path, engine=engine, rate_limit_per_minute=1) as h:
        await h.api.wait_until(lambda: len(h.api.sent(BORIS.id)) >= 4, timeout=10)
        assert len(h.api.sent(BORIS.id)) == 4
        assert h.services.metrics.rate_limited._value.get() == 0

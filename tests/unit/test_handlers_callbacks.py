"""The buttons under an answer. A vote counts only for an answer the voter received, once:
forged tokens, the old data format, other people's answers and replays change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.inprocess import ALICE, BORIS, buttons, harness


def data_of(message: dict[str, object], prefix: str) -> str:
    return next(v for v in buttons(message).values() if v.startswith(prefix))  # type: ignore[arg-type]


async def votes(h: object) -> tuple[int, int]:
    stats = await h.services.store.stats(1)  # type: ignore[attr-defined]
    return stats.helpful, stats.not_helpful


async def test_a_vote_counts_once_with_the_answers_topic(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (answer,) = await h.text(ALICE, "red notice question")
        helpful, unhelpful = data_of(answer, "fb:1"), data_of(answer, "fb:0")
        mark = h.api.mark()
        await h.tap(ALICE, answer, helpful)
        (edit,) = h.calls("editMessageReplyMarkup", since=mark)
        left = [b["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"]
                for b in row]
        assert left and not any(d.startswith("fb:") for d in left)
        # The other vote button of the same answer (a stale keyboard, a replay): not counted.
        await h.tap(ALICE, answer, unhelpful)
        await h.tap(ALICE, answer, helpful)
        assert await votes(h) == (1, 0)
        stats = await h.services.store.stats(1)
        assert stats.feedback_by_topic == {"red-notices": (1, 0)}


async def test_forged_votes_are_not_counted(tmp_path: Path) -> None:
    async with harness(tmp_path, rate_limit_per_minute=1000) as h:
        (answer,) = await h.text(ALICE, "red notice question")
        for n in range(30):
            await h.tap(ALICE, answer, f"fb:1:forged{n}")  # tokens never issued
            await h.tap(ALICE, answer, f"fb:1:forged{n}:red-notices")  # the old format
        assert await votes(h) == (0, 0)
        answered = h.calls("answerCallbackQuery")
        assert len(answered) == 60 and all(c.ok for c in answered)


async def test_votes_on_someone_elses_answer_are_not_counted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (alices,) = await h.text(ALICE, "red notice question")
        await h.tap(BORIS, alices, data_of(alices, "fb:1"))
        assert await votes(h) == (0, 0)
        await h.tap(ALICE, alices, data_of(alices, "fb:0"))
        assert await votes(h) == (0, 1)


async def test_votes_after_a_restart_are_not_counted(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (answer,) = await h.text(ALICE, "red notice question")
    async with harness(tmp_path) as h:
        await h.tap(ALICE, answer, data_of(answer, "fb:1"))
        assert await votes(h) == (0, 0)


async def test_more_sources_and_who_can_help(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (answer,) = await h.text(ALICE, "red notice question")
        (more,) = await h.tap(ALICE, answer, data_of(answer, "more:"))
        assert "https://example.org/red-notices/" in more["text"]  # the fake engine's passages
        (orgs,) = await h.tap(ALICE, answer, data_of(answer, "orgs:"))
        assert "https://www.interpol.int/ccf" in orgs["text"]  # the fake directory
        # Someone else's token: their answer is not shown to this user.
        assert await h.tap(BORIS, answer, data_of(answer, "more:")) == []
        assert h.calls("answerCallbackQuery")[-1].params.get("text")


async def test_it_is_happening_now_turns_a_calm_answer_into_an_emergency(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        (calm,) = await h.text(ALICE, "red notice question")
        (urgent,) = await h.tap(ALICE, calm, data_of(calm, "now:"))
        text = urgent["text"]
        assert text.index("+353 1 21 00 489") < text.index("Ask which country issued the notice.")
        assert "Call a lawyer." in text and "https://example.org/red-notices/" not in text
        (emergency,) = await h.text(ALICE, "I am in danger")
        assert not any(v.startswith("now:") for v in buttons(emergency).values())
    async with harness(tmp_path) as h:  # after a restart the answer is gone: still the 24/7 lines
        # A new update id: the durable inbox knows the old ones as handled.
        tap = h.api.push_callback(ALICE, calm, data_of(calm, "now:"), update_id=9000)
        (general,) = await h.send(tap)
        assert "+353 1 21 00 489" in general["text"]
        assert "Ask which country issued the notice." not in general["text"]


@pytest.mark.parametrize(
    "data", ["lang:xx", "topic:<b>", "forget:maybe", "ad:12345", "\u202e\u0000junk", "x" * 64]
)
async def test_unknown_buttons_are_answered_and_change_nothing(tmp_path: Path, data: str) -> None:
    async with harness(tmp_path) as h:
        (answer,) = await h.text(ALICE, "red notice")
        mark = h.api.mark()
        assert await h.tap(ALICE, answer, data) == []
        calls = h.api.calls[mark:]
        assert [c.method for c in calls] == ["answerCallbackQuery"] and calls[0].ok
        assert await h.services.store.get_language(ALICE.id) is None

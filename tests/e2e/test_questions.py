"""Free-text questions: answers, buttons, splitting, escaping, limits, groups, non-text."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from bot.handlers.base import t
from bot.handlers.limits import RATE_LIMITED
from bot.render import clean, units
from tests.e2e.conftest import (
    ALICE,
    BORIS,
    GROUP_ID,
    HOTLINE_PHONE,
    PASSAGE_LINK,
    ask,
    buttons,
    command,
    is_answer,
    running,
    settled,
    tap,
)
from tests.support.botapi import BOT_USERNAME, BotAPI, User, parse_html

pytestmark = pytest.mark.integration


async def test_question_is_answered_with_sources_and_buttons(
    api: BotAPI, bot: Any, engine: Any
) -> None:
    mark = api.mark()
    (answer,) = await ask(api, ALICE, "Someone filed a red notice against me")
    assert api.calls_of("sendChatAction")[-1].params["action"] == "typing"
    assert [c.method for c in api.calls[mark:]].index("sendChatAction") < [
        c.method for c in api.calls[mark:]
    ].index("sendMessage")
    assert is_answer(answer)
    assert '<a href="https://example.org/red-notices/1?a=1&amp;b=2">' in answer["text"]
    assert "https://www.interpol.int/ccf" in answer["text"]  # who can help, from the directory
    labels = buttons(answer)
    assert set(labels) == {
        "🚨 It is happening now",
        "📚 More sources",
        "🤝 Who can help",
        "👍 Helpful",
        "👎 Not helpful",
    }
    assert all(len(data.encode()) <= 64 for data in labels.values())
    await settled(bot)
    stats = await bot.bot_data.store.stats(1)
    assert stats.questions == 1 and stats.answered == 1 and stats.topics == {"red-notices": 1}
    metrics = bot.bot_data.metrics.render().decode()
    assert 'waypoint_answers_total{outcome="answered"} 1.0' in metrics
    assert 'waypoint_updates_total{handler="question"} 1.0' in metrics


async def test_answer_buttons(api: BotAPI, bot: Any) -> None:
    (answer,) = await ask(api, ALICE, "red notice question")
    data = buttons(answer)
    mark = await tap(api, ALICE, answer, data["📚 More sources"])
    (more,) = await api.wait_sent(ALICE.id, since=mark)
    assert PASSAGE_LINK in more["text"]

    mark = await tap(api, ALICE, answer, data["🤝 Who can help"])
    (orgs,) = await api.wait_sent(ALICE.id, since=mark)
    assert "https://www.interpol.int/ccf" in orgs["text"] and "fairtrials.org" in orgs["text"]

    mark = await tap(api, ALICE, answer, data["👍 Helpful"])
    (edit,) = await api.wait_call("editMessageReplyMarkup", since=mark)
    remaining = [
        b["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert not any(d.startswith("fb:") for d in remaining)
    assert api.calls_of("answerCallbackQuery")[-1].params["text"].startswith("Thank you")
    # A second vote on the same answer (a replayed or forged button) is not counted again.
    await tap(api, ALICE, answer, data["👎 Not helpful"])
    stats = await bot.bot_data.store.stats(1)
    assert (stats.helpful, stats.not_helpful) == (1, 0)
    assert stats.feedback_by_topic == {"red-notices": (1, 0)}


@pytest.mark.parametrize(
    "data",
    [
        "more:doesnotexist",
        "orgs:zz:../../etc/passwd",
        "fb:7:abc:red-notices",
        "lang:xx",
        "topic:<b>",
        "forget:maybe",
        "ad:12345",
        "\u202e\u0000junk",
        "x" * 64,
    ],
)
async def test_forged_or_stale_buttons_are_answered_harmlessly(
    api: BotAPI, bot: Any, data: str
) -> None:
    (answer,) = await ask(api, ALICE, "red notice")
    mark = await tap(api, ALICE, answer, data)
    await api.quiet(0.2)
    calls = api.calls[mark:]
    assert all(c.ok for c in calls if c.method != "getUpdates")
    assert not [c for c in calls if c.method == "sendMessage" and "went wrong" in c.params["text"]]
    assert await bot.bot_data.store.get_language(ALICE.id) is None
    assert (await bot.bot_data.store.stats(1)).helpful == 0


async def test_stale_more_sources_after_restart(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    from tests.e2e.conftest import running

    async with running(settings, engine, clock):
        (answer,) = await ask(api, ALICE, "red notice")
    async with running(settings, engine, clock):
        mark = await tap(api, ALICE, answer, buttons(answer)["📚 More sources"])
        await api.quiet(0.2)
        assert (
            api.calls_of("answerCallbackQuery")[-1]
            .params["text"]
            .startswith("This answer has expired")
        )
        assert not api.sent(ALICE.id, since=mark)
        # "Who can help" still works from the topic in the button.
        mark = await tap(api, ALICE, answer, buttons(answer)["🤝 Who can help"])
        (orgs,) = await api.wait_sent(ALICE.id, since=mark)
        assert "https://www.interpol.int/ccf" in orgs["text"]


async def test_long_answer_is_split_within_the_limit(api: BotAPI, bot: Any) -> None:
    mark = api.mark()
    api.push_text(ALICE, "a long question")
    await api.wait_until(lambda: any(buttons(m) for m in api.sent(ALICE.id, since=mark)))
    parts = api.sent(ALICE.id, since=mark)
    assert all(units(p["text"]) <= 4096 for p in parts)
    assert [bool(buttons(p)) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert not api.calls_of("sendMessage", ok=False)


async def test_emergency_answer_comes_first(api: BotAPI, bot: Any) -> None:
    (answer,) = await ask(api, ALICE, "My colleague was arrested an hour ago")
    text = answer["text"]
    assert HOTLINE_PHONE in text
    if PASSAGE_LINK in text:
        assert text.index(HOTLINE_PHONE) < text.index(PASSAGE_LINK)


async def test_unclear_emergency_offers_the_situations(api: BotAPI, bot: Any) -> None:
    (answer,) = await ask(api, ALICE, "I am in danger, please help")
    data = buttons(answer)
    situations = [d for d in data.values() if d.startswith("sit:")]
    assert len(situations) == 5 and all(len(d.encode()) <= 64 for d in situations)
    mark = await tap(api, ALICE, answer, "sit:border")
    (steps,) = await api.wait_sent(ALICE.id, since=mark)
    assert steps["text"].index(HOTLINE_PHONE) < steps["text"].index("Call a lawyer.")
    mark = await tap(api, ALICE, answer, "sit:raid")  # no protocol for it: the general steps
    (general,) = await api.wait_sent(ALICE.id, since=mark)
    assert HOTLINE_PHONE in general["text"] and "Call a lawyer." not in general["text"]
    (command_reply,) = await command(api, ALICE, "emergency")
    assert "sit:device" in buttons(command_reply).values()


async def test_nothing_found_and_search_unavailable(api: BotAPI, bot: Any) -> None:
    (nothing,) = await ask(api, ALICE, "nothing matches this, call me at +7 999 123 45 67")
    assert PASSAGE_LINK not in nothing["text"] and HOTLINE_PHONE in nothing["text"]
    await settled(bot)
    gaps = await bot.bot_data.store.recent_gaps()
    assert len(gaps) == 1 and "999" not in gaps[0].text  # kept (opted in), scrubbed
    (down,) = await ask(api, ALICE, "search unavailable now")
    assert PASSAGE_LINK not in down["text"] and HOTLINE_PHONE in down["text"]


async def test_engine_failure_still_gives_contacts(api: BotAPI, bot: Any) -> None:
    (reply,) = await ask(api, ALICE, "crash please")
    assert HOTLINE_PHONE in reply["text"] and PASSAGE_LINK not in reply["text"]
    (after,) = await ask(api, ALICE, "red notice")
    assert PASSAGE_LINK in after["text"]


HOSTILE = [
    "<b>bold</b> & <i>unclosed",
    "&amp; &lt; &#0; &bogus; </blockquote></a>",
    '<a href="javascript:alert(1)">x</a><tg-spoiler>',
    "🔥" * 2048,
    "x" * 4096,
    "😀👍🏽🇺🇦",
    "\u202eمرحبا\u200b\u200d\u2066abc\u2069 שלום",
    "before\x00after\x01\x7f",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_input_is_escaped(api: BotAPI, bot: Any, engine: Any, text: str) -> None:
    engine.echo = True  # the fake quotes the question inside a passage
    mark = api.mark()
    api.push_text(ALICE, text)
    await api.wait_until(lambda: any(buttons(m) for m in api.sent(ALICE.id, since=mark)))
    parts = api.sent(ALICE.id, since=mark)
    assert all(units(p["text"]) <= 4096 for p in parts)
    assert not api.calls_of("sendMessage", ok=False)
    # Shown literally: what the user sees is their text, not markup made from it.
    visible = "".join(parse_html(p["text"]) for p in parts)
    expected = clean(text)
    assert "".join(expected.split()) in "".join(visible.split())


async def test_one_rate_limit_for_questions_commands_and_buttons(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    async with running(settings.with_(rate_limit_per_minute=5), engine, clock) as app:
        (answer,) = await ask(api, BORIS, "вопрос про red notice")
        vote = next(v for v in buttons(answer).values() if v.startswith("fb:1"))
        for name in ("help", "orgs", "privacy", "language"):
            await command(api, BORIS, name)
        mark = api.mark()
        api.push_command(BORIS, "orgs")
        api.push_callback(BORIS, answer, vote)
        api.push_text(BORIS, "ещё один вопрос")
        (limited,) = await api.wait_sent(BORIS.id, since=mark)
        await api.quiet(0.5)
        await settled(app)
        assert limited["text"] == t("ru", RATE_LIMITED)
        assert len(api.sent(BORIS.id, since=mark)) == 1  # one notice for the whole flood
        assert "waypoint_rate_limited_total 3.0" in app.bot_data.metrics.render().decode()
        assert len(engine.questions) == 1
        assert (await app.bot_data.store.stats(1)).helpful == 0


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker", "location", "contact", "document"])
async def test_non_text_gets_a_short_reply_and_nothing_is_stored(
    api: BotAPI, bot: Any, settings: Any, kind: str
) -> None:
    mark = api.mark()
    if kind == "document":
        update = api.push_document(ALICE, "passport.pdf", b"%PDF-1.4 secret", caption="my passport")
    else:
        update = getattr(api, f"push_{kind}")(ALICE)
    (reply,) = await api.wait_sent(ALICE.id, since=mark)
    assert "I read text only" in reply["text"]
    assert not api.calls_of("getFile") and not api.calls_of("download")
    with sqlite3.connect(settings.state_db) as db:
        ids = {row[0] for row in db.execute("SELECT update_id FROM inbox")}
    assert update["update_id"] not in ids


async def test_group_answers_mentions_only_and_never_repeats_the_question(
    api: BotAPI, bot: Any, settings: Any, engine: Any
) -> None:
    member = User(id=700050, first_name="Member", language_code="en")
    chatter = api.push_group_text(member, GROUP_ID, "secret plans for the protest tomorrow")
    mark = api.mark()
    question = "is my red notice valid in Spain?"
    mention = api.push_group_mention(member, GROUP_ID, question)
    (reply,) = await api.wait_sent(GROUP_ID, since=mark)
    assert is_answer(reply)
    assert question not in reply["text"] and "Spain" not in reply["text"]
    assert engine.questions == [(question, None, None)]
    assert not api.sent(member.id)
    with sqlite3.connect(settings.state_db) as db:
        ids = {row[0] for row in db.execute("SELECT update_id FROM inbox")}
    assert chatter["update_id"] not in ids and mention["update_id"] in ids

    # A reply to the bot's message counts as addressing it, also after a restart (inbox).
    mark = api.mark()
    follow_up = api.push_group_text(member, GROUP_ID, "and in France?", reply_to=reply)
    (second,) = await api.wait_sent(GROUP_ID, since=mark)
    assert "France" not in second["text"] and engine.questions[-1][0] == "and in France?"
    from telegram import Update

    from bot.handlers.inbox import inbox_payload

    payload = inbox_payload(Update.de_json(follow_up, bot.bot))
    assert payload is not None and payload["message"]["reply_to_message"]["from"]["is_bot"]

    mark = api.mark()
    api.push_group_command(member, GROUP_ID, "start")
    (start,) = await api.wait_sent(GROUP_ID, since=mark)
    assert "private chat" in start["text"]
    assert buttons(start) == {"Open a private chat": f"https://t.me/{BOT_USERNAME}"}
    mark = api.mark()
    api.push_group_command(member, GROUP_ID, "forget")
    (forget,) = await api.wait_sent(GROUP_ID, since=mark)
    assert "private chat" in forget["text"] and not buttons(forget).get("Yes, delete everything")
    mark = api.mark()
    api.push_group_command(member, GROUP_ID, "nonsense")
    api.push_group_text(member, GROUP_ID, "more chatter")
    await api.quiet(0.3)
    assert not api.sent(GROUP_ID, since=mark)


async def test_admin_commands_in_groups_are_ignored(api: BotAPI, bot: Any) -> None:
    from tests.e2e.conftest import ADMIN

    mark = api.mark()
    api.push_group_command(ADMIN, GROUP_ID, "stats")
    await api.quiet(0.3)
    assert not api.sent(GROUP_ID, since=mark)
    await command(api, ADMIN, "help")

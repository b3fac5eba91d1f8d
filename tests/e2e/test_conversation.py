"""/start, /help, /language, the topic menu, /emergency, /orgs, /privacy, unknown commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.app import ALLOWED_UPDATES
from bot.i18n import LANGUAGES, gettext
from ingest.metadata import Vocabulary
from tests.e2e.conftest import ALICE, BORIS, ask, buttons, command, tap
from tests.support.botapi import BotAPI

VOCABULARY = Vocabulary.from_dir(Path(__file__).resolve().parents[2] / "knowledge")

pytestmark = pytest.mark.integration


async def test_start_shows_welcome_privacy_languages_and_topics(api: BotAPI, bot: Any) -> None:
    welcome, languages, topics = await command(api, ALICE, "start", count=3)
    assert "Welcome to Waypoint" in welcome["text"]
    assert "not end-to-end encrypted" in welcome["text"]
    assert "/forget" in welcome["text"] and "/autodelete" in welcome["text"]
    assert set(buttons(welcome).values()) == {"ad:0", "ad:3600", "ad:86400"}
    assert set(buttons(languages).values()) == {f"lang:{code}" for code in LANGUAGES}
    assert "✓ English" in buttons(languages)
    assert set(buttons(topics).values()) == {f"topic:{topic}" for topic in VOCABULARY.ids}
    # Polling asks only for what the handlers handle; the menu is set in every language.
    assert api.last_allowed_updates == ALLOWED_UPDATES
    assert set(api.commands) == {"", *LANGUAGES}
    assert [c["command"] for c in api.commands["ru"]][:2] == ["start", "emergency"]


async def test_start_follows_telegram_language_code(api: BotAPI, bot: Any) -> None:
    welcome, languages, _ = await command(api, BORIS, "start", count=3)
    assert gettext("ru", "Welcome to Waypoint.") in welcome["text"]
    assert gettext("ru", "Welcome to Waypoint.") != "Welcome to Waypoint."
    assert "✓ Русский" in buttons(languages)


async def test_language_choice_is_remembered(api: BotAPI, bot: Any) -> None:
    (prompt,) = await command(api, ALICE, "language")
    mark = await tap(api, ALICE, prompt, "lang:ar")
    edits = await api.wait_call("editMessageText", since=mark)
    assert gettext("ar", "Language set: {language}.", language="العربية") in edits[0].params["text"]
    assert await bot.bot_data.store.get_language(ALICE.id) == "ar"
    (help_text,) = await command(api, ALICE, "help")
    assert gettext("ar", "What I can do") in help_text["text"]


async def test_topic_tap_shows_organizations_and_sets_the_topic(
    api: BotAPI, bot: Any, engine: Any
) -> None:
    *_, menu = await command(api, ALICE, "start", count=3)
    mark = await tap(api, ALICE, menu, "topic:red-notices")
    orgs, prompt = await api.wait_sent(ALICE.id, 2, since=mark)
    assert "Commission for the Control of INTERPOL" in orgs["text"]
    assert "INTERPOL red notices" in orgs["text"]
    assert "in your own words" in prompt["text"]
    await ask(api, ALICE, "They put a notice on me, what now?")
    assert engine.questions[-1][2] == "red-notices"
    await ask(api, ALICE, "And what about later?")
    assert engine.questions[-1][2] is None  # the topic applies to the next question only


async def test_emergency_topic_and_command(api: BotAPI, bot: Any) -> None:
    *_, menu = await command(api, ALICE, "start", count=3)
    mark = await tap(api, ALICE, menu, "topic:emergency")
    shown = await api.wait_sent(ALICE.id, 2, since=mark)
    assert shown[0]["text"].startswith("🚨")
    assert "+353 1 21 00 489" in shown[0]["text"]
    (reply,) = await command(api, ALICE, "emergency")
    assert reply["text"].startswith("🚨") and "24/7" in reply["text"]


async def test_help_privacy_and_orgs(api: BotAPI, bot: Any) -> None:
    (help_text,) = await command(api, ALICE, "help")
    for name in ("/emergency", "/orgs", "/forget", "/autodelete", "/language", "/privacy"):
        assert name in help_text["text"]
    (privacy,) = await command(api, ALICE, "privacy")
    assert "not end-to-end encrypted" in privacy["text"]
    assert "Auto-delete is off" in privacy["text"]
    assert "ad:3600" in buttons(privacy).values()
    (directory,) = await command(api, ALICE, "orgs")
    assert "Front Line Defenders" in directory["text"] and "Fair Trials" in directory["text"]
    assert "topic:visas" in buttons(directory).values()
    (one,) = await command(api, ALICE, "orgs", "red-notices")
    assert "Commission for the Control" in one["text"] and "Front Line" not in one["text"]
    (unknown,) = await command(api, ALICE, "orgs", "<script>")
    assert "I do not know this topic" in unknown["text"] and "<script>" not in unknown["text"]
    (empty,) = await command(api, ALICE, "orgs", "journalists")
    assert "No organizations are listed" in empty["text"]


async def test_unknown_command_and_admin_commands_for_others(api: BotAPI, bot: Any) -> None:
    for name in ("nonsense", "stats", "reindex", "gaps"):
        (reply,) = await command(api, ALICE, name)
        assert reply["text"] == gettext(
            "en", "I do not know this command. /help lists what I can do."
        )
    assert bot.bot_data.engine.reindexed == 0

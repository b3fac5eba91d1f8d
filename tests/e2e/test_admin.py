"""Staff commands and document uploads (admins only)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.i18n import gettext
from tests.e2e.conftest import ADMIN, ALICE, ask, buttons, command, is_answer, running, settled
from tests.support.botapi import BotAPI, User

REVIEWER = User(id=900002, first_name="Reviewer", language_code="en")

pytestmark = pytest.mark.integration


async def test_stats_and_gaps(api: BotAPI, bot: Any) -> None:
    await ask(api, ALICE, "red notice")
    await ask(api, ALICE, "nothing about <b>this</b>")
    await settled(bot)
    (stats,) = await command(api, ADMIN, "stats", "30")
    assert "Usage over the last 30 days" in stats["text"]
    assert "Questions: 2 (answered 1, not found 1, emergency 0)" in stats["text"]
    assert gettext("en", "People, counted once a day: {people}", people=1) in stats["text"]
    (gaps,) = await command(api, ADMIN, "gaps")
    assert "nothing about &lt;b&gt;this&lt;/b&gt;" in gaps["text"]


async def test_gaps_when_not_kept(api: BotAPI, settings: Any, engine: Any, clock: Any) -> None:
    from tests.e2e.conftest import running

    async with running(settings.with_(keep_unanswered=False), engine, clock) as app:
        await ask(api, ALICE, "nothing here")
        await settled(app)
        (reply,) = await command(api, ADMIN, "gaps")
        assert "WAYPOINT_KEEP_UNANSWERED is off" in reply["text"]
        assert await app.bot_data.store.recent_gaps() == []


async def test_reindex_runs_while_the_bot_keeps_answering(
    api: BotAPI, bot: Any, engine: Any
) -> None:
    engine.reindex_delay.clear()
    mark = api.mark()
    api.push_command(ADMIN, "reindex")
    (started,) = await api.wait_sent(ADMIN.id, since=mark)
    assert "Reindexing" in started["text"]
    (answer,) = await ask(api, ALICE, "red notice")  # answered while the reindex runs
    assert is_answer(answer)
    (busy,) = await command(api, ADMIN, "reindex")
    assert "already running" in busy["text"]
    engine.reindex_delay.set()
    summary = (await api.wait_sent(ADMIN.id, 3, since=mark))[-1]
    assert "1 added" in summary["text"] and "in the index: 42" in summary["text"]
    assert engine.reindexed == 1


def _upload(
    api: BotAPI, name: str, content: bytes, caption: str | None, size: int | None = None
) -> int:
    mark = api.mark()
    api.push_document(ADMIN, name, content, caption=caption, size=size)
    return mark


async def test_an_upload_is_published_when_a_second_admin_approves(
    api: BotAPI, settings: Any, engine: Any, clock: Any, knowledge: Path
) -> None:
    two_admins = settings.with_(admin_ids=frozenset({ADMIN.id, REVIEWER.id}))
    async with running(two_admins, engine, clock):
        caption = (
            "topics: visas, relocation; organizations: shelter-city; "
            "source: https://example.org/g"
        )
        mark = _upload(api, "../../Visa guide.md", b"# Visas\n\nApply early.\n", caption)
        (saved,) = await api.wait_sent(ADMIN.id, since=mark)
        assert not buttons(saved)
        (request,) = await api.wait_call("sendDocument", since=mark)
        assert request.params["chat_id"] == REVIEWER.id
        assert not (knowledge / "uploads").exists() and engine.reindexed == 0

        approve = next(v for v in buttons(request.result).values() if v.startswith("up:ok:"))
        mark = api.mark()
        api.push_callback(REVIEWER, request.result, approve)
        await api.wait_sent(ADMIN.id, since=mark)  # the uploader hears the outcome
        (done,) = await api.wait_sent(REVIEWER.id, since=mark)
        assert "Visa-guide.md" in done["text"]
        text = (knowledge / "uploads" / "Visa-guide.md").read_text()
        assert text.startswith("---\n") and "Apply early." in text
        meta = yaml.safe_load((knowledge / "uploads" / "Visa-guide.md.meta.yaml").read_text())
        assert meta["topics"] == ["visas", "relocation"]
        assert meta["organizations"] == ["shelter-city"]
        assert meta["source_url"] == "https://example.org/g"
        assert meta["title"] == "Visa guide"
        assert engine.reindexed == 1
        assert not list(knowledge.rglob("*.part"))


@pytest.mark.parametrize(
    ("name", "caption", "size", "reason"),
    [
        ("notes.md", None, None, "add the topics"),
        ("notes.md", "topics: visas", None, "add the source link"),
        ("notes.md", "topics: cooking; source: https://example.org", None, "unknown topic"),
        ("tool.exe", "topics: visas; source: https://example.org", None, "send a PDF"),
        ("big.pdf", "topics: visas; source: https://example.org", 21 * 1024 * 1024, "20 MB"),
    ],
)
async def test_upload_refused_before_saving(
    api: BotAPI,
    bot: Any,
    engine: Any,
    knowledge: Path,
    name: str,
    caption: str | None,
    size: int | None,
    reason: str,
) -> None:
    mark = _upload(api, name, b"# x\n", caption, size)
    (reply,) = await api.wait_sent(ADMIN.id, since=mark)
    assert reason in reply["text"]
    await asyncio.sleep(0.1)
    assert not (knowledge / "uploads").exists() or not list((knowledge / "uploads").iterdir())
    assert engine.reindexed == 0
    assert not api.calls_of("getFile")


async def test_documents_from_others_are_not_read(api: BotAPI, bot: Any, knowledge: Path) -> None:
    mark = api.mark()
    api.push_document(ALICE, "guide.md", b"# x", caption="topics: visas; source: https://e.org")
    (reply,) = await api.wait_sent(ALICE.id, since=mark)
    assert "I read text only" in reply["text"]
    assert not (knowledge / "uploads").exists()

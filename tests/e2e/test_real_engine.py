"""The bot with the real engine (real encoders, real Chroma: embedded and a server), and the
privacy canary: a unique string and a known user id pushed through every flow never land in
any file of the data dir (SQLite, WAL, Chroma) or in the logs."""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine.build import Engine
from bot.ops.logging import configure_logging
from ingest.index import chroma_client
from tests.conftest import REPO
from tests.e2e.conftest import ask, buttons, command, running, settled, tap
from tests.support.botapi import BotAPI, User
from tests.support.chroma import chroma_server

# The first test builds the shipped index with every default encoder (minutes on 2 cores).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

CANARY = "Zq7canaryXv93"
RAW_ID = 987654321987
CANARY_USER = User(id=RAW_ID, first_name="Canary" + CANARY, language_code="en")


def _engine(settings: Any, shipped_index: Path, real_encoders: Any) -> Engine:
    """An engine whose embedded index lives inside this test's data dir."""
    shutil.copytree(shipped_index / "chroma", settings.data_dir / "chroma")
    client = chroma_client(settings.data_dir / "chroma", None)
    return Engine(encoders=real_encoders, client=client, knowledge_dir=REPO / "knowledge")


@pytest.fixture
def real_settings(settings: Any) -> Any:
    return settings.with_(knowledge_dir=REPO / "knowledge",
                          admin_ids=frozenset({RAW_ID}), rate_limit_per_minute=50)


@pytest.fixture
def log_stream() -> AsyncIterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("json", logging.DEBUG, stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _leaks(data_dir: Path, logs: str) -> list[str]:
    needles = [CANARY.encode(), str(RAW_ID).encode(), RAW_ID.to_bytes(6, "big"),
               RAW_ID.to_bytes(8, "big")]
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        blob = path.read_bytes()
        found += [f"{path.relative_to(data_dir)}: {n!r}" for n in needles if n in blob]
    found += [f"logs: {n!r}" for n in needles[:2] if n.decode() in logs]
    return found


async def test_real_engine_answers_in_the_users_language(
    api: BotAPI, real_settings: Any, clock: Any, shipped_index: Path, real_encoders: Any
) -> None:
    engine = _engine(real_settings, shipped_index, real_encoders)
    async with running(real_settings, engine, clock) as app:
        (reply,) = await ask(api, CANARY_USER, "Как оспорить красное уведомление Интерпола?")
        assert "CCF" in reply["text"] or "ККФ" in reply["text"] or "Комисс" in reply["text"]
        assert "<a href=\"http" in reply["text"]
        mark = api.mark()
        api.push_text(CANARY_USER, "They are at my door right now, the police came to arrest me")
        first, *_ = await api.wait_sent(RAW_ID, since=mark)
        assert "+353 1 21 00 489" in first["text"]
        await settled(app)
        mark = api.mark()
        await command(api, CANARY_USER, "orgs", "relocation")
        await settled(app)
        assert "Shelter City" in " ".join(m["text"] for m in api.sent(RAW_ID, mark))
        await settled(app)
        (sos,) = await command(api, CANARY_USER, "emergency")
        assert "+353 1 21 00 489" in sos["text"]


async def test_real_engine_over_a_chroma_server(
    api: BotAPI, real_settings: Any, clock: Any, real_encoders: Any, tmp_path: Path
) -> None:
    from ingest.pipeline import Ingestor

    with chroma_server(tmp_path / "server") as server:
        client = chroma_client(tmp_path / "unused", server.url)
        Ingestor(REPO / "knowledge", client, real_encoders).run()
        settings = real_settings.with_(chroma_url=server.url)
        engine = Engine(encoders=real_encoders, client=client, knowledge_dir=REPO / "knowledge",
                        config=settings.engine_config())
        async with running(settings, engine, clock):
            (reply,) = await ask(api, CANARY_USER, "How do I apply to Shelter City?")
            assert "Shelter City" in reply["text"]
            server.stop()
            (down,) = await ask(api, CANARY_USER, "How do I apply to Shelter City?")
            assert "+353 1 21 00 489" in down["text"]


@pytest.mark.parametrize("keep_unanswered", [False, True])
async def test_privacy_canary_through_every_flow(
    api: BotAPI, real_settings: Any, clock: Any, shipped_index: Path, real_encoders: Any,
    log_stream: io.StringIO, keep_unanswered: bool,
) -> None:
    settings = real_settings.with_(keep_unanswered=keep_unanswered)
    engine = _engine(settings, shipped_index, real_encoders)
    data_dir = settings.data_dir
    async with running(settings, engine, clock) as app:
        await command(api, CANARY_USER, "start", count=2)
        (lang_prompt,) = await command(api, CANARY_USER, "language")
        await api.wait_sent(RAW_ID, since=await tap(api, CANARY_USER, lang_prompt, "lang:en"))
        await command(api, CANARY_USER, "autodelete", "24h")
        (answer,) = await ask(api, CANARY_USER, f"How do I challenge a red notice? {CANARY}")
        keys = buttons(answer)
        for data in keys.values():
            if data.startswith(("more:", "orgs:", "fb:1")):
                await api.wait_sent(RAW_ID, since=await tap(api, CANARY_USER, answer, data)) \
                    if not data.startswith("fb:") else await tap(api, CANARY_USER, answer, data)
        await ask(api, CANARY_USER, f"best borscht recipe {CANARY}")
        await tap(api, CANARY_USER, answer, f"forged:{CANARY}")
        api.push_photo(CANARY_USER, caption=CANARY)
        await command(api, CANARY_USER, "stats")
        await command(api, CANARY_USER, "gaps")
        await command(api, CANARY_USER, "emergency")
        await command(api, CANARY_USER, "orgs", "visas")
        await settled(app)
        leaks = _leaks(data_dir, log_stream.getvalue())
        if keep_unanswered:  # the kept text may hold the canary until /forget, nothing else
            assert all(leak.startswith("state.sqlite3") for leak in leaks), leaks
            assert not [leak for leak in leaks if CANARY not in leak], leaks
        else:
            assert leaks == []

        (confirm,) = await command(api, CANARY_USER, "forget")
        await api.wait_sent(RAW_ID, since=await tap(api, CANARY_USER, confirm, "forget:yes"))
        await settled(app)
    assert _leaks(data_dir, log_stream.getvalue()) == []

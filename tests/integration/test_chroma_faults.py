"""The engine against a real Chroma server that goes down and comes back."""

from __future__ import annotations

import time

import pytest

from bot.engine.build import Engine
from bot.settings import Settings
from ingest.index import chroma_client
from ingest.pipeline import Ingestor
from tests.support.chroma import ChromaServer

pytestmark = pytest.mark.integration


def test_server_down_answers_fast_with_contacts_then_recovers(corpus, tmp_path, fake_encoders):
    server = ChromaServer(tmp_path / "server")
    server.start()
    try:
        client = chroma_client(tmp_path / "unused", server.url)
        Ingestor(corpus, client, fake_encoders).run()
        settings = Settings(knowledge_dir=corpus, data_dir=tmp_path, chroma_url=server.url)
        engine = Engine(
            encoders=fake_encoders,
            client=client,
            knowledge_dir=corpus,
            config=settings.engine_config(),
        )
        assert engine.answer("How do I challenge a red notice at the CCF?").answer_found

        server.stop()
        started = time.monotonic()
        down = engine.answer("How do I challenge a red notice at the CCF?")
        assert time.monotonic() - started < 3
        assert down.search_unavailable and not down.answer_found
        assert down.general_contacts[0].id == "front-line-defenders"

        server.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if engine.answer("How do I challenge a red notice at the CCF?").answer_found:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the engine did not recover after the server came back")
    finally:
        server.stop()


def test_engine_starts_while_the_server_is_down(corpus, tmp_path, fake_encoders):
    server = ChromaServer(tmp_path / "server")
    settings = Settings(knowledge_dir=corpus, data_dir=tmp_path, chroma_url=server.url)
    engine = Engine(
        encoders=fake_encoders,
        client=None,
        knowledge_dir=corpus,
        config=settings.engine_config(),
        connect=lambda: chroma_client(tmp_path, server.url),
    )
    answer = engine.answer("red notice")
    assert answer.search_unavailable and answer.general_contacts
    server.start()
    try:
        Ingestor(corpus, chroma_client(tmp_path, server.url), fake_encoders).run()
        engine._last_load = 0.0  # skip the retry back-off in the test
        assert engine.answer("How do I challenge a red notice at the CCF?").answer_found
    finally:
        server.stop()

"""The real Application, real Store (under tmp_path) and a fake engine, against the Bot API
stand-in over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import ALLOWED_UPDATES, build_application
from bot.services import Services
from bot.settings import Settings
from tests.support.botapi import TOKEN, BotAPI, User
from tests.support.fakes import FakeEngine

ADMIN = User(id=900001, first_name="Admin", language_code="en")
ALICE = User(id=700001, first_name="Alice", language_code="en")
BORIS = User(id=700002, first_name="Борис", language_code="ru")
SECRET = "e2e-secret-key-0123456789abcdef"


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    async with BotAPI() as server:
        yield server


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    root.mkdir()
    return root


@pytest.fixture
def settings(tmp_path: Path, api: BotAPI, knowledge: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        knowledge_dir=knowledge,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=api.base_url,
        admin_ids=frozenset({ADMIN.id}),
        secret_key=SECRET,
        keep_unanswered=True,
        rate_limit_per_minute=5,
    )


@pytest.fixture
def engine(knowledge: Path) -> FakeEngine:
    return FakeEngine(knowledge)


def make_services(settings: Settings, engine: FakeEngine) -> Services:
    return Services(settings=settings, engine_factory=lambda _settings: engine)


@asynccontextmanager
async def running(
    settings: Settings, engine: FakeEngine, *, polling: bool = True
) -> AsyncIterator[Any]:
    """Start the bot as `waypoint run` does (post_init included) and stop it cleanly."""
    application = build_application(settings, make_services(settings, engine))
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    if polling:
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
    await application.start()
    try:
        yield application
    finally:
        engine.release()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await application.stop()
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


@pytest.fixture
def run_bot() -> Callable[..., Any]:
    return running


@pytest.fixture
async def bot(settings: Settings, engine: FakeEngine) -> AsyncIterator[Any]:
    async with running(settings, engine) as application:
        yield application

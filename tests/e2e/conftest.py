"""The real Application and the real Store (SQLite under tmp_path) with a fake engine, against
the Bot API stand-in over real HTTP on 127.0.0.1."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.app import ALLOWED_UPDATES, build_application
from bot.services import Services
from bot.settings import Settings
from bot.store.store import Store
from tests.support.botapi import TOKEN, BotAPI, User
from tests.support.fakes import SHIPPED_KNOWLEDGE, FakeEngine

ADMIN = User(id=900001, first_name="Admin", language_code="en")
ALICE = User(id=700001, first_name="Alice", language_code="en")
BORIS = User(id=700002, first_name="Борис", language_code="ru")
SECRET = "e2e-secret-key-0123456789abcdef"
GROUP_ID = -1001234567890


class Clock:
    """The store's clock, movable by tests (auto-delete, retention)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    async with BotAPI() as server:
        yield server


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    root.mkdir()
    shutil.copy(SHIPPED_KNOWLEDGE / "topics.yaml", root / "topics.yaml")  # the vocabulary
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
        rate_limit_per_minute=30,  # tests of the limit set their own
    )


@pytest.fixture
def engine(knowledge: Path) -> FakeEngine:
    return FakeEngine(knowledge)


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def open_store(settings: Settings, clock: Clock) -> Store:
    return await Store.open(
        settings.state_db,
        secret=SECRET.encode(),
        keep_unanswered=settings.keep_unanswered,
        retention_days=settings.retention_days,
        clock=clock,
    )


def make_services(settings: Settings, engine: FakeEngine, clock: Clock) -> Services:
    async def store_factory(s: Settings) -> Store:
        return await open_store(s, clock)

    return Services(
        settings=settings, engine_factory=lambda _s: engine, store_factory=store_factory
    )


@asynccontextmanager
async def running(
    settings: Settings, engine: FakeEngine, clock: Clock, *, polling: bool = True
) -> AsyncIterator[Any]:
    """Start the bot as `waypoint run` does (post_init included); stop it as SIGTERM does."""
    application = build_application(settings, make_services(settings, engine, clock))
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
        if isinstance(engine, FakeEngine):
            engine.release()
            engine.reindex_delay.set()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


@pytest.fixture
async def bot(settings: Settings, engine: FakeEngine, clock: Clock) -> AsyncIterator[Any]:
    async with running(settings, engine, clock) as application:
        yield application


async def ask(api: BotAPI, user: User, text: str, count: int = 1) -> list[dict[str, Any]]:
    """Send a private message and wait for `count` replies."""
    mark = api.mark()
    api.push_text(user, text)
    return await api.wait_sent(user.id, count, since=mark)


async def command(
    api: BotAPI, user: User, name: str, args: str = "", count: int = 1
) -> list[dict[str, Any]]:
    mark = api.mark()
    api.push_command(user, name, args)
    return await api.wait_sent(user.id, count, since=mark)


async def tap(api: BotAPI, user: User, message: dict[str, Any], data: str) -> int:
    """Press a button; return the call-log mark from before the press."""
    mark = api.mark()
    api.push_callback(user, message, data)
    await api.wait_call("answerCallbackQuery", since=mark, ok=None)
    return mark


PASSAGE_LINK = '<a href="https://example.org/red-notices/'  # the fake engine's passages
HOTLINE_PHONE = "+353 1 21 00 489"  # the fake directory's 24/7 line


def is_answer(message: dict[str, Any]) -> bool:
    """An answer to a question: it carries the answer keyboard ("Who can help")."""
    return any(data.startswith("orgs:") for data in buttons(message).values())


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """callback_data (or url) by button text."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data") or b.get("url", "") for row in rows for b in row}


async def settled(application: Any, timeout: float = 5.0) -> None:
    """Wait until every update received so far has been handled to the end."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while application.bot_data.inflight or application.update_queue.qsize():
        if loop.time() > deadline:
            raise TimeoutError("updates still in flight")
        await asyncio.sleep(0.01)

"""The real Application (handlers, defaults, limits, real SQLite store) in the test's own event
loop, talking to the Bot API stand-in through an in-process httpx transport: no socket, no
polling, no model. Each update is handled to the end before `send` returns, so handler tests
are plain sequences of "user does X, bot sent Y".
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import build_application
from bot.services import Services
from bot.settings import Settings
from tests.support.botapi import TOKEN, BotAPI, User
from tests.support.fakes import SHIPPED_KNOWLEDGE, FakeEngine

SECRET = "unit-secret-key-0123456789abcdef"
ADMIN = User(id=900001, first_name="Admin", language_code="en")
SECOND_ADMIN = User(id=900002, first_name="Second", language_code="en")
ALICE = User(id=700001, first_name="Alice", language_code="en")
BORIS = User(id=700002, first_name="Борис", language_code="ru")
GROUP_ID = -1001234567890


class Harness:
    """One running Application and the stand-in it talks to."""

    def __init__(self, api: BotAPI, app: Any, engine: FakeEngine) -> None:
        self.api = api
        self.app = app
        self.engine = engine

    @property
    def services(self) -> Services:
        return self.app.bot_data  # type: ignore[no-any-return]

    async def send(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one update to the end (background handlers included); return the messages
        the bot sent while doing so."""
        mark = self.api.mark()
        before = asyncio.all_tasks()
        await self.app.process_update(Update.de_json(update, self.app.bot))
        await self.settle(before)
        return self.api.sent(since=mark)

    async def settle(self, before: set[asyncio.Task[Any]], timeout: float = 10.0) -> None:
        """Wait for what handling started in the background (block=False handlers)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            started = [t for t in asyncio.all_tasks() - before if not t.done()]
            started = [t for t in started if t is not asyncio.current_task()]
            if not started:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"still running: {started}")
            await asyncio.wait(started, timeout=0.05)

    async def text(self, user: User, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        return await self.send(self.api.push_text(user, text, **kwargs))

    async def command(self, user: User, name: str, args: str = "") -> list[dict[str, Any]]:
        return await self.send(self.api.push_command(user, name, args))

    async def tap(self, user: User, message: dict[str, Any], data: str) -> list[dict[str, Any]]:
        return await self.send(self.api.push_callback(user, message, data))

    def calls(self, method: str, since: int = 0) -> list[Any]:
        return [c for c in self.api.calls[since:] if c.method == method]


def unit_settings(tmp_path: Path, **changes: Any) -> Settings:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir(exist_ok=True)
    shutil.copy(SHIPPED_KNOWLEDGE / "topics.yaml", knowledge / "topics.yaml")
    base = Settings(
        data_dir=tmp_path / "data",
        knowledge_dir=knowledge,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=BotAPI.IN_PROCESS_URL + "/bot",
        admin_ids=frozenset({ADMIN.id, SECOND_ADMIN.id}),
        secret_key=SECRET,
        keep_unanswered=True,
        rate_limit_per_minute=30,
    )
    return base.with_(**changes)


@asynccontextmanager
async def harness(
    tmp_path: Path, *, engine: FakeEngine | None = None, **changes: Any
) -> AsyncIterator[Harness]:
    """Build, open and start the Application as `waypoint run` does, without polling."""
    settings = unit_settings(tmp_path, **changes)
    engine = engine or FakeEngine(settings.knowledge_dir)
    api = BotAPI()
    services = Services(settings=settings, engine_factory=lambda _s: engine)
    app = build_application(settings, services, transport=api.transport())
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.start()  # runs what handlers start in the background (block=False)
    try:
        yield Harness(api, app, engine)
    finally:
        engine.release()
        engine.reindex_delay.set()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """callback_data (or url) by button text."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data") or b.get("url", "") for row in rows for b in row}

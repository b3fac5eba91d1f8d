"""What the handlers share: settings, the answer engine, the state store and the metrics.

`Services` lives in the Application's `bot_data`. It is built with factories and opened in
`post_init` (the engine loads in a worker thread) and closed in `post_shutdown`, so nothing
heavy happens at import or while building the Application. Tests pass factories that
return fakes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.engine import AnswerEngine
from bot.ops.metrics import Metrics
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.ops.http import OpsServer
    from bot.store.store import Store

logger = logging.getLogger(__name__)

EngineFactory = Callable[[Settings], AnswerEngine]  # blocking: run in a thread
StoreFactory = Callable[[Settings], Awaitable["Store"]]


class NotOpenError(RuntimeError):
    """A service was used before `Services.open()` (or after `close()`)."""


def build_default_engine(settings: Settings) -> AnswerEngine:
    """Load the encoders and open the index (slow; call in a thread)."""
    from bot.engine.build import build_engine

    return build_engine(settings)


async def open_default_store(settings: Settings) -> Store:
    """Open the state database under the data directory with the operator secret."""
    from bot.store.store import Store, load_or_create_secret

    secret = await asyncio.to_thread(load_or_create_secret, settings.data_dir, settings.secret_key)
    return await Store.open(
        settings.state_db,
        secret=secret,
        keep_unanswered=settings.keep_unanswered,
        retention_days=settings.retention_days,
    )


@dataclass
class Services:
    """The bot's shared services (`context.bot_data`)."""

    settings: Settings = field(default_factory=Settings)
    engine_factory: EngineFactory = build_default_engine
    store_factory: StoreFactory = open_default_store
    metrics: Metrics = field(default_factory=Metrics)
    ops: OpsServer | None = None
    replaying: dict[int, object] = field(default_factory=dict)  # inbox updates queued again
    inflight: set[int] = field(default_factory=set)  # inbox updates to mark done once handled
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _engine: AnswerEngine | None = None
    _store: Store | None = None

    @property
    def engine(self) -> AnswerEngine:
        if self._engine is None:
            raise NotOpenError("the answer engine is not open")
        return self._engine

    @property
    def store(self) -> Store:
        if self._store is None:
            raise NotOpenError("the state store is not open")
        return self._store

    @property
    def is_open(self) -> bool:
        return self._engine is not None and self._store is not None

    async def open(self) -> None:
        """Open the store, then load the engine in a worker thread."""
        if self._store is None:
            self._store = await self.store_factory(self.settings)
        if self._engine is None:
            self._engine = await asyncio.to_thread(self.engine_factory, self.settings)
        self.metrics.index_size.set(await asyncio.to_thread(self._engine.index_size))

    async def close(self) -> None:
        """Close the store (the engine holds nothing that needs closing but its lock)."""
        store, self._store = self._store, None
        engine, self._engine = self._engine, None
        if store is not None:
            await store.close()
        close = getattr(engine, "close", None)
        if callable(close):
            await asyncio.to_thread(close)

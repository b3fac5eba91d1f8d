"""What the handlers share: settings, the answer engine, the state store and the metrics.

`Services` lives in the Application's `bot_data`. It is built with factories and opened in
`post_init` (the engine loads in a worker thread) and closed in `post_shutdown`, so nothing
heavy happens at import or while building the Application. Tests pass factories that
return fakes (`run(settings, services=…)` takes them too).

It also holds the per-user rate limits (in memory) and the knowledge files the last ingest
could not index (read at start from the data dir, logged, shown in /stats).

The state store must never stand between a question and its answer: handlers make their store
calls through `Services.best_effort`, which logs a failing store (locked, disk full, closed) by
error type, counts it, answers with a safe default and leaves the store alone for a short pause,
so one failure costs one busy wait, not one per call.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from bot import ingest_report
from bot.engine import AnswerEngine
from bot.ops.metrics import Metrics
from bot.ratelimit import SlidingWindow
from bot.settings import Settings
from bot.store.errors import StoreError

if TYPE_CHECKING:
    from bot.ops.http import OpsServer
    from bot.store import Inbox, Store

logger = logging.getLogger(__name__)

EngineFactory = Callable[[Settings], AnswerEngine]  # blocking: run in a thread
StoreFactory = Callable[[Settings], Awaitable["Store"]]
T = TypeVar("T")

# What a failing state database raises: sqlite3/aiosqlite errors (locked, disk full, I/O,
# corrupt) and the store's own (closed).
STORE_FAILURES: tuple[type[Exception], ...] = (sqlite3.Error, StoreError)
STORE_PAUSE_S = 10.0  # after a failure, answer without the store for this long
LIMIT_WINDOW_S = 60.0  # WAYPOINT_RATE_LIMIT counts updates per user in this window
EMERGENCY_PER_WINDOW = 2  # /emergency still answered this often for a user over the limit


def describe_store_error(exc: BaseException) -> str:
    """The error's type and SQLite's error name (e.g. SQLITE_FULL), never its message."""
    name = getattr(exc, "sqlite_errorname", None)
    return f"{type(exc).__name__} ({name})" if name else type(exc).__name__


class NotOpenError(RuntimeError):
    """A service was used before `Services.open()` (or after `close()`)."""


def build_default_engine(settings: Settings) -> AnswerEngine:
    """Load the encoders and open the index (slow; call in a thread)."""
    from bot.engine.build import build_engine

    return build_engine(settings)


async def open_default_store(settings: Settings) -> Store:
    """Open the state database under the data directory with the operator key."""
    from bot.store import open_store

    return await open_store(settings)


@dataclass
class Services:
    """The bot's shared services (`context.bot_data`)."""

    settings: Settings = field(default_factory=Settings)
    engine_factory: EngineFactory = build_default_engine
    store_factory: StoreFactory = open_default_store
    metrics: Metrics = field(default_factory=Metrics)
    ops: OpsServer | None = None
    abandoned: int = 0  # handlers given up on at shutdown (their threads may still run)
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    knowledge_problems: list[ingest_report.FileProblem] = field(default_factory=list)
    _limits: SlidingWindow | None = None
    _emergency_limits: SlidingWindow | None = None
    _engine: AnswerEngine | None = None
    _store: Store | None = None
    _store_paused_until: float = 0.0

    @property
    def engine(self) -> AnswerEngine:
        """The answer engine; NotOpenError before `post_init` opens it."""
        if self._engine is None:
            raise NotOpenError("the answer engine is not open")
        return self._engine

    @property
    def store(self) -> Store:
        """The state store; NotOpenError before `post_init` opens it."""
        if self._store is None:
            raise NotOpenError("the state store is not open")
        return self._store

    @property
    def inbox(self) -> Inbox:
        """The durable inbox (the store's)."""
        return self.store.inbox

    @property
    def inflight(self) -> set[int]:
        """Updates recorded in the inbox and still being handled (empty when closed)."""
        return self._store.inbox.inflight if self._store is not None else set()

    @property
    def replaying(self) -> dict[int, object]:
        """Updates the inbox queued again at start, by id, until they are handled."""
        return self._store.inbox.replaying if self._store is not None else {}

    @property
    def limits(self) -> SlidingWindow:
        """Updates per user (WAYPOINT_RATE_LIMIT a minute), for every kind of update."""
        if self._limits is None:
            self._limits = SlidingWindow(self.settings.rate_limit_per_minute, LIMIT_WINDOW_S)
        return self._limits

    @property
    def emergency_limits(self) -> SlidingWindow:
        """The allowance for /emergency of a user who is over `limits`."""
        if self._emergency_limits is None:
            self._emergency_limits = SlidingWindow(EMERGENCY_PER_WINDOW, LIMIT_WINDOW_S)
        return self._emergency_limits

    @property
    def is_open(self) -> bool:
        """True once both the engine and the store are open."""
        return self._engine is not None and self._store is not None

    @property
    def store_paused(self) -> bool:
        """True while answers go out without the store after it failed."""
        return time.monotonic() < self._store_paused_until

    async def best_effort(self, what: str, call: Callable[[], Awaitable[T]], default: T) -> T:
        """Run a store call that must not stop an answer; on failure log, count, return default.

        `what` names the call in the log. While the store is paused after a failure the call is
        skipped, so a locked database costs one busy timeout per pause, not one per call.
        """
        if self.store_paused:
            return default
        try:
            return await call()
        except STORE_FAILURES as exc:
            self.metrics.errors.labels(type=type(exc).__name__).inc()
            self._store_paused_until = time.monotonic() + STORE_PAUSE_S
            logger.error(
                "state store failed in %s: %s; answering without it for %.0f s",
                what,
                describe_store_error(exc),
                STORE_PAUSE_S,
            )
            return default

    async def open(self) -> None:
        """Open the store, then load the engine in a worker thread; report unindexed files."""
        self.knowledge_problems = await asyncio.to_thread(
            ingest_report.load, self.settings.data_dir
        )
        ingest_report.log_problems(self.knowledge_problems)
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

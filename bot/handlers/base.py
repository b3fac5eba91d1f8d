"""What every handler starts from: the typed context, the services in it, the per-update log
line (`handled`) and the interface language.

Store calls here go through `Services.best_effort`: a locked or full state database costs the
user their saved language, never their answer.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeAlias

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackContext, ExtBot

from bot.i18n import gettext, ngettext, resolve
from bot.ops.logging import log_update
from bot.render import esc
from bot.services import Services

logger = logging.getLogger("bot.handlers")

Context: TypeAlias = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]


@dataclass(frozen=True)
class Outcome:
    """How a handler ended, for the log line and the metrics."""

    name: str
    language: str | None = None
    topics: tuple[str, ...] = ()


Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
OutcomeHandler = Callable[[Update, Context], Coroutine[Any, Any, Outcome]]


def services(context: Context) -> Services:
    """The bot's shared services (`bot_data`)."""
    return context.bot_data


def handled(name: str) -> Callable[[OutcomeHandler], Handler]:
    """Count the update, time the handler and log one pseudonymous line when it ends."""

    def decorate(func: OutcomeHandler) -> Handler:
        @functools.wraps(func)
        async def wrapper(update: Update, context: Context) -> None:
            svc = services(context)
            svc.metrics.updates.labels(handler=name).inc()
            started = time.perf_counter()
            outcome = Outcome("error")
            try:
                outcome = await func(update, context)
            finally:
                _log(svc, update, name, outcome, (time.perf_counter() - started) * 1000)

        return wrapper

    return decorate


def _log(svc: Services, update: Update, name: str, outcome: Outcome, latency_ms: float) -> None:
    user = update.effective_user
    who = "-"
    if user is not None and svc.is_open:
        who = svc.store.log_tag(user.id)
    log_update(
        logger,
        user=who,
        handler=name,
        language=outcome.language,
        topics=outcome.topics,
        latency_ms=latency_ms,
        outcome=outcome.name,
    )


def is_private(update: Update) -> bool:
    """True for an update from a private chat with the bot."""
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def chosen_language(update: Update, context: Context) -> str | None:
    """The language the user chose with /language; None if none (or the store failed)."""
    user = update.effective_user
    if user is None:
        return None
    svc = services(context)
    user_id = user.id
    return await svc.best_effort("get_language", lambda: svc.store.get_language(user_id), None)


async def ui_language(update: Update, context: Context, detected: str | None = None) -> str:
    """Chosen language, else the question's, else Telegram's language_code, else English."""
    user = update.effective_user
    chosen = await chosen_language(update, context)
    return resolve(chosen, detected, user.language_code if user else None)


def t(lang: str, msgid: str, **values: object) -> str:
    """An interface string, escaped for HTML."""
    return esc(gettext(lang, msgid, **values))


def tn(lang: str, singular: str, plural: str, n: int, **values: object) -> str:
    """An interface string with a count, in the form `n` takes in `lang`, escaped for HTML."""
    return esc(ngettext(lang, singular, plural, n, **values))

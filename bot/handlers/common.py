"""What every handler uses: the typed context, the per-update log line, the interface
language, sending HTML with Telegram's errors handled where they happen, message tracking for
auto-delete and /forget, keyboards and callback data.

Store calls here go through `Services.best_effort`: a locked or full state database costs the
user their saved language or auto-delete, never their answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeAlias

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import CallbackContext, ExtBot

from bot.engine.types import Answer
from bot.i18n import LANGUAGES, gettext, language_name, resolve
from bot.ops.logging import log_update
from bot.render import TOPICS, clip, esc, to_plain, topic_label
from bot.services import Services

logger = logging.getLogger("bot.handlers")

Context: TypeAlias = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]

DELETE_WINDOW_S = 48 * 3600  # Telegram lets bots delete private-chat messages this old
RECENT_LIMIT = 2000  # message ids remembered per chat (in memory only) for /forget
ANSWER_CACHE = 8  # recent answers kept per user (in memory only) for "More sources"
AUTODELETE_CHOICES: dict[str, int | None] = {"off": None, "1h": 3600, "24h": 86400}
TYPING_EVERY_S = 4.5


# -- the per-update log line ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How a handler ended, for the log line and the metrics."""

    name: str
    language: str | None = None
    topics: tuple[str, ...] = ()


Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]
OutcomeHandler = Callable[[Update, Context], Coroutine[Any, Any, Outcome]]


def services(context: Context) -> Services:
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
        who = svc.store.pseudonym(user.id)
    log_update(
        logger,
        user=who,
        handler=name,
        language=outcome.language,
        topics=outcome.topics,
        latency_ms=latency_ms,
        outcome=outcome.name,
    )


# -- language --------------------------------------------------------------------------------


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


# -- sending -----------------------------------------------------------------------------------


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def reply(
    update: Update,
    context: Context,
    texts: str | Sequence[str],
    *,
    markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    """Send HTML messages to the update's chat (markup under the last); in groups as a reply."""
    chat = update.effective_chat
    if chat is None:
        return []
    reply_to = None
    if not is_private(update) and update.effective_message is not None:
        reply_to = update.effective_message.message_id
    parts = [texts] if isinstance(texts, str) else list(texts)
    sent: list[Message] = []
    for n, text in enumerate(parts):
        last = n == len(parts) - 1
        try:
            message = await send_html(
                context, chat.id, text, markup=markup if last else None, reply_to=reply_to
            )
        except Forbidden:
            logger.info("cannot write to the chat (blocked or left)")
            break
        if message is not None:
            sent.append(message)
    if sent:
        await mark_answered(update, context)
    if sent and is_private(update) and update.effective_user is not None:
        await track(context, update.effective_user.id, chat.id, [m.message_id for m in sent])
    return sent


async def mark_answered(update: Update, context: Context) -> None:
    """Mark the update done in the durable inbox as soon as its reply is out.

    Everything after the reply (usage event, auto-delete) is bookkeeping: a crash or a
    shutdown that gives up during it must not make the next start answer the update again.
    """
    svc = services(context)
    update_id = update.update_id
    if update_id not in svc.inflight or update_id in svc.answered:
        return
    svc.answered.add(update_id)
    await svc.best_effort("inbox_done", lambda: svc.store.inbox_done(update_id), None)


async def send_html(
    context: Context,
    chat_id: int,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> Message | None:
    """Send one HTML message; None if it timed out (Forbidden is left to the caller).

    A message Telegram refuses to parse goes out again as plain text; a network failure is
    retried once; a timeout is not (the message may have arrived).
    """
    kwargs: dict[str, Any] = {"reply_markup": markup}
    if reply_to is not None:
        kwargs["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
    for attempt in (1, 2):
        try:
            return await context.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, **kwargs
            )
        except BadRequest as exc:
            if "parse entities" not in exc.message.lower():
                raise
            logger.warning("Telegram refused our HTML; sending plain text")
            return await context.bot.send_message(chat_id, clip(to_plain(text)), **kwargs)
        except TimedOut:
            logger.warning("sending timed out; not retried (it may have arrived)")
            return None
        except NetworkError:
            if attempt == 2:
                raise
            logger.warning("network error while sending; retrying once")
            await asyncio.sleep(1.0)
    return None  # pragma: no cover - the loop returns or raises


async def edit_html(
    query: CallbackQuery, text: str, *, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Edit the message under a button; False when it cannot be edited any more."""
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return True
        logger.info("could not edit a message: %s", exc.message)
        return False
    except (Forbidden, TimedOut):
        return False
    return True


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner; a stale query (e.g. after a restart) is fine to ignore."""
    try:
        await query.answer(text)
    except (BadRequest, Forbidden, TimedOut) as exc:
        logger.debug("callback query not answered: %s", type(exc).__name__)


@asynccontextmanager
async def typing(context: Context, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat while the body runs."""

    async def show() -> None:
        with suppress(TelegramError):
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY_S)
            await show()

    await show()
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# -- tracking for auto-delete and /forget --------------------------------------------------------


def recent_messages(context: Context) -> deque[tuple[int, float]]:
    """(message id, sent at) of this chat's visible messages, in memory only."""
    chat_data = context.chat_data
    if chat_data is None:
        return deque(maxlen=RECENT_LIMIT)
    recent = chat_data.get("recent")
    if not isinstance(recent, deque):
        recent = deque(maxlen=RECENT_LIMIT)
        chat_data["recent"] = recent
    return recent


async def track(context: Context, user_id: int, chat_id: int, message_ids: Sequence[int]) -> None:
    """Remember private-chat messages and schedule their deletion if auto-delete is on."""
    now = time.time()
    recent = recent_messages(context)
    recent.extend((message_id, now) for message_id in message_ids)
    svc = services(context)
    store = svc.store
    ttl = await svc.best_effort("get_autodelete", lambda: store.get_autodelete(user_id), None)
    if ttl:
        for message_id in message_ids:
            schedule = functools.partial(
                store.schedule_deletion, user_id, chat_id, message_id, now + ttl
            )
            await svc.best_effort("schedule_deletion", schedule, None)


# -- answers kept for their buttons ------------------------------------------------------------


def remember_answer(context: Context, answer: Answer) -> str:
    """Keep the answer in memory for its buttons; return its short token."""
    user_data = context.user_data
    token = secrets.token_urlsafe(6)
    if user_data is None:
        return token
    cache = user_data.setdefault("answers", OrderedDict())
    cache[token] = answer
    while len(cache) > ANSWER_CACHE:
        cache.popitem(last=False)
    return token


def recall_answer(context: Context, token: str) -> Answer | None:
    cache = (context.user_data or {}).get("answers") or {}
    found = cache.get(token)
    return found if isinstance(found, Answer) else None


# -- keyboards and callback data (each ≤ 64 bytes) ---------------------------------------------


def topic_or_none(value: str | None) -> str | None:
    return value if value in TOPICS else None


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            ("✓ " if code == current else "") + language_name(code), callback_data=f"lang:{code}"
        )
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:]])


def topic_keyboard(lang: str) -> InlineKeyboardMarkup:
    emergency = InlineKeyboardButton(
        "🚨 " + topic_label("emergency", lang), callback_data="topic:emergency"
    )
    others = [
        InlineKeyboardButton(topic_label(topic, lang), callback_data=f"topic:{topic}")
        for topic in TOPICS
        if topic != "emergency"
    ]
    rows = [[emergency]] + [others[i : i + 2] for i in range(0, len(others), 2)]
    return InlineKeyboardMarkup(rows)


def autodelete_keyboard(lang: str, current: int | None) -> InlineKeyboardMarkup:
    labels = {
        "off": gettext(lang, "Keep messages"),
        "1h": gettext(lang, "Delete after 1 hour"),
        "24h": gettext(lang, "Delete after 24 hours"),
    }
    buttons = [
        InlineKeyboardButton(
            ("✓ " if seconds == current else "") + labels[key],
            callback_data=f"ad:{seconds or 0}",
        )
        for key, seconds in AUTODELETE_CHOICES.items()
    ]
    return InlineKeyboardMarkup([[b] for b in buttons])


def answer_keyboard(lang: str, token: str, answer: Answer) -> InlineKeyboardMarkup:
    topic = answer.topics[0] if answer.topics and answer.topics[0] in TOPICS else "-"
    first_row = []
    if answer.answer_found and answer.passages:
        first_row.append(
            InlineKeyboardButton(
                "📚 " + gettext(lang, "More sources"), callback_data=f"more:{token}"
            )
        )
    first_row.append(
        InlineKeyboardButton(
            "🤝 " + gettext(lang, "Who can help"), callback_data=f"orgs:{token}:{topic}"
        )
    )
    votes = [
        InlineKeyboardButton(
            "👍 " + gettext(lang, "Helpful"), callback_data=f"fb:1:{token}:{topic}"
        ),
        InlineKeyboardButton(
            "👎 " + gettext(lang, "Not helpful"), callback_data=f"fb:0:{token}:{topic}"
        ),
    ]
    return InlineKeyboardMarkup([first_row, votes])


def private_chat_button(context: Context, lang: str) -> InlineKeyboardMarkup | None:
    username = context.bot.username if context.bot else None
    if not username:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    gettext(lang, "Open a private chat"), url=f"https://t.me/{username}"
                )
            ]
        ]
    )

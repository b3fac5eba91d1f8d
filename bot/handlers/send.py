"""Everything that writes to a chat: replies, edits, button acknowledgements and "typing…",
with Telegram's errors handled where they happen, and the tracking of private-chat messages
for auto-delete and /forget.

HTML is the Application's default parse mode (`Defaults` in `bot.app`), so nothing here names
it; only the plain-text fallback turns it off.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut

from bot.handlers.base import Context, is_private, services
from bot.render import clip, to_plain

logger = logging.getLogger("bot.handlers")

DELETE_WINDOW_S = 48 * 3600  # Telegram lets bots delete private-chat messages this old
RECENT_LIMIT = 2000  # message ids remembered per chat (in memory only) for /forget
TYPING_EVERY_S = 4.5
NETWORK_RETRY_S = 1.0


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
    # Sent even if the message replied to is gone (the Application's default).
    reply_parameters = ReplyParameters(reply_to) if reply_to is not None else None
    for attempt in (1, 2):
        try:
            return await context.bot.send_message(
                chat_id, text, reply_markup=markup, reply_parameters=reply_parameters
            )
        except BadRequest as exc:
            if "parse entities" not in exc.message.lower():
                raise
            logger.warning("Telegram refused our HTML; sending plain text")
            return await context.bot.send_message(
                chat_id,
                clip(to_plain(text)),
                parse_mode=None,
                reply_markup=markup,
                reply_parameters=reply_parameters,
            )
        except TimedOut:
            logger.warning("sending timed out; not retried (it may have arrived)")
            return None
        except NetworkError:
            if attempt == 2:
                raise
            logger.warning("network error while sending; retrying once")
            await asyncio.sleep(NETWORK_RETRY_S)
    return None  # pragma: no cover - the loop returns or raises


async def edit_html(
    query: CallbackQuery, text: str, *, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Edit the message under a button; False when it cannot be edited any more."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return True
        logger.info("could not edit a message: %s", exc.message)
        return False
    except (Forbidden, TimedOut):
        return False
    return True


async def edit_markup(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the buttons under a message; a message gone or too old is left as it is."""
    with suppress(BadRequest, Forbidden, TimedOut):
        await query.edit_message_reply_markup(markup)


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


async def mark_answered(update: Update, context: Context) -> None:
    """Mark the update done in the durable inbox as soon as its reply is out
    (`Inbox.answered`: what follows the reply is bookkeeping, never a reason to answer again).
    """
    svc = services(context)
    inbox, update_id = svc.inbox, update.update_id
    await svc.best_effort("inbox_done", lambda: inbox.answered(update_id), None)


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

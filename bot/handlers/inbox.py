"""The durable inbox: every question-bearing update is written to the store before it is
handled and marked done after the reply, so a hard kill mid-answer loses no question (it is
re-processed at the next start) and a redelivered update is never answered twice.

Only what is needed to answer again is kept (the store seals it): update id, chat id and
type, user id, message id and date, the text or callback data, and Telegram's
language_code. Updates that are not questions (photos, voice, unaddressed group chatter) are
not stored at all. Also here: tracking of the user's own private messages for auto-delete.

The update is marked done as soon as its reply is sent (`common.mark_answered`), or at the
end of handling. If the store fails, the update is answered anyway, without the inbox's
protection (logged and counted by `Services.best_effort`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from telegram import Message, Update, User
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import Application, ApplicationHandlerStop

from bot.handlers.common import Context, is_private, services, track
from bot.handlers.questions import mentions_bot

logger = logging.getLogger(__name__)


def _user(user: User) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user.id, "is_bot": user.is_bot, "first_name": ""}
    if user.language_code:
        data["language_code"] = user.language_code
    return data


def _message(message: Message, *, with_text: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "date": int(message.date.timestamp()),
        "chat": {"id": message.chat.id, "type": message.chat.type},
    }
    if with_text:
        data["text"] = message.text
        entities = [
            e.to_dict()
            for e in message.entities
            if e.type in (MessageEntityType.BOT_COMMAND, MessageEntityType.MENTION)
        ]
        if entities:
            data["entities"] = entities
        if message.from_user is not None:
            data["from"] = _user(message.from_user)
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.is_bot:
            data["reply_to_message"] = _message(replied, with_text=False) | {
                "from": _user(replied.from_user)
            }
    return data


def inbox_payload(update: Update) -> dict[str, Any] | None:
    """The minimal update to store, or None for updates that are not worth keeping."""
    query = update.callback_query
    if query is not None:
        if query.data is None:
            return None
        body: dict[str, Any] = {
            "id": query.id,
            "chat_instance": query.chat_instance,
            "from": _user(query.from_user),
            "data": query.data,
        }
        if isinstance(query.message, Message):
            body["message"] = _message(query.message, with_text=False)
        return {"update_id": update.update_id, "callback_query": body}
    message = update.message
    if message is None or message.text is None or message.from_user is None:
        return None
    if message.chat.type != ChatType.PRIVATE:
        bot = message.get_bot()
        is_command = bool(message.entities) and message.entities[0].type == "bot_command"
        if not is_command and not mentions_bot(message, bot.username):
            return None
    return {"update_id": update.update_id, "message": _message(message, with_text=True)}


async def record(update: Update, context: Context) -> None:
    """Write the update to the inbox; stop here if it was seen before (group -2)."""
    svc = services(context)
    svc.track_task()
    if svc.replaying.get(update.update_id) is update:  # our own re-queued copy
        del svc.replaying[update.update_id]
        svc.inflight.add(update.update_id)
        return
    payload = inbox_payload(update)
    if payload is None:
        return
    user_id = update.effective_user.id if update.effective_user else None
    store = svc.store
    put = functools.partial(store.inbox_put, update.update_id, payload, user_id=user_id)
    stored: bool | None = await svc.best_effort("inbox_put", put, None)
    if stored is None:
        return  # the store failed: answer without the inbox
    if not stored:
        logger.info("duplicate update ignored")
        raise ApplicationHandlerStop
    svc.inflight.add(update.update_id)


async def track_incoming(update: Update, context: Context) -> None:
    """Remember the user's private message for /forget and auto-delete (group -1)."""
    message, user = update.message, update.effective_user
    if message is None or user is None or not is_private(update):
        return
    await track(context, user.id, message.chat.id, [message.message_id])


async def done(update: Update, context: Context) -> None:
    """Mark the update answered (the last group)."""
    svc = services(context)
    update_id = update.update_id
    if update_id not in svc.inflight:
        return
    if update_id in svc.answered:  # marked done when its reply went out
        svc.answered.discard(update_id)
    else:
        await svc.best_effort("inbox_done", lambda: svc.store.inbox_done(update_id), None)
    svc.inflight.discard(update_id)


async def replay_pending(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Queue the updates left unanswered by the previous run; return how many."""
    svc = application.bot_data
    pending = await svc.store.inbox_pending()
    for update_id, payload in pending:
        try:
            update = Update.de_json(payload, application.bot)
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("unreadable inbox update dropped: %s", type(exc).__name__)
            await svc.store.inbox_done(update_id)
            continue
        svc.replaying[update_id] = update
        await application.update_queue.put(update)
    if pending:
        logger.info("re-processing %d updates left unanswered", len(pending))
    return len(pending)

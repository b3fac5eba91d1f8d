"""The Telegram side of the durable inbox (`bot.store.inbox.Inbox` does the rest).

Which updates are kept: question-bearing ones (private texts, commands and mentions in
groups, button presses); photos, voice and unaddressed group chatter are not stored at all.
What is kept of them is only what answering again needs: update id, chat id and type, user
id, message id and date, the text or callback data, and Telegram's language_code.

Handlers (see `bot.handlers.register` for the groups):
  record          store the update before anything else handles it; a duplicate stops here
  track_incoming  remember the user's private message for /forget and auto-delete
  done            mark the update answered once every handler ran
and `replay_pending(application)` at start (`send.mark_answered` marks an update done as soon
as its reply is out).
If the store fails, the update is answered anyway, without the inbox's protection (logged and
counted by `Services.best_effort`).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update, User
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import Application, ApplicationHandlerStop

from bot.handlers.base import Context, is_private, services
from bot.handlers.questions import mentions_bot
from bot.handlers.send import track

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
    """Write the update to the inbox; stop here if it was seen before."""
    svc = services(context)
    inbox = svc.inbox
    inbox.track_task()
    update_id = update.update_id
    if inbox.claim_replayed(update_id, update):
        return
    payload = inbox_payload(update)
    if payload is None:
        return
    user_id = update.effective_user.id if update.effective_user else None

    async def put() -> bool:
        return await inbox.record(update_id, payload, user_id=user_id)

    if await svc.best_effort("inbox_put", put, True) is False:
        raise ApplicationHandlerStop


async def track_incoming(update: Update, context: Context) -> None:
    """Remember the user's private message for /forget and auto-delete."""
    message, user = update.message, update.effective_user
    if message is None or user is None or not is_private(update):
        return
    await track(context, user.id, message.chat.id, [message.message_id])


async def done(update: Update, context: Context) -> None:
    """Mark the update answered (the last group)."""
    svc = services(context)
    inbox = svc.inbox
    update_id = update.update_id
    try:
        await svc.best_effort("inbox_done", lambda: inbox.done(update_id), None)
    finally:
        inbox.release(update_id)


async def replay_pending(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Queue the updates left unanswered by the previous run; return how many."""
    inbox = application.bot_data.inbox

    def decode(payload: dict[str, Any]) -> object:
        return Update.de_json(payload, application.bot)

    return await inbox.replay(decode, application.update_queue.put)

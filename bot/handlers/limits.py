"""One rate limit for everything a user makes the bot do: messages, commands and buttons.

`enforce` runs first for every update (group `LIMIT_GROUP`). A user over
WAYPOINT_RATE_LIMIT updates per minute is stopped there (`ApplicationHandlerStop`): nothing
is stored, asked or sent, except one short notice per window. /emergency and the emergency
topic have a small allowance of their own, so the 24/7 contacts stay reachable while the user
is limited. Updates re-queued from the durable inbox were admitted when they first came.

Group chatter that does not address the bot never counts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from telegram import Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import ApplicationHandlerStop

from bot.handlers.base import Context, Outcome, handled, is_private, services, t, ui_language
from bot.handlers.keyboards import TopicChoice
from bot.handlers.questions import mentions_bot
from bot.handlers.send import answer_query, reply, track
from bot.i18n import N_

LIMIT_GROUP = -3  # before the durable inbox stores anything

RATE_LIMITED = N_(
    "You are sending questions faster than I can answer them. Please wait a minute and send "
    "your question again. If you are in danger, use /emergency."
)


def _is_command(message: Message, name: str | None = None) -> bool:
    entities = message.entities
    if not entities or entities[0].type != MessageEntityType.BOT_COMMAND or entities[0].offset:
        return False
    if name is None:
        return True
    command = (message.text or "")[1 : entities[0].length].split("@")[0].lower()
    return command == name


LAST_SEEN = "seen"
IDLE_AFTER_S = 24 * 3600  # in-memory state of a user idle this long is dropped


def forget_idle_users(user_data: Mapping[int, Mapping[str, object]], now: float) -> list[int]:
    """The users whose in-memory state (answers behind buttons, chosen topic) has been idle
    for a day: memory stays bounded by the people active recently."""
    return [
        uid
        for uid, data in user_data.items()
        if now - float(data.get(LAST_SEEN, 0.0)) > IDLE_AFTER_S  # type: ignore[arg-type]
    ]


def counts(update: Update) -> bool:
    """True for updates that make the bot work: anything in private, buttons, and in groups
    only commands and messages that address the bot."""
    if update.effective_user is None:
        return False
    if update.callback_query is not None or is_private(update):
        return True
    message = update.message
    if message is None or message.chat.type == ChatType.PRIVATE:
        return False
    return _is_command(message) or mentions_bot(message, message.get_bot().username)


def asks_for_emergency(update: Update) -> bool:
    """/emergency, or the emergency topic button."""
    query = update.callback_query
    if query is not None:
        return query.data == TopicChoice("emergency").data()
    return update.message is not None and _is_command(update.message, "emergency")


async def enforce(update: Update, context: Context) -> None:
    """Let the update through, or stop it here when its user is over the limit."""
    if not counts(update) or update.effective_user is None:
        return
    if context.user_data is not None:  # when this user was last seen, for forgetting idle ones
        context.user_data[LAST_SEEN] = time.monotonic()
    svc = services(context)
    if svc.replaying.get(update.update_id) is update:  # admitted before the restart
        return
    user_id = update.effective_user.id
    if svc.limits.allow(user_id):
        return
    if asks_for_emergency(update) and svc.emergency_limits.allow(user_id):
        return
    await _refuse(update, context)
    raise ApplicationHandlerStop


@handled("rate_limited")
async def _refuse(update: Update, context: Context) -> Outcome:
    """Count the refusal; tell the user once per window; keep auto-delete covering it."""
    svc = services(context)
    svc.metrics.rate_limited.inc()
    user = update.effective_user
    assert user is not None
    message = update.message
    if message is not None and is_private(update):
        await track(context, user.id, message.chat.id, [message.message_id])
    if not svc.limits.first_refusal(user.id):
        return Outcome("rate_limited")
    lang = await ui_language(update, context)
    if update.callback_query is not None:
        await answer_query(update.callback_query)
    await reply(update, context, t(lang, RATE_LIMITED))
    return Outcome("rate_limited", lang)

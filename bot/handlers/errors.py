"""The global error handler, unknown commands, and messages that are not text."""

from __future__ import annotations

import logging
import traceback
from contextlib import suppress

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.handlers.base import Context, Outcome, chosen_language, handled, is_private, services, t
from bot.handlers.send import reply
from bot.i18n import resolve

logger = logging.getLogger(__name__)


def _where(error: BaseException) -> str:
    """file:line of the innermost frame: enough to find the bug, nothing of the user."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "-"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


async def on_error(update: object, context: Context) -> None:
    """Log the error (type and place, never message text), count it, tell the user briefly."""
    error = context.error
    if error is None:
        return
    kind = type(error).__name__
    services(context).metrics.errors.labels(type=kind).inc()
    transient = isinstance(error, Forbidden | RetryAfter) or (
        isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    )
    if transient:
        logger.warning("update failed: %s at %s", kind, _where(error))
    else:
        logger.error("update failed: %s at %s", kind, _where(error))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(error, Forbidden):
        return  # we cannot write to this chat
    user = update.effective_user
    chosen = None
    if user is not None:
        with suppress(Exception):  # the store may be what failed
            chosen = await services(context).store.get_language(user.id)
    lang = resolve(chosen, user.language_code if user else None)
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            t(
                lang,
                "Sorry, something went wrong on my side. Please try again in a minute. "
                "If you are in danger, use /emergency.",
            ),
        )
    except TelegramError as exc:
        logger.warning("could not tell the user about the error: %s", type(exc).__name__)


@handled("not_text")
async def not_text(update: Update, context: Context) -> Outcome:
    """Tell the user that only text is read (nothing of the message is kept)."""
    user = update.effective_user
    lang = resolve(await chosen_language(update, context), user.language_code if user else None)
    await reply(
        update,
        context,
        t(
            lang,
            "I read text only. Please write your question in words; photos, voice "
            "messages, files and locations can identify you, and I do not keep them.",
        ),
    )
    return Outcome("not_text", lang)


@handled("unknown_command")
async def unknown_command(update: Update, context: Context) -> Outcome:
    """Point to /help (in private chats; in groups other bots may own the command)."""
    if not is_private(update):
        return Outcome("ignored")
    user = update.effective_user
    lang = resolve(await chosen_language(update, context), user.language_code if user else None)
    await reply(update, context, t(lang, "I do not know this command. /help lists what I can do."))
    return Outcome("unknown_command", lang)

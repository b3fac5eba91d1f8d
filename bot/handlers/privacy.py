"""/privacy, /forget and /autodelete, and the job that carries out scheduled deletions."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut

from bot.handlers.base import Context, Outcome, handled, is_private, services, t, tn, ui_language
from bot.handlers.keyboards import (
    AUTODELETE_CHOICES,
    AutoDeleteChoice,
    ForgetChoice,
    autodelete_keyboard,
    forget_keyboard,
    matched,
    private_chat_button,
)
from bot.handlers.limits import forget_idle_users
from bot.handlers.send import DELETE_WINDOW_S, answer_query, edit_html, recent_messages, reply
from bot.handlers.start import privacy_notice
from bot.i18n import gettext

logger = logging.getLogger(__name__)

DELETE_BATCH = 100  # deleteMessages takes at most 100 ids


def autodelete_status(lang: str, seconds: int | None) -> str:
    """One sentence saying whether auto-delete is on, and after how long."""
    if seconds == 3600:
        return t(lang, "Auto-delete is on: I delete our messages 1 hour after they are sent.")
    if seconds == 86400:
        return t(lang, "Auto-delete is on: I delete our messages 24 hours after they are sent.")
    if seconds:
        return tn(
            lang,
            "Auto-delete is on: I delete our messages {minutes} minute after they are sent.",
            "Auto-delete is on: I delete our messages {minutes} minutes after they are sent.",
            seconds // 60,
            minutes=seconds // 60,
        )
    return t(lang, "Auto-delete is off: our messages stay until you delete them.")


async def _private_only(update: Update, context: Context, lang: str) -> bool:
    if is_private(update):
        return True
    await reply(
        update,
        context,
        t(lang, "Please use this command in a private chat with me."),
        markup=private_chat_button(context.bot.username, lang),
    )
    return False


@handled("privacy")
async def show_privacy(update: Update, context: Context) -> Outcome:
    """Explain what is kept, and offer auto-delete and /forget."""
    lang = await ui_language(update, context)
    svc = services(context)
    text = privacy_notice(lang, keeps_unanswered=svc.settings.keep_unanswered)
    if not is_private(update):
        await reply(update, context, text)
        return Outcome("shown", lang)
    user = update.effective_user
    current = await svc.store.get_autodelete(user.id) if user else None
    await reply(
        update,
        context,
        f"{text}\n\n{autodelete_status(lang, current)}",
        markup=autodelete_keyboard(lang, current),
    )
    return Outcome("shown", lang)


def _parse_choice(args: list[str]) -> tuple[bool, int | None]:
    """(valid, seconds) for `/autodelete off|1h|24h`."""
    if len(args) != 1:
        return False, None
    key = args[0].strip().lower()
    if key not in AUTODELETE_CHOICES:
        return False, None
    return True, AUTODELETE_CHOICES[key]


@handled("autodelete")
async def autodelete(update: Update, context: Context) -> Outcome:
    """Set auto-delete (`/autodelete off|1h|24h`) or show the choices."""
    lang = await ui_language(update, context)
    user = update.effective_user
    if user is None or not await _private_only(update, context, lang):
        return Outcome("group", lang)
    store = services(context).store
    valid, seconds = _parse_choice(context.args or [])
    if not valid:
        current = await store.get_autodelete(user.id)
        await reply(
            update,
            context,
            autodelete_status(lang, current),
            markup=autodelete_keyboard(lang, current),
        )
        return Outcome("shown", lang)
    chat_id = update.effective_chat.id if update.effective_chat else user.id
    await _set_autodelete(context, user.id, chat_id, seconds)
    await reply(update, context, autodelete_status(lang, seconds))
    return Outcome("autodelete_on" if seconds else "autodelete_off", lang)


@handled("autodelete_chosen")
async def autodelete_chosen(update: Update, context: Context) -> Outcome:
    """Apply the tapped auto-delete choice."""
    query, tapped = update.callback_query, matched(AutoDeleteChoice, context)
    user = update.effective_user
    lang = await ui_language(update, context)
    if query is None or user is None or update.effective_chat is None:
        return Outcome("ignored", lang)
    if tapped is None or not is_private(update):
        await answer_query(query, gettext(lang, "This button is no longer active."))
        return Outcome("stale", lang)
    seconds = tapped.seconds
    await _set_autodelete(context, user.id, update.effective_chat.id, seconds)
    await answer_query(query)
    await edit_html(
        query, autodelete_status(lang, seconds), markup=autodelete_keyboard(lang, seconds)
    )
    return Outcome("autodelete_on" if seconds else "autodelete_off", lang)


async def _set_autodelete(
    context: Context, user_id: int, chat_id: int, seconds: int | None
) -> None:
    """Store the choice; when turning it on, also schedule the messages still on screen."""
    store = services(context).store
    await store.set_autodelete(user_id, seconds)
    if not seconds:
        return
    now = time.time()
    for message_id, sent_at in list(recent_messages(context)):
        if now - sent_at < DELETE_WINDOW_S:
            await store.schedule_deletion(user_id, chat_id, message_id, max(now, sent_at + seconds))


@handled("forget")
async def forget(update: Update, context: Context) -> Outcome:
    """Ask for confirmation before deleting the user's data."""
    lang = await ui_language(update, context)
    if not await _private_only(update, context, lang):
        return Outcome("group", lang)
    markup = forget_keyboard(lang)
    text = "\n\n".join(
        [
            "<b>" + t(lang, "Delete your data?") + "</b>",
            t(
                lang,
                "I will delete your language and auto-delete settings, the anonymous usage "
                "records linked to your pseudonym, and the messages of this chat that I can "
                "still delete. This cannot be undone.",
            ),
        ]
    )
    await reply(update, context, text, markup=markup)
    return Outcome("asked", lang)


@handled("forget_confirmed")
async def forget_confirmed(update: Update, context: Context) -> Outcome:
    """Delete the user's data and what is still deletable of the conversation."""
    query, tapped = update.callback_query, matched(ForgetChoice, context)
    user, chat = update.effective_user, update.effective_chat
    lang = await ui_language(update, context)
    if query is None or user is None or chat is None or tapped is None:
        return Outcome("ignored", lang)
    await answer_query(query)
    if not is_private(update):
        return Outcome("group", lang)
    if not tapped.confirmed:
        await edit_html(query, t(lang, "Nothing was deleted."))
        return Outcome("cancelled", lang)
    store = services(context).store
    now = time.time()
    ids = {m for m, sent_at in recent_messages(context) if now - sent_at < DELETE_WINDOW_S}
    ids |= {
        d.message_id for d in await store.pending_deletions_for(user.id) if d.chat_id == chat.id
    }
    if query.message is not None:
        ids.add(query.message.message_id)
    await store.forget(user.id)
    if context.user_data is not None:
        context.user_data.clear()
    if context.chat_data is not None:
        context.chat_data.clear()
    deleted = await _delete_all(context, chat.id, sorted(ids))
    text = "\n\n".join(
        [
            "✅ <b>"
            + t(lang, "Done.")
            + "</b> "
            + t(
                lang,
                "I deleted what I kept about you and the messages of this chat that I "
                "could still reach ({count}).",
                count=deleted,
            ),
            t(
                lang,
                "What I cannot delete: messages older than 48 hours (Telegram does not let "
                "bots delete them) or sent before my last restart, copies on your devices "
                "and in their backups, and Telegram's own records. To remove the whole "
                "chat on your side, use “Delete chat” in Telegram.",
            ),
        ]
    )
    await reply(update, context, text)
    return Outcome("forgotten", lang)


async def _delete_all(context: Context, chat_id: int, message_ids: list[int]) -> int:
    """Delete messages in batches; return how many ids were sent for deletion successfully."""
    deleted = 0
    for start in range(0, len(message_ids), DELETE_BATCH):
        batch = message_ids[start : start + DELETE_BATCH]
        try:
            await context.bot.delete_messages(chat_id, batch)
            deleted += len(batch)
        except (BadRequest, Forbidden, TimedOut) as exc:
            logger.info("could not delete a batch of messages: %s", type(exc).__name__)
    return deleted


async def run_due_deletions(context: Context) -> None:
    """Delete the messages whose auto-delete time has come (a repeating job)."""
    svc = services(context)
    if not svc.is_open:
        return
    for deletion in await svc.store.due_deletions():
        try:
            await context.bot.delete_message(deletion.chat_id, deletion.message_id)
        except (BadRequest, Forbidden) as exc:
            # Already gone, too old, or the user blocked us: nothing more can be done.
            logger.debug("scheduled deletion not possible: %s", type(exc).__name__)
        except (TimedOut, NetworkError):
            continue  # try again on the next run
        except TelegramError as exc:
            logger.warning("scheduled deletion failed: %s", type(exc).__name__)
            continue
        await svc.store.deletion_done(deletion.row_id)


async def purge_expired(context: Context) -> None:
    """Delete what is past retention, and drop idle users' in-memory state (a repeating job)."""
    application = context.application
    for user_id in forget_idle_users(application.user_data, time.monotonic()):
        application.drop_user_data(user_id)
    svc = services(context)
    if svc.is_open:
        await svc.store.purge_expired()

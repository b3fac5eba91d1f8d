"""Questions in free text (private chats, or mentions in groups), /emergency and /orgs."""

from __future__ import annotations

import asyncio
import functools
import logging
import time

from telegram import Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import filters

from bot.engine.types import Answer
from bot.handlers.base import (
    Context,
    Outcome,
    chosen_language,
    handled,
    is_private,
    services,
    t,
    ui_language,
)
from bot.handlers.keyboards import (
    answer_keyboard,
    first_topic,
    situation_keyboard,
    topic_keyboard,
    topic_or_none,
)
from bot.handlers.memory import remember_answer
from bot.handlers.send import reply, typing
from bot.i18n import resolve
from bot.render import render_answer, render_emergency, render_organizations
from bot.store.store import QUESTION_KIND

logger = logging.getLogger(__name__)


def mentions_bot(message: Message, username: str | None) -> bool:
    """True if a group message @mentions the bot or replies to one of its messages."""
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == message.get_bot().id:
        return True
    if not username:
        return False
    wanted = f"@{username}".lower()
    mentions = message.parse_entities([MessageEntityType.MENTION])
    return any(text.lower() == wanted for text in mentions.values())


class AddressedToBot(filters.MessageFilter):
    """Group messages that @mention the bot or reply to it."""

    def filter(self, message: Message) -> bool:
        """Every private message; in groups, only those addressed to the bot."""
        if message.chat.type == ChatType.PRIVATE:
            return True
        return mentions_bot(message, message.get_bot().username)


def question_text(message: Message, username: str | None) -> str:
    """The question without the bot's @mention."""
    text = message.text or ""
    if username:
        text = text.replace(f"@{username}", " ")
    return " ".join(text.split()) if message.chat.type != ChatType.PRIVATE else text.strip()


def _outcome(answer: Answer) -> str:
    if answer.emergency:
        return "emergency"
    if answer.search_unavailable:
        return "search_unavailable"
    return "answered" if answer.answer_found else "not_found"


async def _answer(context: Context, text: str, language: str | None, topic: str | None) -> Answer:
    """Ask the engine in a worker thread; if it fails, answer with the contacts only."""
    engine = services(context).engine
    try:
        return await asyncio.to_thread(engine.answer, text, language=language, topic=topic)
    except Exception as exc:  # the engine failing must not leave the user without contacts
        logger.error("the engine failed: %s", type(exc).__name__)
        try:
            contacts = await asyncio.to_thread(engine.emergency_contacts, resolve(language))
        except Exception:  # noqa: BLE001 - even the directory is unreachable
            contacts = ()
        return Answer(
            question_language=language or "en",
            emergency=False,
            answer_found=False,
            search_unavailable=True,
            general_contacts=tuple(contacts),
        )


def answer_language(chosen: str | None, answer: Answer, telegram_code: str | None) -> str:
    """The interface language of a reply: the user's choice, else the engine's."""
    return resolve(chosen, answer.ui_language, telegram_code)


@handled("question")
async def on_question(update: Update, context: Context) -> Outcome:
    """Answer a question with vetted passages and the organizations that can help."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return Outcome("ignored")
    svc = services(context)
    store = svc.store
    started = time.perf_counter()
    text = question_text(message, context.bot.username)
    chosen = await chosen_language(update, context)
    if not text:
        lang = resolve(chosen, user.language_code)
        await reply(update, context, t(lang, "Write your question in words and I will look it up."))
        return Outcome("empty", lang)
    vocabulary = services(context).engine.vocabulary
    topic = topic_or_none((context.user_data or {}).pop("topic", None), vocabulary)
    async with typing(context, message.chat.id):
        answer = await _answer(context, text, chosen, topic)
    lang = answer_language(chosen, answer, user.language_code)
    token = remember_answer(context, answer, first_topic(answer, vocabulary))
    await reply(
        update, context, render_answer(answer, lang), markup=answer_keyboard(lang, token, answer)
    )
    seconds = time.perf_counter() - started
    outcome = _outcome(answer)
    svc.metrics.answers.labels(outcome=outcome).inc()
    svc.metrics.latency.observe(seconds)
    event = functools.partial(
        store.record_event,
        user.id,
        kind=QUESTION_KIND,
        language=answer.question_language,
        topics=answer.topics,
        answer_found=answer.answer_found,
        emergency=answer.emergency,
        latency_ms=seconds * 1000,
    )
    await svc.best_effort("record_event", event, None)
    if svc.settings.keep_unanswered and not answer.answer_found and not answer.search_unavailable:
        keep = functools.partial(
            store.keep_unanswered, text, answer.question_language, user_id=user.id
        )
        await svc.best_effort("keep_unanswered", keep, None)
    return Outcome(outcome, lang, answer.topics)


@handled("emergency")
async def emergency(update: Update, context: Context) -> Outcome:
    """Send the 24/7 contacts and the first safety steps at once."""
    lang = await ui_language(update, context)
    contacts = await asyncio.to_thread(services(context).engine.emergency_contacts, lang)
    await reply(update, context, render_emergency(contacts, lang), markup=situation_keyboard(lang))
    return Outcome("emergency", lang, ("emergency",))


@handled("orgs")
async def organizations(update: Update, context: Context) -> Outcome:
    """Show the directory, or one topic's part of it (`/orgs visas`)."""
    lang = await ui_language(update, context)
    engine = services(context).engine
    args = context.args or []
    vocabulary = engine.vocabulary
    topic = topic_or_none(args[0].lower(), vocabulary) if args else None
    if args and topic is None:
        await reply(
            update,
            context,
            t(
                lang,
                "I do not know this topic. Topics: {topics}.",
                topics=", ".join(vocabulary.ids),
            ),
            markup=topic_keyboard(lang, vocabulary) if is_private(update) else None,
        )
        return Outcome("unknown_topic", lang)
    orgs = await asyncio.to_thread(engine.organizations, topic, lang)
    markup = topic_keyboard(lang, vocabulary) if topic is None and is_private(update) else None
    name = vocabulary.name(topic, lang) if topic else None
    await reply(update, context, render_organizations(orgs, lang, topic=name), markup=markup)
    return Outcome("shown", lang, (topic,) if topic else ())

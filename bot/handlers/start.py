"""First contact: /start, /help, /language, the language buttons and the topic menu."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.handlers.base import Context, Outcome, handled, is_private, services, t, ui_language
from bot.handlers.keyboards import (
    LanguageChoice,
    TopicChoice,
    autodelete_keyboard,
    language_keyboard,
    matched,
    private_chat_button,
    situation_keyboard,
    topic_keyboard,
)
from bot.handlers.send import answer_query, edit_html, reply
from bot.i18n import N_, gettext, language_name
from bot.render import render_emergency, render_organizations


def privacy_notice(lang: str, *, keeps_unanswered: bool) -> str:
    """The privacy notice shown by /start and /privacy (HTML)."""
    lines = [
        "🔒 <b>" + t(lang, "Your privacy") + "</b>",
        "• "
        + t(
            lang,
            "Chats with bots are not end-to-end encrypted: Telegram's servers can read "
            "them. Do not write names, places or other details you must protect.",
        ),
        "• "
        + t(
            lang,
            "I do not store your name, your Telegram ID or your messages in readable "
            "form: a question is kept encrypted only until it is answered, and your "
            "settings are kept under a pseudonym.",
        ),
    ]
    if keeps_unanswered:
        lines.append(
            "• "
            + t(
                lang,
                "Questions I could not answer are kept for up to 30 days, "
                "without contact details, so that staff can improve the sources.",
            )
        )
    lines += [
        "• " + t(lang, "/autodelete: I delete our messages (yours and mine) after 1 or 24 hours."),
        "• " + t(lang, "/forget: I delete what I keep about you and what I can of this chat."),
    ]
    return "\n".join(lines)


def welcome(lang: str) -> str:
    """The greeting: what Waypoint is for and what it does not do (HTML)."""
    return "\n\n".join(
        [
            "👋 <b>" + t(lang, "Welcome to Waypoint.") + "</b>",
            t(
                lang,
                "I help human rights defenders at risk (journalists, lawyers, activists) "
                "find vetted information and the organizations that can protect them.",
            ),
            t(
                lang,
                "Describe your situation in your own words, in any language. I answer with "
                "passages from vetted sources and tell you who can help. I am not a lawyer "
                "and I do not contact anyone for you.",
            ),
        ]
    )


COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Welcome, privacy and topics")),
    ("emergency", N_("24/7 emergency contacts")),
    ("orgs", N_("Organizations that can help (e.g. /orgs visas)")),
    ("language", N_("Choose the language")),
    ("privacy", N_("What I keep and how to delete it")),
    ("autodelete", N_("Delete our messages automatically (off, 1h, 24h)")),
    ("forget", N_("Delete your data and this chat")),
    ("help", N_("This list")),
)


def help_text(lang: str) -> str:
    """The commands, one a line, for /help (HTML)."""
    lines = ["<b>" + t(lang, "What I can do") + "</b>"]
    lines += [f"/{command}: {t(lang, description)}" for command, description in COMMANDS]
    lines.append("")
    lines.append(t(lang, "Or just write your question."))
    return "\n".join(lines)


@handled("start")
async def start(update: Update, context: Context) -> Outcome:
    """Greet, show the privacy notice, the language choice and the topic menu."""
    lang = await ui_language(update, context)
    if not is_private(update):
        text = (
            welcome(lang)
            + "\n\n"
            + t(lang, "To keep your situation private, write to me in a private chat.")
        )
        await reply(update, context, text, markup=private_chat_button(context.bot.username, lang))
        return Outcome("group", lang)
    svc = services(context)
    notice = privacy_notice(lang, keeps_unanswered=svc.settings.keep_unanswered)
    user = update.effective_user
    current = None
    if user is not None:
        user_id = user.id
        current = await svc.best_effort(
            "get_autodelete", lambda: svc.store.get_autodelete(user_id), None
        )
    await reply(
        update,
        context,
        f"{welcome(lang)}\n\n{notice}",
        markup=autodelete_keyboard(lang, current),
    )
    await reply(update, context, t(lang, "Choose your language:"), markup=language_keyboard(lang))
    await reply(
        update,
        context,
        t(lang, "What do you need help with?"),
        markup=topic_keyboard(lang, services(context).engine.vocabulary),
    )
    return Outcome("shown", lang)


@handled("help")
async def show_help(update: Update, context: Context) -> Outcome:
    """List what the bot can do."""
    lang = await ui_language(update, context)
    await reply(update, context, help_text(lang))
    return Outcome("shown", lang)


@handled("language")
async def choose_language(update: Update, context: Context) -> Outcome:
    """Offer the interface languages."""
    lang = await ui_language(update, context)
    await reply(update, context, t(lang, "Choose your language:"), markup=language_keyboard(lang))
    return Outcome("shown", lang)


@handled("language_chosen")
async def language_chosen(update: Update, context: Context) -> Outcome:
    """Remember the tapped language and confirm in it."""
    query, tapped = update.callback_query, matched(LanguageChoice, context)
    if query is None or update.effective_user is None:
        return Outcome("ignored")
    if tapped is None:
        await answer_query(query)
        return Outcome("stale")
    lang = tapped.lang
    await services(context).store.set_language(update.effective_user.id, lang)
    await answer_query(query, language_name(lang))
    await edit_html(
        query,
        t(lang, "Language set: {language}.", language=language_name(lang)),
        markup=language_keyboard(lang),
    )
    await reply(
        update,
        context,
        t(lang, "What do you need help with?"),
        markup=topic_keyboard(lang, services(context).engine.vocabulary),
    )
    return Outcome("language_set", lang)


@handled("topic")
async def topic_chosen(update: Update, context: Context) -> Outcome:
    """Show the tapped topic's organizations and ask the user to describe their situation."""
    query, tapped = update.callback_query, matched(TopicChoice, context)
    if query is None:
        return Outcome("ignored")
    lang = await ui_language(update, context)
    if tapped is None or tapped.topic not in services(context).engine.vocabulary:
        await answer_query(query, gettext(lang, "This button is no longer active."))
        return Outcome("stale", lang)
    await answer_query(query)
    topic = tapped.topic
    engine = services(context).engine
    if topic == "emergency":
        contacts = await asyncio.to_thread(engine.emergency_contacts, lang)
        markup = situation_keyboard(lang)
        await reply(update, context, render_emergency(contacts, lang), markup=markup)
    else:
        orgs = await asyncio.to_thread(engine.organizations, topic, lang)
        name = services(context).engine.vocabulary.name(topic, lang)
        await reply(update, context, render_organizations(orgs, lang, topic=name))
    if context.user_data is not None:
        context.user_data["topic"] = topic
    await reply(
        update,
        context,
        t(
            lang,
            "{topic}: tell me about your situation in your own words. What happened, which "
            "country you are in (the country is enough) and what you need. Leave out names.",
            topic=services(context).engine.vocabulary.name(topic, lang),
        ),
    )
    return Outcome("shown", lang, (topic,))

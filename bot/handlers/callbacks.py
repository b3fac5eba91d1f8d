"""The buttons under an answer: it is happening now, more sources, who can help, helpful /
not helpful.

The data is read with `keyboards.matched`; answers and votes are looked up by token in the
tapping user's own memory (`memory`). Stale data (after a restart the tokens are gone) and
forged data get a short, harmless reply and change nothing.
"""

from __future__ import annotations

import asyncio
import functools

from telegram import Message, Update

from bot.handlers.base import Context, Outcome, handled, services, ui_language
from bot.handlers.keyboards import (
    HappeningNow,
    MoreSources,
    SituationChoice,
    Vote,
    WhoCanHelp,
    matched,
    situation_keyboard,
    without_votes,
)
from bot.handlers.memory import ballot, recall_answer
from bot.handlers.send import answer_query, edit_markup, reply
from bot.i18n import gettext
from bot.render import (
    MAX_REFERRALS,
    render_emergency,
    render_if_urgent,
    render_more_sources,
    render_organizations,
    render_situation,
)


@handled("more_sources")
async def more_sources(update: Update, context: Context) -> Outcome:
    """Show the passages that did not fit in the answer."""
    query, tapped = update.callback_query, matched(MoreSources, context)
    lang = await ui_language(update, context)
    if query is None or tapped is None:
        return Outcome("ignored", lang)
    answer = recall_answer(context, tapped.token)
    if answer is None:
        await answer_query(query, gettext(lang, "This answer has expired. Please ask again."))
        return Outcome("stale", lang)
    await answer_query(query)
    await reply(update, context, render_more_sources(answer, lang))
    return Outcome("shown", lang, answer.topics)


@handled("happening_now")
async def happening_now(update: Update, context: Context) -> Outcome:
    """The person says it is happening now: the 24/7 lines and the steps for the situation."""
    query, tapped = update.callback_query, matched(HappeningNow, context)
    lang = await ui_language(update, context)
    if query is None or tapped is None:
        return Outcome("ignored", lang)
    await answer_query(query)
    contacts = await asyncio.to_thread(services(context).engine.emergency_contacts, lang)
    answer = recall_answer(context, tapped.token)
    if answer is None:  # forgotten: never "expired" for an emergency, the general steps instead
        markup = situation_keyboard(lang)
        await reply(update, context, render_emergency(contacts, lang), markup=markup)
    else:
        await reply(update, context, render_if_urgent(answer, contacts, lang))
    return Outcome("emergency", lang, ("emergency",))


@handled("situation")
async def situation_chosen(update: Update, context: Context) -> Outcome:
    """The person says what is happening: the 24/7 lines and the steps for that situation."""
    query, tapped = update.callback_query, matched(SituationChoice, context)
    lang = await ui_language(update, context)
    if query is None or tapped is None:
        return Outcome("ignored", lang)
    await answer_query(query)
    engine = services(context).engine
    contacts = await asyncio.to_thread(engine.emergency_contacts, lang)
    steps = await asyncio.to_thread(engine.situation_protocol, tapped.situation, lang)
    await reply(update, context, render_situation(steps, contacts, lang))
    return Outcome("emergency", lang, ("emergency",))


@handled("who_can_help")
async def who_can_help(update: Update, context: Context) -> Outcome:
    """Show the organizations for the answer (or for its topic once the answer is gone)."""
    query, tapped = update.callback_query, matched(WhoCanHelp, context)
    lang = await ui_language(update, context)
    if query is None or tapped is None:
        return Outcome("ignored", lang)
    await answer_query(query)
    answer = recall_answer(context, tapped.token)
    topic = tapped.topic
    referrals = list(answer.referrals or answer.general_contacts) if answer else []
    if len(referrals) < MAX_REFERRALS:
        more = await asyncio.to_thread(services(context).engine.organizations, topic, lang)
        known = {r.id for r in referrals}
        referrals += [r for r in more if r.id not in known]
    vocabulary = services(context).engine.vocabulary
    name = vocabulary.name(topic, lang) if topic and topic in vocabulary else None
    await reply(update, context, render_organizations(referrals, lang, topic=name))
    return Outcome("shown", lang, (topic,) if topic else ())


@handled("feedback")
async def feedback(update: Update, context: Context) -> Outcome:
    """Count a helpful / not helpful vote on an answer this user received, once."""
    query, tapped = update.callback_query, matched(Vote, context)
    lang = await ui_language(update, context)
    if query is None or tapped is None or update.effective_user is None:
        return Outcome("ignored", lang)
    slot = ballot(context, tapped.token)
    if slot is None:  # never issued to this user, or long forgotten
        await answer_query(query, gettext(lang, "This button is no longer active."))
        return Outcome("stale", lang)
    thanks = gettext(lang, "Thank you, your vote is counted.")
    if slot.voted:
        await answer_query(query, thanks)
        return Outcome("duplicate", lang)
    slot.voted = True
    svc = services(context)
    user_id = update.effective_user.id
    vote = functools.partial(
        svc.store.record_feedback, user_id, helpful=tapped.helpful, topic=slot.topic
    )
    await svc.best_effort("record_feedback", vote, None)
    await answer_query(query, thanks)
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        # If the message is gone or too old, the vote is recorded anyway.
        await edit_markup(query, without_votes(query.message.reply_markup))
    topics = (slot.topic,) if slot.topic else ()
    return Outcome("helpful" if tapped.helpful else "not_helpful", lang, topics)


@handled("stale_button")
async def stale_button(update: Update, context: Context) -> Outcome:
    """Answer any button we do not (or no longer) know."""
    query = update.callback_query
    lang = await ui_language(update, context)
    if query is not None:
        await answer_query(query, gettext(lang, "This button is no longer active."))
    return Outcome("stale", lang)

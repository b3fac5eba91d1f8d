"""The buttons under an answer: more sources, who can help, helpful / not helpful.

Callback data is never trusted: it is parsed strictly, topics are checked against the
vocabulary, answers are looked up by a short token in memory. Forged or stale data (after a
restart the tokens are gone) gets a short, harmless reply.
"""

from __future__ import annotations

import asyncio
import functools
import re
from contextlib import suppress

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, TimedOut

from bot.handlers.common import (
    Context,
    Outcome,
    answer_query,
    handled,
    recall_answer,
    reply,
    services,
    topic_or_none,
    ui_language,
)
from bot.i18n import gettext
from bot.render import MAX_REFERRALS, render_more_sources, render_organizations

MAX_VOTES_KEPT = 50  # answers whose vote is remembered (in memory) against double counting
MORE = re.compile(r"^more:([A-Za-z0-9_-]{1,16})$")
ORGS = re.compile(r"^orgs:([A-Za-z0-9_-]{1,16}):([a-z-]{1,24})$")
FEEDBACK = re.compile(r"^fb:([01]):([A-Za-z0-9_-]{1,16}):([a-z-]{1,24})$")


@handled("more_sources")
async def more_sources(update: Update, context: Context) -> Outcome:
    """Show the passages that did not fit in the answer."""
    query = update.callback_query
    match = MORE.match(query.data or "") if query else None
    lang = await ui_language(update, context)
    if query is None or match is None:
        return Outcome("ignored", lang)
    answer = recall_answer(context, match.group(1))
    if answer is None:
        await answer_query(query, gettext(lang, "This answer has expired. Please ask again."))
        return Outcome("stale", lang)
    await answer_query(query)
    await reply(update, context, render_more_sources(answer, lang))
    return Outcome("shown", lang, answer.topics)


@handled("who_can_help")
async def who_can_help(update: Update, context: Context) -> Outcome:
    """Show the organizations for the answer (or for its topic once the answer is gone)."""
    query = update.callback_query
    match = ORGS.match(query.data or "") if query else None
    lang = await ui_language(update, context)
    if query is None or match is None:
        return Outcome("ignored", lang)
    await answer_query(query)
    answer = recall_answer(context, match.group(1))
    topic = topic_or_none(match.group(2))
    referrals = list(answer.referrals or answer.general_contacts) if answer else []
    if len(referrals) < MAX_REFERRALS:
        more = await asyncio.to_thread(services(context).engine.organizations, topic, lang)
        known = {r.id for r in referrals}
        referrals += [r for r in more if r.id not in known]
    await reply(update, context, render_organizations(referrals, lang, topic=topic))
    return Outcome("shown", lang, (topic,) if topic else ())


@handled("feedback")
async def feedback(update: Update, context: Context) -> Outcome:
    """Record a helpful / not helpful vote once and take the vote buttons away."""
    query = update.callback_query
    match = FEEDBACK.match(query.data or "") if query else None
    lang = await ui_language(update, context)
    if query is None or match is None or update.effective_user is None:
        return Outcome("ignored", lang)
    helpful, token, topic = match.group(1) == "1", match.group(2), topic_or_none(match.group(3))
    votes: list[str] = (context.user_data or {}).setdefault("voted", [])
    if token in votes:
        await answer_query(query, gettext(lang, "Thank you, your vote is counted."))
        return Outcome("duplicate", lang)
    votes.append(token)
    del votes[:-MAX_VOTES_KEPT]
    svc = services(context)
    vote = functools.partial(
        svc.store.record_feedback, update.effective_user.id, helpful=helpful, topic=topic
    )
    await svc.best_effort("record_feedback", vote, None)
    await answer_query(query, gettext(lang, "Thank you, your vote is counted."))
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    await _drop_vote_row(markup, update, context)
    return Outcome("helpful" if helpful else "not_helpful", lang, (topic,) if topic else ())


async def _drop_vote_row(
    markup: InlineKeyboardMarkup | None, update: Update, context: Context
) -> None:
    query = update.callback_query
    if markup is None or query is None:
        return
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(str(b.callback_data or "").startswith("fb:") for b in row)
    ]
    # If the message is gone or too old, the vote is recorded anyway.
    with suppress(BadRequest, Forbidden, TimedOut):
        await query.edit_message_reply_markup(InlineKeyboardMarkup(rows) if rows else None)


@handled("stale_button")
async def stale_button(update: Update, context: Context) -> Outcome:
    """Answer any button we do not (or no longer) know."""
    query = update.callback_query
    lang = await ui_language(update, context)
    if query is not None:
        await answer_query(query, gettext(lang, "This button is no longer active."))
    return Outcome("stale", lang)

"""Answers kept in memory for the buttons under them, per user (`user_data`), never on disk.

Each answer gets a short random token that its buttons carry. The last `ANSWER_CACHE` answers
are kept whole (for "More sources" and "Who can help"); the last `VOTES_KEPT` tokens can each
take one vote. A vote counts only for a token issued to the user who votes, once: forged,
replayed or other people's tokens change nothing.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.engine.types import Answer
from bot.handlers.base import Context

ANSWER_CACHE = 8  # recent answers kept per user for "More sources"
VOTES_KEPT = 50  # recent answers per user that can still take a vote


@dataclass
class Ballot:
    """The vote an issued answer can take."""

    topic: str | None
    voted: bool = False


def _kept(context: Context, key: str) -> OrderedDict[str, Any]:
    user_data = context.user_data
    if user_data is None:
        return OrderedDict()
    kept = user_data.get(key)
    if not isinstance(kept, OrderedDict):
        kept = OrderedDict()
        user_data[key] = kept
    return kept


def remember_answer(context: Context, answer: Answer, topic: str | None) -> str:
    """Keep the answer for its buttons; return its token."""
    token = secrets.token_urlsafe(6)
    answers = _kept(context, "answers")
    answers[token] = answer
    while len(answers) > ANSWER_CACHE:
        answers.popitem(last=False)
    ballots = _kept(context, "ballots")
    ballots[token] = Ballot(topic)
    while len(ballots) > VOTES_KEPT:
        ballots.popitem(last=False)
    return token


def recall_answer(context: Context, token: str) -> Answer | None:
    """The answer issued to this user under `token`, if still kept."""
    found = _kept(context, "answers").get(token)
    return found if isinstance(found, Answer) else None


def ballot(context: Context, token: str) -> Ballot | None:
    """The vote slot of an answer issued to this user (None if never issued or forgotten)."""
    found = _kept(context, "ballots").get(token)
    return found if isinstance(found, Ballot) else None

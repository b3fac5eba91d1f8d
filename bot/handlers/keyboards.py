"""Inline keyboards, and the callback data under their buttons: each kind of data is defined
once, by a small frozen class with its pattern, its parser and its builder side by side.

Handlers are registered with the kind's compiled `pattern` (PTB puts the match in
`context.matches`) and read it with `matched(Kind, context)`, which returns None for data that
matches the shape but not the vocabulary (an unknown topic, say). Callback data is never
trusted beyond that: answers are found by token in the user's own memory, topics are checked
against the vocabulary, and every string fits Telegram's 64 bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Self, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.engine.types import Answer
from bot.handlers.base import Context
from bot.i18n import LANGUAGES, N_, gettext, language_name, supported
from ingest.metadata import Vocabulary
from ingest.schema import SITUATIONS

MAX_DATA_BYTES = 64
TOKEN = r"([A-Za-z0-9_-]{1,16})"
TOPIC = r"([a-z0-9-]{1,24})"
NO_TOPIC = "-"
AUTODELETE_CHOICES: dict[str, int | None] = {"off": None, "1h": 3600, "24h": 86400}


def topic_or_none(value: str | None, vocabulary: Vocabulary | None = None) -> str | None:
    """`value` if it is a topic id (of `vocabulary`, when given), else None."""
    if not value or value == NO_TOPIC or not re.fullmatch(TOPIC, value):
        return None
    return value if vocabulary is None or value in vocabulary else None


def first_topic(answer: Answer, vocabulary: Vocabulary | None = None) -> str | None:
    """The answer's main topic, if it is one of the vocabulary."""
    return topic_or_none(answer.topics[0], vocabulary) if answer.topics else None


class CallbackData:
    """One kind of button data: `pattern` recognises it, `parse` reads it, `data` writes it."""

    pattern: ClassVar[re.Pattern[str]]

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The value in a pattern match; None if it is not a valid one."""
        raise NotImplementedError

    def data(self) -> str:
        """The callback data string (≤ 64 bytes)."""
        raise NotImplementedError

    def button(self, text: str) -> InlineKeyboardButton:
        """A button labelled `text` that sends this data."""
        data = self.data()
        assert len(data.encode()) <= MAX_DATA_BYTES, data
        return InlineKeyboardButton(text, callback_data=data)


K = TypeVar("K", bound=CallbackData)


def matched(kind: type[K], context: Context) -> K | None:
    """The `kind` value of the button that was tapped (None if not one of them)."""
    matches = context.matches
    return kind.parse(matches[0]) if matches else None


@dataclass(frozen=True)
class LanguageChoice(CallbackData):
    """An interface language, from the /language menu."""

    lang: str
    pattern = re.compile(r"^lang:([a-z]{2,3})$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The code, if it is a supported language."""
        code = match.group(1)
        return cls(code) if supported(code) == code else None

    def data(self) -> str:
        """`lang:<code>`."""
        return f"lang:{self.lang}"


@dataclass(frozen=True)
class TopicChoice(CallbackData):
    """A topic from the topic menu."""

    topic: str
    pattern = re.compile(rf"^topic:{TOPIC}$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The topic, if it has a topic id's shape (the handler checks the vocabulary)."""
        topic = topic_or_none(match.group(1))
        return cls(topic) if topic else None

    def data(self) -> str:
        """`topic:<id>`."""
        return f"topic:{self.topic}"


@dataclass(frozen=True)
class AutoDeleteChoice(CallbackData):
    """How long our messages stay before they are deleted (None: they stay)."""

    seconds: int | None
    pattern = re.compile(r"^ad:(\d{1,6})$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """One of the offered delays; 0 turns auto-delete off."""
        seconds = int(match.group(1)) or None
        return cls(seconds) if seconds in AUTODELETE_CHOICES.values() else None

    def data(self) -> str:
        """`ad:<seconds>`, 0 for off."""
        return f"ad:{self.seconds or 0}"


@dataclass(frozen=True)
class ForgetChoice(CallbackData):
    """The answer to /forget's question: delete everything, or cancel."""

    confirmed: bool
    pattern = re.compile(r"^forget:(yes|no)$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """Confirmed on `yes`, cancelled on `no`."""
        return cls(match.group(1) == "yes")

    def data(self) -> str:
        """`forget:yes` or `forget:no`."""
        return "forget:yes" if self.confirmed else "forget:no"


@dataclass(frozen=True)
class HappeningNow(CallbackData):
    """The follow-up under a calm answer: "this is happening to me now"."""

    token: str
    pattern = re.compile(rf"^now:{TOKEN}$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The token, looked up later in the user's own memory."""
        return cls(match.group(1))

    def data(self) -> str:
        """`now:<token>`."""
        return f"now:{self.token}"


@dataclass(frozen=True)
class SituationChoice(CallbackData):
    """What is happening, chosen by the person when the message did not say it clearly: the
    steps for that situation follow."""

    situation: str
    pattern = re.compile(rf"^sit:({'|'.join(SITUATIONS)})$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The situation (the pattern admits only known ones)."""
        return cls(match.group(1))

    def data(self) -> str:
        """`sit:<situation>`."""
        return f"sit:{self.situation}"


# The situation buttons: an emoji and a label each.
SITUATION_LABELS = {
    "raid": ("🚪", N_("A search or raid now")),
    "detention": ("🚔", N_("Someone was detained or taken")),
    "device": ("📱", N_("Phone or accounts seized or hacked")),
    "border": ("🛂", N_("Stopped at a border or airport")),
    "threat": ("👁", N_("Followed or threatened")),
}


@dataclass(frozen=True)
class MoreSources(CallbackData):
    """More sources for the answer remembered under `token`."""

    token: str
    pattern = re.compile(rf"^more:{TOKEN}$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The token, looked up later in the user's own memory."""
        return cls(match.group(1))

    def data(self) -> str:
        """`more:<token>`."""
        return f"more:{self.token}"


@dataclass(frozen=True)
class WhoCanHelp(CallbackData):
    """The topic rides along so the button still works once the answer is forgotten."""

    token: str
    topic: str | None
    pattern = re.compile(rf"^orgs:{TOKEN}:{TOPIC}$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The token, and the topic if it has a topic id's shape."""
        return cls(match.group(1), topic_or_none(match.group(2)))

    def data(self) -> str:
        """`orgs:<token>:<topic>`, with `-` for no topic."""
        return f"orgs:{self.token}:{self.topic or NO_TOPIC}"


@dataclass(frozen=True)
class Vote(CallbackData):
    """Helpful / not helpful; counted only for a token issued to the voter (see `memory`)."""

    helpful: bool
    token: str
    pattern = re.compile(rf"^fb:([01]):{TOKEN}$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The vote and the answer's token."""
        return cls(match.group(1) == "1", match.group(2))

    def data(self) -> str:
        """`fb:1:<token>` (helpful) or `fb:0:<token>`."""
        return f"fb:{int(self.helpful)}:{self.token}"


@dataclass(frozen=True)
class Review(CallbackData):
    """An admin approves or rejects an upload waiting in the review queue."""

    approve: bool
    upload_id: str
    pattern = re.compile(r"^up:(ok|no):([A-Za-z0-9_-]{8,24})$")

    @classmethod
    def parse(cls, match: re.Match[str]) -> Self | None:
        """The decision and the upload's id."""
        return cls(match.group(1) == "ok", match.group(2))

    def data(self) -> str:
        """`up:ok:<id>` or `up:no:<id>`."""
        return f"up:{'ok' if self.approve else 'no'}:{self.upload_id}"


# -- keyboards ---------------------------------------------------------------------------------


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """The interface languages, the current one ticked."""
    buttons = [
        LanguageChoice(code).button(("✓ " if code == current else "") + language_name(code))
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:]])


def topic_keyboard(lang: str, vocabulary: Vocabulary) -> InlineKeyboardMarkup:
    """One button per topic of the vocabulary; emergencies first, on a row of their own."""
    rows = []
    if "emergency" in vocabulary:
        rows.append(
            [TopicChoice("emergency").button("🚨 " + vocabulary.name("emergency", lang))]
        )
    others = [
        TopicChoice(topic).button(vocabulary.name(topic, lang))
        for topic in vocabulary.ids
        if topic != "emergency"
    ]
    rows += [others[i : i + 2] for i in range(0, len(others), 2)]
    return InlineKeyboardMarkup(rows)


def autodelete_keyboard(lang: str, current: int | None) -> InlineKeyboardMarkup:
    """Keep messages, or delete them after 1 or 24 hours; the current choice ticked."""
    labels = {
        "off": gettext(lang, "Keep messages"),
        "1h": gettext(lang, "Delete after 1 hour"),
        "24h": gettext(lang, "Delete after 24 hours"),
    }
    buttons = [
        AutoDeleteChoice(seconds).button(("✓ " if seconds == current else "") + labels[key])
        for key, seconds in AUTODELETE_CHOICES.items()
    ]
    return InlineKeyboardMarkup([[b] for b in buttons])


def forget_keyboard(lang: str) -> InlineKeyboardMarkup:
    """Confirm or cancel /forget."""
    return InlineKeyboardMarkup(
        [
            [ForgetChoice(True).button(gettext(lang, "Yes, delete everything"))],
            [ForgetChoice(False).button(gettext(lang, "Cancel"))],
        ]
    )


def answer_keyboard(lang: str, token: str, answer: Answer) -> InlineKeyboardMarkup:
    """Under an answer: "it is happening now" (calm answers), more sources (if it has some),
    who can help, and the two votes."""
    topic = first_topic(answer)
    first_row = []
    if answer.answer_found and answer.passages:
        first_row.append(MoreSources(token).button("📚 " + gettext(lang, "More sources")))
    first_row.append(WhoCanHelp(token, topic).button("🤝 " + gettext(lang, "Who can help")))
    votes = [
        Vote(True, token).button("👍 " + gettext(lang, "Helpful")),
        Vote(False, token).button("👎 " + gettext(lang, "Not helpful")),
    ]
    rows = [first_row, votes]
    if answer.answer_found and not answer.emergency:  # triage can miss: one tap to the 24/7 lines
        rows.insert(0, [HappeningNow(token).button("🚨 " + gettext(lang, "It is happening now"))])
    if answer.emergency and (answer.guidance is None or answer.guidance.kind != "protocol"):
        rows[:0] = situation_rows(lang)  # the situation was unclear: one tap to its steps
    return InlineKeyboardMarkup(rows)


def situation_rows(lang: str) -> list[list[InlineKeyboardButton]]:
    """One button per emergency situation, each on its own row (the labels are long)."""
    return [
        [SituationChoice(situation).button(f"{emoji} {gettext(lang, label)}")]
        for situation, (emoji, label) in SITUATION_LABELS.items()
    ]


def situation_keyboard(lang: str) -> InlineKeyboardMarkup:
    """The situation buttons alone (under the general first steps)."""
    return InlineKeyboardMarkup(situation_rows(lang))


def without_votes(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup | None:
    """The same keyboard without its vote buttons (None if nothing is left)."""
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(Vote.pattern.match(str(b.callback_data or "")) for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def review_keyboard(lang: str, upload_id: str) -> InlineKeyboardMarkup:
    """Approve or reject an upload waiting for review."""
    return InlineKeyboardMarkup(
        [
            [
                Review(True, upload_id).button("✅ " + gettext(lang, "Approve")),
                Review(False, upload_id).button("✖ " + gettext(lang, "Reject")),
            ]
        ]
    )


def private_chat_button(username: str | None, lang: str) -> InlineKeyboardMarkup | None:
    """A link to a private chat with the bot (None if its username is unknown)."""
    if not username:
        return None
    button = InlineKeyboardButton(
        gettext(lang, "Open a private chat"), url=f"https://t.me/{username}"
    )
    return InlineKeyboardMarkup([[button]])

"""Reading a message before anything is searched: its language and script, whether it
describes danger now, whether it is ours to answer at all, which topics and which emergency
situation it is about.

The readers learn from the knowledge itself (the units' questions, the protocols' examples)
and from the example files next to their modules; `MessageReader.learn` (re)fits them when
the index is (re)loaded, `MessageReader.read` reads one message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.engine.guard import looks_like_injection
from bot.engine.language import detect_language, encoders_can_read, native_script, ui_language
from bot.engine.scope import Scope, ScopeResult
from bot.engine.situations import Situations
from bot.engine.topics import TopicModel
from bot.engine.triage import Triage
from bot.engine.units import UnitBook, clear_lead
from ingest.encoders import Encoder
from ingest.metadata import Vocabulary

# A message the scope model is this sure is everyday (or a request to find someone) is not an
# emergency unless danger words say so: the development sets' emergencies stay under 0.6.
SCOPE_OVER_TRIAGE = 0.8
# Encoders the situation and scope models were calibrated on; with any other reader (e.g.
# WAYPOINT_EMBEDDINGS=use) their thresholds mean nothing and the nearest neighbours decide.
CALIBRATED = ("e5",)
# An answer unit that names a situation (`situation:` in its front matter) answers that
# situation's everyday form: a message read as that situation by meaning alone (no danger
# words), whose questions are closer to this unit's than to any other unit's by this much, is
# that unit's question, not an emergency ("my Instagram was taken over and they message my
# followers" asks how to recover an account, not what to do after a phone was seized).
# 0.01: over all 1,567 questions of the eval sets, every message this rule could reach with the
# account unit closest by 0.01-0.02 was a taken-over account without danger now (three), and
# the one labelled emergency it could reach (a phone kept by the police an hour ago) leads by 0.
CALM_SIDE_MARGIN = 0.01
# A message whose closest answer unit leads the next by this much asks that unit's question:
# it is ours even where the scope model reads it as everyday ("customs kept my laptop
# overnight, what now" sits near everyday questions about laptops and customs). Everyday look-
# alikes sit between units: over the tuning sets' 266 out-of-scope questions the closest unit
# led by at most 0.027.
ASKS_UNIT_MARGIN = 0.03


@dataclass(frozen=True)
class Words:
    """A message as text, before any encoder has read it."""

    question: str  # as written, cleaned and cut to one Telegram message
    language: str  # the message's language
    ui: str  # the interface language to reply in
    native: str  # the message in its language's own script (what the encoders read)
    text: str  # the message and, if different, its native-script form (what the cues read)


@dataclass(frozen=True)
class Reading:
    """What the engine understood of one message before searching."""

    words: Words
    emergency: bool  # danger now
    injection: bool  # an attempt to steer the bot (or an empty message)
    named: tuple[str, ...]  # organizations of the directory the message names
    anchored: bool  # it names an organization or one of our topics' keywords
    scope: ScopeResult | None
    topic_scores: list[tuple[str, float]]
    calm_unit: str | None = None  # the answer unit that serves a look-alike of an emergency
    asks_unit: str | None = None  # the unit whose question the message clearly asks

    @property
    def locate(self) -> bool:
        """A request to find or identify a person (naming one of our organizations is fine)."""
        return (
            self.scope is not None
            and self.scope.locate_person
            and not self.emergency
            and not self.named
        )

    @property
    def outside(self) -> bool:
        """An everyday question, not ours (naming one of our organizations makes it ours)."""
        return (
            self.scope is not None
            and self.scope.out_of_scope
            and not self.named
            and self.asks_unit is None
        )


def words_of(question: str, language: str | None = None) -> Words:
    """The message cleaned, its language, and the script the encoders and cues read it in;
    `language` is the interface language the person chose (None: follow the message)."""
    question = question.replace("\x00", " ").strip()[:4096]
    lang = detect_language(question)
    # Russian typed in Latin letters is read back in Cyrillic.
    native = native_script(question, lang)
    text = question if native == question else f"{question}\n{native}"
    return Words(question, lang, ui_language(language or lang), native, text)


class MessageReader:
    """The models that read a message: topics, emergency triage, scope and situations.

    `primary` is the multilingual encoder the index is searched with; `reader` names the
    encoder the linear models read (e5 where it is loaded: it knows more languages); `embed`
    embeds example texts with it, remembering vectors so refitting is cheap."""

    def __init__(
        self,
        primary: Encoder,
        vocabulary: Vocabulary,
        reader: str,
        embed: Callable[[list[str]], np.ndarray],
    ) -> None:
        self.primary = primary
        self.reader = reader
        self.embed = embed
        self.topic_model = TopicModel(primary, vocabulary.topics)
        self.triage = Triage(primary)
        self.situations = Situations()
        self.scope: Scope | None = None
        self.units = UnitBook(())
        self._taught = False

    @property
    def calibrated(self) -> bool:
        """Whether the linear models' thresholds were chosen for this reader."""
        return self.reader in CALIBRATED

    def learn(self, units: UnitBook) -> None:
        """Fit the readers to the knowledge's units (triage learns once, the rest each time
        the index is loaded)."""
        embed, first = self.embed, not self._taught
        self.units = units
        if first:  # teach triage once from the knowledge's own questions
            self.triage.learn(units.questions_of("protocol"), units.calm_questions())
        if self.calibrated:
            self.situations.fit(self.reader, embed, units.situation_examples())
        # What we answer: the units' questions, the topics, and every triage example (so that
        # a small knowledge folder, with few units, does not make everyday questions look
        # closer).
        in_scope = units.questions() + self.topic_model.descriptions() + self.triage.examples()
        scope = Scope(self.primary, in_scope)
        if self.calibrated:
            scope.fit_linear(self.reader, embed)
        self.scope = scope
        if first:
            self.triage.fit_linear(self.reader, embed, scope.outside, self.situations.examples())
            self._taught = True

    def read(
        self,
        words: Words,
        vectors: dict[str, np.ndarray],
        primary: str,
        named: Sequence[str] = (),
    ) -> Reading:
        """Read one message from its words and its query vectors (`primary` names the
        index's encoder); `named` are the directory's organizations the message names."""
        text, qvec = words.text, vectors[primary]
        readable = encoders_can_read(words.question)
        triage = self.triage.assess(text, qvec, words_only=not readable, vectors=vectors)
        emergency = bool(words.question) and triage.emergency
        injection = not words.question or looks_like_injection(words.question)
        if injection:  # an attempt to steer the bot is not danger, whatever it says
            return Reading(words, False, True, tuple(named), False, None, [])
        # It names what we cover: an organization, or a topic's keyword ("help" and "urgent",
        # keywords of the emergency topic, say nothing of what is asked: triage reads danger).
        anchored = bool(named) or any(t != "emergency" for t in self.topic_model.named(text))
        scope = (
            self.scope.assess(text, qvec, vectors=vectors, anchored=anchored)
            if self.scope is not None
            else None
        )
        if (
            emergency
            and readable
            and not triage.lexical
            and scope is not None
            and (scope.refuse or 0.0) > SCOPE_OVER_TRIAGE
        ):  # clearly an everyday question or a request to find someone, not danger now
            emergency = False
        intent = (
            self.units.intent_scores(vectors[self.reader])
            if self.calibrated and self.reader in vectors
            else {}
        )
        calm_unit = None
        if emergency and readable and not triage.lexical and intent:
            situation = self.situations.classify(vectors)
            calm_unit = calm_side(self.units, situation, intent) if situation else None
            emergency = calm_unit is None
        topic_scores = self.topic_model.score(text, qvec, vectors if readable else None)
        asks_unit = clear_lead(intent, ASKS_UNIT_MARGIN) if readable else None
        return Reading(
            words,
            emergency,
            False,
            tuple(named),
            anchored,
            scope,
            topic_scores,
            calm_unit,
            asks_unit,
        )


def calm_side(units: UnitBook, situation: str, intent: dict[str, float]) -> str | None:
    """The answer unit written for the everyday form of `situation`, when the message clearly
    asks that unit's question (`intent`: closeness to each unit's questions; see
    CALM_SIDE_MARGIN); None when no such unit is clearly asked."""
    group = clear_lead(intent, CALM_SIDE_MARGIN)
    return group if group is not None and situation in units.calm_sides(group) else None

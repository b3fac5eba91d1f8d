"""A deterministic answer engine for tests of the Telegram layer (no model, no index).

What it answers depends on words in the question:
  "danger", "arrested", "detained"  -> an emergency answer with the 24/7 contacts
  "long"                            -> many long passages (the answer needs splitting)
  "nothing"                         -> nothing found, general contacts
  "unavailable"                     -> search unavailable
  "crash"                           -> the engine raises
  "slow"                            -> blocks until `release()` (for shutdown/inbox tests)
  "sleepy"                          -> takes a second (for tests in another process)
  anything else                     -> a found answer about red notices
With `echo = True` the question is quoted inside a passage (to test escaping of hostile text).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bot.engine.types import Answer, Guidance, Passage, Referral
from ingest.metadata import Vocabulary
from ingest.schema import IngestSummary

SHIPPED_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"

HOTLINE = Referral(
    id="front-line-defenders",
    name="Front Line Defenders",
    url="https://www.frontlinedefenders.org/emergency-contact",
    offer="24-hour emergency line for defenders at immediate risk",
    contacts=(("phone", "+353 1 21 00 489"), ("email", "info@frontlinedefenders.org")),
    emergency_line=True,
)
# The protocol a calm red-notice answer offers behind "it is happening now".
BORDER_PROTOCOL = Guidance(
    text="Stopped at a border on a red notice.",
    language="en",
    title="At the border",
    source_url="https://example.org/border",
    doc_id="units/protocol-border.md",
    kind="protocol",
    steps=("Ask which country issued the notice.", "Call a lawyer."),
    situation="border",
)
CCF = Referral(
    id="interpol-ccf",
    name="Commission for the Control of INTERPOL's Files",
    url="https://www.interpol.int/ccf",
    offer="Deletion of red notices that break INTERPOL's rules",
    contacts=(("form", "https://www.interpol.int/ccf/portal"),),
    check_note="check on their site",
)
FAIR_TRIALS = Referral(
    id="fair-trials",
    name="Fair Trials <Europe> & Co",
    url="https://www.fairtrials.org",
    offer="Legal help with abusive INTERPOL notices",
    contacts=(("email", "office@fairtrials.net"), ("signal", "+44 20 0000 0000")),
)
DIRECTORY = {
    "red-notices": [CCF, FAIR_TRIALS],
    "emergency": [HOTLINE],
    "grants": [HOTLINE],
    "legal-aid": [FAIR_TRIALS],
}


def passage(n: int, text: str, *, language: str = "en") -> Passage:
    return Passage(
        doc_id=f"guides/red-notices-{n}.md",
        title=f"Red notices guide, part {n}",
        url=f"https://example.org/red-notices/{n}?a=1&b=2",
        topics=("red-notices",),
        score=1.0 / n,
        text=text,
        language=language,
    )


class FakeEngine:
    """Follows `bot.engine.AnswerEngine`; records every question it was asked."""

    def __init__(self, knowledge_dir: Path | None = None, *, size: int = 42) -> None:
        self.knowledge_dir = knowledge_dir
        self.vocabulary = Vocabulary.from_dir(SHIPPED_KNOWLEDGE)
        self.size = size
        self.echo = False
        self.questions: list[tuple[str, str | None, str | None]] = []
        self.reindexed = 0
        self.reindex_delay = threading.Event()
        self.reindex_delay.set()
        self._gate = threading.Event()
        self.started = threading.Event()

    # -- controls for tests ---------------------------------------------------------------

    def hold(self) -> None:
        """Make "slow" questions block until release()."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    # -- the protocol ------------------------------------------------------------------------

    def detect_language(self, text: str) -> str:
        if any("\u0400" <= ch <= "\u04ff" for ch in text):
            return "ru"
        if any("\u0600" <= ch <= "\u06ff" for ch in text):
            return "ar"
        if any(ch in "ñ¿¡" for ch in text):
            return "es"
        return "en"

    def answer(
        self, question: str, *, language: str | None = None, topic: str | None = None
    ) -> Answer:
        self.questions.append((question, language, topic))
        lang = self.detect_language(question)
        low = question.lower()
        if "slow" in low:
            self.started.set()
            self._gate.wait(timeout=30)
        if "sleepy" in low:
            time.sleep(1.0)
        if "crash" in low:
            raise RuntimeError(f"engine exploded on {question!r}")
        if "unavailable" in low:
            return Answer(
                question_language=lang,
                emergency=False,
                answer_found=False,
                search_unavailable=True,
                general_contacts=(HOTLINE,),
            )
        if any(word in low for word in ("danger", "arrested", "detained", "задержан")):
            return Answer(
                question_language=lang,
                emergency=True,
                answer_found=True,
                topics=("emergency",),
                passages=(passage(1, "Call the 24/7 line and tell them what happened."),),
                referrals=(HOTLINE,),
                emergency_contacts=(HOTLINE,),
            )
        if "nothing" in low:
            return Answer(
                question_language=lang,
                emergency=False,
                answer_found=False,
                general_contacts=(HOTLINE, FAIR_TRIALS),
            )
        if "long" in low:
            para = (
                "A red notice is a request to law enforcement worldwide to locate and "
                "provisionally arrest a person pending extradition. "
            ) * 12
            texts = [f"{para}\n\n{para}" for _ in range(9)]
            passages = tuple(passage(n, text) for n, text in enumerate(texts, 1))
            return Answer(
                question_language=lang,
                emergency=False,
                answer_found=True,
                topics=("red-notices",),
                passages=passages,
                referrals=(CCF, FAIR_TRIALS),
                synthesized="In short: challenge it at the CCF [1] and get a lawyer [2].",
            )
        first = "A red notice is not an arrest warrant. The CCF deletes notices that break rules."
        if self.echo:
            first = f"You asked: {question}"
        passages = (
            passage(1, first),
            passage(2, "Requests go through the CCF's online portal.", language="fr"),
            passage(3, "Article 3 forbids notices of a political character."),
            passage(4, "The CCF decides within nine months."),
        )
        return Answer(
            question_language=lang,
            emergency=False,
            answer_found=True,
            topics=("red-notices",),
            passages=passages,
            referrals=(CCF, FAIR_TRIALS),
            if_urgent=BORDER_PROTOCOL,
        )

    def organizations(self, topic: str | None = None, language: str = "en") -> list[Referral]:
        if topic is None:
            return [HOTLINE, CCF, FAIR_TRIALS]
        return list(DIRECTORY.get(topic, []))

    def emergency_contacts(self, language: str = "en") -> tuple[Referral, ...]:
        return (HOTLINE,)

    def situation_protocol(self, situation: str, language: str = "en") -> Guidance | None:
        return BORDER_PROTOCOL if situation == "border" else None

    def reindex(self) -> IngestSummary:
        self.reindex_delay.wait(timeout=30)
        self.reindexed += 1
        errors = []
        if self.knowledge_dir is not None:
            for path in sorted((self.knowledge_dir / "uploads").glob("*")):
                if path.name.endswith(".meta.yaml") or path.name.startswith("."):
                    continue
                if b"BROKEN" in path.read_bytes():
                    reason = "not UTF-8 text (byte 0)"
                    errors.append({"file": f"uploads/{path.name}", "reason": reason})
        return IngestSummary(
            added=1,
            updated=0,
            unchanged=20,
            removed=0,
            failed=len(errors),
            errors=errors,
            chunks_embedded=3,
            chunks_total=self.size,
            seconds=0.2,
        )

    def index_size(self) -> int:
        return self.size

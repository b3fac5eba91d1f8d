"""Organizations that fit a question: what the question names, what the retrieved documents
link to, the detected topics, and the user's language and region. Never a closed one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from bot.engine.retrieve import Candidate
from bot.engine.text import phrase_in, tokens
from bot.engine.types import Referral
from ingest.metadata import Organization

EMERGENCY_LINE_BONUS = 0.3
DIRECT_BONUS = 0.1
FOCUS_MARGIN = 0.15  # organizations must share a topic this close to the question's best
NAMED_BONUS = 3.0  # an organization the person names is what they asked about
PREFERRED_BONUS = 0.5  # organizations the answer unit names for this question lead
UNVERIFIED_MARKERS = ("unverified", "confirm", "unconfirmed", "check")
# Directory contact keys -> what the contact is, for its label. A phone flagged
# `hotline_24_7` is the 24/7 line; a grant application form is never a contact form.
CONTACT_KINDS = (
    ("phone", "phone"),
    ("email", "email"),
    ("secure_email", "secure_email"),
    ("contact_form", "contact_form"),
    ("web_form", "contact_form"),
    ("application_form", "application_form"),
)

Reason = Callable[[str, str], str]  # (text, cache key) -> the sentence of it that fits


def to_referral(
    org: Organization, language: str, topics: Sequence[str] = (), reason: Reason | None = None
) -> Referral:
    """Directory data only: name, the offer that fits, labelled contacts, a check note."""
    contact = org.contact
    contacts: list[tuple[str, str]] = []
    for key, kind in CONTACT_KINDS:
        value = contact.get(key)
        if not value:
            continue
        if kind == "phone" and contact.get("hotline_24_7"):
            kind = "phone_24_7"
        contacts.append((kind, str(value)))
    notes = str(contact.get("notes") or "")
    doubtful = org.status == "unverified" or any(m in notes.lower() for m in UNVERIFIED_MARKERS)
    summary = org.summary(language)
    return Referral(
        id=org.id,
        name=org.name,
        url=org.url,
        offer=summary,
        contacts=tuple(contacts),
        check_note=org.url if doubtful else None,
        emergency_line=bool(contact.get("hotline_24_7")),
        reason=reason(summary, f"org:{org.id}:{language}") if reason else "",
    )


class Referrals:
    """The recommendable organizations of the directory, ranked for a question."""

    def __init__(self, organizations: dict[str, Organization]) -> None:
        self.orgs = {oid: o for oid, o in organizations.items() if o.recommendable}
        self._names = {oid: [o.name.split(" (")[0], *_aliases(o)] for oid, o in self.orgs.items()}

    def named_in(self, question: str) -> list[str]:
        """Organizations the question names (by name, abbreviation or a keyword alias)."""
        toks = tokens(question)
        return [oid for oid, names in self._names.items() if any(phrase_in(n, toks) for n in names)]

    def rank(
        self,
        question: str,
        language: str,
        topics: Sequence[tuple[str, float]],
        candidates: Sequence[Candidate],
        limit: int = 3,
        *,
        emergency: bool = False,
        direct: set[str] | None = None,
        preferred: Sequence[str] = (),
        reason: Reason | None = None,
    ) -> list[Referral]:
        """The organizations that fit: those the answer names first, then by evidence."""
        score: dict[str, float] = defaultdict(float)
        top_topics = dict(topics[:3])
        for n, cand in enumerate(candidates[:15]):
            weight = 1.0 / (n + 3)
            if cand.kind == "organization":
                score[str(cand.metadata.get("org_id"))] += 3.0 * weight
            else:
                for oid in cand.metadata.get("organizations") or []:
                    score[oid] += weight
        for oid, org in self.orgs.items():
            fit = sum(top_topics.get(t, 0.0) for t in org.topics)
            if oid in score or fit:
                score[oid] += 0.15 * fit
            if language in org.languages:
                score[oid] += 0.01
            if emergency and org.contact.get("hotline_24_7") and "emergency" in org.topics:
                score[oid] += EMERGENCY_LINE_BONUS
        named = self.named_in(question)
        # An organization entry among the very best matches fits by itself.
        direct = direct or set()
        for oid in direct:
            score[oid] += DIRECT_BONUS
        for oid in named:
            score[oid] += NAMED_BONUS
        for n, oid in enumerate(preferred):
            if oid in self.orgs:
                score[oid] += PREFERRED_BONUS - 0.1 * n
        best = topics[0][1] if topics else 0.0
        focus = {t for t, v in topics[:3] if v >= best - FOCUS_MARGIN}
        ranked = sorted(
            (
                oid
                for oid in score
                if oid in self.orgs
                # An organization the directory could not verify (no contact, an offer seen
                # only in an old leaflet) is never offered as help unless the person names it.
                and (self.orgs[oid].status != "unverified" or oid in named)
                and (
                    oid in named
                    or oid in direct
                    or oid in preferred
                    or focus & set(self.orgs[oid].topics)
                )
            ),
            key=lambda o: score[o],
            reverse=True,
        )
        return [to_referral(self.orgs[oid], language, reason=reason) for oid in ranked[:limit]]

    def for_topic(self, topic: str | None, language: str) -> list[Referral]:
        """Every recommendable organization, or those working on `topic`, in directory order."""
        orgs = [o for o in self.orgs.values() if topic is None or topic in o.topics]
        return [to_referral(o, language) for o in orgs]

    def emergency(self, language: str) -> tuple[Referral, ...]:
        """The organizations with a 24/7 line, those first for emergencies leading."""
        lines = [o for o in self.orgs.values() if o.contact.get("hotline_24_7")]
        # Organizations whose first purpose is emergencies lead (their topics are ordered).
        lines.sort(
            key=lambda o: (o.topics.index("emergency") if "emergency" in o.topics else 99, o.id)
        )
        return tuple(to_referral(o, language) for o in lines)


def _aliases(org: Organization) -> list[str]:
    out = []
    if "(" in org.name and ")" in org.name:
        inner = org.name.split("(", 1)[1].split(")", 1)[0]
        if len(inner) <= 12:
            out.append(inner)
    return out

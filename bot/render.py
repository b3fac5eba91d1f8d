"""An `Answer` as what a person reads: Telegram HTML messages in their language.

The shape: an emergency gets its 24/7 lines, then the steps for its situation; any other
question a direct answer, Do/Don't, up to three organizations and the sources. Escaping,
packing and splitting within Telegram's limits live in `bot.html`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from babel import Locale, UnknownLocaleError

from bot.engine.types import Answer, Guidance, Passage, Referral
from bot.html import (  # noqa: F401 - the HTML helpers are part of this module's API
    MAX_UNITS,
    clean,
    clip,
    esc,
    link,
    pack,
    split_block,
    to_plain,
    units,
)
from bot.i18n import DEFAULT_LANGUAGE, N_, gettext, supported

SHOWN_PASSAGES = 3  # quoted in the answer; the rest are behind "More sources"
MORE_PASSAGES = 6  # at most this many more on demand
MAX_REFERRALS = 3
SHOWN_DO = 2  # the first message keeps the most important actions; the unit orders them
SHOWN_DONT = 2
SHOWN_STEPS = 5  # a protocol fits one phone screen; its most urgent steps come first
REASON_WORDS = 20  # the line on why an organization fits: its summary's first sentence
REASON_MIN_WORDS = 8  # ... cut at a clause boundary past this many words when it is longer


_CONTACT_LABELS: dict[str, str] = {
    "phone_24_7": N_("24/7 phone"),
    "secure_email": N_("Secure email"),
    "contact_form": N_("Contact form"),
    "application_form": N_("Application form"),
    "phone": N_("Phone"),
    "hotline": N_("Phone"),
    "email": N_("Email"),
    "web": N_("Website"),
    "website": N_("Website"),
    "form": N_("Contact form"),
    "hours": N_("Hours"),
    "address": N_("Address"),
}
_BRANDS = {"signal": "Signal", "whatsapp": "WhatsApp", "telegram": "Telegram", "viber": "Viber"}

_CITATIONS = re.compile(r"\s?\[\d{1,2}\]")

_SAFETY_STEPS = (
    N_("If you can, go somewhere safe and tell one person you trust where you are."),
    N_("Call or write to a 24/7 line below: they answer day and night and can act quickly."),
    N_("If you might be detained, memorise the number of a lawyer or a trusted contact."),
    N_("Do not keep names or places you must protect in this chat; /forget deletes it."),
)


# Control characters, lone surrogates, and the bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) that can make "moc.live//:sptth" read as a trusted link;
# the zero-width direction marks (U+200E, U+200F, U+061C) stay: Arabic text needs them.
def _colon(lang: str) -> str:
    """A label's colon as the language writes it (French puts a space before it)."""
    return "\u00a0: " if lang == "fr" else ": "


def _t(lang: str, msgid: str, **values: object) -> str:
    return esc(gettext(lang, msgid, **values))


def language_label(code: str, lang: str) -> str:
    """The name of language `code` in language `lang` ("English" -> "английский")."""
    try:
        name = Locale.parse(code).get_display_name(supported(lang) or DEFAULT_LANGUAGE)
    except (UnknownLocaleError, ValueError, TypeError, LookupError):
        name = None
    return name or code


# -- blocks -------------------------------------------------------------------------------


def _contacts(ref: Referral, lang: str) -> list[str]:
    lines = []
    for kind, value in ref.contacts:
        key = kind.strip().lower()
        if key in _CONTACT_LABELS:
            label = _t(lang, _CONTACT_LABELS[key])
        else:
            label = esc(_BRANDS.get(key, kind))
        if key in {"web", "website", "form", "contact_form", "application_form"}:
            lines.append(f"• {label}{_colon(lang)}{link(value, value)}")
        else:
            lines.append(f"• {label}{_colon(lang)}{esc(value)}")
    return lines


def _referral(ref: Referral, lang: str, *, with_offer: bool = True) -> str:
    head = f"<b>{link(ref.url, ref.name)}</b>"
    if ref.emergency_line:
        head += " — " + _t(lang, "24/7 line")
    lines = [head]
    if with_offer and ref.offer.strip():
        lines.append(esc(ref.offer.strip()))
    lines += _contacts(ref, lang)
    if ref.check_note is not None:
        lines.append("<i>" + _t(lang, "Please check the details on their site.") + "</i>")
    return "\n".join(lines)


def _passage(number: int, passage: Passage, lang: str) -> str:
    title = passage.title.strip() or passage.doc_id
    head = f"<b>{number}. {link(passage.url, title)}</b>"
    if passage.language and passage.language != lang:
        head += f" <i>({esc(language_label(passage.language, lang))})</i>"
    body = esc(passage.text.strip())
    return f"{head}\n<blockquote>{body}</blockquote>" if body else head


def _emergency_blocks(contacts: Sequence[Referral], lang: str) -> list[str]:
    steps = "\n".join(f"{n}. {_t(lang, step)}" for n, step in enumerate(_SAFETY_STEPS, 1))
    blocks = ["🚨 <b>" + _t(lang, "If you are in danger right now") + f"</b>\n{steps}"]
    if contacts:
        blocks.append("<b>" + _t(lang, "24/7 emergency contacts") + "</b>")
        blocks += [_referral(ref, lang) for ref in contacts]
    return blocks


def _contact_blocks(header: str, contacts: Sequence[Referral], lang: str) -> list[str]:
    return [header] + [_referral(ref, lang) for ref in contacts[:MAX_REFERRALS]]


def _hotlines(contacts: Sequence[Referral], lang: str, named: Sequence[str] = ()) -> str:
    """The 24/7 lines, one line each: the number first (Telegram makes it tappable). A 24/7
    service reached only in writing (a helpline's email) is listed when the situation's
    protocol names it (`named`): a seized phone needs the digital helpline, a raid does not."""
    by_number: dict[str, list[Referral]] = {}
    written: list[str] = []
    for ref in contacts:
        phones = [v for k, v in ref.contacts if k == "phone_24_7"] or [
            v for k, v in ref.contacts if k == "phone"
        ]
        if phones:
            by_number.setdefault(phones[0], []).append(ref)
        elif ref.id in named:
            address = next((v for k, v in ref.contacts if k in ("secure_email", "email")), "")
            if address:
                written.append(f"✉️ <b>{esc(address)}</b> — {link(ref.url, ref.name)}")
    lines = [
        f"📞 <b>{esc(number)}</b> — " + " · ".join(link(r.url, r.name) for r in refs)
        for number, refs in by_number.items()
    ] + written
    if not lines:
        return ""
    return "🆘 <b>" + _t(lang, "24/7 emergency line") + "</b>\n" + "\n".join(lines)


def _foreign(guidance: Guidance | Passage, lang: str) -> str:
    if guidance.language and guidance.language != lang:
        return f" <i>({esc(language_label(guidance.language, lang))})</i>"
    return ""


def _protocol(guidance: Guidance, lang: str) -> str:
    head = f"<b>{esc(guidance.title)}</b>{_foreign(guidance, lang)}"
    lines = [head]
    if guidance.text:
        lines.append(esc(guidance.text))
    steps = guidance.steps[:SHOWN_STEPS]
    lines += [f"{n}. {esc(step)}" for n, step in enumerate(steps, 1)]
    return "\n".join(lines)


def _direct(guidance: Guidance, lang: str) -> list[str]:
    text = esc(guidance.text) + _foreign(guidance, lang)
    blocks = [text]
    if guidance.do:
        items = "\n".join(f"• {esc(i)}" for i in guidance.do[:SHOWN_DO])
        blocks.append("✅ <b>" + _t(lang, "Do") + "</b>\n" + items)
    if guidance.dont:
        items = "\n".join(f"• {esc(i)}" for i in guidance.dont[:SHOWN_DONT])
        blocks.append("⛔ <b>" + _t(lang, "Don't") + "</b>\n" + items)
    return blocks


def _helper(ref: Referral, lang: str, *, contacts: bool = True) -> str:
    """One organization: name, why it fits, and its best two contacts, labelled."""
    head = f"<b>{link(ref.url, ref.name)}</b>"
    reason = ref.reason.strip() or _without_name(_first_sentence(ref.offer), ref.name)
    if reason:
        head += " — " + esc(_shorten(reason, REASON_WORDS))
    lines = [head]
    if contacts:
        lines += _contacts(Referral(ref.id, ref.name, ref.url, "", ref.contacts[:2]), lang)
        if ref.check_note is not None:
            lines.append("<i>" + _t(lang, "Please check the details on their site.") + "</i>")
    return "\n".join(lines)


def _helpers(refs: Sequence[Referral], lang: str, *, contacts: bool = True) -> list[str]:
    """Organizations one after another; a line two of them share is shown once, under the
    first (Front Line Defenders' 24/7 number also serves other programmes)."""
    seen: set[str] = set()
    blocks = []
    for ref in refs:
        own = tuple((k, v) for k, v in ref.contacts if v not in seen)
        seen.update(v for _, v in own[:2])
        blocks.append(_helper(replace(ref, contacts=own), lang, contacts=contacts))
    return blocks


def _first_sentence(text: str) -> str:
    text = text.strip()
    match = re.search(r"(?<=[.!?。؟])\s", text)
    return text[: match.start()] if match else text


def _without_name(sentence: str, name: str) -> str:
    """The sentence without the organization's name it opens with (the name is shown just
    before it), nor an apposition after the name: "X (Y), the Z, helps…" -> "helps…"."""
    short = name.split(" (")[0]
    opening = sentence[4:] if sentence.startswith("The ") else sentence
    for variant in (name, short):
        if variant and opening.startswith(variant):
            rest = re.sub(r"^\s*\([^)]*\)", "", opening[len(variant) :]).strip()
            for mark in (",", "—", "–"):  # an apposition between two commas or dashes
                if rest.startswith(mark):
                    rest = rest.split(mark, 2)[2] if rest.count(mark) >= 2 else rest[1:]
            rest = rest.strip()
            return rest if len(rest.split()) >= 3 else sentence
    return sentence


def _shorten(text: str, max_words: int) -> str:
    """At most `max_words` words, ending at a clause boundary where there is one."""
    words = text.split()
    if len(words) <= max_words:
        return text
    kept = words[:max_words]
    for n in range(len(kept) - 1, REASON_MIN_WORDS - 1, -1):
        if kept[n].endswith((",", ";", ":", "،", "，", "；")):
            return " ".join(kept[: n + 1])[:-1] + "…"
    return " ".join(kept) + "…"


def _sources(guidance: Guidance, lang: str) -> str:
    urls = [guidance.source_url, *guidance.sources]
    seen: list[str] = []
    for url in urls:
        if url and url not in seen:
            seen.append(url)
    if not seen:
        return ""
    hosts: dict[str, str] = {}
    for url in seen:
        hosts.setdefault(_host(url), url)
    links = " · ".join(link(url, host) for host, url in list(hosts.items())[:3])
    return "📎 " + _t(lang, "Sources") + _colon(lang) + links


def _host(url: str) -> str:
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return host.removeprefix("www.")


def refusal_blocks(answer: Answer, lang: str) -> list[str]:
    """Why the bot does not answer, and what it can help with. An everyday question (or an
    attempt to give the bot other instructions) is told it is outside what the bot covers, with
    the 24/7 line in case the scope reading was wrong; a question of ours without a vetted
    answer gets the organizations that can help directly; a request to find a person, nothing."""
    if answer.refusal == "locate_person":
        head = _t(
            lang,
            "I cannot help find, locate or identify a person: no addresses, phone numbers "
            "or who is behind an account.",
        )
    elif answer.refusal in ("out_of_scope", "injection"):
        head = _t(lang, "This is outside what I can help with.")
    else:
        head = _t(
            lang,
            "I could not find a vetted answer to this in my sources. "
            "These organizations can help you directly:",
        )
    scope = _t(
        lang,
        "I can help with: INTERPOL red notices, visas and relocation for defenders, "
        "emergency grants, digital security, legal aid, and what to do in an emergency.",
    )
    blocks = [head, f"<i>{scope}</i>"]
    if answer.refusal in ("out_of_scope", "injection"):
        hotline = _hotlines(answer.general_contacts[:1], lang)
        blocks += [hotline] if hotline else []
    elif answer.refusal != "locate_person":
        blocks += _helpers(answer.general_contacts[:2], lang)
    return blocks


def answer_blocks(answer: Answer, lang: str, *, contacts: bool = True) -> list[str]:
    """The first message's paragraphs, in the order they are shown (`contacts=False` leaves
    out the 24/7 lines, the organizations with their contacts and the source links: what
    remains is the text a person reads, whose length `waypoint eval` measures).

    An emergency gets the 24/7 lines, then the steps for its situation, and nothing else; any
    other question gets a direct answer, Do/Don't where risky, up to three organizations
    with why they fit, and the source. Passages are behind the "More sources" button.
    """
    if answer.emergency:
        named = answer.guidance.organizations if answer.guidance is not None else ()
        hotlines = _hotlines(answer.emergency_contacts, lang, named) if contacts else ""
        urgent = [hotlines] if hotlines else []
        if answer.guidance is not None and answer.guidance.steps:
            urgent.append(_protocol(answer.guidance, lang))
        else:
            steps = "\n".join(f"{n}. {_t(lang, s)}" for n, s in enumerate(_SAFETY_STEPS, 1))
            urgent.append("🚨 <b>" + _t(lang, "If you are in danger right now") + f"</b>\n{steps}")
        if answer.search_unavailable:
            urgent.append(_t(lang, "Search is unavailable right now, please try again later."))
        return urgent
    if answer.search_unavailable:
        return _contact_blocks(
            _t(
                lang,
                "Search is unavailable right now, please try again later. "
                "Meanwhile, these organizations can help you directly:",
            ),
            answer.general_contacts,
            lang,
        )
    if answer.refusal or not answer.answer_found:
        return refusal_blocks(answer, lang)
    blocks: list[str] = []
    if answer.synthesized and answer.synthesized.strip():
        # The [n] markers served the grounding check; the sources are linked under the answer.
        blocks.append(esc(_CITATIONS.sub("", answer.synthesized).strip()))
    elif answer.guidance is not None:
        blocks += _direct(answer.guidance, lang)
    elif answer.passages:
        blocks += [_passage(n, p, lang) for n, p in enumerate(answer.passages[:1], 1)]
    if answer.guidance is not None and answer.guidance.kind != "passage" and answer.synthesized:
        blocks += _direct(answer.guidance, lang)[1:]  # the Do/Don't lists still apply
    shown = 2 if answer.guidance is not None and answer.guidance.kind != "passage" else 3
    referrals = list(answer.referrals[: min(shown, MAX_REFERRALS)]) if contacts else []
    if referrals:
        blocks.append("🤝 <b>" + _t(lang, "Who can help") + "</b>")
        blocks += _helpers(referrals, lang, contacts=contacts)
    if answer.guidance is not None and contacts:
        source = _sources(answer.guidance, lang)
        if source:
            blocks.append(source)
    return blocks


# -- public renderers ------------------------------------------------------------------------


def render_answer(answer: Answer, lang: str) -> list[str]:
    """The answer as Telegram HTML messages, each within the length limit."""
    return pack(answer_blocks(answer, lang))


def first_message(answer: Answer, lang: str, *, contacts: bool = True) -> str:
    """The first Telegram message of an answer, as plain text (what is read first)."""
    messages = pack(answer_blocks(answer, lang, contacts=contacts))
    return to_plain(messages[0]) if messages else ""


def render_more_sources(answer: Answer, lang: str) -> list[str]:
    """The passages behind the answer (quoted), or the list of all sources."""
    rest = answer.passages[:SHOWN_PASSAGES]
    if rest:
        blocks = ["📚 <b>" + _t(lang, "More sources") + "</b>"]
        blocks += [_passage(n, p, lang) for n, p in enumerate(rest, 1)]
        return pack(blocks)
    if not answer.passages:
        return pack([_t(lang, "There are no sources for this answer.")])
    seen: dict[str, Passage] = {}
    for p in answer.passages:
        seen.setdefault(p.url or p.doc_id, p)
    lines = [f"• {link(p.url, p.title or p.doc_id)}" for p in seen.values()]
    return pack(["📚 <b>" + _t(lang, "All the sources I used:") + "</b>", "\n".join(lines)])


def render_organizations(
    referrals: Iterable[Referral], lang: str, *, topic: str | None = None
) -> list[str]:
    """The directory (or one topic's part of it) as HTML messages; `topic` is the topic's
    name in `lang` (from the vocabulary)."""
    refs = list(referrals)
    if topic:
        header = _t(lang, "Organizations that can help: {topic}", topic=topic)
    else:
        header = _t(lang, "Organizations that can help")
    if not refs:
        return pack([f"<b>{header}</b>", _t(lang, "No organizations are listed for this yet.")])
    return pack([f"🤝 <b>{header}</b>"] + [_referral(ref, lang) for ref in refs])


def render_if_urgent(answer: Answer, contacts: Sequence[Referral], lang: str) -> list[str]:
    """The answer as an emergency, once the person says it is happening now: the 24/7 lines,
    then the steps of the protocol that fits the message (the general steps if none does)."""
    urgent = replace(
        answer,
        emergency=True,
        emergency_contacts=tuple(contacts),
        guidance=answer.if_urgent,
        search_unavailable=False,
    )
    return pack(answer_blocks(urgent, lang))


def render_situation(
    guidance: Guidance | None, contacts: Sequence[Referral], lang: str
) -> list[str]:
    """The 24/7 lines and the steps for the situation the person chose (the general first
    steps when the knowledge has none for it)."""
    chosen = Answer(
        lang,
        True,
        guidance is not None,
        ui_language=lang,
        emergency_contacts=tuple(contacts),
        guidance=guidance,
    )
    return pack(answer_blocks(chosen, lang))


def render_emergency(contacts: Sequence[Referral], lang: str) -> list[str]:
    """The 24/7 contacts and the first safety steps (`/emergency`)."""
    return pack(_emergency_blocks(contacts, lang))

"""An `Answer` as Telegram HTML messages, each within Telegram's 4,096 UTF-16 code units.

Every dynamic piece (passages, titles, names, contacts, interface strings) is escaped; the
only markup is ours. Messages are built from blocks (a paragraph each) packed greedily; a block
too long for one message is split at a line, then a word boundary, closing its open tags at the
cut and reopening them in the next message, so no message is ever cut inside a tag or entity.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from babel import Locale, UnknownLocaleError

from bot.engine.types import Answer, Guidance, Passage, Referral
from bot.i18n import DEFAULT_LANGUAGE, N_, gettext, supported

MAX_UNITS = 4096  # Telegram's limit for one text message, in UTF-16 code units
SHOWN_PASSAGES = 3  # quoted in the answer; the rest are behind "More sources"
MORE_PASSAGES = 6  # at most this many more on demand
MAX_REFERRALS = 3
SHOWN_DO = 2  # the first message keeps the most important actions; the unit orders them
SHOWN_DONT = 2
SHOWN_STEPS = 5  # a protocol fits one phone screen; its most urgent steps come first
REASON_WORDS = 10
MAX_URL_CHARS = 1024


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

_SAFETY_STEPS = (
    N_("If you can, go somewhere safe and tell one person you trust where you are."),
    N_("Call or write to a 24/7 line below: they answer day and night and can act quickly."),
    N_("If you might be detained, memorise the number of a lawyer or a trusted contact."),
    N_("Do not keep names or places you must protect in this chat; /forget deletes it."),
)

# Control characters, lone surrogates, and the bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) that can make "moc.live//:sptth" read as a trusted link;
# the zero-width direction marks (U+200E, U+200F, U+061C) stay: Arabic text needs them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"<[^>]*>|&[#A-Za-z0-9]+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it (an emoji is usually two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """Drop control characters and lone surrogates Telegram would refuse, and bidi overrides."""
    return _CONTROL.sub("", text)


def esc(text: str) -> str:
    """Text as safe Telegram HTML content."""
    return html.escape(clean(text), quote=False)


def _attr(text: str) -> str:
    return esc(text).replace('"', "&quot;")


def _link(url: str, label: str) -> str:
    """An <a> for http(s) URLs of sane length, else the escaped label alone."""
    url = clean(url).strip()
    if url.startswith(("https://", "http://")) and len(url) <= MAX_URL_CHARS and " " not in url:
        return f'<a href="{_attr(url)}">{esc(label)}</a>'
    return esc(label)


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
            lines.append(f"• {label}: {_link(value, value)}")
        else:
            lines.append(f"• {label}: {esc(value)}")
    return lines


def _referral(ref: Referral, lang: str, *, with_offer: bool = True) -> str:
    head = f"<b>{_link(ref.url, ref.name)}</b>"
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
    head = f"<b>{number}. {_link(passage.url, title)}</b>"
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


def _hotlines(contacts: Sequence[Referral], lang: str) -> str:
    """The 24/7 lines, one line each: the number first (Telegram makes it tappable)."""
    by_number: dict[str, list[Referral]] = {}
    for ref in contacts:
        phones = [v for k, v in ref.contacts if k == "phone_24_7"] or [
            v for k, v in ref.contacts if k == "phone"
        ]
        if phones:
            by_number.setdefault(phones[0], []).append(ref)
    lines = [
        f"📞 <b>{esc(number)}</b> — " + " · ".join(_link(r.url, r.name) for r in refs)
        for number, refs in by_number.items()
    ]
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
    head = f"<b>{_link(ref.url, ref.name)}</b>"
    reason = ref.reason.strip() or _first_sentence(ref.offer)
    if reason:
        head += " — " + esc(_shorten(reason, REASON_WORDS))
    lines = [head]
    if contacts:
        lines += _contacts(Referral(ref.id, ref.name, ref.url, "", ref.contacts[:2]), lang)
        if ref.check_note is not None:
            lines.append("<i>" + _t(lang, "Please check the details on their site.") + "</i>")
    return "\n".join(lines)


def _first_sentence(text: str) -> str:
    text = text.strip()
    match = re.search(r"(?<=[.!?。؟])\s", text)
    return text[: match.start()] if match else text


def _shorten(text: str, max_words: int) -> str:
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words]) + "…"


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
    links = " · ".join(_link(url, host) for host, url in list(hosts.items())[:3])
    return "📎 " + _t(lang, "Sources") + ": " + links


def _host(url: str) -> str:
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return host.removeprefix("www.")


def refusal_blocks(answer: Answer, lang: str) -> list[str]:
    """Why the bot does not answer, and what it can help with."""
    if answer.refusal == "locate_person":
        head = _t(
            lang,
            "I cannot help find, locate or identify a person: no addresses, phone numbers "
            "or who is behind an account.",
        )
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
    if answer.refusal != "locate_person":
        blocks += [_helper(ref, lang) for ref in answer.general_contacts[:2]]
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
        hotlines = _hotlines(answer.emergency_contacts, lang) if contacts else ""
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
        blocks.append(esc(answer.synthesized.strip()))
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
        blocks += [_helper(ref, lang, contacts=contacts) for ref in referrals]
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
    lines = [f"• {_link(p.url, p.title or p.doc_id)}" for p in seen.values()]
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


def render_emergency(contacts: Sequence[Referral], lang: str) -> list[str]:
    """The 24/7 contacts and the first safety steps (`/emergency`)."""
    return pack(_emergency_blocks(contacts, lang))


# -- packing and splitting --------------------------------------------------------------------


def pack(blocks: Iterable[str], limit: int = MAX_UNITS) -> list[str]:
    """Join blocks with blank lines into as few messages as fit; split over-long blocks."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in split_block(block, limit):
            candidate = f"{current}\n\n{piece}" if current else piece
            if units(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return [m for m in messages if _visible(m).strip()]


def split_block(block: str, limit: int = MAX_UNITS) -> list[str]:
    """Cut one HTML block into pieces within `limit`, never inside a tag or an entity."""
    block = block.strip()
    if units(block) <= limit:
        return [block] if block else []
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag name, its start tag) of the open elements
    buf = ""

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    def opening() -> str:
        return "".join(tag for _, tag in stack)

    def flush() -> None:
        nonlocal buf
        if buf != opening():
            pieces.append(buf + closing())
        buf = opening()

    for token in _TOKEN.findall(block):
        if token.startswith("</"):
            buf += token
            if stack:
                stack.pop()
            continue
        if token.startswith("<") and len(token) > 1:
            match = _TAG_NAME.match(token)
            name = match.group(1).lower() if match else "span"
            if units(buf) + units(token) + units(f"</{name}>") + units(closing()) > limit:
                flush()
            buf += token
            stack.append((name, token))
            continue
        rest = token
        while rest:
            room = limit - units(buf) - units(closing())
            if units(rest) <= room:
                buf += rest
                break
            if token.startswith("&"):  # an entity is atomic
                flush()
                buf += rest
                break
            cut = _cut(rest, room)
            if cut == 0:
                if buf == opening():  # nothing fits even in an empty piece: cut anyway
                    cut = max(1, _cut(rest, max(room, 1), boundaries=False))
                else:
                    flush()
                    continue
            buf += rest[:cut]
            rest = rest[cut:]
            flush()
            rest = rest.lstrip(" ")
    if buf != opening():
        pieces.append(buf + closing())
    return [p.strip() for p in pieces if _visible(p).strip()]


def clip(text: str, limit: int = MAX_UNITS) -> str:
    """Plain text cut to `limit` UTF-16 units (at a space when there is one near the end)."""
    return text if units(text) <= limit else text[: _cut(text, limit)].rstrip()


def _cut(text: str, room: int, *, boundaries: bool = True) -> int:
    """How many characters of `text` to keep in `room` units: up to a newline, a space, or any."""
    if room <= 0:
        return 0
    keep, used = 0, 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            break
        keep += 1
    if keep >= len(text) or not boundaries:
        return keep
    head = text[:keep]
    for sep in ("\n", " "):
        at = head.rfind(sep)
        if at > keep // 3:
            return at + 1
    return keep


# -- plain text ---------------------------------------------------------------------------------


_A = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_QUOTE = re.compile(r"<blockquote>(.*?)</blockquote>", re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")


def _visible(text: str) -> str:
    """What Telegram shows of an HTML message: the text without tags."""
    return html.unescape(_TAGS.sub("", text))


def to_plain(text: str) -> str:
    """Telegram HTML as terminal text: links as "title (url)", quotes indented."""

    def link(m: re.Match[str]) -> str:
        url, label = html.unescape(m.group(1)), m.group(2)
        return label if html.unescape(_TAGS.sub("", label)) == url else f"{label} ({m.group(1)})"

    def quote(m: re.Match[str]) -> str:
        return "\n".join("  │ " + line for line in m.group(1).strip("\n").split("\n"))

    text = _A.sub(link, text)
    text = _QUOTE.sub(quote, text)
    return html.unescape(_TAGS.sub("", text))

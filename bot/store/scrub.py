"""Scrubbing of the unanswered questions an operator chose to keep (WAYPOINT_KEEP_UNANSWERED).

What goes, replaced by a placeholder:
  [email]   e-mail addresses
  [link]    links and bare domains, t.me / signal.me / signal.group links included
  [handle]  @handles and Signal usernames (nickname.42)
  [phone]   runs of 7 or more digits, however grouped (phones, passport and ID numbers)
  [number]  5 or more digits in a row; 4 or more digits mixed with letters or separators
            (case and file numbers such as 1-234/2023, A-12345, dates such as 12/03/2024)
  [name]    the words after "my name is", "меня зовут", "je m'appelle", "اسمي" and the like,
            every capitalised word inside a sentence (names, and with them cities and
            streets), and two capitalised words in a row at a sentence's start
What stays: ordinary words, 4-digit years, acronyms in capitals (INTERPOL, UNHCR), country,
month and weekday names in the six interface languages, and a few institution words
(Interpol, Schengen, Europol) so that staff can still tell what was asked.
What it cannot see: a city or a name written in lower case, at the very start of a sentence,
or in a script without capitals (Arabic) without an introducing phrase. That is why the kept
text is sealed at rest, shown only to admins, and deleted after 30 days or by /forget.

Linear time: the text is cut to `MAX_SCAN_CHARS` first and then read token by token with
plain string tests, no regular expression over the user's text.
"""

from __future__ import annotations

import functools

MAX_SCAN_CHARS = 2_000
MAX_KEPT_CHARS = 500
MAX_TOKEN_CHARS = 64

_LEAD = "([{\"'«“‘„¿¡<"
_TRAIL = ".,;:!?)]}\"'»”’…>"
_SENTENCE_END = ".!?…"
_PHONE_CHARS = frozenset("0123456789+()-./")
_LINK_PREFIXES = ("http://", "https://", "www.", "tg://", "t.me/", "telegram.me/", "signal.me/")
_LINK_PARTS = ("t.me/", "telegram.me/", "signal.me/", "signal.group/", "://")

# Phrases after which the next word is a name (lower case); the flag says the next word must
# also be capitalised ("I am a lawyer" is not a name, "I am Anna" is).
_INTRODUCERS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("my", "name", "is"), False),
    (("my", "name's"), False),
    (("call", "me"), False),
    (("i", "am"), True),
    (("i'm",), True),
    (("меня", "зовут"), False),
    (("моё", "имя"), False),
    (("мое", "имя"), False),
    (("моя", "фамилия"), False),
    (("я",), True),
    (("me", "llamo"), False),
    (("mi", "nombre", "es"), False),
    (("soy",), True),
    (("je", "m'appelle"), False),
    (("je", "m’appelle"), False),
    (("mon", "nom", "est"), False),
    (("je", "suis"), True),
    (("benim", "adım"), False),
    (("adım",), False),
    (("ismim",), False),
    (("اسمي",), False),
)
_NEEDS_CAPITAL = dict(_INTRODUCERS)
_BY_LAST_WORD: dict[str, list[tuple[str, ...]]] = {}
for _phrase, _ in _INTRODUCERS:
    _BY_LAST_WORD.setdefault(_phrase[-1], []).append(_phrase)
_INSTITUTIONS = (
    "interpol europol schengen frontex unhcr ohchr echr ccf osce red notice notices diffusion "
    "court commission council union nations human rights european united international "
    "telegram signal whatsapp google интерпол интерпола европол шенген оон ес"
)
_LANGUAGE_CODES = ("en", "ru", "es", "fr", "tr", "ar", "uk", "fa", "de", "be", "kk", "az", "pt")
_UI_LOCALES = ("en", "ru", "es", "fr", "tr", "ar")


@functools.cache
def _allowed() -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """Capitalised words and phrases that are not people: countries, months, days, languages."""
    from babel import Locale

    names: set[str] = set(_INSTITUTIONS.split())
    for code in _UI_LOCALES:
        locale = Locale.parse(code)
        names.update(str(v) for v in locale.territories.values())
        for width in ("wide", "abbreviated"):
            names.update(str(v) for v in locale.months["format"][width].values())
            names.update(str(v) for v in locale.months["stand-alone"][width].values())
            names.update(str(v) for v in locale.days["format"][width].values())
        names.update(str(locale.languages.get(c, "")) for c in _LANGUAGE_CODES)
    words = frozenset(n.casefold() for n in names if n and " " not in n)
    phrases = frozenset(tuple(n.casefold().split()) for n in names if " " in n)
    return words, phrases


def _split(token: str) -> tuple[str, str, str]:
    """(leading punctuation, core, trailing punctuation) of a whitespace-separated token."""
    start, end = 0, len(token)
    while start < end and token[start] in _LEAD:
        start += 1
    while end > start and token[end - 1] in _TRAIL:
        end -= 1
    return token[:start], token[start:end], token[end:]


def _is_link(core: str) -> bool:
    lowered = core.casefold()
    if lowered.startswith(_LINK_PREFIXES) or any(part in lowered for part in _LINK_PARTS):
        return True
    labels = lowered.split("/", 1)[0].split(".")
    return (
        len(labels) >= 2
        and all(label and label.replace("-", "").isalnum() for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
    )


def _is_signal_username(core: str) -> bool:
    nick, dot, digits = core.rpartition(".")
    return (
        bool(dot)
        and 3 <= len(nick) <= 32
        and nick[0].isalpha()
        and nick.replace("_", "").isalnum()
        and digits.isdigit()
        and len(digits) >= 2
    )


def _contact(core: str) -> str | None:
    """The placeholder for a token that is a contact detail or an identifying number."""
    if len(core) > MAX_TOKEN_CHARS:
        return "[long]"
    if "@" in core[1:] and "." in core.rsplit("@", 1)[1]:
        return "[email]"
    if core.startswith("@") and len(core) >= 4 and core[1:].replace("_", "").isalnum():
        return "[handle]"
    if _is_link(core):
        return "[link]"
    if _is_signal_username(core):
        return "[handle]"
    digits = sum(ch.isdigit() for ch in core)
    if (core.isdigit() and digits >= 5) or (not core.isdigit() and digits >= 4):
        return "[number]"
    return None


def _phone_run(tokens: list[str], start: int) -> tuple[int, int]:
    """(end, digits) of the run of phone-like tokens from `start` ("+7 (912) 345-67-89")."""
    end, digits = start, 0
    while end < len(tokens):
        token = tokens[end]
        body = token.rstrip(",;:!?")
        if not body or not set(body) <= _PHONE_CHARS or not any(c.isdigit() for c in body):
            break
        digits += sum(c.isdigit() for c in body)
        end += 1
        if body != token:  # punctuation after it ends the run
            break
    return end, digits


def _capitalised(core: str) -> bool:
    letters = core.replace("-", "").replace("'", "").replace("’", "")
    return (
        bool(letters)
        and letters.isalpha()
        and core[0].isupper()
        and not core.isupper()  # INTERPOL, and the one-letter "I"
    )


def scrub(text: str) -> str:
    """Return `text` without contact details, identifying numbers or names (see above)."""
    raw = text[:MAX_SCAN_CHARS].split()
    words: list[list[str]] = []  # [lead, core, trail, kind]
    i = 0
    while i < len(raw):
        end, digits = _phone_run(raw, i)
        if end > i and digits >= 7:
            trail = raw[end - 1][len(raw[end - 1].rstrip(",;:!?")) :]
            words.append(["", "[phone]", trail, "masked"])
            i = end
            continue
        lead, core, trail = _split(raw[i])
        masked = _contact(core) if core else None
        words.append([lead, masked or core, trail, "masked" if masked else "word"])
        i += 1
    _mask_names(words)
    out: list[str] = []
    for lead, core, trail, kind in words:
        if kind == "name" and out and out[-1] == "[name]" and not lead:
            out[-1] = core + trail  # "[name] [name]" reads as one
            continue
        out.append(lead + core + trail)
    return " ".join(out)[:MAX_KEPT_CHARS]


def _mask_names(words: list[list[str]]) -> None:
    allowed_words, allowed_phrases = _allowed()
    folded = [w[1].casefold() for w in words]
    keep: set[int] = set()
    for n in range(len(words)):  # country names of several words ("United Kingdom")
        for size in (2, 3, 4):
            if tuple(folded[n : n + size]) in allowed_phrases:
                keep.update(range(n, n + size))
    for n, (_, core, _, kind) in enumerate(words):
        if kind != "word":
            continue
        introduced = _introduced(folded, words, n)
        sentence_start = n == 0 or words[n - 1][2][-1:] in tuple(_SENTENCE_END)
        if introduced:
            words[n][3] = "name"
        elif not _capitalised(core) or folded[n] in allowed_words or n in keep:
            continue
        elif not sentence_start:
            words[n][3] = "name"
        elif n + 1 < len(words) and words[n][2] == "" and _capitalised(words[n + 1][1]):
            words[n][3] = "name" if folded[n + 1] not in allowed_words else "word"
    for word in words:
        if word[3] == "name":
            word[0], word[1], word[2] = word[0], "[name]", word[2]


def _ends_introducer(folded: list[str], end: int) -> tuple[str, ...] | None:
    """The introducing phrase that ends just before word `end`, if any, with its flag."""
    if end < 1:
        return None
    for phrase in _BY_LAST_WORD.get(folded[end - 1], ()):
        if end >= len(phrase) and tuple(folded[end - len(phrase) : end]) == phrase:
            return phrase
    return None


def _introduced(folded: list[str], words: list[list[str]], n: int) -> bool:
    """True if word `n` follows a name-introducing phrase (or an introduced name)."""
    phrase = _ends_introducer(folded, n)
    if phrase is not None and not words[n - 1][2]:
        return _capitalised(words[n][1]) or not _NEEDS_CAPITAL[phrase]
    # a second or third name word right after an introduced one ("меня зовут Анна Иванова");
    # in a script without capitals, the one word after the first ("اسمي أحمد علي")
    if n < 1 or words[n - 1][3] != "name" or words[n - 1][2]:
        return False
    core = words[n][1]
    if _capitalised(core):
        return True
    uncased = core.isalpha() and core.lower() == core.upper()
    return uncased and _ends_introducer(folded, n - 1) is not None

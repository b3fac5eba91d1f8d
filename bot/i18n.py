"""Interface strings from the gettext catalogs under `bot/locales/` (one folder a language).

The catalogs are the `.po` files themselves: each is read with Babel and compiled in memory
on first use (no compiled `.mo` is committed). Message ids are the English text; code marks
them with `gettext(lang, "…")` (or `N_("…")` where the string is only named, not shown yet),
and a string with a count with `ngettext(lang, "… {days} day", "… {days} days", days, days=days)`,
so `pybabel extract -k gettext:2 -k ngettext:2,3 -k N_` finds every one of them. Each catalog's
`Plural-Forms` header says how many forms a counted string has in that language and which one a
number takes (Russian: 1 день, 2 дня, 5 дней).

Which languages exist, their names and which catalog a speaker without one of their own reads
come from the languages table (`ingest/languages.py`); `LANGUAGES` are those with a catalog.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from ingest import languages

LOCALES_DIR: Path = languages.LOCALES_DIR
LANGUAGES: tuple[str, ...] = languages.catalogs(LOCALES_DIR)
DEFAULT_LANGUAGE = languages.DEFAULT
DOMAIN = "waypoint"


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    """Mark `msgid` for extraction; it is translated where it is shown."""
    return msgid


def catalog_path(lang: str) -> Path:
    """The `.po` file of one language's catalog."""
    return LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> Translations:
    """The compiled catalog of one supported language (compiled once, in memory)."""
    with catalog_path(lang).open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def supported(code: str | None) -> str | None:
    """The catalog for an ISO or IETF code ("uk-UA" -> "uk", "be" -> "ru", "pt-BR" -> "en").

    None for a code that is not a language of the table: the caller tries its next candidate.
    """
    return languages.interface_language(code, LANGUAGES)


def resolve(*candidates: str | None) -> str:
    """The first supported language among `candidates` (chosen, detected, Telegram's), else en."""
    for code in candidates:
        lang = supported(code)
        if lang:
            return lang
    return DEFAULT_LANGUAGE


def gettext(lang: str, msgid: str, **values: object) -> str:
    """`msgid` in `lang` (English if we have no catalog), with `{name}` placeholders filled."""
    text = translations(supported(lang) or DEFAULT_LANGUAGE).gettext(msgid)
    return text.format(**values) if values else text


def ngettext(lang: str, singular: str, plural: str, n: int, **values: object) -> str:
    """The form of a counted string that `n` takes in `lang`, with `{name}` placeholders filled.

    `n` is also offered as `{n}`; the count the text shows is passed by name like any other
    value (`ngettext(lang, "{days} day", "{days} days", days, days=days)`).
    """
    text = translations(supported(lang) or DEFAULT_LANGUAGE).ngettext(singular, plural, n)
    return text.format(**{"n": n, **values})


def language_name(lang: str) -> str:
    """The language's own name, as its speakers write it ("Русский", "العربية")."""
    native = languages.native_name(lang)
    if native:
        return native
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]

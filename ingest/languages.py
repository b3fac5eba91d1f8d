"""The languages Waypoint knows: one table used by ingest, the engine and the interface.

Each row names a language (ISO 639-1 code, English and native name, script) and the interface
catalog its speakers read when there is none of their own (`fallback`). Which languages have an
interface catalog is not written here: it is the set of folders under `bot/locales/`, so adding
a language's catalog is one folder (`bot/locales/<code>/LC_MESSAGES/waypoint.po`).

Fallbacks are chosen for the reader, not by language family: Ukrainian and Persian have their
own catalogs and would fall back to English, never to Russian or Arabic; Portuguese speakers
read English rather than Spanish; speakers of Belarusian, Kazakh, Kyrgyz and Uzbek often read
Russian; Azerbaijani speakers read Turkish. A code outside the table has no interface of its
own (`interface_language` returns None and callers look at their next candidate).

This module is deliberately low: it imports nothing from `ingest` or `bot`, so both may use it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

DEFAULT = "en"
LOCALES_DIR = Path(__file__).resolve().parents[1] / "bot" / "locales"
_RTL_SCRIPTS = frozenset({"Arab", "Hebr"})
_FOLDER = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class Language:
    """One language: how to name it, how it is written, which catalog its speakers read."""

    code: str  # ISO 639-1
    english: str
    native: str  # as its speakers write it, capitalised for a button
    script: str  # ISO 15924: Latn, Cyrl, Arab, Hans, Jpan
    fallback: str = DEFAULT  # the catalog to read when there is no catalog of its own

    @property
    def rtl(self) -> bool:
        """Written right to left."""
        return self.script in _RTL_SCRIPTS


# The interface languages first (in the order of the language menu), then the languages that
# detection can return or that people set in Telegram and whose speakers read another catalog.
TABLE: tuple[Language, ...] = (
    Language("en", "English", "English", "Latn"),
    Language("ru", "Russian", "Русский", "Cyrl"),
    Language("uk", "Ukrainian", "Українська", "Cyrl"),
    Language("es", "Spanish", "Español", "Latn"),
    Language("fr", "French", "Français", "Latn"),
    Language("tr", "Turkish", "Türkçe", "Latn"),
    Language("ar", "Arabic", "العربية", "Arab"),
    Language("fa", "Persian", "فارسی", "Arab"),
    Language("pt", "Portuguese", "Português", "Latn"),
    Language("de", "German", "Deutsch", "Latn"),
    Language("it", "Italian", "Italiano", "Latn"),
    Language("nl", "Dutch", "Nederlands", "Latn"),
    Language("pl", "Polish", "Polski", "Latn"),
    Language("ro", "Romanian", "Română", "Latn"),
    Language("id", "Indonesian", "Bahasa Indonesia", "Latn"),
    Language("sw", "Swahili", "Kiswahili", "Latn"),
    Language("zh", "Chinese", "中文", "Hans"),
    Language("ja", "Japanese", "日本語", "Jpan"),
    Language("ur", "Urdu", "اردو", "Arab"),
    Language("be", "Belarusian", "Беларуская", "Cyrl", fallback="ru"),
    Language("kk", "Kazakh", "Қазақ тілі", "Cyrl", fallback="ru"),
    Language("ky", "Kyrgyz", "Кыргызча", "Cyrl", fallback="ru"),
    Language("uz", "Uzbek", "Oʻzbekcha", "Latn", fallback="ru"),
    Language("az", "Azerbaijani", "Azərbaycanca", "Latn", fallback="tr"),
)
BY_CODE: dict[str, Language] = {language.code: language for language in TABLE}
CODES: tuple[str, ...] = tuple(BY_CODE)


def base_code(code: str | None) -> str:
    """The language part of an ISO or IETF code: "pt-BR" -> "pt", "zh_Hant" -> "zh"."""
    return (code or "").replace("_", "-").split("-")[0].strip().lower()


@functools.cache
def catalogs(locales_dir: Path = LOCALES_DIR) -> tuple[str, ...]:
    """The languages with an interface catalog: a `<code>/LC_MESSAGES/*.po` under `locales_dir`.

    Table order first (English leads), then any other folder in alphabetical order.
    """
    if not locales_dir.is_dir():
        return (DEFAULT,)
    found = {
        folder.name
        for folder in locales_dir.iterdir()
        if _FOLDER.match(folder.name) and any((folder / "LC_MESSAGES").glob("*.po"))
    }
    found.add(DEFAULT)
    return tuple(code for code in CODES if code in found) + tuple(sorted(found - set(CODES)))


def interface_language(code: str | None, available: Collection[str] | None = None) -> str | None:
    """The catalog a speaker of `code` reads; None when the code is not a language we know.

    Its own catalog if there is one, else the table's fallback if that has a catalog, else
    English. `available` defaults to the catalogs under `bot/locales/`.
    """
    base = base_code(code)
    if not base:
        return None
    have = catalogs() if available is None else available
    if base in have:
        return base
    language = BY_CODE.get(base)
    if language is None:
        return None
    return language.fallback if language.fallback in have else DEFAULT


def native_name(code: str) -> str | None:
    """The language's own name from the table ("Українська"), or None if it is not in it."""
    language = BY_CODE.get(base_code(code))
    return language.native if language else None

"""i18n: every interface string is in every catalog, translated, with the same placeholders.

The catalogs tested are the folders under `bot/locales/` (`bot.i18n.LANGUAGES`, derived from
the languages table), so a new catalog is checked as soon as its folder exists.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, catalog_path, gettext, language_name, resolve, supported
from ingest.check import glossary_problems, load_glossary
from ingest.languages import BY_CODE

REPO = Path(__file__).resolve().parents[2]
KEYWORDS = {"gettext": (2,), "t": (2,), "_t": (2,), "N_": None}


def code_msgids() -> set[str]:
    """Every string the code passes to gettext/t/_t or marks with N_."""
    found: set[str] = set()
    for path in sorted((REPO / "bot").rglob("*.py")):
        for _line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add(message)
    return found


def catalog(lang: str) -> dict[str, str]:
    with catalog_path(lang).open("rb") as po:
        return {
            m.id: str(m.string)
            for m in read_po(po, locale=lang)
            if isinstance(m.id, str) and m.id and isinstance(m.string, str)
        }


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


CODE_IDS = code_msgids()


def test_the_code_uses_interface_strings() -> None:
    assert len(CODE_IDS) > 80
    assert "Who can help" in CODE_IDS and "Application form" in CODE_IDS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_matches_the_code(lang: str) -> None:
    ids = set(catalog(lang))
    assert sorted(CODE_IDS - ids) == [], "missing from the catalog (run the extraction)"
    assert sorted(ids - CODE_IDS) == [], "obsolete entries in the catalog"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_is_translated_with_the_same_placeholders(lang: str) -> None:
    for msgid, msgstr in catalog(lang).items():
        assert msgstr.strip(), f"{lang}: untranslated {msgid!r}"
        assert placeholders(msgstr) == placeholders(msgid), f"{lang}: placeholders of {msgid!r}"
        for command in re.findall(r"/[a-z]+", msgid):
            assert command in msgstr, f"{lang}: {command} must stay untranslated in {msgid!r}"
        if lang != "en":
            assert msgstr != msgid or len(msgid) < 12, f"{lang}: copied, not translated: {msgid!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_use_the_glossary_terms(lang: str) -> None:
    terms = load_glossary(REPO / "knowledge" / "glossary.yaml")
    for msgid, msgstr in catalog(lang).items():
        assert glossary_problems(msgstr, lang, terms) == [], f"{lang}: {msgid!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_gettext_formats_in_every_language(lang: str) -> None:
    text = gettext(lang, "Organizations that can help: {topic}", topic="<X>")
    assert "<X>" in text
    if lang != "en":
        assert text != "Organizations that can help: <X>"


def test_the_catalogs_include_the_languages_of_the_table() -> None:
    assert LANGUAGES[0] == "en"
    assert {"en", "ru", "uk", "es", "fr", "tr", "ar", "fa"} <= set(LANGUAGES)


def test_unknown_language_falls_back_to_english() -> None:
    assert gettext("xx", "Who can help") == "Who can help"
    assert gettext("pt-BR", "Who can help") == "Who can help"  # Portuguese reads English
    assert gettext("be", "Who can help") == gettext("ru", "Who can help")  # the table's fallback


def test_resolve_order() -> None:
    assert resolve("ru", "ar", "fr") == "ru"  # chosen
    assert resolve(None, "ar", "fr") == "ar"  # the question's language
    assert resolve(None, "ko", "fr-CA") == "fr"  # not in the table: Telegram's language_code
    assert resolve(None, "de", "ru") == "en"  # a German question reads English, not Russian
    assert resolve(None, None, "uk") == "uk"  # its own catalog, never Russian
    assert resolve(None, None, "fa-IR") == "fa"  # its own catalog, never Arabic
    assert resolve(None, None, "kk") == "ru"  # a fallback of the table
    assert resolve(None, "ko", "zz") == "en"
    assert supported("TR") == "tr" and supported("") is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_names_are_native(lang: str) -> None:
    name = language_name(lang)
    assert name == BY_CODE[lang].native if lang in BY_CODE else name
    cldr = Locale.parse(lang).get_display_name(lang) or ""
    assert name == cldr[:1].upper() + cldr[1:], "the table's native name is not the CLDR name"


def test_french_puts_a_space_before_high_punctuation() -> None:
    for msgid, msgstr in catalog("fr").items():
        bare = re.sub(r"https?://\S+|\{\w+\}|\d+:\d+", "", msgstr)
        assert not re.search(r"[^\s\u00a0\u202f][:;?!]", bare), f"fr: {msgid!r}"


def test_spanish_uses_usted() -> None:
    informal = re.compile(r"\b(tú|tu|tus|ti|te|contigo|estás|puedes|quieres|necesitas)\b", re.I)
    for msgid, msgstr in catalog("es").items():
        assert not informal.search(msgstr), f"es: tuteo in {msgid!r}"

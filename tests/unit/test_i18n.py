"""i18n: every interface string is in every catalog, translated, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, catalog_path, gettext, language_name, resolve, supported

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
    assert "Who can help" in CODE_IDS and "INTERPOL red notices" in CODE_IDS


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
def test_gettext_formats_in_every_language(lang: str) -> None:
    text = gettext(lang, "Organizations that can help: {topic}", topic="<X>")
    assert "<X>" in text
    if lang != "en":
        assert text != "Organizations that can help: <X>"


def test_unknown_language_falls_back_to_english() -> None:
    assert gettext("xx", "Who can help") == "Who can help"
    assert gettext("pt-BR", "Who can help") == gettext("es", "Who can help")


def test_resolve_order() -> None:
    assert resolve("ru", "ar", "fr") == "ru"  # chosen
    assert resolve(None, "ar", "fr") == "ar"  # the question's language
    assert resolve(None, "de", "fr-CA") == "fr"  # Telegram's language_code
    assert resolve(None, None, "uk") == "ru"  # a neighbour we have
    assert resolve(None, "de", "ja") == "en"
    assert supported("TR") == "tr" and supported("") is None


def test_language_names_are_native() -> None:
    assert [language_name(code) for code in LANGUAGES] == [
        "English",
        "Русский",
        "Español",
        "Français",
        "Türkçe",
        "العربية",
    ]

"""i18n: every interface string is in every catalog, translated, with the same placeholders.

A counted string (`ngettext`/`tn`) has as many forms as its catalog's `Plural-Forms` header
declares, and each form keeps the placeholders.

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

from bot.i18n import (
    LANGUAGES,
    catalog_path,
    gettext,
    language_name,
    ngettext,
    resolve,
    supported,
    translations,
)
from ingest.check import glossary_problems, load_glossary
from ingest.languages import BY_CODE

REPO = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "gettext": (2,),
    "t": (2,),
    "_t": (2,),
    "N_": None,
    "ngettext": (2, 3),
    "tn": (2, 3),
}
Plural = tuple[str, str]  # (singular, plural): the id of a counted string


def code_msgids() -> set[str | Plural]:
    """Every string the code passes to gettext/t/_t or marks with N_, and every counted
    string it passes to ngettext/tn (as its singular and plural pair)."""
    found: set[str | Plural] = set()
    for path in sorted((REPO / "bot").rglob("*.py")):
        for _line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add(message)
            elif isinstance(message, tuple) and len(message) == 2 and all(message):
                found.add((str(message[0]), str(message[1])))
    return found


def catalog(lang: str) -> dict[str, str]:
    with catalog_path(lang).open("rb") as po:
        return {
            m.id: str(m.string)
            for m in read_po(po, locale=lang)
            if isinstance(m.id, str) and m.id and isinstance(m.string, str)
        }


def plurals(lang: str) -> dict[Plural, list[str]]:
    """The counted strings of a catalog: (singular, plural) -> its forms (msgstr[0], ...)."""
    with catalog_path(lang).open("rb") as po:
        return {
            (str(m.id[0]), str(m.id[1])): [str(form) for form in m.string]
            for m in read_po(po, locale=lang)
            if isinstance(m.id, tuple) and isinstance(m.string, tuple)
        }


def texts(lang: str) -> list[tuple[str, str]]:
    """Every translated text of a catalog with its msgid: plain strings and each plural form."""
    found = list(catalog(lang).items())
    for (singular, _plural), forms in plurals(lang).items():
        found += [(singular, form) for form in forms]
    return found


def declared_forms(lang: str) -> int:
    """How many forms the catalog's Plural-Forms header declares (nplurals)."""
    with catalog_path(lang).open("rb") as po:
        header = read_po(po, locale=lang).mime_headers
    value = dict(header)["Plural-Forms"]
    match = re.search(r"nplurals\s*=\s*(\d+)", value)
    assert match, f"{lang}: Plural-Forms without nplurals: {value!r}"
    return int(match.group(1))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


CODE_IDS = code_msgids()


def test_the_code_uses_interface_strings() -> None:
    assert len(CODE_IDS) > 80
    assert "Who can help" in CODE_IDS and "Application form" in CODE_IDS


def test_the_code_uses_counted_strings() -> None:
    counted = [msgid for msgid in CODE_IDS if isinstance(msgid, tuple)]
    assert counted, "no ngettext/tn string found: are the extraction keywords right?"
    for singular, plural in counted:
        assert placeholders(singular) == placeholders(plural), (singular, plural)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_matches_the_code(lang: str) -> None:
    ids: set[str | Plural] = set(catalog(lang)) | set(plurals(lang))
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
def test_counted_strings_have_every_form_with_the_same_placeholders(lang: str) -> None:
    """As many forms as Plural-Forms declares, each translated and with the msgid's placeholders.

    A form that only one number takes (Arabic's 1 and 2, Spanish's 1) may leave the count out
    ("يومان", not "2 يومان"); a form several numbers share must show it.
    """
    nplurals = declared_forms(lang)
    single = {form for form, numbers in numbers_by_form(lang).items() if len(numbers) == 1}
    for (singular, plural), forms in plurals(lang).items():
        assert len(forms) == nplurals, f"{lang}: {len(forms)} forms of {plural!r}"
        expected = placeholders(plural)
        for index, form in enumerate(forms):
            assert form.strip(), f"{lang}: untranslated form {index} of {plural!r}"
            found = placeholders(form)
            if index in single:
                assert found <= expected, f"{lang}: placeholders of form {index} of {plural!r}"
            else:
                assert found == expected, f"{lang}: placeholders of form {index} of {plural!r}"
            for command in re.findall(r"/[a-z]+", plural):
                assert command in form, f"{lang}: {command} must stay untranslated in {plural!r}"
        if lang != "en":
            assert not {singular, plural} & set(forms), f"{lang}: copied, not translated"


def numbers_by_form(lang: str) -> dict[int, set[int]]:
    """Which of the numbers 0..1000 take each plural form in `lang`."""
    choose = translations(lang).plural
    found: dict[int, set[int]] = {}
    for n in range(1001):
        found.setdefault(choose(n), set()).add(n)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_forms_header_is_sound(lang: str) -> None:
    """Every form the header declares is taken by some number, and no number takes another."""
    assert set(numbers_by_form(lang)) == set(range(declared_forms(lang)))


def test_russian_counts_days_with_the_right_form() -> None:
    counted = sorted(
        msgid for msgid in CODE_IDS if isinstance(msgid, tuple) and "days" in placeholders(msgid[1])
    )
    assert counted, "no counted string with {days} in the code"
    singular, plural = counted[0]

    def usage(n: int) -> str:
        return ngettext("ru", singular, plural, n, days=n)

    one, few, many = usage(1), usage(2), usage(5)
    assert len({one, few, many}) == 3
    assert "1 день" in one and "2 дня" in few and "5 дней" in many
    assert usage(21).replace("21", "1") == one  # 21 takes the form of 1
    assert usage(11).replace("11", "5") == many and usage(14).replace("14", "5") == many
    assert usage(22).replace("22", "2") == few
    assert "дн." not in one + few + many


def test_ngettext_falls_back_to_english_forms() -> None:
    assert ngettext("xx", "{n} day", "{n} days", 1) == "1 day"
    assert ngettext("it-IT", "{n} day", "{n} days", 3) == "3 days"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogs_use_the_glossary_terms(lang: str) -> None:
    terms = load_glossary(REPO / "knowledge" / "glossary.yaml")
    for msgid, msgstr in texts(lang):
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
    assert gettext("it-IT", "Who can help") == "Who can help"  # Italian reads English
    assert gettext("be", "Who can help") == gettext("ru", "Who can help")  # the table's fallback


def test_resolve_order() -> None:
    assert resolve("ru", "ar", "fr") == "ru"  # chosen
    assert resolve(None, "ar", "fr") == "ar"  # the question's language
    assert resolve(None, "ko", "fr-CA") == "fr"  # not in the table: Telegram's language_code
    assert resolve(None, "it", "ru") == "en"  # an Italian question reads English, not Russian
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
    for msgid, msgstr in texts("fr"):
        bare = re.sub(r"https?://\S+|\{\w+\}|\d+:\d+", "", msgstr)
        assert not re.search(r"[^\s\u00a0\u202f][:;?!]", bare), f"fr: {msgid!r}"


def test_spanish_uses_usted() -> None:
    informal = re.compile(r"\b(tú|tu|tus|ti|te|contigo|estás|puedes|quieres|necesitas)\b", re.I)
    for msgid, msgstr in texts("es"):
        assert not informal.search(msgstr), f"es: tuteo in {msgid!r}"

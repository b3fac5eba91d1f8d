"""The languages table and language detection: scripts, look-alike languages, fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.language import (
    _LATIN_CANDIDATES,
    SUPPORTED,
    detect_language,
    encoders_can_read,
    native_script,
    ui_language,
)
from ingest import languages
from ingest.languages import BY_CODE, CODES, TABLE, catalogs, interface_language


def test_the_table_is_consistent() -> None:
    assert len(CODES) == len(TABLE) == len(set(CODES))
    assert CODES[0] == languages.DEFAULT
    for language in TABLE:
        assert language.code.isascii() and language.code.islower() and len(language.code) == 2
        assert language.english and language.native and language.script
        assert language.fallback in BY_CODE, f"{language.code}: fallback outside the table"
        assert BY_CODE[language.fallback].fallback == languages.DEFAULT, "no fallback chains"
    assert BY_CODE["ar"].rtl and BY_CODE["fa"].rtl and not BY_CODE["ru"].rtl


def test_detection_returns_only_languages_of_the_table() -> None:
    assert set(_LATIN_CANDIDATES) <= set(CODES)


def test_catalogs_are_the_folders_under_locales() -> None:
    folders = {path.parent.parent.name for path in languages.LOCALES_DIR.glob("*/LC_MESSAGES/*.po")}
    assert set(catalogs()) == folders
    assert catalogs()[0] == "en"
    assert catalogs() == SUPPORTED


def _catalog(root: Path, code: str) -> None:
    folder = root / code / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "waypoint.po").write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")


def test_adding_a_catalog_is_one_folder(tmp_path: Path) -> None:
    for code in ("en", "ru"):
        _catalog(tmp_path, code)
    before = catalogs(tmp_path)
    assert before == ("en", "ru")
    assert interface_language("be", before) == "ru"
    assert interface_language("pt-BR", before) == "en"

    _catalog(tmp_path, "pt")
    catalogs.cache_clear()
    after = catalogs(tmp_path)
    assert "pt" in after
    assert interface_language("pt-BR", after) == "pt"
    catalogs.cache_clear()


@pytest.mark.parametrize(
    ("code", "available", "expected"),
    [
        ("uk", ("en", "ru"), "en"),  # Ukrainian is never shown a Russian interface
        ("uk-UA", ("en", "ru", "uk"), "uk"),
        ("fa", ("en", "ar"), "en"),  # Persian is not Arabic
        ("fa_IR", ("en", "ar", "fa"), "fa"),
        ("be", ("en", "ru"), "ru"),
        ("kk", ("en", "ru"), "ru"),
        ("az", ("en", "tr"), "tr"),
        ("az", ("en",), "en"),  # the fallback has no catalog here
        ("pt-BR", ("en", "es"), "en"),
        ("de", ("en", "fr"), "en"),
        ("xx", ("en",), None),  # not a language we know: the caller tries its next candidate
        ("", ("en",), None),
        (None, ("en",), None),
    ],
)
def test_interface_language(
    code: str | None, available: tuple[str, ...], expected: str | None
) -> None:
    assert interface_language(code, available) == expected


def test_ui_language_is_always_a_catalog() -> None:
    for code in (*CODES, None, "", "xx", "zh-Hant", "pt_BR"):
        assert ui_language(code) in SUPPORTED
    for code in SUPPORTED:
        assert ui_language(code) == code
    assert ui_language("uk") != "ru" and ui_language("fa") != "ar"


@pytest.mark.parametrize(
    "text",
    [
        "چطور می‌توانم بفهمم که علیه من اعلان قرمز صادر شده؟",
        "ماموران امنیتی دیشب به خانه پدرم ریختند و دنبال من می‌گشتند",
        "گوشیم رو توی فرودگاه گرفتن، رمزش رو هم دادم. حالا چی کار کنم؟",
        "ویزای شنگن برای فعال حقوق بشر چقدر طول می‌کشد",
        "سلام وقت بخیر، یک سوال داشتم",
        "مي خواهم بدانم اسمم در فهرست هست يا نه",  # typed with Arabic yeh
        "برای جابه‌جایی موقت کجا درخواست بدهم",
    ],
)
def test_persian_is_not_arabic(text: str) -> None:
    assert detect_language(text) == "fa"


@pytest.mark.parametrize(
    "text",
    [
        "كيف يمكنني معرفة إن كانت هناك نشرة حمراء باسمي؟",
        "رجال الأمن عند الباب الآن، ماذا أفعل؟",
        "اعتقلوا أخي من الشارع ولا نعرف أين هو",
        "عايز أسافر أوروبا بس السفارة رفضت الفيزا",
        "شنوة نعمل كان البوليس يجي للدار؟",
        "شلون اگدر أطلع من البلد؟ خايف هواية",  # Iraqi spelling with گ
        "هل توجد منحة طوارئ للصحفيين؟",
    ],
)
def test_arabic_and_its_dialects(text: str) -> None:
    assert detect_language(text) == "ar"


@pytest.mark.parametrize(
    "text",
    [
        "Як дізнатися, чи є на мене червоне повідомлення Інтерполу?",
        "Мого колегу щойно затримали на вулиці",
        "що мені робити зараз",
        "дуже треба допомога",
        "Чи можу я отримати шенгенську візу?",
        "Де взяти грант на захист",
    ],
)
def test_ukrainian_is_not_russian(text: str) -> None:
    assert detect_language(text) == "uk"


@pytest.mark.parametrize(
    "text",
    [
        "Как узнать, есть ли на меня красное уведомление?",
        "Что мне делать сейчас?",
        "меня задержали на границе",
        "Помогите пожалуйста",
        "Можно ли получить визу в Киеве?",
    ],
)
def test_russian(text: str) -> None:
    assert detect_language(text) == "ru"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Калі ласка, дапамажыце, мяне шукаюць", "be"),
        ("Маған көмек керек, полиция үйде", "kk"),
        ("میں صحافی ہوں اور مجھے دھمکیاں مل رہی ہیں", "ur"),
        ("警察在我家门口，我该怎么办？", "zh"),
        ("警察が家に来ました。どうすればいいですか", "ja"),
    ],
)
def test_other_scripts(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    "text",
    [
        "el amn 3and el bab, sa3dooni",
        "3ayez visa l europe",
        "ana khayfa, el police 7awalet el beit",
        "sa7bi et3ata2al embare7",
    ],
)
def test_arabic_in_latin_letters_is_arabic(text: str) -> None:
    # People who type Arabic in Latin letters read Arabic script: answer them in Arabic.
    assert detect_language(text) == "ar"


@pytest.mark.parametrize(
    "text",
    [
        "meni pyshut shcho pryidut sohodni vnochi, adresu znaiut",
        "mene zatrymaly na kordoni, shcho robyty",
        "yak pereviryty chy ye na meni chervone povidomlennia",
    ],
)
def test_ukrainian_in_latin_letters_is_ukrainian_not_russian(text: str) -> None:
    assert detect_language(text) == "uk"


@pytest.mark.parametrize(
    "text",
    [
        "kak proverit est li na mne krasnoe uvedomlenie",
        "pomogite, chto delat esli zaderzhali",
        "kuda podat zhalobu i nuzhen li advokat",
    ],
)
def test_russian_in_latin_letters_is_russian(text: str) -> None:
    assert detect_language(text) == "ru"


@pytest.mark.parametrize(
    "text",
    ["kak proverit est li na mne krasnoe uvedomlenie", "pomogite, chto delat esli zaderzhali"],
)
def test_russian_in_latin_letters_is_read_in_cyrillic(text: str) -> None:
    native = native_script(text, detect_language(text))
    letters = [ch for ch in native if ch.isalpha()]
    assert letters and all("\u0400" <= ch <= "\u04ff" for ch in letters)
    assert native.count(" ") == text.count(" ")  # word for word, nothing added or dropped


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("How do I check for a red notice?", "en"),
        ("Как проверить, есть ли на мне красное уведомление?", "ru"),
        ("chto delat", "en"),  # a message not read as Russian stays as it was typed
        ("Cómo apelar la denegación del visado", "es"),
    ],
)
def test_other_messages_are_read_as_typed(text: str, lang: str) -> None:
    assert native_script(text, lang) == text


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Is Signal e2ee?", "en"),
        ("My meeting is at 3pm on the 3rd, can I travel?", "en"),
        ("Como posso contestar um alerta vermelho da Interpol?", "pt"),
        ("Wie kann ich eine Red Notice anfechten?", "de"),
    ],
)
def test_latin_text_with_digits_is_not_mistaken_for_arabic(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", " ", "?", "3", "٣", "\u200c", "👍", "x" * 5000, "7" * 50])
def test_detection_never_fails(text: str) -> None:
    assert detect_language(text) in CODES


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ("el amn 3and el bab, sa3dooni", False),
        ("الأمن عند الباب", True),
        ("My meeting is at 3pm on the 3rd", True),
        ("kak proverit est li na mne krasnoe uvedomlenie", True),
    ],
)
def test_arabic_in_latin_letters_is_not_left_to_the_encoders(text: str, readable: bool) -> None:
    assert encoders_can_read(text) is readable

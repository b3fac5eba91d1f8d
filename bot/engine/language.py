"""Which language a message is written in (ISO 639-1), robust on short texts.

The script decides first: Arabic script is Arabic, Persian or Urdu (by their own letters and
common words), Cyrillic is Russian, Ukrainian, Belarusian or Kazakh, Han and kana are Chinese
and Japanese. Latin text goes to a character n-gram model limited to the Latin languages of the
table (`ingest/languages.py`), with diacritics settling the usual confusions of short messages.
Arabic written in Latin letters with digits ("3and", "sa3dooni") stays English: the n-gram
model would otherwise guess Spanish or French. Every code returned is a row of the table.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ingest import languages

SUPPORTED: tuple[str, ...] = languages.catalogs()
_LATIN_CANDIDATES = ["en", "es", "fr", "tr", "de", "pt", "it", "nl", "pl", "id", "sw", "ro"]

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_HAN = re.compile(r"[\u4E00-\u9FFF\u3400-\u4DBF]")
_KANA = re.compile(r"[\u3040-\u30FF]")
_WORD = re.compile(r"[^\W\d_]+(?:\u200c[^\W\d_]+)*")


def _vocabulary(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Cyrillic: letters only one of the languages has, and frequent words without them.
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN = re.compile(r"[ыэъёЫЭЪЁ]")
_BELARUSIAN = re.compile(r"[ўЎ]")
_UKRAINIAN_ONLY = re.compile(r"[їєґЇЄҐ]")  # і is also Belarusian
_KAZAKH = re.compile(r"[әғқңөұүһӘҒҚҢӨҰҮҺ]")
_UKRAINIAN_WORDS = _vocabulary(
    "що щоб як це або чи але зараз дуже треба мене його вона вони де хто коли ще вже ось "
    "щось чому куди можу може ласка"
)
_RUSSIAN_WORDS = _vocabulary(
    "что чтобы как это или но сейчас очень нужно надо меня мне его она они где кто когда "
    "ещё еще уже вот почему куда могу может пожалуйста помогите"
)

# Arabic script: letters only Persian, Urdu or Arabic use, and frequent words of each. Persian
# words are compared after mapping Arabic yeh and kaf to the Persian forms, so a Persian message
# typed on an Arabic keyboard still matches; Arabic words are compared as written.
_URDU_LETTERS = re.compile(r"[ٹڈڑںےۓ]")
_PERSIAN_LETTERS = re.compile(r"[پچژگیک]")  # U+067E U+0686 U+0698 U+06AF U+06CC U+06A9
_ARABIC_LETTERS = re.compile(r"[ةىؤإيك]")  # teh marbuta, alef maksura, Arabic yeh and kaf
_TO_PERSIAN_FORMS = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})
_PERSIAN_WORDS = _vocabulary(
    "است هست هستم هستند نیست می نمی را که از برای با چی چه چطور چگونه کجا کنم کنید کرد "
    "دارم داره دارد باید شد شده خانه خونه البته کمک شما"
)
_PERSIAN_PREFIXES = ("می\u200c", "نمی\u200c")  # verb prefixes joined by a zero-width non-joiner
_ARABIC_WORDS = _vocabulary(
    "في على عن إلى الى هذا هذه ذلك التي الذي ماذا كيف هل أنا انا نحن أنت لماذا متى أين "
    "ليس لم لن قد كان يكون عند مع ساعدوني ساعدني"
)
_NEITHER = frozenset({"الان", "الآن"})  # "now" in both languages

# Arabic in Latin letters: a digit standing for ع ح ء inside or at the start of a word.
_ARABIZI = re.compile(r"\b(?:[a-z]{2,}[2379][a-z]+|[a-z][2379][a-z]{2,}|[2379][a-z]{2,})\b")
_NOT_ARABIZI = re.compile(
    r"^(\d+(st|nd|rd|th|am|pm|hrs|hours|days|weeks|months|years|min|mins|km|kg|mb|gb)|e2ee?)$"
)

_TURKISH = re.compile(r"[ığşİĞŞ]")
_SPANISH = re.compile(r"[ñ¿¡]")
_FRENCH = re.compile(r"[èêëçœàâùûîï]")


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_LATIN_CANDIDATES)
    return identifier


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _arabic_script(text: str) -> str:
    """Arabic, Persian or Urdu, by the letters and words only one of them uses."""
    if len(_URDU_LETTERS.findall(text)) >= 2:
        return "ur"
    persian = len(_PERSIAN_LETTERS.findall(text)) + 2 * sum(
        word in _PERSIAN_WORDS or word.startswith(_PERSIAN_PREFIXES)
        for word in _words(text.translate(_TO_PERSIAN_FORMS))
    )
    arabic = len(_ARABIC_LETTERS.findall(text)) + 2 * sum(
        word in _ARABIC_WORDS or (word.startswith("ال") and len(word) > 3 and word not in _NEITHER)
        for word in _words(text)
    )
    return "fa" if persian > arabic else "ar"


def _cyrillic_script(text: str) -> str:
    """Russian, Ukrainian, Belarusian or Kazakh, by their own letters and frequent words."""
    if _KAZAKH.search(text):
        return "kk"
    # Belarusian: ў, or і beside ы/э (Ukrainian has no ы/э, Russian no і).
    if _BELARUSIAN.search(text) or (
        _UKRAINIAN.search(text) and _RUSSIAN.search(text) and not _UKRAINIAN_ONLY.search(text)
    ):
        return "be"
    words = _words(text)
    ukrainian = len(_UKRAINIAN.findall(text)) + 2 * sum(w in _UKRAINIAN_WORDS for w in words)
    russian = len(_RUSSIAN.findall(text)) + 2 * sum(w in _RUSSIAN_WORDS for w in words)
    return "uk" if ukrainian > russian else "ru"


def _arabizi(text: str) -> bool:
    """Arabic written in Latin letters with digits for ع ح ء ("3and", "sa3dooni", "7aga")."""
    return any(not _NOT_ARABIZI.match(word) for word in _ARABIZI.findall(text.lower()))


# Russian typed in Latin letters ("kak proverit est li na mne"): frequent words only it has.
_TRANSLIT_RUSSIAN_WORDS = frozenset(
    [
        "kak",
        "chto",
        "shto",
        "eto",
        "menya",
        "mne",
        "dlya",
        "dlia",
        "skolko",
        "pomogite",
        "mozhno",
        "nuzhno",
        "nado",
        "gde",
        "kto",
        "seichas",
        "sejchas",
        "zaderzhali",
        "proverit",
        "dayut",
        "pochemu",
        "kogda",
        "khochu",
        "hochu",
        "mogu",
        "moy",
        "moya",
        "esli",
        "tolko",
        "uzhe",
        "segodnya",
        "vchera",
        "zavtra",
        "ochen",
        "delat",
        "srochno",
        "pozhaluysta",
        "pozhalujsta",
        "pomoch",
        "pomogi",
        "prishli",
        "zabrali",
        "arestovali",
        "govoryat",
        "trebuyut",
        "teper",
        "nichego",
        "ili",
        "vse",
        "vsyo",
        "nashego",
        "nashu",
        "moego",
        "moyu",
        "svoi",
        "svoy",
        "kuda",
        "otkuda",
        "nuzhen",
        "nuzhna",
        "nuzhny",
        "kakie",
        "kakoy",
        "kakaya",
        "chtoby",
        "bylo",
        "budet",
        "zdes",
        "potomu",
        "posle",
        "mozhet",
        "uznat",
        "podat",
        "snyat",
        "seychas",
    ]
)


def _known(text: str, vocabulary: frozenset[str]) -> int:
    """How many of the message's words are in `vocabulary` (a transliteration's common words)."""
    return sum(w in vocabulary for w in _words(text.lower()))


def _translit_russian(text: str) -> bool:
    return _known(text, _TRANSLIT_RUSSIAN_WORDS) >= 2


# Ukrainian typed in Latin letters ("meni pyshut shcho pryidut sohodni"): frequent words that
# Russian typed the same way spells otherwise ("shcho" / "chto", "mene" / "menya").
_TRANSLIT_UKRAINIAN_WORDS = frozenset(
    [
        "meni",
        "mene",
        "shcho",
        "shchob",
        "sohodni",
        "zaraz",
        "tse",
        "yak",
        "yakshcho",
        "chy",
        "vony",
        "yikh",
        "vzhe",
        "potribno",
        "treba",
        "mozhna",
        "koly",
        "chomu",
        "abo",
        "dopomozhit",
        "dopomohty",
        "laska",
        "diakuiu",
        "dyakuyu",
        "zatrymaly",
        "znaiut",
        "znaiu",
        "vnochi",
        "pyshut",
        "kazhut",
        "moho",
        "mii",
        "moia",
        "nashoho",
        "vdoma",
    ]
)


def _translit_ukrainian(text: str) -> bool:
    ukrainian = _known(text, _TRANSLIT_UKRAINIAN_WORDS)
    return ukrainian >= 2 and ukrainian > _known(text, _TRANSLIT_RUSSIAN_WORDS)


# Persian typed in Latin letters ("Finglish": "alan oomadan dam-e khoone, chikar konam"):
# frequent words no other supported language spells this way (not "man", "too", "ham", "che").
_TRANSLIT_PERSIAN_WORDS = frozenset(
    [
        "chikar",
        "konam",
        "mikonam",
        "mikonim",
        "mikhan",
        "mikham",
        "midan",
        "midam",
        "mishe",
        "nemidoonam",
        "nemidonam",
        "khoone",
        "khooneh",
        "khune",
        "khuneh",
        "khoonamoon",
        "daram",
        "darim",
        "shode",
        "shodam",
        "nist",
        "chetori",
        "chetor",
        "baraye",
        "lotfan",
        "inja",
        "oonja",
        "bayad",
        "gereftan",
        "bordan",
        "bazdasht",
        "ettelaat",
        "emrooz",
        "dirooz",
        "emshab",
        "sobh",
        "zendegi",
        "gooshi",
        "gooshim",
        "gooshimo",
        "mano",
        "hastam",
        "kojast",
        "chera",
        "donbalam",
        "komak",
    ]
)


def _translit_persian(text: str) -> bool:
    return _known(text, _TRANSLIT_PERSIAN_WORDS) >= 2


# Common ways of typing Russian letters in Latin that the standard scheme reads otherwise.
_MESSENGER_RUSSIAN = (("shch", "щ"), ("sch", "щ"), ("yj", "ый"), ("ij", "ий"), ("iy", "ий"))


def native_script(text: str, lang: str) -> str:
    """The message in its language's own script where people type it in Latin letters.

    Russian typed in Latin ("krasnyj cirkulyar kak proverit") is read back into Cyrillic, so
    the encoders and the Russian knowledge see Russian; anything else is returned unchanged.
    """
    if lang != "ru" or _CYRILLIC.search(text) or not _translit_russian(text):
        return text
    import cyrtranslit

    lowered = text.lower()
    for latin, cyrillic in _MESSENGER_RUSSIAN:
        lowered = lowered.replace(latin, cyrillic)
    return str(cyrtranslit.to_cyrillic(lowered, "ru"))


def encoders_can_read(text: str) -> bool:
    """False for Arabic typed in Latin letters with digits ("el amn 3and el bab"): no encoder
    was trained on it and no converter is vetted, so only the words can be trusted."""
    return not (_arabizi(text) and not _ARABIC.search(text))


def detect_language(text: str, default: str = "en") -> str:
    """The message's language: script first (Arabic, Cyrillic, CJK), then character n-grams."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 2:
        return default
    share = len(letters) * 0.3
    if len(_ARABIC.findall(text)) >= share:
        return _arabic_script(text)
    if len(_CYRILLIC.findall(text)) >= share:
        return _cyrillic_script(text)
    kana = len(_KANA.findall(text))
    if kana and kana + len(_HAN.findall(text)) >= share:
        return "ja"
    if len(_HAN.findall(text)) >= share:
        return "zh"
    if _arabizi(text):  # people who type Arabic in Latin letters read Arabic script
        return "ar"
    if _translit_ukrainian(text):  # Ukrainian is not Russian: answer in Ukrainian
        return "uk"
    if _translit_russian(text):
        return "ru"
    if _translit_persian(text):  # answered with the Persian interface
        return "fa"
    lang, prob = _identifier().classify(text)
    if (
        len(text.split()) < 3
        and prob < 0.9
        and not (_TURKISH.search(text) or _SPANISH.search(text))
    ):
        return default
    # Diacritics settle the common confusions of short messages.
    if lang not in ("tr",) and len(_TURKISH.findall(text)) >= 2:
        return "tr"
    if lang == "en" and _SPANISH.search(text):
        return "es"
    if lang == "en" and len(_FRENCH.findall(text)) >= 2:
        return "fr"
    return str(lang)


def ui_language(code: str | None) -> str:
    """The interface language for a detected or chosen code: its own catalog, else the
    table's fallback (Belarusian reads Russian), else English. Never Russian for Ukrainian."""
    return languages.interface_language(code, SUPPORTED) or languages.DEFAULT

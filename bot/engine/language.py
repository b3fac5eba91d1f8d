"""Which language a message is written in (ISO 639-1), robust on short texts."""

from __future__ import annotations

import re
from functools import lru_cache

SUPPORTED = ("en", "ru", "es", "fr", "tr", "ar")
_LATIN_CANDIDATES = ["en", "es", "fr", "tr", "de", "pt", "it", "nl", "pl", "id", "sw", "ro"]
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F]")
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_TURKISH = re.compile(r"[ığşİĞŞ]")
_SPANISH = re.compile(r"[ñ¿¡]")
_FRENCH = re.compile(r"[èêëçœàâùûîï]")


@lru_cache(maxsize=1)
def _identifier():  # type: ignore[no-untyped-def]
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(_LATIN_CANDIDATES)
    return identifier


def detect_language(text: str, default: str = "en") -> str:
    """The message's language: script first (Arabic, Cyrillic), then a character n-gram model."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 2:
        return default
    arabic = len(_ARABIC.findall(text))
    cyrillic = len(_CYRILLIC.findall(text))
    if arabic >= len(letters) * 0.3:
        return "ar"
    if cyrillic >= len(letters) * 0.3:
        return "uk" if _UKRAINIAN.search(text) else "ru"
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
    """The interface language for a detected or chosen code (falls back to English)."""
    if not code:
        return "en"
    code = code.split("-")[0].lower()
    if code in SUPPORTED:
        return code
    return {"uk": "ru", "be": "ru", "kk": "ru", "ky": "ru", "pt": "es", "az": "tr"}.get(code, "en")

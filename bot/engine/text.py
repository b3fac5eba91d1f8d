"""Tokens for lexical matching across inflecting languages (a light prefix stemmer)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Han characters are written without spaces: each one is a token, so a keyword is found
# wherever its characters stand in order ("红色通缉令" inside a longer sentence).
_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN = re.compile(f"[{_HAN_CHARS}]")
_HAN_SPLIT = re.compile(f"[{_HAN_CHARS}]|[^{_HAN_CHARS}]+")
# Persian and Arabic spell yeh and kaf with different letters; the zero-width non-joiner is
# written, dropped or typed as a space at will.
_LETTERS = str.maketrans({"\u06cc": "\u064a", "\u0649": "\u064a", "\u06a9": "\u0643", "\u200c": ""})
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
STEM_CHARS = 6


def normalize(text: str) -> str:
    """Case-folded text with letter variants unified (ё, Turkish i, Arabic alef, diacritics)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("ё", "е").replace("ı", "i").replace("İ", "i").translate(_LETTERS)
    # Drop Arabic diacritics and tatweel; unify alef forms.
    text = re.sub(r"[\u064B-\u0652\u0640]", "", text)
    return re.sub(r"[إأآ]", "ا", text)


def stem(token: str) -> str:
    """The token's first letters (Arabic: after the article and prefixes), as a crude stem."""
    if token and "\u0600" <= token[0] <= "\u06ff":
        for prefix in _ARABIC_PREFIXES:
            if token.startswith(prefix) and len(token) - len(prefix) >= 3:
                token = token[len(prefix) :]
                break
        return token[:5]
    return token[:STEM_CHARS]


def tokens(text: str) -> list[str]:
    """Normalised, stemmed word tokens (numbers kept, one-letter words dropped, Han text
    one character a token)."""
    out: list[str] = []
    for word in _WORD.findall(normalize(text)):
        parts = _HAN_SPLIT.findall(word) if _HAN.search(word) else [word]
        for part in parts:
            if _HAN.match(part):
                out.append(part)
            elif len(part) > 1:
                out.append(stem(part))
    return out


@lru_cache(maxsize=8192)
def _phrase_tokens(phrase: str) -> list[str]:
    return tokens(phrase)


def phrase_in(phrase: str, text_tokens: list[str]) -> bool:
    """True when every token of `phrase` appears in order, contiguously, in `text_tokens`."""
    want = _phrase_tokens(phrase)
    if not want:
        return False
    n = len(want)
    return any(text_tokens[i : i + n] == want for i in range(len(text_tokens) - n + 1))

"""Regular expressions over user text against adversarial 4,096-character messages.

Every pattern the bot applies to what a person writes (the injection guard, tokenising,
language detection, sentence splitting, the HTML tokenizer of the renderer, the LLM grounding
guard, the scrubber of kept questions) runs on messages built to make a backtracking engine
stall: keywords of the patterns glued or spaced and repeated, long runs of one character
class, near-misses of URLs, e-mails and phone numbers, in six scripts (Latin, Cyrillic,
Arabic, CJK, Devanagari, mixed with emoji). Reported per pattern: the worst time, that time
divided by a plain `str.lower()` of the same text, and divided by the pattern's time on an
ordinary message of the same length; and the growth exponent between 1,024 and 4,096
characters (1 = linear, 2 = quadratic).

`python -m bench guard` (part of `make bench`). The same corpus bounds the time in
tests/unit/test_guard_redos.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from bench.common import machine, write_section

COMMAND = "make bench (python -m bench guard)"
LENGTH = 4096

# Keywords of the patterns, per script, plus plain words of that script.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "latin": (
        "ignore", "instruction", "system", "prompt", "show", "users", "forget", "questions",
        "other users", "api", "key", "token", "you are", "olvida", "instruccion", "oublie",
        "talimat", "unut", "diğer kullanıcı", "soru", "mensajes", "otros usuarios",
    ),
    "cyrillic": (
        "вопрос", "други", "пользовател", "игнорир", "инструкц", "системн", "покажи", "всех",
        "данн", "забуд", "остальн", "промпт",
    ),
    "arabic": (
        "انس", "تجاهل", "التعليمات", "أسئلة", "المستخدمين", "الآخرين", "موجه", "النظام",
        "رسائل", "ال",
    ),
    "cjk": ("红色通缉令", "用户", "忽略", "指令", "问题", "其他", "。", "？"),
    "devanagari": ("नमस्ते", "उपयोगकर्ता", "निर्देश", "अन्य", "प्रश्न", "।"),
    "mixed": (
        "😀", "🆘", "ignore", "вопрос", "انس", "红色", "नम", "\u202e", "\u200d", "İ", "ı",
        "ß", "\u0301",
    ),
}
# Structural pieces that stress character-class runs, near-miss URLs, e-mails, phone numbers,
# HTML and list marks; repeated until the text is LENGTH long.
STRUCTURES: tuple[str, ...] = (
    " ", "\n", "\t ", ".", "1", "1 ", "1.", "1,", "+1-", "a.", "a-", "(a-", "@", "a@", "@a ",
    "<", "&", "&a", "<a", "**", "__", "`", "- ", "http://", "https://a/", "www.", "t.me/",
    "a.b/", "24/7 ", "(", ")", "'", "_", "#", "##",
)
# What an ordinary message of each script looks like (the baseline of the ratio).
ORDINARY: dict[str, str] = {
    "latin": "How do I challenge a red notice before I travel to Spain next month? ",
    "cyrillic": "Как оспорить красное уведомление Интерпола перед поездкой в Испанию? ",
    "arabic": "كيف أطعن في النشرة الحمراء قبل السفر إلى إسبانيا الشهر المقبل؟ ",
    "cjk": "我在下个月去西班牙之前如何对红色通缉令提出异议？",
    "devanagari": "अगले महीने स्पेन जाने से पहले मैं रेड नोटिस को कैसे चुनौती दूँ? ",
    "mixed": "Red notice 😀 красное уведомление النشرة الحمراء 红色通缉令 रेड नोटिस ",
}
LETTERS: dict[str, str] = {
    "latin": "a",
    "cyrillic": "д",
    "arabic": "س",
    "cjk": "红",
    "devanagari": "न",
    "mixed": "😀",
}


def _fill(piece: str, length: int) -> str:
    return (piece * (length // max(len(piece), 1) + 1))[:length]


def adversarial_texts(length: int = LENGTH, *, all_pairs: bool = True) -> dict[str, list[str]]:
    """Per script, messages of exactly `length` characters built to stall a backtracker.

    With `all_pairs` every ordered pair of keywords is glued and repeated; without, only
    neighbours in the list (a quicker corpus for tests)."""
    out: dict[str, list[str]] = {}
    for script, words in KEYWORDS.items():
        texts: list[str] = []
        letter = LETTERS[script]
        for a in words:
            texts.append(_fill(a, length))
            texts.append(_fill(a + " ", length))
            texts.append(_fill(a + letter * 3, length))
            for i, b in enumerate(words):
                near = abs(words.index(a) - i) == 1
                if a != b and (all_pairs or near):
                    texts.append(_fill(a + b, length))  # e.g. "вопросдруги" * 372
        texts.append(_fill(" ".join(words) + " ", length))
        texts.append(_fill("".join(words), length))
        texts.append(letter * length)
        for piece in STRUCTURES:
            texts.append(_fill(piece, length))
            texts.append(_fill(letter + piece, length))
        out[script] = texts
    return out


def ordinary_text(script: str, length: int = LENGTH) -> str:
    return _fill(ORDINARY[script], length)


def targets(*, all_of_them: bool = False) -> dict[str, Callable[[str], object]]:
    """Name → a call that applies one pattern (or one function's patterns) to user text.

    The default set is what the bot runs on a person's message; `all_of_them` adds what runs
    on the bot's own or staff text (reported by the benchmark, not asserted)."""
    from bot import html as render
    from bot.engine import compose, language, synthesis, text
    from bot.engine.guard import looks_like_injection
    from bot.engine.types import Passage

    passage = (
        Passage("a.md", "A", "https://a.example.org/x", (), 1.0, "Call +353 1 21 00 489, 24/7."),
    )
    out: dict[str, Callable[[str], object]] = {
        "guard.looks_like_injection": looks_like_injection,
        "text.tokens (normalize, _WORD)": text.tokens,
        "language script classes": lambda t: [
            p.findall(t)
            for p in (
                language._CYRILLIC, language._ARABIC, language._UKRAINIAN, language._TURKISH,
                language._SPANISH, language._FRENCH,
            )
        ],
        "synthesis.guard (LLM reply)": lambda t: synthesis.guard(t[:-4] + " [1]", passage),
        "render.clean": render.clean,
        "render._TOKEN / _TAG_NAME on escaped text": lambda t: [
            render._TAG_NAME.match(tok) for tok in render._TOKEN.findall(render.esc(t))
        ],
    }
    if all_of_them:
        out.update(_more_targets(compose, render))
    return out


def _more_targets(compose: object, render: object) -> Iterator[tuple[str, Callable[[str], object]]]:
    from bot.ops.logging import TOKEN_PATTERN
    from ingest.schema import parse_unit

    yield "compose._SENTENCE_END", compose._SENTENCE_END.split  # type: ignore[attr-defined]
    yield "compose._INTERNAL_ID", lambda t: compose._INTERNAL_ID.sub("", t)  # type: ignore[attr-defined]
    yield "compose._LIST_MARK", lambda t: compose._LIST_MARK.sub("", t)  # type: ignore[attr-defined]
    yield "compose._LETTER_WORD", compose._LETTER_WORD.findall  # type: ignore[attr-defined]
    yield "compose.sentences", compose.sentences  # type: ignore[attr-defined]
    yield "render._TOKEN on raw text", render._TOKEN.findall  # type: ignore[attr-defined]
    yield "ingest.schema.parse_unit (staff text)", parse_unit
    yield "ops.logging TOKEN_PATTERN", lambda t: TOKEN_PATTERN.sub("[token]", t)
    try:
        from bot.store.scrub import scrub
    except ImportError:
        from bot.store.store import scrub
    yield "store scrub (kept questions)", scrub
    try:
        from bot.store.store import scrub as old_scrub
    except ImportError:
        return
    if old_scrub is not scrub:
        yield "store.store.scrub", old_scrub


def _seconds(fn: Callable[[str], object], text: str, repeat: int = 1) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def worst_case(
    fn: Callable[[str], object], texts: dict[str, list[str]], *, recheck: int = 5
) -> tuple[float, str, str]:
    """The slowest (seconds, script, text) of `fn` over the corpus.

    One timing per text finds the candidates; the `recheck` slowest are timed again (best of
    three), so a pause of the machine does not pass for a slow pattern."""
    timed = [
        (_seconds(fn, item), script, item) for script, items in texts.items() for item in items
    ]
    timed.sort(key=lambda row: row[0], reverse=True)
    rechecked = [(_seconds(fn, item, repeat=3), script, item) for _, script, item in timed[:recheck]]
    return max(rechecked, key=lambda row: row[0], default=(0.0, "", ""))


def run() -> dict[str, float]:
    texts = adversarial_texts()
    short = adversarial_texts(LENGTH // 4)
    rows = []
    results: dict[str, float] = {}
    count = sum(len(v) for v in texts.values())
    for name, fn in targets(all_of_them=True).items():
        fn(ordinary_text("latin"))  # warm caches (langid model, babel data)
        took, script, text = worst_case(fn, texts)
        lower = _seconds(str.lower, text, repeat=20)
        ordinary = max(_seconds(fn, ordinary_text(s), repeat=3) for s in ORDINARY)
        quarter = text[: LENGTH // 4]
        small = max(_seconds(fn, quarter, repeat=3), 1e-7)
        growth = math.log(max(took, 1e-7) / small, 4)
        # The slowest short text too: the worst 4 KB text may be cheap when cut.
        small_worst, _, _ = worst_case(fn, short)
        results[name] = took
        rows.append(
            f"| {name} | {took * 1000:.2f} | {script} `{_show(text)}` | "
            f"{took / max(lower, 1e-9):,.0f} | {took / max(ordinary, 1e-9):.1f} | "
            f"{growth:.2f} | {small_worst * 1000:.2f} |"
        )
    table = "\n".join(rows)
    write_section(
        "Regular expressions on user text",
        f"""
Command: `{COMMAND}` — {machine()}; {count} adversarial messages of {LENGTH} characters in six
scripts (Latin, Cyrillic, Arabic, CJK, Devanagari, mixed with emoji): keywords of the patterns
glued and repeated, runs of one character class, near-miss URLs, e-mails, numbers and HTML.
Before the fix, the injection guard took 30 s on `"вопросдруги" * 372`.

| pattern | worst ms (4,096 chars) | worst message | × `str.lower()` | × ordinary message | growth exponent 1,024→4,096 | worst ms (1,024 chars) |
|---|---|---|---|---|---|---|
{table}

"× ordinary message" compares with the same pattern on an ordinary question of the same
length (the cost of reading 4 KB at all); a growth exponent near 1 is linear.
""",
    )
    return results


def _show(text: str) -> str:
    head = text[:12].replace("\n", "\\n").replace("\t", "\\t").replace("`", "'")
    return head.replace("|", "\\|") + "…"


if __name__ == "__main__":
    print(run())

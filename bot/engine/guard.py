"""Messages that try to steer the bot instead of asking for help take the not-found path."""

from __future__ import annotations

import re

_PATTERNS = [
    r"\bignore\b.{0,40}\b(instruction|rule|prompt|previous|above)",
    r"\b(system|hidden|developer)\s+prompt\b",
    r"\bnew\s+instructions?\b",
    r"\byou\s+are\s+(no\s+longer|now)\b",
    r"\b(api|secret|access)[\s_-]*(key|token)s?\b",
    r"\b(bot|telegram)\s+token\b",
    r"\b(list|show|give|dump|export)\b.{0,40}\b(users?|chat ids?|user ids?|who asked|who wrote|usernames?)\b",
    r"\bjailbreak\b|\bdan mode\b",
    r"игнорир\w*.{0,30}инструкц|системн\w+ промпт|покажи\W+(всех\W+)?пользовател",
    r"ignora\w*.{0,30}instruccion|ignore[rz]?\b.{0,30}\binstructions|talimatlar\w*.{0,30}yok say",
    r"تجاهل.{0,30}(التعليمات|الأوامر)",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.DOTALL)


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))

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
    r"\bjailbreak\b|\bdan mode\b|\badmin mode\b|\bdeveloper mode\b",
    r"\b(forget|disregard)\b.{0,40}\b(instruction|rule|prompt)",
    r"\b(questions?|messages?|chats?|data)\b.{0,30}\bother users\b"
    r"|\bother users'?\s+(questions|messages|chats|data)\b"
    r"|\bwhat (other )?(people|users) (asked|wrote|sent)",
    # Russian, Spanish, French, Turkish, Arabic: "forget/ignore your instructions",
    # "system prompt", "(questions of) other users".
    r"(игнорир|забуд|забыв|отмен)\w*.{0,40}инструкц|системн\w+ (промпт|инструкц)",
    r"(вопрос|сообщен|запрос|данн)\w*.{0,40}(други\w*|остальн\w*|всех) пользовател"
    r"|покажи\W+(всех\W+)?пользовател",
    r"(ignora|olvida|olvid)\w*.{0,40}instruccion|(preguntas|mensajes|datos).{0,30}otros usuarios"
    r"|prompt del sistema",
    r"(ignore|oublie)\w*.{0,40}instructions|(questions|messages|données).{0,30}autres utilisateurs"
    r"|prompt syst[eè]me",
    r"talimat\w*.{0,40}(yok say|unut|görmezden)|diğer kullanıcı\w*.{0,30}(soru|mesaj|veri)"
    r"|sistem (istemi|promptu)",
    r"(تجاهل|انس|انسى).{0,40}(التعليمات|تعليمات|الأوامر)"
    r"|(أسئلة|رسائل|بيانات).{0,30}المستخدمين الآخرين|موجه النظام",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.DOTALL)


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))

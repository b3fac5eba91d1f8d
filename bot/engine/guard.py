"""Messages that try to steer the bot instead of asking for help take the not-found path.

Linear time on any input: the text is cut to `MAX_SCAN_CHARS` and every quantifier in the
patterns is bounded, with no bounded run of word characters placed next to a wildcard run
(the shape that made "вопросдруги" * 400 take 30 s: `\\w*.{0,40}(други\\w*…)` tries every
split of a long word three ways). Each match attempt therefore costs a constant number of
steps, whatever the script or the repetition. `bench/guard_bench.py` measures the worst case
against plain `str.lower()` on the same text; tests/unit/test_guard_redos.py bounds it.
"""

from __future__ import annotations

import re

MAX_SCAN_CHARS = 4096  # one Telegram message; the engine cuts questions to the same length

_PATTERNS = [
    r"\bignore\b.{0,40}\b(?:instruction|rule|prompt|previous|above)",
    r"\b(?:system|hidden|developer)\s{1,3}prompt\b",
    r"\bnew\s{1,3}instructions?\b",
    r"\byou\s{1,3}are\s{1,3}(?:no\s{1,3}longer|now)\b",
    r"\b(?:api|secret|access)[\s_-]{0,3}(?:key|token)s?\b",
    r"\b(?:bot|telegram)\s{1,3}token\b",
    r"\b(?:list|show|give|dump|export)\b.{0,40}\b(?:users?|chat ids?|user ids?|who asked|who wrote|usernames?)\b",
    r"\bjailbreak\b|\bdan mode\b|\badmin mode\b|\bdeveloper mode\b",
    r"\b(?:forget|disregard)\b.{0,40}\b(?:instruction|rule|prompt)",
    r"\b(?:ai|assistant|bot|chatgpt|gpt|model)\b.{0,30}\b(?:no|without)\s{1,3}(?:any\s{1,3})?"
    r"(?:restrictions|filters|limits|rules)\b|\bunfiltered\b",
    r"\b(?:print|reveal|repeat|show|copy|tell me)\b.{0,30}\byour\s{1,3}(?:system\s{1,3})?"
    r"(?:prompt|instructions|rules)\b",
    r"\b(?:questions?|messages?|chats?|data)\b.{0,30}\bother users\b"
    r"|\bother users'?\s{1,3}(?:questions|messages|chats|data)\b"
    r"|\bwhat (?:other )?(?:people|users) (?:asked|wrote|sent)",
    # Russian, Spanish, French, Turkish, Arabic: "forget/ignore your instructions",
    # "system prompt", "(questions of) other users". A stem's ending is folded into the
    # wildcard after it (`.{0,52}` = up to 12 letters of ending + the 40 characters between).
    r"(?:игнорир|забуд|забыв|отмен).{0,52}(?:инструкц|правил|предыдущ)|системн\w{1,12} (?:промпт|инструкц)"
    r"|(?:\bбот\b|chatgpt|нейросет|ассистент|отвеча).{0,40}без (?:ограничений|фильтров|цензуры)"
    r"|режим\w{0,3} разработчика",
    r"(?:вопрос|сообщен|запрос|данн).{0,52}(?:(?:други|остальн)\w{0,12}|всех) пользовател"
    r"|покажи\W{1,8}(?:всех\W{1,8})?пользовател",
    r"(?:ignora|olvid).{0,52}(?:instruccion|reglas|normas|lo anterior|indicaciones)"
    r"|a partir de ahora (?:eres|serás|vas a ser)\b"
    r"|(?:preguntas|mensajes|datos).{0,30}otros usuarios|prompt del sistema"
    r"|modo (?:desarrollador|sin filtros)"
    r"|(?:respond|contest|chatgpt|asistente|\bia\b).{0,40}sin (?:filtros|restricciones|censura|reglas)",
    r"(?:ignore|oublie).{0,52}(?:instructions|règles|consignes|ce qui précède|précédent)"
    r"|à partir de maintenant,? tu (?:es|seras)\b"
    r"|(?:questions|messages|données).{0,30}autres utilisateurs|prompt syst[eè]me"
    r"|mode d[eé]veloppeur"
    r"|(?:répond|chatgpt|assistant|\bia\b).{0,40}sans (?:filtres?|restrictions?|censure)",
    r"(?:talimat|kural).{0,52}(?:yok say|unut|görmezden)|diğer kullanıcı.{0,42}(?:soru|mesaj|veri)"
    r"|sistem (?:istemi|promptu)|geliştirici mod"
    r"|(?:cevap|yanıt|yapay zeka|asistan).{0,40}(?:kısıtlamasız|filtresiz|sansürsüz)",
    r"(?:تجاهل|انس|انسى).{0,40}(?:التعليمات|تعليمات|الأوامر|القواعد|قواعدك)"
    r"|(?:أسئلة|رسائل|بيانات).{0,30}المستخدمين الآخرين|موجه النظام|وضع المطور"
    r"|(?:أجب|جاوب|ذكاء اصطناعي|مساعد).{0,40}بدون (?:قيود|فلاتر|رقابة)",
    # German, Portuguese, Ukrainian, Persian (object first or last), Chinese (no spaces).
    r"(?:ignorier|vergiss|vergessen).{0,52}(?:anweisung|regeln|vorgaben|instruktion)"
    r"|system-?prompt|entwicklermodus|(?:assistent|\bbot\b|\bki\b).{0,40}ohne "
    r"(?:regeln|filter|einschränkungen|zensur)|(?:fragen|nachrichten|daten).{0,30}"
    r"andere[rn]? (?:nutzer|benutzer)",
    r"(?:ignor[ea]|esque[cç][ae]).{0,52}(?:instru[cç][oõ]es|regras|o que foi dito|o que te disseram)"
    r"|prompt d[eo] sistema|(?:teu|seu) prompt\b|modo desenvolvedor|(?:assistente|\bbot\b|\bia\b).{0,40}sem "
    r"(?:regras|filtros|restri[cç][oõ]es|censura)|(?:perguntas|mensagens|dados).{0,30}"
    r"outros usu[aá]rios",
    r"(?:ігнору|забудь|забудьте).{0,52}(?:інструкці|правил|попередн)|системн\w{1,12} "
    r"(?:промпт|інструкц)|(?:питанн|повідомлен|дані).{0,52}інших користувач"
    r"|(?:\bбот\b|chatgpt|асистент|відповіда).{0,40}без (?:обмежень|фільтрів|цензури)",
    r"(?:دستورالعمل|دستورات|قوانین|قواعد).{0,40}(?:نادیده بگیر|فراموش کن)"
    r"|(?:نادیده بگیر|فراموش کن).{0,40}(?:دستورالعمل|دستورات|قوانین|قواعد)"
    r"|پرامپت سیستم|(?:سوال|پیام|اطلاعات).{0,30}کاربران دیگر",
    r"(?:忽略|忘记|无视).{0,20}(?:指令|指示|规则|提示)|系统提示|开发者模式"
    r"|其他用户.{0,20}(?:问题|消息|数据)|(?:没有|不受|无)(?:任何)?(?:限制|过滤)的?(?:助手|模式|回答)",
]
# Matched against lower-cased text (cheaper than IGNORECASE on a long alternation); the dotted
# and dotless Turkish i both become "i", so "DİĞER KULLANICI" and "diger kullanici" match too.
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS).replace("ı", "i"), re.DOTALL)


def _fold(text: str) -> str:
    return text[:MAX_SCAN_CHARS].lower().replace("ı", "i").replace("i\u0307", "i")


def looks_like_injection(text: str) -> bool:
    """True when the message tries to steer the bot or reach other people's data."""
    return bool(_INJECTION.search(_fold(text)))

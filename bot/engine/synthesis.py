"""Optional LLM answer over the retrieved passages, and the guard that checks it.

With WAYPOINT_LLM_BASE_URL and WAYPOINT_LLM_MODEL set, a LangChain chat model (any
OpenAI-compatible server: llama.cpp, Ollama, vLLM) writes a short answer with [n] citations.
The guard rejects any output that cites nothing or contains a URL, email, phone number or
number absent from the sources; then, as on a timeout or error, the extractive answer stands.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from bot.engine.types import Passage

logger = logging.getLogger(__name__)


def _prompts_dir() -> Path:
    """`prompts/` beside the source tree (editable install), else in the working directory."""
    beside = Path(__file__).resolve().parents[2] / "prompts"
    return beside if beside.is_dir() else Path.cwd() / "prompts"


PROMPTS = _prompts_dir()
LANGUAGE_NAMES = {
    "en": "English",
    "ru": "Russian",
    "es": "Spanish",
    "fr": "French",
    "tr": "Turkish",
    "ar": "Arabic",
}

_CITATION = re.compile(r"\[(\d{1,2})\]")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:org|com|int|eu|net|info)\b[/\w.-]*", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_NUMBER = re.compile(r"\d[\d\s.,]*\d|\d")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def guard(text: str, passages: Sequence[Passage], extra_sources: Sequence[str] = ()) -> str | None:
    """`text` if every fact-like token in it is grounded and it cites a passage; else None."""
    if not text or not text.strip():
        return None
    cited = {int(n) for n in _CITATION.findall(text)}
    if not cited or not cited <= set(range(1, len(passages) + 1)):
        return None
    source = "\n".join([p.text for p in passages] + [p.url for p in passages] + list(extra_sources))
    source_lower = source.lower()
    body = _CITATION.sub(" ", text)
    for match in _EMAIL.findall(body):
        if match.lower().rstrip(".") not in source_lower:
            return None
    for match in _URL.findall(body):
        if match.lower().rstrip(".,)") not in source_lower:
            return None
    source_digits = {_digits(m) for m in _NUMBER.findall(source)}
    source_all_digits = _digits(source)
    for match in _NUMBER.findall(_EMAIL.sub(" ", _URL.sub(" ", body))):
        digits = _digits(match)
        if digits and digits not in source_digits and digits not in source_all_digits:
            return None
    return text.strip()


class Synthesizer:
    def __init__(self, base_url: str, model: str, timeout: float, prompts: Path = PROMPTS) -> None:
        from langchain_openai import ChatOpenAI

        self.system = (prompts / "answer.system.md").read_text(encoding="utf-8")
        self.user = (prompts / "answer.user.md").read_text(encoding="utf-8")
        self.model = ChatOpenAI(
            base_url=base_url,
            model=model,
            api_key="not-needed",  # type: ignore[arg-type]
            timeout=timeout,
            max_retries=0,
            temperature=0,
        )

    def write(self, question: str, language: str, passages: Sequence[Passage]) -> str | None:
        if not passages:
            return None
        numbered = "\n\n".join(f"[{n}] {p.title}\n{p.text}" for n, p in enumerate(passages, 1))
        messages = [
            ("system", self.system.format(language_name=LANGUAGE_NAMES.get(language, "English"))),
            ("human", self.user.format(question=question, passages=numbered)),
        ]
        try:
            reply = self.model.invoke(messages)
        except Exception as exc:  # timeout, connection refused, bad response: extractive stands
            logger.warning("LLM synthesis failed: %s", type(exc).__name__)
            return None
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        checked = guard(text, passages)
        if checked is None:
            logger.info("LLM answer rejected by the grounding guard")
        return checked

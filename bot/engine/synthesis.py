"""Optional LLM answer over the retrieved passages, and the guard that checks it.

With WAYPOINT_LLM_BASE_URL and WAYPOINT_LLM_MODEL set, a LangChain chat model (any
OpenAI-compatible server: llama.cpp, Ollama, vLLM) writes a short answer with [n] citations.
The guard rejects any output that cites nothing or contains a URL, host, @handle, e-mail,
phone number or number that does not equal one in the sources; then, as on a timeout or
error, the extractive answer stands. No call is traced to LangSmith, whatever the environment.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.types import Guidance, Passage
from ingest.languages import BY_CODE, base_code

logger = logging.getLogger(__name__)


def _prompts_dir() -> Path:
    """The prompt templates: the copy a wheel carries (`bot/prompts/`, built from the
    repository's `prompts/`), else `prompts/` beside the source tree (a checkout or an editable
    install), else in the working directory."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "prompts", here.parents[2] / "prompts"):
        if (candidate / "answer.system.md").is_file():
            return candidate
    return Path.cwd() / "prompts"


PROMPTS = _prompts_dir()
_CITATION = re.compile(r"\[(\d{1,2})\]")
_LIST_MARK = re.compile(r"^[ \t]{0,8}\d{1,2}[.)][ \t]", re.MULTILINE)
# Tokens are cut at spaces and brackets; every pattern below is anchored or has only bounded
# or unambiguous repeats, so the guard is linear in the length of the reply.
_SPLIT = re.compile(r"[\s<>()\[\]{}\"'«»“”‘’`*|]+")
_LEAD = "([{<\"'«“‘¿¡"
_TRAIL = ".,;:!?)]}>\"'»”’…"
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,15}://")
_HOST = re.compile(r"^[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}$")
_HANDLE = re.compile(r"^@[a-z0-9_]{2,64}$")
_EMAIL = re.compile(r"^[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}$")
# A phone number: 7 or more digits with at most a few separators between them.
_PHONE = re.compile(r"\+?\d(?:[ \u00a0\u202f().\-/]{0,3}\d){6,24}")
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f]\d+)*")
_GROUPED = re.compile(r"[.,\u00a0\u202f](?=\d{3}(?:\D|$))")
MAX_REPLY_CHARS = 4096


@dataclass
class _Facts:
    """The fact-like tokens of a text, each in the form that is compared for equality."""

    urls: set[str] = field(default_factory=set)  # scheme and "www." dropped, lower case
    hosts: set[str] = field(default_factory=set)
    handles: set[str] = field(default_factory=set)  # "@name", lower case
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # digits only
    numbers: set[str] = field(default_factory=set)  # digit groups joined, decimals kept


def _is_host(token: str) -> bool:
    if not _HOST.match(token):
        return False
    last = token.rsplit(".", 1)[1]
    return len(last) >= 2 and last.isalpha()


def _url_key(token: str) -> str:
    token = _SCHEME.sub("", token)
    token = token.split("#", 1)[0].rstrip("/")
    return token[4:] if token.startswith("www.") else token


def facts(text: str) -> _Facts:
    """URLs, hosts, @handles, e-mails, phone numbers and other numbers of `text`."""
    out = _Facts()
    rest: list[str] = []
    for raw in _SPLIT.split(text[: MAX_REPLY_CHARS * 64]):
        token = raw.strip(_LEAD).rstrip(_TRAIL).lower()
        if not token:
            continue
        if _SCHEME.match(token) or token.startswith("www."):
            key = _url_key(token)
            host = key.split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
            out.urls.add(key)
            out.hosts.add(host)
            continue
        if _HANDLE.match(token):
            out.handles.add(token)
            continue
        if "@" in token:
            if _EMAIL.match(token):
                out.emails.add(token)
                continue
            # Anything else with an "@" is a handle glued to text ("write@name"): compare it.
            out.handles.add("@" + token.rsplit("@", 1)[1])
            continue
        head, slash, _ = token.partition("/")
        if _is_host(head):
            key = _url_key(token)
            out.hosts.add(head[4:] if head.startswith("www.") else head)
            if slash and key != head:
                out.urls.add(key)
            continue
        rest.append(raw)
    body = " ".join(rest)
    for match in _PHONE.finditer(body):
        out.phones.add(re.sub(r"\D", "", match.group()))
    body = _PHONE.sub(" ", body)
    for match in _NUMBER.finditer(body):
        out.numbers.add(_GROUPED.sub("", match.group()).replace(",", "."))
    return out


def _sources(passages: Sequence[Passage], extra: Sequence[str]) -> _Facts:
    texts = [p.text for p in passages] + [p.title for p in passages] + [p.url for p in passages]
    out = facts("\n".join(texts + list(extra)))
    # A t.me link in a source supplies its @handle.
    for url in list(out.urls):
        host, _, path = url.partition("/")
        if host in ("t.me", "telegram.me") and path:
            out.handles.add("@" + path.split("/", 1)[0])
    return out


def guard(text: str, passages: Sequence[Passage], extra_sources: Sequence[str] = ()) -> str | None:
    """`text` if it cites a passage and every fact-like token in it equals one in the sources.

    URLs, hosts, @handles (t.me links too), e-mails, phone numbers and whole numbers are parsed
    from both sides and compared whole: a prefix of a real URL, a look-alike host, or "72"
    made of the digits of "24/7" is not in the sources, and the reply is rejected.
    """
    if not text or not text.strip() or len(text) > MAX_REPLY_CHARS:
        return None
    cited = {int(n) for n in _CITATION.findall(text)}
    if not cited or not cited <= set(range(1, len(passages) + 1)):
        return None
    said = facts(_LIST_MARK.sub(" ", _CITATION.sub(" ", text)))
    known = _sources(passages, extra_sources)
    grounded = (
        said.urls <= known.urls
        and said.hosts <= known.hosts
        and said.handles <= known.handles
        and said.emails <= known.emails
        and said.phones <= known.phones
        and said.numbers <= known.numbers
    )
    return text.strip() if grounded else None


def _untraced() -> AbstractContextManager[object]:
    """No LangSmith tracing for this call, whatever the environment says (questions stay here)."""
    try:
        from langsmith.run_helpers import tracing_context
    except ImportError:  # langsmith not installed: nothing can trace
        return contextlib.nullcontext()
    return tracing_context(enabled=False)  # type: ignore[no-any-return]


class Synthesizer:
    """Writes the direct answer with an LLM from the vetted unit and passages, or gives up."""

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

    def write(
        self,
        question: str,
        language: str,
        passages: Sequence[Passage],
        guidance: Guidance | None = None,
    ) -> str | None:
        """The direct answer (1-4 sentences with [n] citations) in `language`, or None when
        the model fails or the guard rejects what it wrote. A vetted answer unit, when there
        is one, is source [1]; the Do/Don't lists, organizations and contacts stay the
        engine's, so the answer has the same shape with or without an LLM."""
        sources = list(passages)
        if guidance is not None and guidance.kind == "answer":
            sources.insert(0, _as_passage(guidance))
        if not sources:
            return None
        numbered = "\n\n".join(f"[{n}] {p.title}\n{p.text}" for n, p in enumerate(sources, 1))
        known = BY_CODE.get(base_code(language))
        messages = [
            ("system", self.system.format(language_name=known.english if known else "English")),
            ("human", self.user.format(question=question, passages=numbered)),
        ]
        try:
            with _untraced():
                reply = self.model.invoke(messages)
        except Exception as exc:  # timeout, connection refused, bad response: extractive stands
            logger.warning("LLM synthesis failed: %s", type(exc).__name__)
            return None
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        checked = guard(text, sources)
        if checked is None:
            logger.info("LLM answer rejected by the grounding guard")
        return checked


def _as_passage(guidance: Guidance) -> Passage:
    """A vetted unit as a numbered source: its answer with its Do and Don't lines."""
    lines = [guidance.text] + [f"- {item}" for item in guidance.do + guidance.dont]
    return Passage(
        doc_id=guidance.doc_id,
        title=guidance.title,
        url=guidance.source_url,
        topics=(),
        score=1.0,
        text="\n".join(lines),
        language=guidance.language,
    )

"""One typed settings object, read once from the environment (and an optional `.env`).

Contract names (other tools rely on them): WAYPOINT_DATA_DIR, WAYPOINT_KNOWLEDGE_DIR,
CHROMA_URL, TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, TELEGRAM_API_BASE_FILE_URL,
WAYPOINT_PROXY_URL, WAYPOINT_ADMIN_IDS, WAYPOINT_LOG_FORMAT, WAYPOINT_EMBEDDINGS,
WAYPOINT_LLM_BASE_URL, WAYPOINT_LLM_MODEL, WAYPOINT_LLM_TIMEOUT, WAYPOINT_SECRET_KEY,
WAYPOINT_SECRET_KEY_FILE,
WAYPOINT_KEEP_UNANSWERED, WAYPOINT_RETENTION_DAYS, WAYPOINT_HTTP_PORT, WAYPOINT_HTTP_HOST,
WAYPOINT_RATE_LIMIT, WAYPOINT_SINGLE_ADMIN_PUBLISH, WAYPOINT_CHROMA_TOKEN, WAYPOINT_CHROMA_CA_FILE.

Secrets (the bot token, the HMAC key, the Chroma token, a proxy URL that may carry a
password) are left out of `repr()` and never echoed in an error message.

Importing this module turns LangSmith/LangChain tracing off for the process, whatever the
environment says: every entry point reads its settings before anything imports LangChain, and
a trace would send people's questions to a third party.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from dotenv import dotenv_values

from bot.engine.config import EngineConfig
from ingest.encoders import DEFAULT_EMBEDDINGS

T = TypeVar("T")

TRACING_VARIABLES = (
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING",
    "LANGCHAIN_TRACING_V2",
)


def disable_tracing() -> None:
    """Force LangSmith tracing off (environment, and LangSmith's cached copy of it)."""
    for name in TRACING_VARIABLES:
        os.environ[name] = "false"
    utils = sys.modules.get("langsmith.utils")
    if utils is not None:  # already imported: drop its cached reading of the environment
        cache_clear = getattr(getattr(utils, "get_env_var", None), "cache_clear", None)
        if cache_clear is not None:
            cache_clear()


disable_tracing()

SECRET_VARIABLES = frozenset(
    {"TELEGRAM_BOT_TOKEN", "WAYPOINT_SECRET_KEY", "WAYPOINT_CHROMA_TOKEN", "WAYPOINT_PROXY_URL"}
)

EMBEDDINGS_CHOICES = ("hybrid", "minilm", "use", "e5", "hybrid-e5", "hybrid-use-e5")


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """The app's configuration; the defaults suit a local run (`from_env` reads it)."""

    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    chroma_url: str | None = None
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    telegram_api_base_file_url: str | None = None
    proxy_url: str | None = field(default=None, repr=False)  # may hold a password
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    log_format: Literal["text", "json"] = "text"
    embeddings: str = DEFAULT_EMBEDDINGS
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 20.0
    secret_key: str | None = field(default=None, repr=False)
    secret_key_file: Path | None = None  # default: ~/.config/waypoint/secret.key
    keep_unanswered: bool = False
    retention_days: int = 90
    http_port: int | None = None
    http_host: str = "127.0.0.1"
    rate_limit_per_minute: int = 20  # updates (messages, commands, buttons) per user
    single_admin_publish: bool = False  # an admin may approve their own upload
    chroma_token: str | None = field(default=None, repr=False)  # sent to CHROMA_URL
    chroma_ca_file: Path | None = None  # CA bundle that signed CHROMA_URL's certificate
    # Shared by every replica behind one webhook URL (else each start makes its own).
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def chroma_dir(self) -> Path:
        """The embedded index's folder, used when CHROMA_URL is not set."""
        return self.data_dir / "chroma"

    @property
    def state_db(self) -> Path:
        """The SQLite state database."""
        return self.data_dir / "state.sqlite3"

    @property
    def llm_enabled(self) -> bool:
        """True when both an LLM endpoint and a model are configured."""
        return bool(self.llm_base_url and self.llm_model)

    def engine_config(self) -> EngineConfig:
        """What the answer engine needs of these settings."""
        return EngineConfig(
            knowledge_dir=self.knowledge_dir,
            data_dir=self.data_dir,
            embeddings=self.embeddings,
            chroma_url=self.chroma_url,
            chroma_token=self.chroma_token,
            chroma_ca_file=self.chroma_ca_file,
            llm_base_url=self.llm_base_url,
            llm_model=self.llm_model,
            llm_timeout=self.llm_timeout,
        )

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read settings from `environ` (default: the process environment) over `.env`."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls._parse(values)

    @classmethod
    def _parse(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str, convert: Callable[[str], T], default: T) -> T:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return convert(raw)
            except (ValueError, TypeError) as exc:
                raise SettingsError(_safe_message(name, str(exc), raw)) from None

        def opt(name: str) -> str | None:
            return env.get(name, "").strip() or None

        log_format = get("WAYPOINT_LOG_FORMAT", _choice("text", "json"), "text")
        embeddings = get("WAYPOINT_EMBEDDINGS", _choice(*EMBEDDINGS_CHOICES), DEFAULT_EMBEDDINGS)
        return cls(
            data_dir=get("WAYPOINT_DATA_DIR", Path, Path("data")),
            knowledge_dir=get("WAYPOINT_KNOWLEDGE_DIR", Path, Path("knowledge")),
            chroma_url=get("CHROMA_URL", _url, None),
            telegram_bot_token=opt("TELEGRAM_BOT_TOKEN"),
            telegram_api_base_url=get("TELEGRAM_API_BASE_URL", _url, None),
            telegram_api_base_file_url=get("TELEGRAM_API_BASE_FILE_URL", _url, None),
            proxy_url=get("WAYPOINT_PROXY_URL", _proxy_url, None),
            admin_ids=get("WAYPOINT_ADMIN_IDS", _id_set, frozenset()),
            log_format=log_format,  # type: ignore[arg-type]
            embeddings=embeddings,
            llm_base_url=get("WAYPOINT_LLM_BASE_URL", _url, None),
            llm_model=opt("WAYPOINT_LLM_MODEL"),
            llm_timeout=get("WAYPOINT_LLM_TIMEOUT", _positive(float), 20.0),
            secret_key=opt("WAYPOINT_SECRET_KEY"),
            secret_key_file=get("WAYPOINT_SECRET_KEY_FILE", Path, None),
            keep_unanswered=get("WAYPOINT_KEEP_UNANSWERED", _bool, False),
            retention_days=get("WAYPOINT_RETENTION_DAYS", _positive(int), 90),
            http_port=get("WAYPOINT_HTTP_PORT", _port, None),
            http_host=get("WAYPOINT_HTTP_HOST", str, "127.0.0.1"),
            rate_limit_per_minute=get("WAYPOINT_RATE_LIMIT", _positive(int), 20),
            single_admin_publish=get("WAYPOINT_SINGLE_ADMIN_PUBLISH", _bool, False),
            chroma_token=get("WAYPOINT_CHROMA_TOKEN", _token, None),
            chroma_ca_file=get("WAYPOINT_CHROMA_CA_FILE", _existing_file, None),
            webhook_secret=get("WAYPOINT_WEBHOOK_SECRET", _webhook_secret, None),
        )


def _safe_message(name: str, message: str, raw: str) -> str:
    """`NAME: message` with no secret in it: a secret variable's value, and any password in
    a URL, are replaced before the message can reach a terminal or a log."""
    if name in SECRET_VARIABLES:
        message = message.replace(repr(raw), "(value hidden)").replace(raw, "(value hidden)")
    return f"{name}: {_redact_urls(message)}"


def _redact_urls(text: str) -> str:
    """Drop the user:password part of any URL in `text`."""
    out = []
    for word in text.split(" "):
        scheme, sep, rest = word.partition("://")
        if sep and "@" in rest.split("/", 1)[0]:
            word = f"{scheme}://***@{rest.split('@', 1)[1]}"
        out.append(word)
    return " ".join(out)


def _webhook_secret(raw: str) -> str:
    """Telegram's rule for a webhook secret token: 1-256 of A-Z, a-z, 0-9, _ and -."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", raw):
        raise ValueError("must be 16-256 characters of letters, digits, _ and -")
    return raw


def _token(raw: str) -> str:
    if not raw.isascii() or not raw.isprintable() or " " in raw:
        raise ValueError("must be printable ASCII without spaces (letters, digits, punctuation)")
    return raw


def _existing_file(raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise ValueError(f"no such file: {raw!r}")
    return path


def _choice(*allowed: str) -> Callable[[str], str]:
    def convert(raw: str) -> str:
        if raw.lower() not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {raw!r}")
        return raw.lower()

    return convert


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(raw: str) -> Any:
        value = kind(raw)
        if value <= 0:
            raise ValueError(f"must be positive, got {raw!r}")
        return value

    return convert


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) URL, got {raw!r}")
    return raw.rstrip("/") if raw.count("/") > 2 else raw


def _proxy_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://", "socks5://", "socks5h://")):
        raise ValueError(f"expected an http(s) or socks5 URL, got {raw!r}")
    return raw


def _port(raw: str) -> int:
    port = int(raw)
    if not 0 < port < 65536:
        raise ValueError(f"not a TCP port: {raw!r}")
    return port


def _id_set(raw: str) -> frozenset[int]:
    parts = [p for p in raw.replace(";", ",").replace(" ", ",").split(",") if p]
    return frozenset(int(p) for p in parts)

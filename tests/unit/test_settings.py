"""One typed settings object; a malformed variable fails fast, naming itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults():
    s = Settings.from_env({}, env_file=None)
    assert s.data_dir == Path("data") and s.knowledge_dir == Path("knowledge")
    assert s.chroma_url is None and s.log_format == "text" and s.embeddings == "hybrid-use-e5"
    assert s.retention_days == 90 and not s.keep_unanswered and s.http_port is None
    assert s.state_db == Path("data/state.sqlite3") and not s.llm_enabled


def test_contract_names_are_read():
    s = Settings.from_env(
        {
            "WAYPOINT_DATA_DIR": "/srv/wp",
            "WAYPOINT_KNOWLEDGE_DIR": "/srv/k",
            "CHROMA_URL": "http://10.0.0.5:8000",
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "TELEGRAM_API_BASE_FILE_URL": "http://127.0.0.1:8081/file/bot",
            "WAYPOINT_PROXY_URL": "socks5://127.0.0.1:1080",
            "WAYPOINT_ADMIN_IDS": "1, 2;3",
            "WAYPOINT_LOG_FORMAT": "JSON",
            "WAYPOINT_EMBEDDINGS": "use",
            "WAYPOINT_KEEP_UNANSWERED": "yes",
            "WAYPOINT_RETENTION_DAYS": "30",
            "WAYPOINT_HTTP_PORT": "9100",
        },
        env_file=None,
    )
    assert s.data_dir == Path("/srv/wp") and s.chroma_dir == Path("/srv/wp/chroma")
    assert s.chroma_url == "http://10.0.0.5:8000"
    assert s.telegram_api_base_url == "http://127.0.0.1:8081/bot"
    assert s.admin_ids == frozenset({1, 2, 3}) and s.log_format == "json"
    assert s.embeddings == "use" and s.keep_unanswered and s.retention_days == 30
    assert s.http_port == 9100 and s.http_host == "127.0.0.1"
    assert s.proxy_url == "socks5://127.0.0.1:1080"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WAYPOINT_LOG_FORMAT", "xml"),
        ("WAYPOINT_RETENTION_DAYS", "-1"),
        ("WAYPOINT_HTTP_PORT", "99999"),
        ("WAYPOINT_ADMIN_IDS", "alice"),
        ("CHROMA_URL", "localhost:8000"),
        ("WAYPOINT_PROXY_URL", "ftp://proxy"),
        ("WAYPOINT_KEEP_UNANSWERED", "maybe"),
        ("WAYPOINT_EMBEDDINGS", "openai"),
    ],
)
def test_malformed_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value}, env_file=None)


def test_dotenv_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("WAYPOINT_RETENTION_DAYS=7\nWAYPOINT_LOG_FORMAT=json\n")
    s = Settings.from_env({"WAYPOINT_LOG_FORMAT": "text"}, env_file=env_file)
    assert s.retention_days == 7 and s.log_format == "text"


def test_webhook_secret_is_shared_when_configured_and_fresh_otherwise() -> None:
    from bot.app import webhook_secret

    shared = Settings.from_env({"WAYPOINT_WEBHOOK_SECRET": "a" * 32}, env_file=None)
    assert webhook_secret(shared) == webhook_secret(shared) == "a" * 32
    assert "a" * 32 not in repr(shared)
    alone = Settings.from_env({}, env_file=None)
    assert webhook_secret(alone) != webhook_secret(alone)
    with pytest.raises(SettingsError, match="WAYPOINT_WEBHOOK_SECRET"):
        Settings.from_env({"WAYPOINT_WEBHOOK_SECRET": "short!"}, env_file=None)

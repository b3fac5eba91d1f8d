"""Secrets stay secret: not in `repr(Settings)`, not in configuration errors, and no
question leaves the machine through LangSmith tracing, whatever the environment says."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "hunter2-Pa55"
TOKEN = "123456789:AAH-secret-bot-token-value-0123456789"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WAYPOINT_PROXY_URL", f"ftp://user:{PASSWORD}@proxy.example:8080"),
        ("CHROMA_URL", f"ftp://user:{PASSWORD}@chroma.example:8000"),
        ("TELEGRAM_API_BASE_URL", f"tg://user:{PASSWORD}@api.example/bot"),
        ("WAYPOINT_CHROMA_TOKEN", f"{PASSWORD} with spaces"),
    ],
)
def test_configuration_errors_do_not_echo_secrets(name, value):
    with pytest.raises(SettingsError) as caught:
        Settings._parse({name: value})
    assert name in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_cli_configuration_error_does_not_echo_the_proxy_password(monkeypatch, tmp_path, capsys):
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WAYPOINT_PROXY_URL", f"ftp://user:{PASSWORD}@proxy.example:8080")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "WAYPOINT_PROXY_URL" in err and PASSWORD not in err


def test_repr_holds_no_secret():
    settings = Settings._parse(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "WAYPOINT_SECRET_KEY": "k" * 40,
            "WAYPOINT_CHROMA_TOKEN": "chroma-" + PASSWORD,
            "WAYPOINT_PROXY_URL": f"socks5://user:{PASSWORD}@proxy.example:1080",
        }
    )
    assert settings.telegram_bot_token == TOKEN and settings.chroma_token
    for shown in (repr(settings), str(settings)):
        assert TOKEN not in shown and PASSWORD not in shown and "k" * 40 not in shown


def test_chroma_token_is_read():
    assert Settings._parse({"WAYPOINT_CHROMA_TOKEN": "abc.DEF-123"}).chroma_token == "abc.DEF-123"
    assert Settings._parse({}).chroma_token is None


class _Recorder:
    """A stand-in LangSmith endpoint that records whatever is posted to it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                recorder.paths.append(self.path)
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = _any  # noqa: N815 - http.server's naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SCRIPT = """
import json, sys
{preamble}
from bot.engine.synthesis import Synthesizer
from bot.engine.types import Passage
from langchain_core.tracers.langchain import wait_for_all_tracers
from langsmith.utils import tracing_is_enabled
passages = (Passage("a.md", "A", "https://a.example.org", (), 1.0, "The line is open."),)
reply = Synthesizer(sys.argv[1], "stub", timeout=5).write("a secret question", "en", passages)
wait_for_all_tracers()
print(json.dumps({{"reply": reply, "enabled": bool(tracing_is_enabled())}}))
"""


def _run(preamble: str, tmp_path: Path) -> tuple[dict[str, object], list[str]]:
    from tests.support.llm_stub import LLMStub

    recorder = _Recorder()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANGSMITH_TRACING": "true",
        "LANGCHAIN_TRACING_V2": "true",
        "LANGSMITH_API_KEY": "lsv2-not-a-real-key",
        "LANGSMITH_ENDPOINT": recorder.url,
        "LANGCHAIN_ENDPOINT": recorder.url,
    }
    try:
        with LLMStub() as stub:
            stub.reply = "The line is open [1]."
            done = subprocess.run(
                [sys.executable, "-c", SCRIPT.format(preamble=preamble), stub.url],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
            )
    finally:
        recorder.close()
    return json.loads(done.stdout.strip().splitlines()[-1]), recorder.paths


def test_tracing_is_off_whatever_the_environment_says(tmp_path):
    result, posted = _run("import bot.cli", tmp_path)
    assert result["reply"] == "The line is open [1]."
    assert result["enabled"] is False
    assert posted == []


def test_the_recorder_would_see_a_trace(tmp_path):
    """The check above can fail: with tracing forced on, the stand-in endpoint gets the run."""
    result, posted = _run(
        "import os\nos.environ.update(LANGSMITH_TRACING='true')\n"
        "import bot.engine.synthesis as s\ns._untraced = __import__('contextlib').nullcontext\n"
        "import langsmith.utils as u\nu.get_env_var.cache_clear()",
        tmp_path,
    )
    assert result["reply"] == "The line is open [1]."
    assert posted

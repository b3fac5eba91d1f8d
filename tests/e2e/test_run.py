"""`run()` as `waypoint run` starts it (a separate process, SIGTERM), and the webhook mode."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import ALLOWED_UPDATES, file_url_for, webhook_options
from tests.e2e.conftest import ALICE, SECRET, buttons, is_answer, running, settled
from tests.support.botapi import TOKEN, BotAPI

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

LAUNCHER = textwrap.dedent(
    """
    import logging, sys
    from tests.support.fakes import FakeEngine

    from bot.app import run
    from bot.ops.logging import configure_logging
    from bot.services import Services
    from bot.settings import Settings

    configure_logging("text", logging.INFO)
    services = Services(engine_factory=lambda s: FakeEngine(s.knowledge_dir))
    sys.exit(
        run(
            Settings.from_env(env_file=None),
            webhook_url=None,
            listen="127.0.0.1",
            port=0,
            services=services,
        )
    )
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_file_url_is_derived_from_the_base_url() -> None:
    assert file_url_for("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url_for("https://api.example.org/tg/bot") == "https://api.example.org/tg/file/bot"


async def test_run_polls_reports_health_and_stops_cleanly_on_sigterm(
    api: BotAPI, tmp_path: Path
) -> None:
    ops_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WAYPOINT_", "TELEGRAM_"))},
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "WAYPOINT_DATA_DIR": str(tmp_path / "data"),
        "WAYPOINT_KNOWLEDGE_DIR": str(tmp_path),
        "WAYPOINT_SECRET_KEY": SECRET,
        "WAYPOINT_HTTP_PORT": str(ops_port),
        "PYTHONPATH": str(REPO),
    }
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LAUNCHER, cwd=tmp_path, env=env, stderr=err
        )
        try:
            await api.wait_until(lambda: api.long_polls > 0, timeout=30)
            assert api.last_allowed_updates == ALLOWED_UPDATES
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{ops_port}/healthz") as response:
                    assert response.status == 200
                    assert (await response.json())["checks"] == {
                        "index": True,
                        "store": True,
                        "updater": True,
                    }
                mark = api.mark()
                api.push_text(ALICE, "sleepy question about my red notice")
                await api.wait_call("sendChatAction", since=mark)
                process.send_signal(signal.SIGTERM)  # while the answer is being written
                assert await asyncio.wait_for(process.wait(), 20) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    answers = [m for m in api.sent(ALICE.id, since=mark) if buttons(m)]
    assert len(answers) == 1
    log = stderr.read_text()
    assert "update handled" in log
    # Nothing that identifies the user or the question, and no token.
    for secret in ("sleepy question", str(ALICE.id), TOKEN, "Alice"):
        assert secret not in log


async def test_webhook_checks_the_secret_token(
    api: BotAPI, settings: Any, engine: Any, clock: Any
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running(settings, engine, clock, polling=False) as app:
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, **webhook_options(url, "s3cret_Token-123")
        )
        assert api.webhook is not None and api.webhook["url"] == url
        assert api.webhook["secret_token"] == "s3cret_Token-123"
        assert api.last_allowed_updates == ALLOWED_UPDATES
        update = {
            "update_id": 9100,
            "message": {
                "message_id": 5,
                "date": int(time.time()),
                "chat": {"id": ALICE.id, "type": "private"},
                "from": {"id": ALICE.id, "is_bot": False, "first_name": "A"},
                "text": "red notice via webhook",
            },
        }
        assert await api.deliver_webhook(update, secret=None) == 403
        assert await api.deliver_webhook(update, secret="wrong") == 403
        await api.quiet(0.2)
        assert engine.questions == []
        assert await api.deliver_webhook(update) == 200
        (reply,) = await api.wait_sent(ALICE.id)
        assert is_answer(reply)
        # Telegram retries a webhook it thinks failed: the duplicate is not answered again.
        assert await api.deliver_webhook(update) == 200
        await api.quiet(0.3)
        await settled(app)
        assert len(api.sent(ALICE.id)) == 1


def test_builder_wiring(settings: Any) -> None:
    from bot.app import build_application
    from bot.services import Services

    configured = settings.with_(proxy_url="socks5://127.0.0.1:9050")
    app = build_application(configured, Services(settings=configured))
    updates_request, request = app.bot._request
    assert updates_request._client_kwargs["proxy"] == "socks5://127.0.0.1:9050"
    assert request._client_kwargs["proxy"] == "socks5://127.0.0.1:9050"
    assert app.bot.base_url == settings.telegram_api_base_url + TOKEN
    assert app.bot.base_file_url == file_url_for(settings.telegram_api_base_url) + TOKEN
    assert app.bot.rate_limiter._max_retries == 3
    assert app.update_processor.max_concurrent_updates > 1
    assert app.bot_data.settings is configured
    explicit = settings.with_(telegram_api_base_file_url="http://files.local/f/bot")
    app = build_application(explicit, Services(settings=explicit))
    assert app.bot.base_file_url == "http://files.local/f/bot" + TOKEN


def test_missing_token_is_a_configuration_error(settings: Any) -> None:
    from bot.app import run
    from bot.settings import SettingsError

    assert run(settings.with_(telegram_bot_token=None), webhook_url=None, listen="", port=0) == 2
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        from bot.app import build_application
        from bot.services import Services

        build_application(settings.with_(telegram_bot_token=None), Services())

"""The Telegram application: `build_application(settings, services)` builds it (tests call it
with fakes), `run(settings, …)` runs it with long polling or a webhook until SIGINT/SIGTERM.

Opening the engine and the store, re-processing the durable inbox, setting the command menu
and starting the operator's HTTP server all happen in `post_init`; closing in
`post_shutdown`. On SIGTERM PTB stops fetching, answers the updates already received, then
shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

from bot.handlers import register
from bot.handlers.inbox import replay_pending
from bot.handlers.start import COMMANDS
from bot.i18n import LANGUAGES, gettext
from bot.services import Services
from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]  # exactly what the handlers handle
MAX_RETRIES = 3  # RetryAfter (429) is waited out and retried this often
CONCURRENT_UPDATES = 16  # /reindex and slow answers must not hold up everyone else

App = Application[Any, Any, Any, Any, Services, Any]


def file_url_for(base_url: str) -> str:
    """TELEGRAM_API_BASE_FILE_URL derived from the base URL: ".../bot" -> ".../file/bot"."""
    head, sep, tail = base_url.rpartition("/bot")
    if sep and "/" not in tail:
        return f"{head}/file/bot{tail}"
    return base_url.rstrip("/") + "/file/bot"


def build_application(settings: Settings, services: Services) -> App:
    """Build the Application with every handler registered; opens nothing yet."""
    if not settings.telegram_bot_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN: required to run the bot")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .context_types(ContextTypes(bot_data=Services))
        .rate_limiter(AIORateLimiter(max_retries=MAX_RETRIES))
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_api_base_url:
        builder = builder.base_url(settings.telegram_api_base_url)
    file_url = settings.telegram_api_base_file_url or (
        file_url_for(settings.telegram_api_base_url) if settings.telegram_api_base_url else None
    )
    if file_url:
        builder = builder.base_file_url(file_url)
    if settings.proxy_url:
        builder = builder.proxy(settings.proxy_url).get_updates_proxy(settings.proxy_url)
    application: App = builder.build()
    services.settings = settings
    application.bot_data = services
    register(application, settings.admin_ids)
    return application


async def _post_init(application: App) -> None:
    """Open the services, set the command menu, re-queue unanswered updates, start ops HTTP."""
    svc = application.bot_data
    await svc.open()
    await set_commands(application)
    await replay_pending(application)
    if svc.settings.http_port:
        from bot.ops.http import OpsServer

        svc.ops = OpsServer(
            svc.settings.http_host,
            svc.settings.http_port,
            svc.metrics,
            health=lambda: health(application),
        )
        await svc.ops.start()


async def _post_shutdown(application: App) -> None:
    svc = application.bot_data
    if svc.ops is not None:
        await svc.ops.stop()
        svc.ops = None
    await svc.close()


async def set_commands(application: App) -> None:
    """The command menu in every language (English as the default)."""
    for lang in (None, *LANGUAGES):
        commands = [
            BotCommand(name, gettext(lang or "en", description)) for name, description in COMMANDS
        ]
        try:
            await application.bot.set_my_commands(commands, language_code=lang)
        except TelegramError as exc:
            logger.warning("could not set the command menu: %s", type(exc).__name__)
            return


async def health(application: App) -> dict[str, bool]:
    """index loaded, store writable, updater running (for /healthz)."""
    svc = application.bot_data
    size = await asyncio.to_thread(svc.engine.index_size) if svc.is_open else 0
    svc.metrics.index_size.set(size)
    writable = await svc.store.is_writable() if svc.is_open else False
    updater = application.updater
    return {
        "index": size > 0,
        "store": writable,
        "updater": updater is not None and updater.running,
    }


def webhook_options(webhook_url: str, secret_token: str) -> dict[str, Any]:
    """Arguments for `run_webhook`/`Updater.start_webhook`: the path comes from the URL."""
    return {
        "url_path": urlparse(webhook_url).path.lstrip("/"),
        "webhook_url": webhook_url,
        "secret_token": secret_token,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": False,
    }


def run(settings: Settings, *, webhook_url: str | None, listen: str, port: int) -> int:
    """Run the bot until SIGINT/SIGTERM; return the process exit code."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its URLs contain the token
    try:
        application = build_application(settings, Services(settings=settings))
    except SettingsError as exc:
        logger.error("configuration error: %s", exc)
        return 2
    try:
        if webhook_url:
            # A fresh secret each start: setWebhook registers it, Telegram echoes it in the
            # X-Telegram-Bot-Api-Secret-Token header, and PTB answers 403 to anything else.
            options = webhook_options(webhook_url, secrets.token_urlsafe(32))
            application.run_webhook(listen=listen, port=port, **options)
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    except Exception as exc:  # opening the store or the index failed: say so and exit
        logger.critical("the bot stopped: %s", type(exc).__name__, exc_info=exc)
        return 1
    return 0

"""The Telegram application: `build_application(settings, services)` builds it (tests call it
with fakes), `run(settings, …)` runs it with long polling or a webhook until SIGINT/SIGTERM.

Opening the engine and the store, re-processing the durable inbox, setting the command menu
and starting the operator's HTTP server all happen in `post_init`; closing in
`post_shutdown`. On SIGTERM PTB stops fetching, answers the updates already received, then
shuts down; `WaypointApplication` gives up on answers still running after `DRAIN_S` (their
questions stay in the durable inbox for the next start), so the process always exits.

Long polling goes through `bot.polling.PollingBot` (bounded retries, one log line per episode
of trouble). Requests to the Bot API pass `ChatActionExempt`, PTB's AIORateLimiter except that
"typing…" indicators skip its overall limit, so they never delay an answer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlparse

import httpx
from telegram import BotCommand
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import HTTPXRequest

from bot.handlers import register
from bot.handlers.inbox import replay_pending
from bot.handlers.start import COMMANDS
from bot.i18n import LANGUAGES, gettext
from bot.polling import PollingBot
from bot.services import STORE_FAILURES, Services, describe_store_error
from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]  # exactly what the handlers handle
MAX_RETRIES = 3  # RetryAfter (429) is waited out and retried this often
CONCURRENT_UPDATES = 16  # /reindex and slow answers must not hold up everyone else
# Updates fetched but not yet handled. A full queue makes polling (or the webhook) wait, so a
# flood slows intake instead of growing memory; Telegram keeps what was not fetched.
UPDATE_QUEUE_MAX = 1024
DRAIN_S = 10.0  # on SIGTERM, answers still running after this long are given up
DRAIN_GRACE_S = 2.0  # then this long for the cancelled handlers and jobs to unwind
REINDEX_WAIT_S = 60.0  # or this long when a reindex is rewriting the index
EXEMPT_ENDPOINTS = frozenset({"sendChatAction"})  # not counted by the overall Bot API limit


class ChatActionExempt(AIORateLimiter):
    """PTB's AIORateLimiter (30 requests with a chat_id per second overall, 20 a minute per
    group, RetryAfter waited out) except for "typing…": a chat action is sent at once and
    never counts, so under load the indicators cannot hold answers back. One that Telegram
    refuses is dropped (the caller ignores a failed indicator)."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        """Send chat actions straight away; everything else goes through the limiter."""
        if endpoint in EXEMPT_ENDPOINTS:
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


class WaypointApplication(Application[Any, Any, Any, Any, Services, Any]):
    """PTB's Application with a bounded stop: no hanging answer keeps the process alive."""

    async def stop(self) -> None:
        """Stop as PTB does (answer what was received), giving up on answers after `DRAIN_S`.

        Updates still being handled then are cancelled: their questions stay in the durable
        inbox (a reply already sent marked them done). A running reindex is waited for a while
        longer rather than cut off midway through rewriting the index.
        """
        stopping = asyncio.ensure_future(super().stop())
        done, _ = await asyncio.wait({stopping}, timeout=DRAIN_S)
        if done:
            return stopping.result()
        svc = self.bot_data
        stuck = svc.inbox.give_up() if svc.is_open else 0
        if stuck:
            svc.abandoned += stuck
            logger.error(
                "gave up on %d update(s) still being handled %.0f s after the stop signal; "
                "unanswered questions stay in the inbox for the next start",
                stuck,
                DRAIN_S,
            )
        grace = DRAIN_GRACE_S
        if svc.reindex_lock.locked():
            grace = REINDEX_WAIT_S
            logger.warning("waiting up to %.0f s for the running reindex to finish", grace)
        done, _ = await asyncio.wait({stopping}, timeout=grace)
        if done:
            return stopping.result()
        svc.abandoned += 1
        logger.error("stopping is still blocked after %.0f s more; shutting down anyway", grace)
        return None


App = Application[Any, Any, Any, Any, Services, Any]


def file_url_for(base_url: str) -> str:
    """TELEGRAM_API_BASE_FILE_URL derived from the base URL: ".../bot" -> ".../file/bot"."""
    head, sep, tail = base_url.rpartition("/bot")
    if sep and "/" not in tail:
        return f"{head}/file/bot{tail}"
    return base_url.rstrip("/") + "/file/bot"


def build_application(
    settings: Settings, services: Services, *, transport: httpx.AsyncBaseTransport | None = None
) -> App:
    """Build the Application with every handler registered; opens nothing yet.

    `transport` replaces the network under PTB's request layer (unit tests pass an in-process
    Bot API, `httpx.MockTransport`).
    """
    if not settings.telegram_bot_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN: required to run the bot")
    # Durations as timedelta (PTB 22.2+ warns on every RetryAfter otherwise); nothing here
    # reads them as numbers.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    base_url = settings.telegram_api_base_url or "https://api.telegram.org/bot"
    file_url = settings.telegram_api_base_file_url or file_url_for(base_url)
    network: dict[str, Any] = {"proxy": settings.proxy_url}
    if transport is not None:
        network = {"httpx_kwargs": {"transport": transport}}
    bot = PollingBot(
        token=settings.telegram_bot_token,
        base_url=base_url,
        base_file_url=file_url,
        # PTB's own defaults (256 connections, one for getUpdates, 5 s timeouts).
        request=HTTPXRequest(connection_pool_size=256, **network),
        get_updates_request=HTTPXRequest(connection_pool_size=1, **network),
        rate_limiter=ChatActionExempt(max_retries=MAX_RETRIES),
        # Every text is HTML; a reply in a group goes out even if the question was deleted.
        defaults=Defaults(parse_mode=ParseMode.HTML, allow_sending_without_reply=True),
        metrics=services.metrics,
    )
    builder = (
        ApplicationBuilder()
        .application_class(WaypointApplication)
        .bot(bot)
        .context_types(ContextTypes(bot_data=Services))
        .concurrent_updates(CONCURRENT_UPDATES)
        .update_queue(asyncio.Queue(maxsize=UPDATE_QUEUE_MAX))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
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
    try:
        await replay_pending(application)
    except STORE_FAILURES as exc:  # answer new questions; the old ones wait for the next start
        svc.metrics.errors.labels(type=type(exc).__name__).inc()
        logger.error("could not re-read the inbox: %s", describe_store_error(exc))
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


def webhook_secret(settings: Settings) -> str:
    """The configured shared secret, or a fresh one for a single process."""
    return settings.webhook_secret or secrets.token_urlsafe(32)


def webhook_options(webhook_url: str, secret_token: str) -> dict[str, Any]:
    """Arguments for `run_webhook`/`Updater.start_webhook`: the path comes from the URL."""
    return {
        "url_path": urlparse(webhook_url).path.lstrip("/"),
        "webhook_url": webhook_url,
        "secret_token": secret_token,
        "allowed_updates": ALLOWED_UPDATES,
        "drop_pending_updates": False,
    }


def run(
    settings: Settings,
    *,
    webhook_url: str | None,
    listen: str,
    port: int,
    services: Services | None = None,
) -> int:
    """Run the bot until SIGINT/SIGTERM; return the process exit code.

    `services` defaults to the real engine and store; tests pass `Services` built with their
    own factories (a fake engine), in a real process, without touching any module.
    """
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its URLs contain the token
    try:
        application = build_application(settings, services or Services(settings=settings))
    except SettingsError as exc:
        logger.error("configuration error: %s", exc)
        return 2
    try:
        if webhook_url:
            # setWebhook registers the secret, Telegram echoes it in the
            # X-Telegram-Bot-Api-Secret-Token header, and PTB answers 403 to anything else.
            # Replicas behind one URL share WAYPOINT_WEBHOOK_SECRET; alone, a fresh one.
            options = webhook_options(webhook_url, webhook_secret(settings))
            application.run_webhook(listen=listen, port=port, **options)
        else:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
    except Exception as exc:  # opening the store or the index failed: say so and exit
        logger.critical("the bot stopped: %s", type(exc).__name__, exc_info=exc)
        return 1
    if application.bot_data.abandoned:
        # A given-up answer may still block a worker thread, which the interpreter would wait
        # for at exit. The state is on disk (SQLite, WAL): exit without waiting.
        logger.warning("exiting without waiting for the answers given up on")
        logging.shutdown()
        os._exit(0)
    return 0

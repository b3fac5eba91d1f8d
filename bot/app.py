"""The Telegram application: `build_application(settings, services)` builds it (tests call it
with fakes), `run(settings, …)` runs it with long polling or a webhook until SIGINT/SIGTERM.

Opening the engine and the store, re-processing the durable inbox, setting the command menu
and starting the operator's HTTP server all happen in `post_init`; closing in
`post_shutdown`. On SIGTERM PTB stops fetching, answers the updates already received, then
shuts down; `WaypointApplication` gives up on answers still running after `DRAIN_S` (their
questions stay in the durable inbox for the next start), so the process always exits.

Long polling goes through `PollingBot`: PTB's polling loop backs off up to 30 s between failed
getUpdates calls (a constant in `telegram.ext._utils.networkloop`; v22 has no option to lower
it) and logs a traceback for each failure, so after a long Bot API outage the bot could stay
deaf for half a minute. `PollingBot` retries failed long polls itself, after at most
`POLL_RETRY_MAX_S`, logs once per episode of trouble, and says clearly when another instance
polls with the same token (409 Conflict).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from typing import Any
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, ExtBot
from telegram.request import HTTPXRequest

from bot.handlers import register
from bot.handlers.inbox import replay_pending
from bot.handlers.start import COMMANDS
from bot.i18n import LANGUAGES, gettext
from bot.ops.metrics import Metrics
from bot.services import STORE_FAILURES, Services, describe_store_error
from bot.settings import Settings, SettingsError

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]  # exactly what the handlers handle
MAX_RETRIES = 3  # RetryAfter (429) is waited out and retried this often
CONCURRENT_UPDATES = 16  # /reindex and slow answers must not hold up everyone else
DRAIN_S = 10.0  # on SIGTERM, answers still running after this long are given up
DRAIN_GRACE_S = 2.0  # then this long for the cancelled handlers and jobs to unwind
REINDEX_WAIT_S = 60.0  # or this long when a reindex is rewriting the index
POLL_RETRY_FIRST_S = 0.5  # a failed long poll is retried after this long, doubling...
POLL_RETRY_MAX_S = 5.0  # ...up to this, so polling resumes within 5 s after an outage
POLL_REMIND_S = 600.0  # trouble that lasts is logged again this often
CONFLICT_HINTS = {
    "webhook": "a webhook is set for this token (another instance runs in webhook mode?)",
    "": "another bot instance is polling with this token",
}


class PollingTrouble:
    """One episode of failing long polls: logged when it starts, reminded, reported at its end."""

    def __init__(self, metrics: Metrics | None) -> None:
        self.metrics = metrics
        self.failures = 0
        self.kind: str | None = None
        self.since = 0.0
        self.logged_at = 0.0

    def failed(self, exc: TelegramError) -> float:
        """Count and (once per episode or kind) log a failed long poll; return the retry delay."""
        now = time.monotonic()
        kind = type(exc).__name__
        if self.metrics is not None:
            self.metrics.errors.labels(type=kind).inc()
        if self.failures == 0:
            self.since = now
        self.failures += 1
        if kind != self.kind or now - self.logged_at >= POLL_REMIND_S:
            self.kind, self.logged_at = kind, now
            lasting = now - self.since
            if isinstance(exc, Conflict):
                hint = CONFLICT_HINTS["webhook" if "webhook" in exc.message else ""]
                logger.error(
                    "Telegram refuses to give us updates (409 Conflict) for %.0f s so far: %s. "
                    "Stop the other instance; this one retries every %.0f s and resumes by itself",
                    lasting,
                    hint,
                    POLL_RETRY_MAX_S,
                )
            else:
                logger.warning(
                    "polling for updates failed: %s (for %.0f s so far); retrying every %.0f s "
                    "at most until the Bot API answers",
                    kind,
                    lasting,
                    POLL_RETRY_MAX_S,
                )
        return float(min(POLL_RETRY_MAX_S, POLL_RETRY_FIRST_S * 2 ** (self.failures - 1)))

    def recovered(self) -> None:
        """Report the end of an episode (a long poll succeeded)."""
        if self.failures:
            logger.warning(
                "polling resumed after %.1f s (%d failed attempts, last: %s)",
                time.monotonic() - self.since,
                self.failures,
                self.kind,
            )
        self.failures, self.kind = 0, None


class PollingBot(ExtBot[Any]):
    """An ExtBot whose long polls wait out Bot API trouble themselves (see the module docstring).

    A long poll that fails with a TelegramError (5xx, connection refused, 409 Conflict…) is
    logged by `PollingTrouble`, retried after a short capped backoff and reported to PTB's
    loop as "no updates", so that loop never sleeps its own up-to-30 s backoff. The offset is
    unchanged, so nothing is lost. RetryAfter, TimedOut and InvalidToken stay PTB's (it waits
    retry_after, retries at once, stops); calls without a long-poll timeout (PTB's last
    offset-confirming call at shutdown) are not retried.
    """

    def __init__(self, *args: Any, metrics: Metrics | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._trouble = PollingTrouble(metrics)

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """Long-poll for updates; on Bot API trouble wait briefly and return none."""
        timeout = kwargs.get("timeout", args[2] if len(args) > 2 else None)
        if not timeout:
            return await super().get_updates(*args, **kwargs)
        try:
            updates = await super().get_updates(*args, **kwargs)
        except (RetryAfter, TimedOut, InvalidToken):
            raise
        except TelegramError as exc:
            await asyncio.sleep(self._trouble.failed(exc))
            return ()
        self._trouble.recovered()
        return updates


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
        stuck = [task for task in svc.handling if not task.done()]
        if stuck:
            svc.abandoned += len(stuck)
            logger.error(
                "gave up on %d update(s) still being handled %.0f s after the stop signal; "
                "unanswered questions stay in the inbox for the next start",
                len(stuck),
                DRAIN_S,
            )
            for task in stuck:
                task.cancel()
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


def build_application(settings: Settings, services: Services) -> App:
    """Build the Application with every handler registered; opens nothing yet."""
    if not settings.telegram_bot_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN: required to run the bot")
    base_url = settings.telegram_api_base_url or "https://api.telegram.org/bot"
    file_url = settings.telegram_api_base_file_url or file_url_for(base_url)
    bot = PollingBot(
        token=settings.telegram_bot_token,
        base_url=base_url,
        base_file_url=file_url,
        # PTB's own defaults (256 connections, one for getUpdates, 5 s timeouts).
        request=HTTPXRequest(connection_pool_size=256, proxy=settings.proxy_url),
        get_updates_request=HTTPXRequest(connection_pool_size=1, proxy=settings.proxy_url),
        rate_limiter=AIORateLimiter(max_retries=MAX_RETRIES),
        metrics=services.metrics,
    )
    builder = (
        ApplicationBuilder()
        .application_class(WaypointApplication)
        .bot(bot)
        .context_types(ContextTypes(bot_data=Services))
        .concurrent_updates(CONCURRENT_UPDATES)
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
    if application.bot_data.abandoned:
        # A given-up answer may still block a worker thread, which the interpreter would wait
        # for at exit. The state is on disk (SQLite, WAL): exit without waiting.
        logger.warning("exiting without waiting for the answers given up on")
        logging.shutdown()
        os._exit(0)
    return 0

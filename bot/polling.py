"""Long polling that rides out Bot API trouble.

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
import time
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.ops.metrics import Metrics

logger = logging.getLogger(__name__)

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

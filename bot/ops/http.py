"""The operator's HTTP endpoints: `/healthz` and `/metrics`, on aiohttp, loopback by default.

`/healthz` awaits the health callable (e.g. `{"store": True, "index": True}`) and answers
200 with the checks as JSON when all are true, 503 otherwise (also when the callable fails
or takes longer than HEALTH_TIMEOUT_S). No access log: scrapes are not worth a line each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.ops.metrics import Metrics

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0

Health = Callable[[], Awaitable[dict[str, bool]]]


class OpsServer:
    """Serve `/healthz` and `/metrics` on host:port until stop()."""

    def __init__(self, host: str, port: int, metrics: Metrics, health: Health) -> None:
        self.host = host
        self.port = port  # 0 picks a free port; the bound one is set by start()
        self._metrics = metrics
        self._health = health
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        return app

    async def start(self) -> None:
        """Bind and start serving."""
        if self._runner is not None:
            return
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break
        logger.info("ops server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop serving; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(self._health(), HEALTH_TIMEOUT_S)
        except Exception as exc:  # any failure of a check means unhealthy
            logger.warning("health check failed: %s", type(exc).__name__)
            return web.json_response({"ok": False, "checks": {}}, status=503)
        ok = bool(checks) and all(checks.values())
        body = {"ok": ok, "checks": {name: bool(value) for name, value in checks.items()}}
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics.render(), headers={"Content-Type": self._metrics.content_type}
        )

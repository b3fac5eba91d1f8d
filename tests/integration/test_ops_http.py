"""The ops server over real HTTP on loopback, with a real store behind /healthz."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.ops.http import OpsServer
from bot.ops.metrics import Metrics
from bot.store import Store

pytestmark = pytest.mark.integration

SECRET = b"ops-http-test-secret-0123456789ab"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "state.sqlite3", secret=SECRET)
    yield s
    await s.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


async def test_healthz_follows_the_store(store: Store, http: aiohttp.ClientSession) -> None:
    async def health() -> dict[str, bool]:
        return {"store": await store.is_writable(), "index": True}

    server = OpsServer("127.0.0.1", free_port(), Metrics(), health)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/healthz"
    try:
        async with http.get(url) as response:
            assert response.status == 200
            assert await response.json() == {"ok": True, "checks": {"store": True, "index": True}}

        await store.close()

        async with http.get(url) as response:
            assert response.status == 503
            assert await response.json() == {
                "ok": False,
                "checks": {"store": False, "index": True},
            }
    finally:
        await server.stop()


async def test_metrics_over_http(http: aiohttp.ClientSession) -> None:
    metrics = Metrics()
    metrics.answers.labels(outcome="not_found").inc()

    async def health() -> dict[str, bool]:
        return {"store": True}

    server = OpsServer("127.0.0.1", 0, metrics, health)
    await server.start()
    try:
        assert server.port != 0
        async with http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
        assert 'waypoint_answers_total{outcome="not_found"} 1.0' in text
        assert "waypoint_answer_seconds_bucket" in text
        async with http.get(f"http://127.0.0.1:{server.port}/nothing") as response:
            assert response.status == 404
    finally:
        await server.stop()
        await server.stop()  # twice is fine


async def test_a_failing_or_slow_check_is_unhealthy(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> dict[str, bool]:
        raise RuntimeError("index gone")

    async def slow() -> dict[str, bool]:
        await asyncio.sleep(5)
        return {"store": True}

    monkeypatch.setattr("bot.ops.http.HEALTH_TIMEOUT_S", 0.2)
    for health in (broken, slow):
        server = OpsServer("127.0.0.1", 0, Metrics(), health)
        await server.start()
        try:
            async with http.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                assert response.status == 503
                assert (await response.json())["ok"] is False
        finally:
            await server.stop()


async def test_the_port_is_released_on_stop() -> None:
    async def health() -> dict[str, bool]:
        return {"store": True}

    port = free_port()
    first = OpsServer("127.0.0.1", port, Metrics(), health)
    await first.start()
    await first.stop()
    second = OpsServer("127.0.0.1", port, Metrics(), health)
    await second.start()  # would raise OSError if the first still held it
    await second.stop()

"""`waypoint report` on seeded data: the dict, the JSON output, the tables and the chart."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from bot.ops.report import build_report, main
from bot.settings import Settings
from bot.store import Store, load_or_create_secret

DAY = 86_400.0


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def seed(store: Store, clock: Clock) -> None:
    """Yesterday: 2 answered; today: 1 answered, 1 not found, 1 emergency; feedback; a gap."""
    today = clock.now
    clock.now = today - DAY
    for user in (1, 2):
        await store.record_event(
            user,
            kind="question",
            language="ru",
            topics=["detention"],
            answer_found=True,
            emergency=False,
            latency_ms=200,
        )
    clock.now = today
    for user, found, emergency, topics in (
        (1, True, False, ["relocation", "detention"]),
        (2, False, False, []),
        (3, False, True, ["emergency"]),
    ):
        await store.record_event(
            user,
            kind="question",
            language="en",
            topics=topics,
            answer_found=found,
            emergency=emergency,
            latency_ms=400,
        )
    await store.record_event(
        4,
        kind="start",
        language="en",
        topics=[],
        answer_found=False,
        emergency=False,
        latency_ms=1,
    )
    await store.record_feedback(1, helpful=True, topic="detention")
    await store.record_feedback(2, helpful=False, topic="relocation")
    await store.keep_unanswered("where can I hide, call me +1 555 010 9999", "en")


def midday_today() -> float:
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC).timestamp()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", keep_unanswered=True)


@pytest.fixture
async def seeded(settings: Settings) -> Settings:
    secret = load_or_create_secret(settings.data_dir, settings.secret_key)
    clock = Clock(min(midday_today(), time.time()))
    async with await Store.open(
        settings.state_db, secret=secret, keep_unanswered=True, clock=clock
    ) as store:
        await seed(store, clock)
    return settings


async def test_build_report_on_seeded_data(tmp_path: Path) -> None:
    clock = Clock(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC).timestamp())
    async with await Store.open(
        tmp_path / "s.sqlite3",
        secret=b"report-secret-0123456789abcdef",
        keep_unanswered=True,
        clock=clock,
    ) as store:
        await seed(store, clock)
        report = await build_report(store, 3)

    assert report["days"] == 3 and report["since"] == "2026-03-08T00:00:00+00:00"
    # people are counted per day (distinct people a day, summed): 2 yesterday + 4 today
    assert report["questions"] == 5 and report["people"] == 6
    assert report["outcomes"] == {"answered": 3, "not_found": 1, "emergency": 1}
    assert report["not_found_rate"] == 0.2
    assert report["per_day"] == [
        {"day": "2026-03-08", "answered": 0, "not_found": 0, "emergency": 0, "total": 0},
        {"day": "2026-03-09", "answered": 2, "not_found": 0, "emergency": 0, "total": 2},
        {"day": "2026-03-10", "answered": 1, "not_found": 1, "emergency": 1, "total": 3},
    ]
    assert report["topics"] == {"detention": 3, "emergency": 1, "relocation": 1}
    assert report["languages"] == {"en": 3, "ru": 2}
    assert report["kinds"] == {"question": 5, "start": 1}
    assert report["feedback"] == {
        "helpful": 1,
        "not_helpful": 1,
        "by_topic": {
            "detention": {"helpful": 1, "not_helpful": 0},
            "relocation": {"helpful": 0, "not_helpful": 1},
        },
    }
    assert report["latency_ms"]["p50"] == pytest.approx(400.0, rel=0.01)  # 2 %-wide buckets
    assert report["gaps"] == [
        {
            "text": "where can I hide, call me [phone]",
            "language": "en",
            "at": "2026-03-10T12:00:00+00:00",
        }
    ]
    json.dumps(report)  # JSON-ready


def test_main_prints_one_json_object(seeded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(seeded, days=7, as_json=True, png=None) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 5
    assert len(report["per_day"]) == 7
    assert report["gaps"][0]["text"].endswith("[phone]")


def test_main_prints_tables(seeded: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(seeded, days=2, as_json=False, png=None) == 0
    out = capsys.readouterr().out
    for heading in ("Questions by day", "Topics", "Languages", "Feedback", "Unanswered"):
        assert heading in out
    assert "detention" in out and "20%" in out
    assert "call me [phone]" in out and "555" not in out


def test_main_writes_a_png_chart(seeded: Settings, tmp_path: Path) -> None:
    png = tmp_path / "out" / "usage.png"
    assert main(seeded, days=14, as_json=True, png=png) == 0
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000


async def test_chart_of_an_empty_store(settings: Settings, tmp_path: Path) -> None:
    secret = load_or_create_secret(settings.data_dir, None)
    await (await Store.open(settings.state_db, secret=secret)).close()
    png = tmp_path / "empty.png"
    # main() runs its own event loop, so run it outside this test's loop
    assert await asyncio.to_thread(main, settings, 1, True, png) == 0
    assert png.stat().st_size > 0


def test_main_without_a_database(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(settings, days=7, as_json=True, png=None) == 1
    assert "no state database" in capsys.readouterr().err
    assert not settings.data_dir.exists()  # no key generated as a side effect

"""The state store against a real SQLite file: behaviour, retention, the inbox and privacy."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import (
    QUESTION_KIND,
    Deletion,
    KeyMismatchError,
    Store,
    StoreClosedError,
    load_secret,
    scrub,
)
from bot.store import db as store_db

SECRET = b"unit-test-secret-0123456789abcdef"
ALICE = 111222333
BOB = 444555666
DAY = 86_400.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0 + 12 * 3600) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "state.sqlite3", secret=SECRET, clock=clock)
    yield s
    await s.close()


@pytest.fixture
async def keeping_store(tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    s = await Store.open(
        tmp_path / "state.sqlite3", secret=SECRET, keep_unanswered=True, clock=clock
    )
    yield s
    await s.close()


async def ask(
    store: Store,
    user: int,
    *,
    language: str = "en",
    topics: tuple[str, ...] = ("detention",),
    found: bool = True,
    emergency: bool = False,
    latency_ms: float = 100.0,
    kind: str = QUESTION_KIND,
) -> None:
    await store.record_event(
        user,
        kind=kind,
        language=language,
        topics=topics,
        answer_found=found,
        emergency=emergency,
        latency_ms=latency_ms,
    )


def raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def update(update_id: int, user: int, text: str = "hello") -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id * 10,
            "date": 1_767_225_600,
            "text": text,
            "from": {"id": user, "is_bot": False, "first_name": "Someone"},
            "chat": {"id": user, "type": "private"},
        },
    }


# -- opening -------------------------------------------------------------------------------


async def test_open_creates_a_private_wal_database(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    s = await Store.open(path, secret=SECRET)
    await s.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]


async def test_a_closed_store_refuses_work(store: Store) -> None:
    await store.close()
    with pytest.raises(StoreClosedError):
        await store.get_language(ALICE)
    await store.close()  # twice is fine


def test_retention_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        asyncio.run(Store.open(tmp_path / "s.sqlite3", secret=SECRET, retention_days=0))


# -- identities ------------------------------------------------------------------------------


async def test_pseudonym_is_the_hmac_of_the_id(store: Store, tmp_path: Path) -> None:
    expected = hmac.new(SECRET, str(ALICE).encode(), hashlib.sha256).hexdigest()
    assert store.pseudonym(ALICE) == expected
    assert store.pseudonym(ALICE) != store.pseudonym(BOB)
    other = await Store.open(tmp_path / "other.sqlite3", secret=b"another-secret-of-32-bytes-ok!!")
    try:
        assert other.pseudonym(ALICE) != expected
    finally:
        await other.close()


# -- preferences ---------------------------------------------------------------------------


async def test_language_round_trip(store: Store) -> None:
    assert await store.get_language(ALICE) is None
    await store.set_language(ALICE, "ru")
    await store.set_language(ALICE, "es")
    await store.set_language(BOB, "ar")
    assert await store.get_language(ALICE) == "es"
    assert await store.get_language(BOB) == "ar"


async def test_autodelete_round_trip(store: Store) -> None:
    assert await store.get_autodelete(ALICE) is None
    await store.set_language(ALICE, "fr")
    await store.set_autodelete(ALICE, 3600)
    assert await store.get_autodelete(ALICE) == 3600
    assert await store.get_language(ALICE) == "fr"  # untouched
    await store.set_autodelete(ALICE, None)
    assert await store.get_autodelete(ALICE) is None
    with pytest.raises(ValueError):
        await store.set_autodelete(ALICE, 0)


# -- usage and statistics ------------------------------------------------------------------


async def test_stats_count_outcomes_topics_and_languages(store: Store, clock: Clock) -> None:
    await ask(store, ALICE, topics=("detention", "legal-aid"), latency_ms=100)
    await ask(store, ALICE, language="ru", found=False, topics=(), latency_ms=300)
    await ask(store, BOB, language="ru", emergency=True, found=True, topics=("detention",))
    await ask(store, BOB, kind="start", found=False)  # not a question
    clock.advance(-DAY)
    await ask(store, BOB, topics=("relocation",))
    clock.advance(DAY)

    stats = await store.stats(7)

    assert [d.day for d in stats.per_day][-2:] == ["2025-12-31", "2026-01-01"]
    assert len(stats.per_day) == 7
    today, yesterday = stats.per_day[-1], stats.per_day[-2]
    assert (today.answered, today.not_found, today.emergency) == (1, 1, 1)
    assert (yesterday.answered, yesterday.not_found, yesterday.emergency) == (1, 0, 0)
    assert stats.questions == 4 and stats.not_found == 1
    assert stats.not_found_rate == pytest.approx(0.25)
    assert stats.topics == {"detention": 2, "legal-aid": 1, "relocation": 1}
    assert stats.languages == {"en": 2, "ru": 2}
    assert stats.kinds == {"question": 4, "start": 1}
    assert stats.people == 3  # person-days: Alice and Bob today, Bob yesterday
    assert [d.people for d in stats.per_day][-2:] == [1, 2]
    assert stats.latency_p50_ms == pytest.approx(100.0, rel=0.01)  # 2 %-wide buckets
    assert stats.latency_p95_ms is not None and stats.latency_p95_ms > 100


async def test_stats_window_starts_at_utc_midnight(store: Store, clock: Clock) -> None:
    await ask(store, ALICE)
    clock.advance(-(12 * 3600 + 1))  # one second before today's midnight
    await ask(store, ALICE, found=False)
    clock.advance(12 * 3600 + 1)

    one_day = await store.stats(1)
    two_days = await store.stats(2)

    assert one_day.questions == 1 and one_day.not_found == 0
    assert two_days.questions == 2 and two_days.not_found == 1
    with pytest.raises(ValueError):
        await store.stats(0)


async def test_empty_stats(store: Store) -> None:
    stats = await store.stats(3)
    assert stats.questions == 0 and stats.not_found_rate == 0.0
    assert stats.latency_p50_ms is None and stats.topics == {} and stats.gaps == []


async def test_feedback_in_stats(store: Store) -> None:
    await store.record_feedback(ALICE, helpful=True, topic="detention")
    await store.record_feedback(BOB, helpful=False, topic="detention")
    await store.record_feedback(BOB, helpful=True, topic="relocation")
    await store.record_feedback(ALICE, helpful=False, topic=None)

    stats = await store.stats(1)

    assert (stats.helpful, stats.not_helpful) == (2, 2)
    assert stats.feedback_by_topic == {"detention": (1, 1), "relocation": (1, 0)}


async def test_concurrent_writes_do_not_interleave(store: Store) -> None:
    await asyncio.gather(
        *(ask(store, user) for user in range(40)),
        *(store.set_language(user, "en") for user in range(40)),
        *(store.inbox_put(n, update(n, n)) for n in range(40)),
    )
    assert (await store.stats(1)).questions == 40
    assert len(await store.inbox_pending()) == 40


# -- rate limit (in memory, bot.ratelimit; the store keeps the earlier call) --------------------


async def test_allow_question_still_limits(store: Store, clock: Clock) -> None:
    assert [await store.allow_question(ALICE, limit=3) for _ in range(3)] == [True] * 3
    assert await store.allow_question(ALICE, limit=3) is False
    assert await store.allow_question(BOB, limit=3) is True  # per user
    clock.advance(60.5)
    assert await store.allow_question(ALICE, limit=3) is True


# -- knowledge gaps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to me at ana.k+hr@mail.example.org now", "write to me at [email] now"),
        ("my phone is +7 (912) 345-67-89, call", "my phone is [phone], call"),
        ("passport 4509123456 seized", "passport [phone] seized"),
        ("see https://t.me/somechannel?x=1 and www.example.com", "see [link] and [link]"),
        ("posted on example.org/page today", "posted on [link] today"),
        ("ask @my_lawyer_2 about it", "ask [handle] about it"),
        ("arrested in 2024 with 3 others", "arrested in 2024 with 3 others"),
        ("  spaced\n\n out  ", "spaced out"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_scrub_truncates() -> None:
    assert len(scrub("word " * 500)) == 500


async def test_gaps_are_not_kept_unless_opted_in(store: Store) -> None:
    await store.keep_unanswered("how do I appeal an interpol notice?", "en")
    assert await store.recent_gaps() == []


async def test_gaps_are_scrubbed_and_newest_first(keeping_store: Store, clock: Clock) -> None:
    await keeping_store.keep_unanswered("my sister +90 532 123 45 67 was taken", "tr")
    clock.advance(10)
    await keeping_store.keep_unanswered("mail me: someone@example.com", "en")
    await keeping_store.keep_unanswered("   ", "en")  # nothing left: not kept

    gaps = await keeping_store.recent_gaps()

    assert [(g.text, g.language) for g in gaps] == [
        ("mail me: [email]", "en"),
        ("my sister [phone] was taken", "tr"),
    ]
    assert gaps[0].at == clock.now
    assert len(await keeping_store.recent_gaps(limit=1)) == 1
    assert [g.text for g in (await keeping_store.stats(1)).gaps] == [g.text for g in gaps]


async def test_gaps_expire_after_30_days(keeping_store: Store, clock: Clock) -> None:
    await keeping_store.keep_unanswered("old question", "en")
    clock.advance(29 * DAY)
    await keeping_store.keep_unanswered("new question", "en")
    clock.advance(1 * DAY + 1)

    assert [g.text for g in await keeping_store.recent_gaps()] == ["new question"]
    assert await keeping_store.purge_expired() == 1
    assert [g.text for g in await keeping_store.recent_gaps()] == ["new question"]


async def test_turning_gaps_off_purges_kept_ones(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "state.sqlite3"
    async with await Store.open(path, secret=SECRET, keep_unanswered=True, clock=clock) as s:
        await s.keep_unanswered("a question", "en")
    async with await Store.open(path, secret=SECRET, clock=clock) as s:
        assert await s.purge_expired() == 1
    assert raw(path, "SELECT COUNT(*) FROM gaps") == [(0,)]


# -- scheduled deletions ---------------------------------------------------------------------


async def test_deletions_come_due_in_order(store: Store, clock: Clock) -> None:
    await store.schedule_deletion(ALICE, ALICE, 12, due=clock.now + 60)
    await store.schedule_deletion(ALICE, ALICE, 11, due=clock.now + 30)
    await store.schedule_deletion(BOB, -100123, 7, due=clock.now + 3600)

    assert await store.due_deletions() == []
    clock.advance(60)
    due = await store.due_deletions()
    assert [(d.chat_id, d.message_id) for d in due] == [(ALICE, 11), (ALICE, 12)]
    later = await store.due_deletions(now=clock.now + 3600)
    assert [(d.chat_id, d.message_id) for d in later][-1] == (-100123, 7)

    await store.deletion_done(due[0].row_id)
    assert [d.message_id for d in await store.due_deletions()] == [12]


async def test_pending_deletions_for_one_user(store: Store, clock: Clock) -> None:
    await store.schedule_deletion(ALICE, ALICE, 1, due=clock.now + 10)
    await store.schedule_deletion(BOB, BOB, 2, due=clock.now + 5)
    await store.schedule_deletion(ALICE, ALICE, 3, due=clock.now + 1e6)

    pending = await store.pending_deletions_for(ALICE)

    assert [(d.chat_id, d.message_id) for d in pending] == [(ALICE, 1), (ALICE, 3)]
    assert all(isinstance(d, Deletion) for d in pending)


async def test_deletion_ids_are_sealed(store: Store, tmp_path: Path, clock: Clock) -> None:
    await store.schedule_deletion(ALICE, 5550001234, 987001, due=clock.now)
    ((row_id, due, sealed),) = raw(tmp_path / "state.sqlite3", "SELECT * FROM deletions")
    assert due == clock.now and isinstance(sealed, bytes)
    for plain in (b"5550001234", b"987001", store.pseudonym(ALICE).encode()):
        assert plain not in sealed


async def test_another_key_is_refused_and_nothing_is_dropped(tmp_path: Path, clock: Clock) -> None:
    # Before: a different key silently dropped every deletion and pending update.
    path = tmp_path / "state.sqlite3"
    async with await Store.open(path, secret=SECRET, clock=clock) as s:
        await s.set_autodelete(ALICE, 3600)
        await s.schedule_deletion(ALICE, ALICE, 1, due=clock.now)
        await s.inbox_put(1, update(1, ALICE))
    with pytest.raises(KeyMismatchError, match="another secret key"):
        await Store.open(path, secret=b"a-different-secret-entirely!!!", clock=clock)
    async with await Store.open(path, secret=SECRET, clock=clock) as s:
        assert await s.get_autodelete(ALICE) == 3600
        assert [d.message_id for d in await s.due_deletions()] == [1]
        assert [uid for uid, _ in await s.inbox_pending()] == [1]


# -- durable inbox ---------------------------------------------------------------------------


async def test_inbox_dedups_and_replays_oldest_first(store: Store, clock: Clock) -> None:
    assert await store.inbox_put(7, update(7, ALICE, "second")) is True
    clock.advance(-5)
    assert await store.inbox_put(5, update(5, BOB, "first")) is True
    clock.advance(5)
    assert await store.inbox_put(7, update(7, ALICE, "again")) is False

    pending = await store.inbox_pending()

    assert [(uid, p["message"]["text"]) for uid, p in pending] == [(5, "first"), (7, "second")]
    assert pending[0][1] == update(5, BOB, "first")


async def test_inbox_done_leaves_only_a_tombstone(store: Store, tmp_path: Path) -> None:
    await store.inbox_put(9, update(9, ALICE))
    await store.inbox_done(9)

    assert await store.inbox_pending() == []
    assert await store.inbox_put(9, update(9, ALICE)) is False  # redelivery recognised
    assert raw(tmp_path / "state.sqlite3", "SELECT sealed FROM inbox") == [(None,)]


async def test_inbox_done_for_an_unknown_update_still_dedups(store: Store) -> None:
    await store.inbox_done(42)
    assert await store.inbox_put(42, update(42, ALICE)) is False


async def test_inbox_drops_updates_older_than_12_hours(store: Store, clock: Clock) -> None:
    await store.inbox_put(1, update(1, ALICE))
    clock.advance(6 * 3600)
    await store.inbox_put(2, update(2, ALICE))
    clock.advance(6 * 3600 + 1)

    assert [uid for uid, _ in await store.inbox_pending()] == [2]


async def test_inbox_finds_the_sender_of_any_update(store: Store, tmp_path: Path) -> None:
    callback = {"update_id": 3, "callback_query": {"id": "x", "from": {"id": BOB}, "data": "y"}}
    await store.inbox_put(3, callback)
    await store.inbox_put(4, {"update_id": 4, "odd": 1}, user_id=ALICE)
    await store.inbox_put(5, {"update_id": 5})
    columns = [r[1] for r in raw(tmp_path / "state.sqlite3", "PRAGMA table_info(inbox)")]
    assert columns == ["update_id", "received_at", "sealed", "done_at"]  # no pseudonym
    await store.forget(BOB)
    assert [uid for uid, _ in await store.inbox_pending()] == [4, 5]
    await store.forget(ALICE)
    assert [uid for uid, _ in await store.inbox_pending()] == [5]


# -- erasure and retention -----------------------------------------------------------------


async def test_forget_removes_one_user_everywhere(store: Store, clock: Clock) -> None:
    for user in (ALICE, BOB):
        await store.set_language(user, "ru")
        await store.set_autodelete(user, 60)
        await ask(store, user)
        await store.record_feedback(user, helpful=True, topic="detention")
        await store.schedule_deletion(user, user, 1, due=clock.now)
        await store.inbox_put(user, update(user, user))
        assert await store.allow_question(user, limit=1)

    await store.forget(ALICE)

    assert await store.get_language(ALICE) is None
    assert await store.get_autodelete(ALICE) is None
    assert await store.pending_deletions_for(ALICE) == []
    assert [uid for uid, _ in await store.inbox_pending()] == [BOB]
    assert await store.allow_question(ALICE, limit=1) is True  # rate window forgotten too
    stats = await store.stats(1)  # anonymous counts stay: nothing in them is Alice's
    assert stats.questions == 2 and stats.people == 2 and stats.helpful == 2
    assert await store.get_language(BOB) == "ru"
    assert len(await store.pending_deletions_for(BOB)) == 1


async def test_purge_expired_applies_every_retention(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "state.sqlite3"
    s = await Store.open(path, secret=SECRET, keep_unanswered=True, retention_days=10, clock=clock)
    try:
        await ask(s, ALICE)  # expires with retention
        await s.record_feedback(ALICE, helpful=True, topic=None)  # expires with retention
        await s.keep_unanswered("an old gap", "en")  # expires after 30 days
        await s.schedule_deletion(ALICE, ALICE, 1, due=clock.now)  # overdue by > 48 h
        await s.inbox_put(1, update(1, ALICE))  # pending > 12 h
        await s.inbox_put(2, update(2, ALICE))
        await s.inbox_done(2)  # tombstone > 24 h
        await s.set_language(ALICE, "en")  # a preference: kept until /forget
        clock.advance(31 * DAY)
        await ask(s, BOB)
        await s.record_feedback(BOB, helpful=False, topic=None)
        await s.keep_unanswered("a new gap", "en")
        await s.schedule_deletion(BOB, BOB, 2, due=clock.now - DAY)  # overdue, still deletable
        await s.inbox_put(3, update(3, BOB))
        await s.inbox_done(3)

        assert await s.purge_expired() > 0
        assert await s.purge_expired() == 0

        stats = await s.stats(60)
        assert stats.questions == 1 and (stats.helpful, stats.not_helpful) == (0, 1)
        assert [g.text for g in await s.recent_gaps()] == ["a new gap"]
        assert [d.message_id for d in await s.due_deletions()] == [2]
        assert await s.inbox_put(3, update(3, BOB)) is False
        assert await s.get_language(ALICE) == "en"
    finally:
        await s.close()


async def test_retention_counts_whole_utc_days(store: Store, clock: Clock) -> None:
    await ask(store, ALICE)  # at noon
    clock.advance(90 * DAY + 1)
    assert await store.purge_expired() == 0  # that day is not yet wholly past 90 days
    clock.advance(12 * 3600)
    assert await store.purge_expired() > 0
    assert (await store.stats(365)).questions == 0


# -- health ----------------------------------------------------------------------------------


async def test_is_writable(store: Store, tmp_path: Path) -> None:
    assert await store.is_writable() is True
    assert raw(tmp_path / "state.sqlite3", "SELECT COUNT(*) FROM heartbeat") == [(1,)]
    await store.close()
    assert await store.is_writable() is False


# -- privacy canary --------------------------------------------------------------------------

CANARY_USER = 987654321987
CANARY = "zq-canary-7f3a9c-unique"
GAP_CANARY = "gap-canary-51be0d"


def leaks(data_dir: Path, needles: list[str]) -> dict[str, list[str]]:
    """Return which needles occur in which files of the data dir (every byte of each)."""
    found: dict[str, list[str]] = {}
    for path in sorted(data_dir.iterdir()):
        content = path.read_bytes()
        for needle in needles:
            for form in (needle.encode("utf-8"), needle.encode("utf-16-le")):
                if form in content:
                    found.setdefault(path.name, []).append(needle)
                    break
    return found


@pytest.mark.parametrize("keep", [False, True], ids=["gaps-off", "gaps-on"])
async def test_privacy_canary(tmp_path: Path, clock: Clock, keep: bool) -> None:
    data_dir = tmp_path / "data"
    secret = load_secret(data_dir, None, tmp_path / "keys" / "secret.key")
    s = await Store.open(
        data_dir / "state.sqlite3", secret=secret, keep_unanswered=keep, clock=clock
    )
    key = s.pseudonym(CANARY_USER)
    uid = str(CANARY_USER)
    try:
        # Enough traffic that SQLite splits and rebalances pages (stale bytes would linger).
        for n in range(150):
            text = f"{CANARY} question {n} from {uid}, call +44 20 7946 0{n:03d}"
            assert await s.inbox_put(10_000 + n, update(10_000 + n, CANARY_USER, text))
            await s.allow_question(CANARY_USER, limit=1000)
            await s.set_language(CANARY_USER, "ru")
            await s.set_autodelete(CANARY_USER, 3600)
            await ask(s, CANARY_USER, language="ru", found=n % 2 == 0)
            await s.record_feedback(CANARY_USER, helpful=n % 3 == 0, topic="detention")
            await s.keep_unanswered(f"{GAP_CANARY} {n} mail {CANARY_USER}@example.com", "ru")
            await s.schedule_deletion(CANARY_USER, CANARY_USER, 500_000 + n, due=clock.now + n)
            if n % 2:
                await s.inbox_done(10_000 + n)
            # someone else, who stays
            await s.inbox_put(50_000 + n, update(50_000 + n, BOB, "other person's question"))
            await ask(s, BOB)
            await s.schedule_deletion(BOB, BOB, n, due=clock.now + n)
        await s.inbox_pending()
        await s.due_deletions(now=clock.now + 100)
        await s.pending_deletions_for(CANARY_USER)
        await s.get_language(CANARY_USER)
        await s.get_autodelete(CANARY_USER)
        await s.stats(7)
        gaps = await s.recent_gaps()
        await s.purge_expired()
        assert await s.is_writable()

        never = [CANARY, uid]
        assert leaks(data_dir, never) == {}, "while running"
        if keep:
            assert gaps and all(GAP_CANARY in g.text and uid not in g.text for g in gaps)
        else:
            assert gaps == []
        assert leaks(data_dir, [GAP_CANARY]) == {}  # kept texts are sealed at rest
        assert leaks(data_dir, [key]) != {}  # the scan can see what is there

        await s.forget(CANARY_USER)

        assert leaks(data_dir, [*never, key]) == {}, "after forget, while open"
        assert (data_dir / "state.sqlite3-wal").stat().st_size == 0
        assert len(await s.pending_deletions_for(BOB)) == 150
    finally:
        await s.close()
    assert leaks(data_dir, [*never, key]) == {}, "after close"
    assert [p.name for p in data_dir.iterdir() if not p.name.startswith("state")] == []


def test_canary_scan_can_fail(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"\x00" + str(CANARY_USER).encode() + b"\x00")
    assert leaks(tmp_path, [str(CANARY_USER)]) == {"f": [str(CANARY_USER)]}


async def test_a_failed_write_rolls_back(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.database.write() as db:
            await db.execute(
                "INSERT INTO users (pseudonym, language, created_at) VALUES ('p', 'en', 0)"
            )
            raise RuntimeError("half-way")
    await store.set_language(ALICE, "en")  # the connection is usable again
    assert await store.get_language(ALICE) == "en"
    assert (await store.stats(1)).people == 0
    async with store.database.read() as db, db.execute("SELECT COUNT(*) FROM users") as cur:
        assert await cur.fetchone() == (1,)


async def test_forget_removes_the_users_kept_unanswered_texts(keeping_store: Store) -> None:
    await keeping_store.keep_unanswered("where is the bakery", "en", user_id=111)
    await keeping_store.keep_unanswered("unrelated cooking question", "en", user_id=222)
    await keeping_store.forget(111)
    assert [g.text for g in await keeping_store.recent_gaps()] == ["unrelated cooking question"]


# -- the WAL after /forget, with a reader holding it ---------------------------------------


def hold_reader(path: Path) -> sqlite3.Connection:
    """Another connection inside a read transaction (a backup, `waypoint report`)."""
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM users").fetchone()
    return reader


async def test_forget_retries_the_wal_truncation_and_keeps_the_store_free(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "state.sqlite3"
    await store.set_language(ALICE, "ru")
    await store.set_language(BOB, "en")
    reader = hold_reader(path)
    asyncio.get_running_loop().call_later(2.5, reader.commit)
    forgetting = asyncio.create_task(store.forget(ALICE))
    await asyncio.sleep(0.5)  # VACUUM done; the truncation waits for the reader
    started = time.monotonic()
    assert await store.get_language(BOB) == "en"
    assert time.monotonic() - started < 1.0  # before: the store was locked until 2.5 s
    await forgetting
    reader.close()
    assert (tmp_path / "state.sqlite3-wal").stat().st_size == 0
    assert store.database.wal_dirty is False


async def test_a_reader_that_never_lets_go_delays_the_truncation_to_the_next_compaction(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "CHECKPOINT_ATTEMPTS", 2)
    path = tmp_path / "state.sqlite3"
    await store.set_language(ALICE, "ru")
    reader = hold_reader(path)
    started = time.monotonic()
    await store.forget(ALICE)  # bounded: returns although the reader stays
    assert time.monotonic() - started < 2.0
    assert store.database.wal_dirty and (tmp_path / "state.sqlite3-wal").stat().st_size > 0
    reader.close()
    assert await store.purge_expired() == 0  # nothing expired, but the WAL is retried
    assert (tmp_path / "state.sqlite3-wal").stat().st_size == 0

"""The canary for linking: a copy of the data dir plus a backup, without the key, must not tell
which events belong to the same person.

Two worlds run the same conversation through the store, the way the bot does (inbox, reply,
usage counts, a kept text, auto-delete, a vote), at the same moments, with the same key; they
differ only in who asked the second question: Alice (Alice, Alice, Bob) or Bob (Alice, Bob,
Bob). Whatever can be read without the key must be the same in both worlds, and no opaque
value (pseudonym, tag, sealed blob) may occur twice, since a repeated value is a join.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.ops import backup
from bot.settings import Settings
from bot.store import Store, load_secret

ALICE, BOB = 700001, 7000002  # ids of different lengths: sealed sizes must not tell them
T0 = 1_767_268_800.0  # 2026-01-01T12:00:00Z
QUESTIONS = (
    ("how do I challenge a red notice", "en", ("red-notices",), True),
    ("where to hide near the border", "ru", (), False),  # not found: its text is kept
    ("emergency grant for a lawyer", "en", ("grants",), True),
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        self.now += 1.25  # every call a little later, the same in both worlds
        return self.now


def message(update_id: int, user: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(T0),
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "", "language_code": "en"},
            "text": text,
        },
    }


async def run_world(root: Path, askers: tuple[int, int, int], *, preferences: bool) -> Path:
    """Run the conversation; return a folder holding a copy of the data dir and a backup."""
    settings = Settings(
        data_dir=root / "data",
        knowledge_dir=root / "knowledge",
        secret_key_file=root.parent / "key",  # the same key in both worlds, off the volume
        keep_unanswered=True,
    )
    key = load_secret(settings.data_dir, None, settings.secret_key_file)
    store = await Store.open(settings.state_db, secret=key, keep_unanswered=True, clock=Clock())
    try:
        if preferences:
            for user in (ALICE, BOB):
                await store.set_autodelete(user, 3600)
        for n, (user, (text, language, topics, found)) in enumerate(
            zip(askers, QUESTIONS, strict=True), start=1
        ):
            await store.inbox.record(n, message(n, user, text), user_id=user)
            if n == 2:
                continue  # the process dies while answering: it stays in the inbox
            await store.inbox.answered(n)
            await store.record_event(
                user,
                kind="question",
                language=language,
                topics=topics,
                answer_found=found,
                emergency=False,
                latency_ms=100.0 * n,
            )
            if not found:
                await store.keep_unanswered(text, language, user_id=user, topics=topics)
            if preferences:
                await store.schedule_deletion(user, user, n, due=T0 + 3600 * n)
            await store.record_feedback(user, helpful=True, topic=topics[0] if topics else None)
            await store.inbox.done(n)
        await store.keep_unanswered(QUESTIONS[1][0], "ru", user_id=askers[1])
        copy = root / "copy"
        shutil.copytree(settings.data_dir, copy / "data")  # the volume, copied while running
        assert backup.main(settings, copy / "backup") == 0  # without --include-key
    finally:
        await store.close()
    return copy


def opaque(value: object) -> bool:
    if isinstance(value, bytes):
        return True
    return isinstance(value, str) and len(value) >= 32 and all(
        c in "0123456789abcdef" for c in value
    )


def readable(db_path: Path) -> tuple[dict[str, list[tuple[object, ...]]], list[object]]:
    """Every row of every table with opaque values masked (by kind and size); the opaque values."""
    db = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        view: dict[str, list[tuple[object, ...]]] = {}
        values: list[object] = []
        for table in tables:
            if table == "migrations":  # when the schema was installed: nobody's event
                continue
            rows = []
            for row in db.execute(f"SELECT * FROM {table}"):
                values.extend(v for v in row if opaque(v))
                rows.append(tuple(("opaque", len(v)) if opaque(v) else v for v in row))
            view[table] = sorted(rows, key=repr)
        return view, values
    finally:
        db.close()


def views(copy: Path) -> dict[str, Any]:
    return {
        name: readable(copy / path)
        for name, path in (("volume", "data/state.sqlite3"), ("backup", "backup/state.sqlite3"))
    }


@pytest.mark.parametrize("preferences", [False, True], ids=["no-settings", "auto-delete-on"])
async def test_a_copy_and_a_backup_cannot_link_two_events_of_one_person(
    tmp_path: Path, preferences: bool
) -> None:
    same = await run_world(tmp_path / "x", (ALICE, ALICE, BOB), preferences=preferences)
    other = await run_world(tmp_path / "y", (ALICE, BOB, BOB), preferences=preferences)
    assert not (same / "backup" / "secret.key").exists()

    seen_x, seen_y = views(same), views(other)
    for place in ("volume", "backup"):
        view_x, values_x = seen_x[place]
        view_y, values_y = seen_y[place]
        assert view_x == view_y, f"{place}: who asked what shows without the key"
        for values in (values_x, values_y):
            repeated = {v for v in values if values.count(v) > 1}
            assert not repeated, f"{place}: a value shared by two rows links them"
        assert view_x["usage_daily"], "the counts are there to compare"


async def test_without_settings_no_file_holds_a_persons_pseudonym(tmp_path: Path) -> None:
    copy = await run_world(tmp_path / "x", (ALICE, ALICE, BOB), preferences=False)
    key = load_secret(tmp_path / "x" / "data", None, tmp_path / "key")
    async with await Store.open(tmp_path / "x" / "data" / "state.sqlite3", secret=key) as s:
        needles = [s.pseudonym(u).encode() for u in (ALICE, BOB)]
        needles += [str(u).encode() for u in (ALICE, BOB)]
    files = [p for p in copy.rglob("*") if p.is_file()]
    assert len(files) >= 3  # the database (and its WAL) on the volume, the backup
    for path in files:
        content = path.read_bytes()
        assert not [n for n in needles if n in content], path.name

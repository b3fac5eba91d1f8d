"""`waypoint backup`: a consistent copy that holds no key unless asked, and the restore."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.ops import backup
from bot.settings import Settings
from bot.store import KeyMismatchError, Store, load_secret

USER = 246813579


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    knowledge = tmp_path / "knowledge"
    (knowledge / "guides").mkdir(parents=True)
    (knowledge / "guides" / "a.md").write_text("# A\n", encoding="utf-8")
    (knowledge / "organizations.yaml").write_text("[]\n", encoding="utf-8")
    return Settings(
        data_dir=tmp_path / "data",
        knowledge_dir=knowledge,
        secret_key_file=tmp_path / "keys" / "secret.key",  # off the data volume
    )


def key_of(settings: Settings) -> bytes:
    return load_secret(settings.data_dir, settings.secret_key, settings.secret_key_file).key


async def seed(settings: Settings) -> None:
    key = load_secret(settings.data_dir, settings.secret_key, settings.secret_key_file)
    async with await Store.open(settings.state_db, secret=key) as store:
        await store.set_language(USER, "fr")
        await store.set_autodelete(USER, 60)
        await store.schedule_deletion(USER, USER, 5, due=0)
        for n in range(20):
            await store.record_event(
                USER,
                kind="question",
                language="fr",
                topics=["detention"],
                answer_found=True,
                emergency=False,
                latency_ms=n,
            )


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: db.execute(f"SELECT * FROM {n} ORDER BY 1").fetchall() for n in names}
    finally:
        db.close()


def manifest(dest: Path) -> Any:
    return json.loads((dest / "manifest.json").read_text())


async def test_backup_holds_no_key_and_restores_with_the_kept_one(
    settings: Settings, tmp_path: Path
) -> None:
    await seed(settings)
    dest = tmp_path / "backup"

    assert backup.main(settings, dest) == 0

    assert sorted(p.name for p in dest.iterdir()) == ["manifest.json", "state.sqlite3"]
    assert table_rows(dest / "state.sqlite3") == table_rows(settings.state_db)
    for name in ("state.sqlite3", "manifest.json"):
        assert stat.S_IMODE((dest / name).stat().st_mode) == 0o600
    m = manifest(dest)
    assert [f["path"] for f in m["knowledge"]] == ["guides/a.md", "organizations.yaml"]
    assert m["knowledge"][0]["sha256"] == hashlib.sha256(b"# A\n").hexdigest()
    key = m["secret_key"]
    assert isinstance(key, dict) and key["source"] == "file" and key["included"] is False
    assert key["fingerprint"] == table_rows(settings.state_db)["meta"][0][1]
    assert m["state_db"]["sha256"] == backup.sha256_file(dest / "state.sqlite3")

    # The documented restore: stop, copy the database back, start with the kept key.
    shutil.rmtree(settings.data_dir)
    settings.data_dir.mkdir()
    shutil.copy(dest / "state.sqlite3", settings.state_db)
    async with await Store.open(settings.state_db, secret=key_of(settings)) as store:
        assert await store.get_language(USER) == "fr"
        assert await store.get_autodelete(USER) == 60
        assert [d.message_id for d in await store.due_deletions()] == [5]  # still decrypts
        assert (await store.stats(1)).questions == 20
    with pytest.raises(KeyMismatchError):  # a wrong key is refused, not silently used
        await Store.open(settings.state_db, secret=b"not-the-key-of-this-backup")


async def test_the_key_is_included_only_when_asked(settings: Settings, tmp_path: Path) -> None:
    await seed(settings)
    dest = tmp_path / "b"
    assert backup.main(settings, dest, include_key=True) == 0
    assert (dest / "secret.key").read_bytes() == settings.secret_key_file.read_bytes()
    assert stat.S_IMODE((dest / "secret.key").stat().st_mode) == 0o600
    assert manifest(dest)["secret_key"] == {
        "source": "file",
        "fingerprint": table_rows(settings.state_db)["meta"][0][1],
        "included": True,
        "file": "secret.key",
    }
    assert backup.main(settings, dest) == 0  # again, without: the earlier copy goes
    assert not (dest / "secret.key").exists()


async def test_a_key_left_in_the_data_dir_stays_out_of_the_backup(
    settings: Settings, tmp_path: Path
) -> None:
    legacy = settings.with_(secret_key_file=None)
    settings.data_dir.mkdir()
    (settings.data_dir / "secret.key").write_text(os.urandom(32).hex() + "\n")
    await seed(legacy)
    assert backup.main(legacy, tmp_path / "b") == 0
    assert not (tmp_path / "b" / "secret.key").exists()
    assert manifest(tmp_path / "b")["secret_key"]["included"] is False


async def test_backup_with_an_environment_secret(settings: Settings, tmp_path: Path) -> None:
    env = settings.with_(secret_key="an-environment-secret-value", secret_key_file=None)
    await seed(env)
    assert backup.main(env, tmp_path / "b") == 0
    assert not (tmp_path / "b" / "secret.key").exists()
    assert manifest(tmp_path / "b")["secret_key"]["source"] == "WAYPOINT_SECRET_KEY"
    assert backup.main(env, tmp_path / "c", include_key=True) == 0
    assert (tmp_path / "c" / "secret.key").read_text().strip() == "an-environment-secret-value"


async def test_manifest_is_private_whatever_the_umask(settings: Settings, tmp_path: Path) -> None:
    await seed(settings)
    old = os.umask(0)
    try:
        assert backup.main(settings, tmp_path / "b") == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b" / "manifest.json").stat().st_mode) == 0o600


async def test_backup_while_the_store_is_open(settings: Settings, tmp_path: Path) -> None:
    await seed(settings)
    async with await Store.open(settings.state_db, secret=key_of(settings)) as store:
        await store.set_language(USER, "es")  # sits in the WAL
        assert backup.main(settings, tmp_path / "b") == 0
    db = sqlite3.connect(tmp_path / "b" / "state.sqlite3")
    assert db.execute("SELECT language FROM users").fetchall() == [("es",)]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    db.close()


def test_backup_without_a_database_fails(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backup.main(settings, tmp_path / "b") == 1
    assert "no state database" in capsys.readouterr().err

"""The operator key: read the same way from the variable and a file, kept off the data
volume by default, bound to the database by its fingerprint."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.store import KeyMismatchError, SecretError, load_secret, open_store
from bot.store import secret as secret_module

USER = 700001
HEX = "3c" * 32


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default key location, under tmp_path instead of the real home."""
    path = tmp_path / "home" / ".config" / "waypoint" / "secret.key"
    monkeypatch.setattr(secret_module, "default_key_file", lambda: path)
    return path


@pytest.mark.parametrize("text", [HEX, "a passphrase of some length"], ids=["hex", "text"])
def test_the_variable_and_a_file_read_the_same_text_as_the_same_key(
    tmp_path: Path, text: str
) -> None:
    key_file = tmp_path / "k"
    key_file.write_text(text + "\n")
    from_env = load_secret(tmp_path, f"  {text} ")
    from_file = load_secret(tmp_path, None, key_file)
    assert from_env.key == from_file.key
    assert from_env.source == "WAYPOINT_SECRET_KEY" and from_file.source == str(key_file)
    if text == HEX:
        assert from_env.key == bytes.fromhex(HEX)


def test_too_short_a_key_is_refused_naming_where_it_came_from(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="WAYPOINT_SECRET_KEY"):
        load_secret(tmp_path, "short")
    (tmp_path / "k").write_text("not hex at all\n")
    with pytest.raises(SecretError, match="WAYPOINT_SECRET_KEY_FILE"):
        load_secret(tmp_path, None, tmp_path / "k")


def test_the_generated_key_lives_off_the_data_dir(tmp_path: Path, home: Path) -> None:
    data = tmp_path / "data"
    first = load_secret(data, None)
    second = load_secret(data, "")
    assert first.key == second.key and len(first.key) == 32
    assert first.file == home and not data.exists()
    assert stat.S_IMODE(home.stat().st_mode) == 0o600
    assert [p.name for p in home.parent.iterdir()] == ["secret.key"]  # no temporary left


def test_a_configured_key_file_is_created_private_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "mounted" / "waypoint.key"
    old = os.umask(0)
    try:
        key = load_secret(tmp_path / "data", None, path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path / "data", None, path).key == key.key


def test_a_key_left_in_the_data_dir_is_still_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, home: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.key").write_text(HEX + "\n")
    with caplog.at_level(logging.WARNING, logger="bot.store.secret"):
        key = load_secret(data, None)
    assert key.key == bytes.fromhex(HEX) and not home.exists()
    assert "data directory" in caplog.text and "WAYPOINT_SECRET_KEY_FILE" in caplog.text


def test_the_key_never_shows_in_a_repr(tmp_path: Path) -> None:
    key = load_secret(tmp_path, HEX)
    assert HEX not in repr(key) and repr(key.key) not in repr(key)
    assert HEX not in repr(Settings(secret_key=HEX))


async def test_moving_the_key_from_its_file_to_the_variable_keeps_everything(
    tmp_path: Path,
) -> None:
    # Before: the file was read as hex, the same text in the variable as UTF-8 text: a new
    # key, so auto-delete settings were lost, deletions dropped, and /forget missed old rows.
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.key").write_text(HEX + "\n")
    from_file = Settings(data_dir=data)
    async with await open_store(from_file) as store:
        await store.set_autodelete(USER, 3600)
        await store.schedule_deletion(USER, USER, 7, due=0)
    (data / "secret.key").unlink()  # moved off the volume, into the environment
    async with await open_store(from_file.with_(secret_key=HEX)) as store:
        assert await store.get_autodelete(USER) == 3600
        assert [d.message_id for d in await store.due_deletions()] == [7]
        await store.forget(USER)
        assert await store.get_autodelete(USER) is None
        assert await store.pending_deletions_for(USER) == []


async def test_a_different_key_is_refused_at_start_with_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=HEX)
    async with await open_store(settings) as store:
        await store.set_language(USER, "fa")
    with pytest.raises(KeyMismatchError) as refused:
        await open_store(settings.with_(secret_key="4d" * 32))
    message = str(refused.value)
    assert "another secret key" in message and "WAYPOINT_SECRET_KEY_FILE" in message
    assert HEX not in message and "4d" * 32 not in message
    async with await open_store(settings) as store:  # nothing was touched
        assert await store.get_language(USER) == "fa"

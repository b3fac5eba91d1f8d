"""The operator's secret key: where it is read from, and how its text becomes key bytes.

Where, first found wins (none of them on the data volume unless the operator puts it there):
  1. WAYPOINT_SECRET_KEY, the environment variable;
  2. WAYPOINT_SECRET_KEY_FILE, a path (created with a new random key if it does not exist);
  3. data_dir/secret.key, where earlier versions generated it: still read, with a warning,
     because a copy of the data volume then holds the key beside the data it protects;
  4. ~/.config/waypoint/secret.key, generated on first start.

How (the same for the variable and for a file): the text, stripped; 32 or more hex digits are
read as hex (what `openssl rand -hex 32` and the generated file hold), anything else as UTF-8
text; at least 16 bytes either way. Earlier versions read WAYPOINT_SECRET_KEY always as text,
so a hex value also carries that older reading (`OperatorKey.older`); the fingerprint stored in
the database decides which of the two it was written with (see `bot.store.upgrade`).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from bot.store.errors import SecretError

logger = logging.getLogger(__name__)

SECRET_FILE = "secret.key"  # the file name; data_dir/secret.key is the old location
ENV_NAME = "WAYPOINT_SECRET_KEY"
FILE_SETTING = "WAYPOINT_SECRET_KEY_FILE"
MIN_SECRET_BYTES = 16
MIN_SECRET_CHARS = MIN_SECRET_BYTES  # the name earlier versions exported
_HEX = re.compile(r"[0-9a-fA-F]{32,}")


def default_key_file() -> Path:
    """~/.config/waypoint/secret.key: the generated key's home, away from the data dir."""
    return Path.home() / ".config" / "waypoint" / SECRET_FILE


@dataclass(frozen=True)
class OperatorKey:
    """The key bytes, where they came from, and how an earlier version read the same text."""

    key: bytes = field(repr=False)
    source: str  # "WAYPOINT_SECRET_KEY" or the key file's path
    older: bytes | None = field(default=None, repr=False)  # the text read as UTF-8, if different
    older_was_used: bool = False  # an earlier version used `older` for this source
    file: Path | None = None  # the key file, when the key came from one

    @classmethod
    def of(cls, key: bytes, source: str = "the given key") -> OperatorKey:
        """A key given as bytes (tests, tools): one reading only."""
        return cls(key=key, source=source)

    def readings(self) -> tuple[bytes, ...]:
        """The possible key bytes, the current reading first."""
        return (self.key,) if self.older is None else (self.key, self.older)


def decode_key(text: str, where: str) -> tuple[bytes, bytes | None]:
    """Return (key, older reading or None) for a key's text; `where` names it in errors."""
    value = text.strip()
    if _HEX.fullmatch(value) and len(value) % 2 == 0:
        return bytes.fromhex(value), value.encode("ascii")
    key = value.encode("utf-8")
    if len(key) < MIN_SECRET_BYTES:
        raise SecretError(
            f"{where}: the key must be at least {MIN_SECRET_BYTES} bytes: 32 or more hex "
            "digits (e.g. `openssl rand -hex 32`) or 16 or more characters"
        )
    return key, None


def load_secret(
    data_dir: Path, env_value: str | None = None, key_file: Path | None = None
) -> OperatorKey:
    """Return the operator key from the first source that has one (see the module docstring)."""
    if env_value is not None and env_value.strip():
        key, older = decode_key(env_value, ENV_NAME)
        return OperatorKey(key=key, source=ENV_NAME, older=older, older_was_used=True)
    if key_file is not None:
        return _from_file(key_file.expanduser(), create=True, where=f"{FILE_SETTING} ({key_file})")
    legacy = data_dir / SECRET_FILE
    if legacy.exists():
        logger.warning(
            "the secret key is read from the data directory (%s): whoever copies the data "
            "volume or a backup of it gets the key too. Move it off the volume and set %s "
            "(see docs/BACKUP.md)",
            legacy,
            FILE_SETTING,
        )
        return _from_file(legacy, create=False, where=str(legacy))
    return _from_file(default_key_file(), create=True, where=str(default_key_file()))


class KeyBytes(bytes):
    """Key bytes that remember how their text was read (`Store.open` uses the reading)."""

    operator_key: OperatorKey

    def __repr__(self) -> str:
        return "KeyBytes(…)"


def load_or_create_secret(
    data_dir: Path, env_value: str | None, key_file: Path | None = None
) -> bytes:
    """Return the key bytes (the earlier API; prefer `load_secret`, or `bot.store.open_store`).

    The bytes carry their `OperatorKey`, so a store opened with them still knows the older
    reading of a hex WAYPOINT_SECRET_KEY.
    """
    key = load_secret(data_dir, env_value, key_file)
    found = KeyBytes(key.key)
    found.operator_key = key
    return found


def locate_key_file(data_dir: Path, key_file: Path | None = None) -> Path | None:
    """The key file the bot would read (without creating one), or None if there is none."""
    for path in (key_file, data_dir / SECRET_FILE, default_key_file()):
        if path is not None and path.expanduser().is_file():
            return path.expanduser()
    return None


def _from_file(path: Path, *, create: bool, where: str) -> OperatorKey:
    if not path.exists():
        if not create:
            raise SecretError(f"{where}: no such file")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_new_key(path)
        except OSError as exc:
            raise SecretError(
                f"{where}: cannot create the secret key ({exc.strerror}); set {ENV_NAME} or "
                f"{FILE_SETTING} to a key kept off the data volume"
            ) from None
        logger.info("generated a new secret key in %s: keep a copy apart from backups", path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretError(f"{where}: unreadable ({exc})") from None
    key, older = decode_key(text, where)
    return OperatorKey(key=key, source=str(path), older=older, file=path)


def _write_new_key(path: Path) -> None:
    # Write to a private temporary file, then link it into place: another process starting
    # at the same moment either sees the complete key or creates none of its own.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_bytes(32).hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        with suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

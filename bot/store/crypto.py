"""The keyed operations the store needs: pseudonyms, sealed (encrypted) blobs, fingerprints.

Every key comes from the one operator secret. Pseudonyms are HMAC-SHA256(secret, user id);
the sealing key and the key fingerprint are derived with HKDF under their own labels, so none
of them coincide. Sealed blobs are AES-256-GCM: a random 12-byte nonce followed by the
ciphertext and tag, bound to a purpose label (associated data) so a blob cannot be moved
between tables. The plaintext is padded to a multiple of `PAD_BYTES`, so the length of a blob
does not tell whose ids (of 9 or 10 digits) it holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
_SEAL_LABEL = b"waypoint/state-seal/v1"
_FINGERPRINT_LABEL = b"waypoint/key-fingerprint/v1"
PAD_BYTES = 64

__all__ = [
    "DAY_KEY_PURPOSE",
    "DELETION_PURPOSE",
    "GAP_PURPOSE",
    "PAD_BYTES",
    "InvalidTag",
    "Sealer",
    "fingerprint",
    "inbox_purpose",
    "pseudonym",
]


def pseudonym(secret: bytes, user_id: int) -> str:
    """Return hex HMAC-SHA256(secret, str(user_id)): the only key a user has at rest."""
    return hmac.new(secret, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()


def fingerprint(secret: bytes) -> str:
    """A public name for the key (32 hex digits): safe to store and to log; reveals no key."""
    derive = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=_FINGERPRINT_LABEL)
    return derive.derive(secret).hex()


class Sealer:
    """Encrypt and decrypt small JSON values with a key derived from the secret."""

    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_LABEL).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, value: Any, *, purpose: bytes) -> bytes:
        """Return nonce + AES-GCM ciphertext of `value` as compact JSON, space-padded."""
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        plain += b" " * (-len(plain) % PAD_BYTES)  # JSON ignores trailing whitespace
        return nonce + self._aead.encrypt(nonce, plain, purpose)

    def unseal(self, blob: bytes, *, purpose: bytes) -> Any:
        """Return the value sealed in `blob`; raise InvalidTag if the key or purpose differ."""
        nonce, body = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return json.loads(self._aead.decrypt(nonce, body, purpose).decode("utf-8"))


# What each sealed blob is bound to (its associated data), table by table.
DELETION_PURPOSE = b"deletion/v2"
GAP_PURPOSE = b"gap/v2"
DAY_KEY_PURPOSE = b"visitor-day-key/v1"


def inbox_purpose(update_id: int) -> bytes:
    """What an inbox payload is bound to: its update id."""
    return b"inbox/v2:%d" % update_id


def legacy_deletion_purpose(key: str) -> bytes:
    """Deletions before m005 were bound to their owner's pseudonym."""
    return b"deletion:" + key.encode("ascii")


def legacy_inbox_purpose(update_id: int) -> bytes:
    """Inbox payloads before m005."""
    return b"inbox:%d" % update_id

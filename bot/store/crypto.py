"""The two keyed operations the store needs: pseudonyms and sealed (encrypted) blobs.

Both keys come from the one operator secret. Pseudonyms are HMAC-SHA256(secret, user id);
the sealing key is derived with HKDF under its own label, so the two never coincide.
Sealed blobs are AES-256-GCM: a random 12-byte nonce followed by the ciphertext and tag,
bound to a purpose label (associated data) so a blob cannot be moved between tables.
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

__all__ = ["InvalidTag", "Sealer", "pseudonym"]


def pseudonym(secret: bytes, user_id: int) -> str:
    """Return hex HMAC-SHA256(secret, str(user_id)): the only key a user has at rest."""
    return hmac.new(secret, str(user_id).encode("ascii"), hashlib.sha256).hexdigest()


class Sealer:
    """Encrypt and decrypt small JSON values with a key derived from the secret."""

    def __init__(self, secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_LABEL).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, value: Any, *, purpose: bytes) -> bytes:
        """Return nonce + AES-GCM ciphertext of `value` as compact JSON."""
        nonce = os.urandom(_NONCE_BYTES)
        plain = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return nonce + self._aead.encrypt(nonce, plain, purpose)

    def unseal(self, blob: bytes, *, purpose: bytes) -> Any:
        """Return the value sealed in `blob`; raise InvalidTag if the key or purpose differ."""
        nonce, body = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return json.loads(self._aead.decrypt(nonce, body, purpose).decode("utf-8"))

"""Secrets at rest: AES-GCM sealing of the values the store keeps secret, with key rotation.

The store seals three kinds of values (``_sealing``): connection credentials, integration
auth configs (client secrets, private keys) and environment variable values. A sealed value is
text::

    corral-sealed:v1:<key id>:<base64url(nonce || ciphertext || tag)>

- The key id is the first 8 bytes (hex) of SHA-256 over a label and the key, so a reader knows
  which key sealed a value without holding it: new values use the current key, reads use
  whichever key the id names (the current one or one of the old ones kept during a rotation).
- The associated data names the value's place (environment id, table and column, row key), so
  a ciphertext copied to another row or another environment fails to open with the typed
  ``SecretUnreadable`` (``secret_unreadable``), never yielding another row's plaintext.
- Without a key (``SecretBox(None)``) values are stored as given: one-machine mode works as
  before, and ``corral serve`` says at start that secrets are not encrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corral.errors import Unavailable

KEY_BYTES = 32
"""An AES-256 key."""

NONCE_BYTES = 12
"""AES-GCM's nonce (random per value)."""

SEALED_PREFIX = "corral-sealed:v1:"
"""What a sealed value starts with."""


class SecretUnreadable(Unavailable):
    """A sealed value cannot be opened: its key is not configured, or it does not belong to
    the row it was read from (moved, or altered). Its plaintext is never shown."""

    default_code = "secret_unreadable"
    default_retryable = False


def key_id(key: bytes) -> str:
    """The id of a key written beside each value it seals (16 hex characters)."""
    return hashlib.sha256(b"corral secrets key id\x00" + key).hexdigest()[:16]


def place(env_id: int, column: str, row_key: str) -> bytes:
    """The associated data binding a sealed value to its row: environment, table.column, key."""
    return f"corral:{env_id}:{column}:{row_key}".encode()


class SecretBox:
    """Seals and opens values with the current key; opens with old keys too (rotation)."""

    def __init__(self, key: bytes | None, old_keys: Sequence[bytes] = ()) -> None:
        """Args:
        key: the current key (None: values are stored as given, unsealed).
        old_keys: keys still accepted to open values (during a rotation).
        """
        self._current = None if key is None else key_id(key)
        self._keys = {key_id(old): AESGCM(old) for old in old_keys}
        if key is not None:
            self._keys[key_id(key)] = AESGCM(key)

    @property
    def encrypting(self) -> bool:
        """Whether new values are sealed."""
        return self._current is not None

    def seal(self, plaintext: str, aad: bytes) -> str:
        """The value as stored: sealed with the current key, or as given without one."""
        if self._current is None:
            return plaintext
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), aad)
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{SEALED_PREFIX}{self._current}:{body}"

    def open(self, stored: str, aad: bytes) -> str:
        """A sealed value's plaintext.

        Raises:
            SecretUnreadable: the key that sealed it is not configured, or the value does not
                belong to ``aad``'s row (moved or altered).
        """
        kid, _, body = stored.removeprefix(SEALED_PREFIX).partition(":")
        cipher = self._keys.get(kid)
        if cipher is None:
            raise SecretUnreadable(
                f"a secret in the store was encrypted with key {kid}, which is not configured"
                " (CORRAL_SECRETS_KEY, CORRAL_SECRETS_KEY_FILE or CORRAL_SECRETS_OLD_KEYS)",
                details={"key_id": kid},
            )
        try:
            raw = base64.urlsafe_b64decode(body)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretUnreadable(
                "a secret in the store does not open for its row (it was moved from another"
                " row or altered)",
                details={"key_id": kid},
            ) from None

    def known(self, stored: str) -> bool:
        """Whether the key that sealed ``stored`` is configured."""
        return stored.removeprefix(SEALED_PREFIX).partition(":")[0] in self._keys

    def is_current(self, stored: str) -> bool:
        """Whether ``stored`` is sealed with the current key."""
        return stored.removeprefix(SEALED_PREFIX).partition(":")[0] == self._current

    def describe(self) -> dict[str, object]:
        """What logs may say about the keys: their ids, never the keys."""
        return {
            "secrets_key_id": self._current,
            "secrets_old_key_ids": sorted(set(self._keys) - {self._current}),
        }


def is_sealed(stored: object) -> bool:
    """Whether a stored value is sealed (else it is plaintext, as stored without a key)."""
    return isinstance(stored, str) and stored.startswith(SEALED_PREFIX)


NO_KEY = SecretBox(None)
"""The box of a store without a key: values stored as given."""

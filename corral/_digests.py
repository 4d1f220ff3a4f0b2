"""A record's content digest, as hashes-first batches carry it: the sha256 of the record's
compact JSON, the hash the store keeps (as hex) for that record."""

from __future__ import annotations

import hashlib

DIGEST_BYTES = hashlib.sha256().digest_size
"""The bytes of one record's digest in ``RecordBatch.content_hashes``."""


def digest(data: bytes) -> bytes:
    """The digest of a record's JSON bytes."""
    return hashlib.sha256(data).digest()

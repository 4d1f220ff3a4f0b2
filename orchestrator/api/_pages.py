"""Pages of listings cut by size, so that one large row never makes a listing fail.

A gRPC message is refused above the receiver's limit (4 MiB by default). Every listing of the
API (runs, run logs, records, connections) stops a page before ``PAGE_BYTES`` and returns a
cursor for the rest; a page always holds at least one row, whatever its size (rows are bounded
by the budgets).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from google.protobuf.message import Message

from corral.errors import InvalidRequest

PAGE_BYTES = 3 << 20
"""The most bytes of rows in one page (below 4 MiB, with room for the message's framing)."""

MAX_NUMBER = 2**63 - 1
"""The largest number a cursor may hold (the stores keep numbers as signed 64-bit ints)."""

_DIGITS = re.compile(r"[0-9]{1,19}")

T = TypeVar("T")


class PageFiller:
    """A page of messages filled one at a time, until the next one would not fit."""

    def __init__(self, max_bytes: int = PAGE_BYTES) -> None:
        self.rows: list[Any] = []
        self._left = max_bytes

    def add(self, message: Message) -> bool:
        """Adds a message when it fits (the first one always does); False when it does not."""
        size = message.ByteSize() + 8
        if self.rows and size > self._left:
            return False
        self.rows.append(message)
        self._left -= size
        return True


def sized(
    rows: Iterable[T], size: Callable[[T], int], max_bytes: int = PAGE_BYTES
) -> tuple[list[T], bool]:
    """The leading rows that fit ``max_bytes`` (at least one), and whether any were left out."""
    page: list[T] = []
    used = 0
    for row in rows:
        row_size = size(row) + 8
        if page and used + row_size > max_bytes:
            return page, True
        page.append(row)
        used += row_size
    return page, False


def encode_cursor(kind: str, value: str) -> str:
    """An opaque cursor of a listing ``kind`` that continues after ``value``."""
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    """The value of a cursor made by ``encode_cursor`` for ``kind``; "" for no cursor.

    Raises:
        InvalidRequest: code ``invalid_cursor`` for a cursor of another listing or none of ours.
    """
    if not cursor:
        return ""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        text = ""
    prefix = f"{kind}:"
    if not text.startswith(prefix) or len(text) == len(prefix):
        raise _invalid(cursor)
    return text[len(prefix) :]


def decode_number_cursor(kind: str, cursor: str) -> int:
    """The number of a cursor made by ``encode_cursor(kind, str(n))``; 0 for no cursor.

    Raises:
        InvalidRequest: code ``invalid_cursor``, also for a number a store cannot hold.
    """
    value = decode_cursor(kind, cursor)
    if not value:
        return 0
    # ASCII digits, few enough for int(), which raises ValueError past 4,300 of them
    if not _DIGITS.fullmatch(value) or int(value) > MAX_NUMBER:
        raise _invalid(cursor)
    return int(value)


def _invalid(cursor: str) -> InvalidRequest:
    shown = cursor if len(cursor) <= 80 else cursor[:60] + "..."
    return InvalidRequest(
        f"invalid cursor {shown!r}: pass a cursor from a previous page, or none",
        code="invalid_cursor",
    )

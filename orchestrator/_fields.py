"""The checks of the fields a caller sends (the public API's, the webhook endpoint's): required
ones, names, page sizes, URLs, times, idempotency keys. Each raises ``InvalidRequest`` with a
code of its own."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

from corral.errors import InvalidRequest

MAX_LIST = 1000
"""The most items one page of a listing holds."""
MAX_NAME_LENGTH = 255
"""The longest id or name a caller may give to something stored (connection, variable, ...)."""
MAX_URL_LENGTH = 2048
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
"""An RFC 3339 date-time (ASCII digits, a time zone, at most nanoseconds)."""
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
"""Unicode categories a name may not hold: controls, format characters (bidi overrides,
zero-width joiners), surrogates, private use, line and paragraph separators."""


def required(value: str, what: str) -> str:
    """A name or id that must not be empty (``missing_field``) nor hold NUL (``invalid_name``:
    no stored name can, ``orchestrator._text_values``)."""
    if not value:
        raise InvalidRequest(f"{what} is required", code="missing_field")
    if "\x00" in value:
        raise InvalidRequest(
            f"{what} {value[:100]!r} holds the character U+0000 (NUL)", code="invalid_name"
        )
    return value


def name(value: str, what: str) -> str:
    """A name or id for something stored: required, printable, trimmed, not too long."""
    required(value, what)
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidRequest(
            f"{what} is {len(value)} characters long; at most {MAX_NAME_LENGTH} are allowed",
            code="invalid_name",
        )
    bad = next((c for c in value if unicodedata.category(c) in _INVISIBLE), None)
    if bad is not None:
        raise InvalidRequest(
            f"{what} {value!r} holds the control or invisible character U+{ord(bad):04X}",
            code="invalid_name",
        )
    if value != value.strip():
        raise InvalidRequest(
            f"{what} {value!r} starts or ends with white space", code="invalid_name"
        )
    return value


def limit(value: int, default: int) -> int:
    """A page size: 0 means the default, above ``MAX_LIST`` means ``MAX_LIST``."""
    if value < 0:
        raise InvalidRequest(
            f"limit must be 0 (the default, {default}) or more, not {value}", code="invalid_limit"
        )
    return min(value or default, MAX_LIST)


def check_url(url: str, what: str) -> None:
    if not url:
        return
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(
            f"{what} is {len(url)} characters long; at most {MAX_URL_LENGTH} are allowed",
            code="invalid_url",
        )
    if not url.startswith(("http://", "https://")):
        raise InvalidRequest(f"{what} must be an http(s) URL", code="invalid_url")
    if any(c.isspace() or unicodedata.category(c) in _INVISIBLE for c in url):
        raise InvalidRequest(
            f"{what} holds white space or control characters; percent-encode them",
            code="invalid_url",
        )
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # a port out of range raises here
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not a valid URL: {exc}", code="invalid_url") from None
    if not host:
        raise InvalidRequest(f"{what} has no host name", code="invalid_url")


def timestamp(text: str) -> datetime:
    if not RFC3339.fullmatch(text):
        raise InvalidRequest(
            "modified_after must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z",
            code="invalid_timestamp",
        )
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            "modified_after must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z",
            code="invalid_timestamp",
        ) from None
    if value.tzinfo is None:
        raise InvalidRequest("modified_after needs a time zone", code="invalid_timestamp")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(
            "modified_after is out of range in UTC", code="invalid_timestamp"
        ) from None


IDEMPOTENCY_KEY_MAX = 200


def idempotency_key(key: str) -> str:
    """A client's idempotency key, checked ("" when none was given)."""
    if len(key) > IDEMPOTENCY_KEY_MAX or not all(" " <= c <= "~" for c in key):
        raise InvalidRequest(
            f"idempotency_key must be at most {IDEMPOTENCY_KEY_MAX} printable ASCII characters",
            code="invalid_idempotency_key",
        )
    return key

"""When an outbound request is retried, and how long to wait first.

The rules are the seed's ("HTTP request retries"):

* a network error is retried when its code is one of :data:`TRANSIENT_NETWORK_CODES`;
* an HTTP status is retried when it is in the provider's own list (``providers.yaml``
  ``proxy.retry.error_code``) or, without such a list, when it is 401, 429 or 5xx;
* a status in the function's ``retry_on`` is always retried;
* at most ``retries`` retries; the waits are 3 s, 6 s, 12 s, ... capped at 10 minutes.

Beyond the seed, a 429 or 503 that says when to come back (``Retry-After`` in seconds or as an
HTTP date, or a rate-limit reset header) is waited for that long instead, with the same cap.
GitHub answers a spent rate limit with 403 and ``x-ratelimit-remaining: 0``: that 403 is
treated as a 429 (retried as a 429 is, after waiting until ``x-ratelimit-reset``).

:func:`network_error_code` names an httpx failure with the code Node.js would give it, since
functions and their authors know those codes from the seed.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

TRANSIENT_NETWORK_CODES: frozenset[str] = frozenset(
    {"ECONNRESET", "ETIMEDOUT", "ECONNABORTED", "ECONNREFUSED", "EHOSTUNREACH", "EAI_AGAIN"}
)
"""Network error codes that are retried (the seed's table)."""

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({401, 429})
"""Statuses retried by default, besides every 5xx."""

RATE_LIMIT_STATUSES: frozenset[int] = frozenset({429, 503})
"""Statuses on which the server's own "come back later" headers are honoured."""

_RESET_HEADERS = ("x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset")
_NUMBER = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,9})?")
_EPOCH_THRESHOLD = 1_000_000_000.0  # a reset value this large is a Unix time, not a delay
_EPOCH_MS_THRESHOLD = 100_000_000_000.0  # ... and this large, a Unix time in milliseconds
_MAX_DATE_CHARS = 64  # an HTTP date is 29; longer text is no date


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried, how often, and with what waits.

    Attributes:
        retries: the most retries after the first attempt (0: one attempt only).
        retry_on: statuses always retried, in addition to the others (the function's).
        provider_statuses: the provider's own retryable statuses; ``None`` means 401, 429, 5xx.
        first_delay: the first wait, in seconds.
        max_delay: the longest wait, in seconds, whatever the server asks for.
    """

    retries: int = 0
    retry_on: frozenset[int] = frozenset()
    provider_statuses: frozenset[int] | None = None
    first_delay: float = 3.0
    max_delay: float = 600.0

    def retries_status(self, status: int) -> bool:
        """Whether a response with this status is worth another attempt."""
        if status in self.retry_on:
            return True
        if self.provider_statuses is not None:
            return status in self.provider_statuses
        return status in DEFAULT_RETRY_STATUSES or 500 <= status <= 599

    def retries_response(self, status: int, headers: Iterable[tuple[str, str]]) -> bool:
        """Whether a response is worth another attempt (a spent-limit 403 as a 429)."""
        if status in self.retry_on:
            return True
        return self.retries_status(rate_limit_status(status, headers))

    def retries_network(self, code: str) -> bool:
        """Whether a network failure with this Node-style code is worth another attempt."""
        return code in TRANSIENT_NETWORK_CODES

    def backoff(self, retry_index: int) -> float:
        """The wait before retry number ``retry_index`` (0 for the first retry), in seconds."""
        if retry_index >= 64:  # far past any cap; also keeps 2.0**n from overflowing
            return self.max_delay
        return min(self.first_delay * 2.0**retry_index, self.max_delay)

    def delay(
        self,
        retry_index: int,
        status: int | None,
        headers: Iterable[tuple[str, str]],
        now: datetime,
    ) -> float:
        """The wait before a retry: the server's own hint on 429/503, else the backoff.

        Args:
            retry_index: 0 for the first retry, 1 for the second, ...
            status: the status of the failed attempt, ``None`` after a network error.
            headers: the failed response's headers (names in any case).
            now: the current time, to turn an HTTP date or a reset time into a delay.

        Returns:
            Seconds to wait, between 0 and :attr:`max_delay`.
        """
        headers = tuple(headers)  # read twice below
        if status is not None and rate_limit_status(status, headers) in RATE_LIMIT_STATUSES:
            hinted = server_delay(headers, now)
            if hinted is not None:
                return min(hinted, self.max_delay)
        return self.backoff(retry_index)


def rate_limit_status(status: int, headers: Iterable[tuple[str, str]]) -> int:
    """429 for GitHub's spent-rate-limit 403 (``x-ratelimit-remaining: 0``), else ``status``."""
    if status != 403:
        return status
    remaining = next((v.strip() for n, v in headers if n.lower() == "x-ratelimit-remaining"), "")
    return 429 if remaining == "0" else status


def server_delay(headers: Iterable[tuple[str, str]], now: datetime) -> float | None:
    """The wait a server asks for, from ``Retry-After`` or a rate-limit reset header.

    ``Retry-After`` is read first (delta seconds or an HTTP date); then ``x-ratelimit-reset``,
    ``x-rate-limit-reset`` and ``ratelimit-reset``, each either a Unix time (seconds or
    milliseconds) or a number of seconds from now, told apart by size.

    Returns:
        Seconds to wait, never negative; ``None`` when no header gives a usable value.
    """
    values = {name.lower(): value.strip() for name, value in headers}
    retry_after = values.get("retry-after")
    if retry_after:
        parsed = _parse_retry_after(retry_after, now)
        if parsed is not None:
            return parsed
    for name in _RESET_HEADERS:
        if values.get(name):
            parsed = _parse_reset(values[name], now)
            if parsed is not None:
                return parsed
    return None


def _parse_retry_after(value: str, now: datetime) -> float | None:
    """``Retry-After``: delta seconds, or an HTTP date (as if absent when it is not one)."""
    number = _number(value)
    if number is not None:
        return max(number, 0.0)
    if len(value) > _MAX_DATE_CHARS:
        return None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are always GMT
            when = when.replace(tzinfo=now.tzinfo)
        return max((when - now).total_seconds(), 0.0)
    except Exception:  # any failure to read an upstream's date (a year past 9999 is an
        return None  # OverflowError, others raise TypeError, ValueError, IndexError): absent


def _parse_reset(value: str, now: datetime) -> float | None:
    """A reset header: a Unix time (s or ms) when large, else seconds from now."""
    number = _number(value)
    if number is None:
        return None
    if number >= _EPOCH_MS_THRESHOLD:
        number /= 1000.0
    if number >= _EPOCH_THRESHOLD:
        return max(number - now.timestamp(), 0.0)
    return max(number, 0.0)


def _number(value: str) -> float | None:
    """A decimal number of ASCII digits (a sign and a fraction allowed), or ``None``.

    ``float`` would also take other scripts' digits, ``_``, exponents, ``inf`` and ``nan``.
    """
    return float(value) if _NUMBER.fullmatch(value) else None


def network_error_code(exc: BaseException) -> str:
    """The Node.js error code for an httpx (or socket) failure.

    The operating system's errno is used when one is found in the exception chain
    (``ECONNREFUSED``, ``EHOSTUNREACH``, ``ENETUNREACH``, ...); name resolution failures become
    ``EAI_AGAIN`` (temporary) or ``ENOTFOUND``; timeouts ``ETIMEDOUT``; a connection dropped
    mid-exchange ``ECONNRESET``; a body that does not decode ``Z_DATA_ERROR``.
    """
    if isinstance(exc, httpx.TimeoutException | socket.timeout):
        return "ETIMEDOUT"
    found = _code_from_chain(exc) or _code_from_message(str(exc))
    if found:
        return found
    return next((code for kind, code in _TYPE_CODES if isinstance(exc, kind)), "ERR_NETWORK")


_TYPE_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (httpx.DecodingError, "Z_DATA_ERROR"),
    (httpx.ReadError, "ECONNRESET"),
    (httpx.WriteError, "ECONNRESET"),
    (httpx.RemoteProtocolError, "ECONNRESET"),
    (httpx.ConnectError, "ECONNREFUSED"),
    (httpx.UnsupportedProtocol, "ERR_UNSUPPORTED_PROTOCOL"),
)


def _code_from_chain(exc: BaseException) -> str:
    """The code of the first OS-level error in the ``__cause__``/``__context__`` chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return _resolver_code(current.errno)
        if isinstance(current, TimeoutError):
            return "ETIMEDOUT"
        number = current.errno if isinstance(current, OSError) else None
        if number is not None and number in errno.errorcode:
            return errno.errorcode[number]
        current = current.__cause__ or current.__context__
    return ""


def _resolver_code(code: int | None) -> str:
    """``getaddrinfo`` failures, named as Node names them."""
    if code == socket.EAI_AGAIN:
        return "EAI_AGAIN"
    if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return "ENOTFOUND"
    return "EAI_FAIL"


_MESSAGE_CODES = (
    ("temporary failure in name resolution", "EAI_AGAIN"),
    ("name or service not known", "ENOTFOUND"),
    ("nodename nor servname", "ENOTFOUND"),
    ("connection refused", "ECONNREFUSED"),
    ("connection reset", "ECONNRESET"),
    ("no route to host", "EHOSTUNREACH"),
    ("host is unreachable", "EHOSTUNREACH"),
    ("network is unreachable", "ENETUNREACH"),
    ("timed out", "ETIMEDOUT"),
)


def _code_from_message(message: str) -> str:
    """A code guessed from an error message, for exceptions that lost their errno."""
    lowered = message.lower()
    for fragment, code in _MESSAGE_CODES:
        if fragment in lowered:
            return code
    return ""

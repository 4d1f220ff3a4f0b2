"""The retry rules: which failures, how many times, how long between."""

from __future__ import annotations

import errno
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from orchestrator.proxy._retry import (
    TRANSIENT_NETWORK_CODES,
    RetryPolicy,
    network_error_code,
    rate_limit_status,
    server_delay,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_backoff_starts_at_3s_doubles_and_caps_at_10_minutes() -> None:
    policy = RetryPolicy(retries=20)
    waits = [policy.backoff(i) for i in range(12)]
    assert waits == [3, 6, 12, 24, 48, 96, 192, 384, 600, 600, 600, 600]
    assert policy.backoff(10_000) == 600


@pytest.mark.parametrize("status", [401, 429, 500, 502, 503, 504, 599])
def test_default_retryable_statuses(status: int) -> None:
    assert RetryPolicy().retries_status(status)


@pytest.mark.parametrize("status", [200, 301, 400, 403, 404, 409, 422, 600])
def test_default_not_retried_statuses(status: int) -> None:
    assert not RetryPolicy().retries_status(status)


def test_provider_list_replaces_the_defaults() -> None:
    policy = RetryPolicy(provider_statuses=frozenset({502, 403}))
    assert policy.retries_status(502)
    assert policy.retries_status(403)
    assert not policy.retries_status(500)
    assert not policy.retries_status(429)
    assert not policy.retries_status(401)


def test_retry_on_adds_to_both_the_defaults_and_the_provider_list() -> None:
    assert RetryPolicy(retry_on=frozenset({404})).retries_status(404)
    provider = RetryPolicy(retry_on=frozenset({404}), provider_statuses=frozenset({502}))
    assert provider.retries_status(404)
    assert provider.retries_status(502)
    assert not provider.retries_status(500)


def test_network_codes_are_the_seeds() -> None:
    assert {
        "ECONNRESET",
        "ETIMEDOUT",
        "ECONNABORTED",
        "ECONNREFUSED",
        "EHOSTUNREACH",
        "EAI_AGAIN",
    } == TRANSIENT_NETWORK_CODES
    policy = RetryPolicy()
    assert policy.retries_network("ECONNREFUSED")
    assert not policy.retries_network("ENOTFOUND")
    assert not policy.retries_network("EGRESS_DENIED")


def test_retry_after_seconds() -> None:
    assert server_delay([("Retry-After", "7")], NOW) == 7


def test_retry_after_http_date() -> None:
    when = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert server_delay([("retry-after", when)], NOW) == 30


def test_retry_after_in_the_past_or_negative_waits_nothing() -> None:
    past = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert server_delay([("Retry-After", past)], NOW) == 0
    assert server_delay([("Retry-After", "-5")], NOW) == 0


def test_unreadable_retry_after_falls_through_to_reset_headers() -> None:
    headers = [("Retry-After", "soon"), ("X-RateLimit-Reset", "12")]
    assert server_delay(headers, NOW) == 12
    assert server_delay([("Retry-After", "soon")], NOW) is None
    assert server_delay([], NOW) is None


def test_reset_header_as_epoch_seconds_and_milliseconds() -> None:
    epoch = int(NOW.timestamp()) + 45
    assert server_delay([("x-ratelimit-reset", str(epoch))], NOW) == 45
    assert server_delay([("x-ratelimit-reset", str(epoch * 1000))], NOW) == 45
    assert server_delay([("x-ratelimit-reset", str(epoch - 100))], NOW) == 0


@pytest.mark.parametrize("name", ["x-ratelimit-reset", "x-rate-limit-reset", "RateLimit-Reset"])
def test_reset_headers_as_seconds_from_now(name: str) -> None:
    assert server_delay([(name, "20")], NOW) == 20


def test_delay_uses_server_hint_only_on_429_and_503() -> None:
    policy = RetryPolicy(retries=3)
    hint = [("Retry-After", "1")]
    assert policy.delay(0, 429, hint, NOW) == 1
    assert policy.delay(2, 503, hint, NOW) == 1
    assert policy.delay(0, 500, hint, NOW) == 3
    assert policy.delay(1, None, hint, NOW) == 6
    assert policy.delay(1, 429, [], NOW) == 6


def test_delay_caps_the_server_hint() -> None:
    policy = RetryPolicy(retries=1)
    assert policy.delay(0, 429, [("Retry-After", "86400")], NOW) == 600


def _chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx.ConnectTimeout("t"), "ETIMEDOUT"),
        (httpx.ReadTimeout("t"), "ETIMEDOUT"),
        (httpx.PoolTimeout("t"), "ETIMEDOUT"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "ECONNREFUSED"),
        (httpx.ConnectError("odd"), "ECONNREFUSED"),
        (httpx.ReadError("boom"), "ECONNRESET"),
        (httpx.RemoteProtocolError("Server disconnected"), "ECONNRESET"),
        (httpx.WriteError("boom"), "ECONNRESET"),
        (httpx.DecodingError("bad gzip"), "Z_DATA_ERROR"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "EAI_AGAIN"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "ENOTFOUND"),
        (httpx.ConnectError("[Errno 113] No route to host"), "EHOSTUNREACH"),
        (
            _chained(httpx.ConnectError("x"), OSError(errno.EHOSTUNREACH, "unreachable")),
            "EHOSTUNREACH",
        ),
        (
            _chained(httpx.ConnectError("x"), socket.gaierror(socket.EAI_AGAIN, "again")),
            "EAI_AGAIN",
        ),
        (
            _chained(httpx.ConnectError("x"), socket.gaierror(socket.EAI_NONAME, "none")),
            "ENOTFOUND",
        ),
        (
            _chained(httpx.ReadError("x"), ConnectionResetError(errno.ECONNRESET, "reset")),
            "ECONNRESET",
        ),
        (socket.gaierror(socket.EAI_AGAIN, "again"), "EAI_AGAIN"),
        (httpx.UnsupportedProtocol("ftp"), "ERR_UNSUPPORTED_PROTOCOL"),
    ],
)
def test_network_error_codes_are_nodes(exc: Exception, code: str) -> None:
    assert network_error_code(exc) == code


def test_githubs_spent_rate_limit_403_is_a_429() -> None:
    reset = str(int(NOW.timestamp()) + 90)
    spent = [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", reset)]
    assert rate_limit_status(403, spent) == 429
    assert rate_limit_status(403, [("x-ratelimit-remaining", "12")]) == 403
    assert rate_limit_status(403, []) == 403
    assert rate_limit_status(404, spent) == 404
    policy = RetryPolicy(retries=3)
    assert policy.retries_response(403, spent)
    assert not policy.retries_response(403, [("x-ratelimit-remaining", "1")])
    assert policy.delay(0, 403, spent, NOW) == 90
    assert policy.delay(0, 403, [("x-ratelimit-reset", reset)], NOW) == 3  # no limit spent
    assert RetryPolicy(max_delay=60).delay(0, 403, spent, NOW) == 60


def test_a_provider_list_without_429_does_not_retry_a_spent_403() -> None:
    spent = [("x-ratelimit-remaining", "0")]
    assert not RetryPolicy(provider_statuses=frozenset({500})).retries_response(403, spent)
    assert RetryPolicy(retry_on=frozenset({403})).retries_response(403, [])

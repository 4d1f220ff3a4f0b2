"""Numbers the proxy reads from an upstream's answer (Content-Length, Retry-After and the
rate-limit resets, a token endpoint's ``expires_in``) are ASCII digits or as if absent: other
scripts' digits, exponents, ``nan`` and huge values never crash a call or stretch a wait."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from corral.errors import RunFailure
from orchestrator._clock import FakeClock
from orchestrator.proxy._egress import EgressPolicy
from orchestrator.proxy._grants import client_credentials
from orchestrator.proxy._proxy import OutboundRequest, Proxy, ProxyTarget
from orchestrator.proxy._retry import server_delay

NOW = datetime(2025, 1, 1, tzinfo=UTC)
PUBLIC = EgressPolicy(resolver=lambda host, port: ["93.184.216.34"])
TARGET = ProxyTarget("https://api.example.com", "NONE", {}, {})

NOT_ASCII_NUMBERS = ["²", "1\xb2", "\u0667", "7\u0660", "1_0", "1e3", "inf", "nan", "0x10", "+7 "]
"""Values ``str.isdigit``, ``int`` or ``float`` take that are not ASCII decimal numbers."""


@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS)
def test_a_retry_hint_that_is_not_ascii_digits_is_no_hint(value: str) -> None:
    assert server_delay([("Retry-After", value)], NOW) is None
    assert server_delay([("X-RateLimit-Reset", value)], NOW) is None
    assert server_delay([("Retry-After", value), ("RateLimit-Reset", "4")], NOW) == 4


@pytest.mark.parametrize("value", ["7", "7.5", " 7 ", "-3"])
def test_ascii_retry_hints_are_still_read(value: str) -> None:
    assert server_delay([("Retry-After", value.strip())], NOW) == max(float(value), 0)


def _proxy(*responses: httpx.Response) -> tuple[Proxy, FakeClock, httpx.Client]:
    answers = list(responses)
    client = httpx.Client(transport=httpx.MockTransport(lambda request: answers.pop(0)))
    clock = FakeClock()
    return Proxy(client, clock, PUBLIC), clock, client


@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS)
def test_a_429_with_such_a_hint_waits_the_backoff(value: str) -> None:
    limited = httpx.Response(429, headers={"Retry-After": value.encode()})
    proxy, clock, client = _proxy(limited, httpx.Response(200, content=b"ok"))
    with client:
        result = proxy.send(OutboundRequest("GET", "/x", retries=1), lambda: TARGET)
    assert result.status == 200
    assert clock.sleeps == [3]


@pytest.mark.parametrize("value", [*NOT_ASCII_NUMBERS, "9" * 5000])
def test_an_upstream_content_length_that_is_not_ascii_digits_is_as_if_absent(
    value: str,
) -> None:
    response = httpx.Response(200, headers={"Content-Length": value.encode()}, content=b"ok")
    proxy, _, client = _proxy(response)
    with client:
        result = proxy.send(OutboundRequest("GET", "/x"), lambda: TARGET)
    assert (result.status, result.body) == (200, b"ok")


def _token_endpoint(answer: bytes) -> dict[str, Any]:
    def answer_with(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=answer, headers={"Content-Type": "application/json"})

    with httpx.Client(transport=httpx.MockTransport(answer_with)) as client:
        return client_credentials(
            client, "https://auth.example.com/token", "id", "s", [], FakeClock()
        )


@pytest.mark.parametrize(
    "expires_in",
    ['"nan"', '"inf"', '"1e400"', "1e300", "1e12", '"\u0667"', '"1\xb2"', "-5", "true", '"7 days"'],
)
def test_an_expires_in_that_is_not_a_sane_number_is_as_if_absent(expires_in: str) -> None:
    body = f'{{"access_token": "t", "expires_in": {expires_in}}}'.encode()
    assert "expires_at" not in _token_endpoint(body)


@pytest.mark.parametrize("expires_in", ["3600", '"3600"', "3600.5", '" 3600 "'])
def test_an_expires_in_of_seconds_still_sets_the_expiry(expires_in: str) -> None:
    body = f'{{"access_token": "t", "expires_in": {expires_in}}}'.encode()
    assert _token_endpoint(body)["expires_at"]


@pytest.mark.parametrize(
    "answer", [b'{"access_token": "t", "expires_in": NaN}', b'{"access_token": "\\ud800"}']
)
def test_a_token_endpoint_answer_that_is_not_strict_json_is_refused_typed(answer: bytes) -> None:
    with pytest.raises(RunFailure) as caught:
        _token_endpoint(answer)
    assert caught.value.code == "script_http_error"


HOSTILE_DATES = [
    "Mon, 01 Jan 0001 00:00:00 +2359",
    "Fri, 31 Dec 9999 23:59:59 -2359",
    "Mon, 01 Jan 2020 24:00:00 GMT",
    "Mon, 01 Jan 2020 23:59:60 GMT",
    "01 Jan 2020 00:00 +99999",
    "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
    "Mon, 01 Jan 2020 00:00:00 +0000000000000000000001",
    "\x00",
    "1" * 16,
    "9" * 15,
    "-" + "9" * 15,
    "Mon, 01 Jan 2020 00:00:99999999999999999999 GMT",
    "a, 1 b 2",
    "Mon, 01 Jan -1 00:00:00 GMT",
    "Mon, 01 Jan 2020 00:00:00.5 GMT",
    "1 Jan 2020 0:0 EST",
    "Jan 1 2020 00:00:00 GMT",
    "1 2 3 4 5 6 7 8 9",
    "Mon, 01 Jan 10000 00:00:00 GMT",
    "Mon, 01 Jan 2020 00:00:00 " + "9" * 5000,
]
"""Retry-After and reset values a fuzzer (redteam-boundary2 ``retry_header_fuzz.py``) found or
tried: a year or seconds past what ``datetime`` holds made ``email.utils`` raise
``OverflowError``, which reached the Proxy RPC as INTERNAL."""


def _fuzzed(count: int) -> list[str]:
    rnd = random.Random(1)  # noqa: S311 (a fixed seed gives the same inputs every run; no secret)
    alphabet = "0123456789 :+-,.JanMonGMTESTx\x00²٣"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))) for _ in range(count)]


@pytest.mark.parametrize("header", ["Retry-After", "X-RateLimit-Reset", "RateLimit-Reset"])
def test_no_retry_hint_an_upstream_sends_raises(header: str) -> None:
    for value in [*HOSTILE_DATES, *_fuzzed(3000)]:
        delay = server_delay([(header, value)], NOW)
        assert delay is None or 0 <= delay < math.inf, (value, delay)


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2020 00:00:99999999999999999999 GMT",
    ],
)
@pytest.mark.parametrize("status", [429, 503])
def test_a_429_with_a_date_out_of_range_waits_the_backoff(value: str, status: int) -> None:
    limited = httpx.Response(status, headers={"Retry-After": value})
    proxy, clock, client = _proxy(limited, httpx.Response(200, content=b"ok"))
    with client:
        result = proxy.send(OutboundRequest("GET", "/x", retries=1), lambda: TARGET)
    assert result.status == 200
    assert clock.sleeps == [3]


def test_http_dates_in_range_are_still_read() -> None:
    assert server_delay([("Retry-After", "Wed, 01 Jan 2025 00:00:30 GMT")], NOW) == 30
    assert server_delay([("Retry-After", "Tue, 31 Dec 2024 00:00:00 GMT")], NOW) == 0

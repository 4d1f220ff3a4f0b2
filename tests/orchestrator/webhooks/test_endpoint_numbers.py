"""Numbers a webhook request carries are ASCII digits or refused with an answer: a
Content-Length of Unicode digits (which ``str.isdigit`` takes and ``int`` may not) is a 400,
never a connection closed without one, and the endpoint serves on."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.webhooks import WebhookEndpoint, refusal
from orchestrator.webhooks._endpoint import MAX_BODY_BYTES


class _Intake:
    """Answers every webhook it is handed as accepted (202)."""

    def accept(self, *args: Any) -> None:
        return None

    def close(self) -> None:
        pass


BAD_LENGTHS = {
    "superscript_two": "²".encode("latin-1"),  # str.isdigit() is True, int() refuses it
    "superscript_one": b"\xb9",
    "one_superscript_two": b"1\xb2",
    "arabic_indic": "٢".encode(),  # int() would read it; its UTF-8 read as Latin-1 too
    "negative": b"-1",
    "plus": b"+2",
    "underscore": b"1_0",
    "space_inside": b"1 0",
    "hex": b"0x2",
    "exponent": b"2e0",
    "fraction": b"2.0",
    "empty": b"",
    "huge_non_digit": b"9" * 5000 + b"x",
}
"""Content-Length values that are not a number of ASCII digits."""


@pytest.fixture
def port() -> Iterator[int]:
    endpoint = WebhookEndpoint("127.0.0.1:0", _Intake())  # type: ignore[arg-type]
    try:
        yield endpoint.port
    finally:
        endpoint.close()


def _exchange(port: int, *headers: bytes, body: bytes = b"{}") -> bytes:
    """Sends one raw POST; the whole answer, read until the server closes or goes quiet."""
    head = b"POST /webhook/dev/gh HTTP/1.1\r\nHost: x\r\n" + b"".join(h + b"\r\n" for h in headers)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("value", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_a_content_length_that_is_not_ascii_digits_is_answered_400(port: int, value: bytes) -> None:
    answer = _exchange(port, b"Content-Length: " + value)
    assert _status(answer) == 400
    assert b"invalid_content_length" in answer
    assert _status(_exchange(port, b"Content-Length: 2")) == 202  # still serving


def test_two_content_lengths_are_answered_400(port: int) -> None:
    answer = _exchange(port, b"Content-Length: 2", b"Content-Length: 20")
    assert _status(answer) == 400
    assert _status(_exchange(port, b"Content-Length: 2")) == 202


@pytest.mark.parametrize(
    "value", [b"9" * 5000, b"0" * 40 + b"2000000", str(MAX_BODY_BYTES + 1).encode()]
)
def test_a_length_of_digits_too_large_is_answered_413(port: int, value: bytes) -> None:
    assert _status(_exchange(port, b"Content-Length: " + value)) == 413
    assert _status(_exchange(port, b"Content-Length: 2")) == 202


@pytest.mark.parametrize("value", [b"2", b" 2 ", b"\t2", b"00002"])
def test_ascii_digits_with_spaces_around_or_leading_zeros_are_read(port: int, value: bytes) -> None:
    assert _status(_exchange(port, b"Content-Length: " + value)) == 202


def test_no_content_length_is_still_411(port: int) -> None:
    assert _status(_exchange(port)) == 411


@pytest.mark.parametrize("stamp", ["²", "1\xb2", "١٧٦٠٠٠٠٠٠٠", "+1760000000", " 1760000000", "1_0"])
def test_a_slack_timestamp_that_is_not_ascii_digits_is_refused(stamp: str) -> None:
    now = 1_760_000_000.0
    headers = {"x-slack-signature": "v0=00", "x-slack-request-timestamp": stamp}
    assert "five minutes" in refusal("slack", "s3cret", headers, b"{}", now)


@pytest.mark.parametrize("encoding", [b"chunked", b"gzip, chunked", b"identity"])
def test_a_transfer_encoding_is_answered_400(port: int, encoding: bytes) -> None:
    """With a Content-Length, a proxy in front reading the body chunked would end it elsewhere
    (request smuggling); the endpoint takes bodies by Content-Length only."""
    answer = _exchange(port, b"Content-Length: 2", b"Transfer-Encoding: " + encoding)
    assert _status(answer) == 400
    assert b"invalid_transfer_encoding" in answer
    assert _status(_exchange(port, b"Content-Length: 2")) == 202

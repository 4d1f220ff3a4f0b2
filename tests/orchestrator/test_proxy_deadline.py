"""A slow upstream cannot hold a proxied request past its time: a real server that answers a
byte at a time is cut at the run's remaining time (or the proxy's cap), whatever the per-read
timeout would allow."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from corral.errors import RunFailure
from orchestrator._clock import FakeClock, SystemClock
from orchestrator.proxy._egress import EgressPolicy, pinned_transport
from orchestrator.proxy._proxy import OutboundRequest, Proxy, ProxyTarget

LOCAL = EgressPolicy(allow_private=True)
BODY_BYTES = 200
BYTE_EVERY = 0.05
"""The server needs 10 s for the whole body; each read waits only 0.05 s."""


class _Trickle(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", str(BODY_BYTES))
        self.end_headers()
        try:
            for _ in range(BODY_BYTES):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(BYTE_EVERY)
        except OSError:
            pass  # the proxy hung up, as it should

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def slow_url() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _target(url: str) -> ProxyTarget:
    return ProxyTarget(url, "NONE", {}, {"type": "NONE"})


def _timed_out(proxy: Proxy, request: OutboundRequest, url: str) -> tuple[RunFailure, float]:
    started = time.monotonic()
    with pytest.raises(RunFailure) as caught:
        proxy.send(request, lambda: _target(url))
    return caught.value, time.monotonic() - started


def test_the_runs_remaining_time_cuts_a_trickling_body(slow_url: str) -> None:
    clock = SystemClock()
    with httpx.Client(transport=pinned_transport(LOCAL)) as client:
        proxy = Proxy(client, clock, LOCAL, timeout=5.0)
        deadline = clock.now() + timedelta(seconds=1)
        request = OutboundRequest("GET", "/slow", retries=0, deadline=deadline)
        failure, took = _timed_out(proxy, request, slow_url)
    assert failure.code == "script_network_error"
    assert failure.payload["code"] == "ETIMEDOUT"
    assert took < 3, took


def test_the_proxys_cap_cuts_a_request_without_a_deadline(slow_url: str) -> None:
    with httpx.Client(transport=pinned_transport(LOCAL)) as client:
        proxy = Proxy(client, FakeClock(), LOCAL, timeout=5.0, max_request_seconds=1.0)
        failure, took = _timed_out(proxy, OutboundRequest("GET", "/slow", retries=0), slow_url)
    assert failure.payload["code"] == "ETIMEDOUT"
    assert took < 3, took


def test_a_request_whose_caller_went_away_stops_at_the_next_chunk(slow_url: str) -> None:
    clock = SystemClock()
    gone_at = time.monotonic() + 0.5
    with httpx.Client(transport=pinned_transport(LOCAL)) as client:
        proxy = Proxy(client, clock, LOCAL, timeout=5.0)
        request = OutboundRequest(
            "GET",
            "/slow",
            retries=0,
            deadline=clock.now() + timedelta(seconds=30),
            caller_gone=lambda: time.monotonic() >= gone_at,
        )
        failure, took = _timed_out(proxy, request, slow_url)
    assert failure.code == "execution_cancelled"
    assert took < 2.5, took  # not the run's 30 s, nor the body's 10 s


def test_no_retry_starts_once_the_caller_went_away(slow_url: str) -> None:
    calls = []

    def gone() -> bool:
        calls.append(1)
        return len(calls) > 1  # present for the first attempt's start only

    with httpx.Client(transport=pinned_transport(LOCAL)) as client:
        proxy = Proxy(client, SystemClock(), LOCAL, timeout=5.0)
        request = OutboundRequest("GET", "/slow", retries=5, caller_gone=gone)
        failure, took = _timed_out(proxy, request, slow_url)
    assert failure.code == "execution_cancelled"
    assert took < 2.5, took

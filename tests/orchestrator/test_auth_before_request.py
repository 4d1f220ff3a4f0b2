"""A public API call without a key, or with one no environment has, is answered when it arrives,
before gRPC reads its request: calls held open without a request no longer take the server's
threads, and every tenant's calls with them (a red team's keyless streams, 270 of them, stopped
the whole API)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from corral._server import build_server
from corral.errors import Unauthenticated
from orchestrator.api._auth import PUBLIC_PREFIX, SecretKeyAuth, current_environment
from orchestrator.storage._areas import Environment

THREADS = 4
METHOD = PUBLIC_PREFIX + "Echo"


class Tenants:
    """One environment, key ``sk_good``; counts the lookups."""

    def __init__(self) -> None:
        self.lookups = 0
        self.env = Environment(id=1, name="tenant", settings={}, created_at=datetime.now(UTC))

    def environment_by_secret_key(self, secret_key: str) -> Environment:
        self.lookups += 1
        if secret_key != "sk_good":
            raise Unauthenticated("unknown secret key", code="invalid_secret_key")
        return self.env


def _echo(request: bytes, context: grpc.ServicerContext) -> bytes:
    return current_environment().name.encode() + b":" + request


def _register(_servicer: object, server: grpc.Server) -> None:
    handler = grpc.unary_unary_rpc_method_handler(_echo)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("corral.v1.Orchestrator", {"Echo": handler}),)
    )


@pytest.fixture
def served() -> Iterator[tuple[grpc.Channel, Tenants]]:
    tenants = Tenants()
    server, _ = build_server(
        [(_register, None, "corral.v1.Orchestrator")],
        max_workers=THREADS,
        interceptors=[SecretKeyAuth(tenants)],  # type: ignore[arg-type]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel, tenants
    finally:
        channel.close()
        server.stop(None)


def _held(
    channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], release: threading.Event
) -> Any:
    """A call whose request never comes (until ``release``)."""
    call = channel.stream_unary(METHOD)

    def never() -> Iterator[bytes]:
        release.wait(30)
        yield from ()

    return call.future(never(), metadata=metadata)


def test_calls_held_without_a_request_take_no_thread(served: tuple[grpc.Channel, Tenants]) -> None:
    channel, tenants = served
    release = threading.Event()
    attackers = [((),), ((("authorization", "Bearer sk_guessed"),),), ((("authorization", "x"),),)]
    held = [
        _held(channel, *attacker, release) for attacker in attackers for _ in range(5 * THREADS)
    ]
    try:
        deadline = time.monotonic() + 10
        while not all(call.done() for call in held):
            assert time.monotonic() < deadline, "held calls were not answered at once"
            time.sleep(0.05)
        assert {call.code() for call in held} == {grpc.StatusCode.UNAUTHENTICATED}
        echo = channel.unary_unary(METHOD)
        answer = echo(b"hi", metadata=(("authorization", "Bearer sk_good"),), timeout=5)
        assert answer == b"tenant:hi"
        assert tenants.lookups <= 3  # the guessed key once; then it is remembered as unknown
    finally:
        release.set()


def test_a_known_key_is_looked_up_each_time(served: tuple[grpc.Channel, Tenants]) -> None:
    """A rotated key must fail at once: known keys are never remembered."""
    channel, tenants = served
    echo = channel.unary_unary(METHOD)
    for _ in range(3):
        echo(b"x", metadata=(("authorization", "Bearer sk_good"),), timeout=5)
    assert tenants.lookups == 3

"""FleetMember against a real RunnerFleet server: a refusal the orchestrator's replies tell is
logged as an error once per reason, not at every heartbeat, and the runner keeps heartbeating."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from structlog.testing import capture_logs
from typing_extensions import override

from corral._certs import dev_certs
from corral.v1 import runner_pb2, runner_pb2_grpc
from runner._fleet_member import FleetMember
from runner._offer_certificate import Verdict


class _Orchestrator(runner_pb2_grpc.RunnerFleetServicer):
    def __init__(self) -> None:
        self.refused = ""
        self.beats = 0
        self.lock = threading.Lock()

    @override
    def Heartbeat(
        self, request: runner_pb2.RunnerHeartbeat, context: grpc.ServicerContext
    ) -> runner_pb2.HeartbeatReply:
        with self.lock:
            self.beats += 1
        return runner_pb2.HeartbeatReply(interval_seconds=0.2, refused=self.refused)


@pytest.fixture
def orchestrator() -> Iterator[tuple[_Orchestrator, grpc.Channel]]:
    fake = _Orchestrator()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    runner_pb2_grpc.add_RunnerFleetServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield fake, channel
    channel.close()
    server.stop(None)


def _wait_beats(fake: _Orchestrator, more: int) -> None:
    target = fake.beats + more
    deadline = time.monotonic() + 10
    while fake.beats < target:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_refusal_told_by_the_replies_is_logged_once_per_reason(
    orchestrator: tuple[_Orchestrator, grpc.Channel],
) -> None:
    fake, channel = orchestrator
    status = {"runs_in_progress": 0, "idle_workers": 1, "layers_applied": ["rlimits"]}
    member = FleetMember(
        channel,
        "secret",
        "127.0.0.1:7710",
        slots=2,
        status=lambda: status,
        version="t",
        on_refused=lambda: None,
    )
    with capture_logs() as logs:
        member.start()
        try:
            _wait_beats(fake, 2)
            fake.refused = "Tls handshake failed: certificate verify failed"
            _wait_beats(fake, 4)
            fake.refused = ""  # dialled again and taken
            _wait_beats(fake, 2)
            fake.refused = "Tls handshake failed: hostname mismatch"
            _wait_beats(fake, 3)
        finally:
            member.stop()
    told = [e for e in logs if e.get("error_type") == "tls_refused"]
    assert [e["reason"] for e in told] == [
        "Tls handshake failed: certificate verify failed",
        "Tls handshake failed: hostname mismatch",
    ]
    assert all(e["log_level"] == "error" and e["address"] == "127.0.0.1:7710" for e in told)


@pytest.mark.parametrize(
    ("outcome", "diagnosis"),
    [("accepted", "did not sign the orchestrator's"), ("refused", "different CAs")],
)
def test_a_runner_that_refuses_the_orchestrator_offers_its_certificate_and_says_who_is_wrong(
    outcome: str, diagnosis: str
) -> None:
    """Its heartbeat's handshake fails on its side (the orchestrator's certificate is of another
    CA): it offers its own certificate once, says which side is wrong, and stops (refused)."""
    ours, theirs = dev_certs(), dev_certs()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    runner_pb2_grpc.add_RunnerFleetServicer_to_server(_Orchestrator(), server)
    pair = theirs["orchestrator"]
    port = server.add_secure_port(
        "127.0.0.1:0", grpc.ssl_server_credentials([(pair.key, pair.cert)])
    )
    server.start()
    channel = grpc.secure_channel(
        f"127.0.0.1:{port}", grpc.ssl_channel_credentials(ours["ca"].cert)
    )
    offered: list[int] = []
    stopped = threading.Event()

    def offer() -> Verdict:
        offered.append(1)
        return Verdict(outcome, "closed")

    member = FleetMember(
        channel,
        "secret",
        "127.0.0.1:7710",
        slots=2,
        status=lambda: {"runs_in_progress": 0, "idle_workers": 1},
        version="t",
        on_refused=stopped.set,
        offer=offer,
    )
    try:
        with capture_logs() as logs:
            member.start()
            assert stopped.wait(10)
            member.stop()
    finally:
        channel.close()
        server.stop(None)
    assert offered == [1]
    [line] = [e for e in logs if e.get("error_type") == "tls_refused"]
    assert diagnosis in line["diagnosis"]
    assert line["log_level"] == "error"

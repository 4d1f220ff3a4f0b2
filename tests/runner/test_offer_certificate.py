"""offer_certificate, against a real gRPC server with mutual TLS: a certificate of the server's
CA is accepted; one of another CA is refused, and the server's gRPC logs that refusal (the
line the orchestrator's side of a refused runner gets); a closed port is unreachable; unreadable
files are said, not raised."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from grpc_health.v1 import health, health_pb2_grpc

from corral._certs import Pair, dev_certs
from runner._offer_certificate import offer_certificate
from tests.support.postgres import free_port

OURS = dev_certs()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A gRPC server asking client certificates of OURS' CA."""
    served = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), served)
    pair = OURS["orchestrator"]
    credentials = grpc.ssl_server_credentials([(pair.key, pair.cert)], OURS["ca"].cert, True)
    port = served.add_secure_port("127.0.0.1:0", credentials)
    served.start()
    yield f"127.0.0.1:{port}"
    served.stop(None)


def _files(tmp_path: pathlib.Path, pair: Pair) -> tuple[str, str]:
    cert, key = tmp_path / "runner.crt", tmp_path / "runner.key"
    cert.write_bytes(pair.cert)
    key.write_bytes(pair.key)
    return str(cert), str(key)


def test_a_certificate_of_the_servers_ca_is_accepted(server: str, tmp_path: pathlib.Path) -> None:
    assert offer_certificate(server, *_files(tmp_path, OURS["runner"])).outcome == "accepted"


def test_a_certificate_of_another_ca_is_refused_and_the_server_logs_it(
    server: str, tmp_path: pathlib.Path, capfd: pytest.CaptureFixture[str]
) -> None:
    verdict = offer_certificate(server, *_files(tmp_path, dev_certs()["runner"]))
    assert verdict.outcome == "refused"
    assert verdict.reason
    deadline = time.monotonic() + 10
    seen = ""
    while "Handshake failed" not in seen:  # gRPC's C core writes it to the process's fd 2
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
        seen += capfd.readouterr().err


def test_a_closed_port_and_unreadable_files_are_said(tmp_path: pathlib.Path) -> None:
    closed = offer_certificate(f"127.0.0.1:{free_port()}", *_files(tmp_path, OURS["runner"]))
    assert closed.outcome == "unreachable"
    missing = offer_certificate("127.0.0.1:9", str(tmp_path / "no.crt"), str(tmp_path / "no.key"))
    assert missing.outcome == "unreachable"
    assert "cannot be read" in missing.reason
    for bad in ("no-port", "host:", ":7700", "host:port"):
        assert offer_certificate(bad, *_files(tmp_path, OURS["runner"])).outcome == "unreachable"

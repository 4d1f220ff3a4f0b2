"""No SDK call holds a thread past its run's end (a real serve, a real slow upstream): when the
run ends during a proxied request (its caller's deadline passes, its worker is killed), the
runner hangs the call up and the orchestrator stops the request, which the upstream sees as its
client going away within seconds, long before the body or the run's limit would have ended."""

from __future__ import annotations

import http.server
import json
import os
import pathlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.support.processes import children, wait_for
from tests.support.service import Service, running_service

SLOW = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/trickle').data

action = create_action(description='reads a trickling body', exec=run)
"""
TRICKLE_SECONDS = 60.0
"""How long the upstream's body would take: far longer than any test waits."""
HANGS_UP_WITHIN = 6.0


@dataclass
class Upstream:
    """A server that sends its body a byte at a time; records when a client went away."""

    url: str = ""
    started: threading.Event = field(default_factory=threading.Event)
    gone_at: list[float] = field(default_factory=list)


def _handler(upstream: Upstream) -> type[http.server.BaseHTTPRequestHandler]:
    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", str(int(TRICKLE_SECONDS * 10)))
            self.end_headers()
            upstream.started.set()
            try:
                for _ in range(int(TRICKLE_SECONDS * 10)):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                upstream.gone_at.append(time.monotonic())

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Trickle


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    found = Upstream()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    httpd.daemon_threads = True
    found.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield found
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def service(tmp_path: pathlib.Path) -> Iterator[Service]:
    # No prewarmed worker: while the run waits, its worker is the warm parent's only child.
    with running_service(tmp_path / "data", CORRAL_PREWARM_WORKERS="0") as svc:
        yield svc


def _client(service: Service, upstream: Upstream) -> Client:
    client = Client(service.address, service.secret_key, timeout=60)
    client.call("Deploy", pb.DeployRequest(integration="shop", files={"slow.py": SLOW}))
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=upstream.url),
    )
    return client


def _hung_up_within(upstream: Upstream, since: float, seconds: float) -> float:
    assert wait_for(lambda: bool(upstream.gone_at), seconds + 5), "the request went on"
    took = upstream.gone_at[0] - since
    assert took < seconds, took
    return took


def test_a_run_ended_by_its_callers_deadline_stops_its_proxied_request(
    service: Service, upstream: Upstream
) -> None:
    with _client(service, upstream) as client:
        request = pb.TriggerActionRequest(action_name="slow", connection_id="c")
        with pytest.raises(CorralError) as caught:
            client.call("TriggerAction", request, timeout=3)
        ended = time.monotonic()
        assert caught.value.code in {"rpc_deadline_exceeded", "execution_timeout"}
        assert upstream.started.is_set()
        _hung_up_within(upstream, ended, HANGS_UP_WITHIN)
        (run,) = client.call("ListRuns", pb.ListRunsRequest(connection_id="c")).runs
        assert wait_for(
            lambda: (
                client.call("GetRun", pb.GetRunRequest(run_id=run.run_id)).state
                == pb.RUN_STATE_FAILED
            ),
            10,
        )


def test_a_run_whose_worker_is_killed_stops_its_proxied_request(
    service: Service, upstream: Upstream
) -> None:
    with _client(service, upstream) as client:
        errors: list[CorralError] = []

        def call() -> None:
            try:
                client.call(
                    "TriggerAction",
                    pb.TriggerActionRequest(action_name="slow", connection_id="c"),
                    timeout=60,
                )
            except CorralError as exc:
                errors.append(exc)

        waiting = threading.Thread(target=call, daemon=True)
        waiting.start()
        assert upstream.started.wait(30)
        lines = service.stderr_path.read_text().splitlines()
        (runner,) = [int(json.loads(x)["pid"]) for x in lines if '"runner started"' in x][:1]
        (warm,) = children(runner)
        (worker, *_) = children(warm[0])
        os.kill(worker[0], signal.SIGKILL)
        killed = time.monotonic()
        _hung_up_within(upstream, killed, HANGS_UP_WITHIN)
        waiting.join(timeout=15)
        assert not waiting.is_alive()
        assert errors, "the caller got no error"
        assert errors[0].details.get("run_id"), errors[0].to_dict()

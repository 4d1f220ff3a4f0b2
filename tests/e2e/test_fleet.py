"""A fleet of runners that join `corral serve` (`corral runner --orchestrator`), as separate
processes: placement by load, a runner killed (its runs end as runner_lost, the others carry
the load), a runner drained with SIGTERM (its run finishes, it takes no new one), a wrong join
secret refused on both sides, and ListRunners for operators only.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import AbstractContextManager
from typing import Any

import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.test_recovery import FILES, _tree
from tests.support.fake_api import FakeApi, running_held_api
from tests.support.fleet import JOIN_SECRET, fleet, joined_runner, wait_until
from tests.support.postgres import free_port
from tests.support.service import Service, create_environment, running_service

LOST_AFTER = 2.0

QUICK = """
from nango import create_action

def run(nango, input):
    return {'echo': input}

action = create_action(description='answers at once', exec=run)
"""

SLOW = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/slow').data

action = create_action(description='waits for the test', exec=run)
"""


@pytest.fixture
def upstream() -> Iterator[tuple[FakeApi, threading.Event]]:
    """``/hang`` answers when the test ends; ``/slow`` when the event is set."""
    with running_held_api({"done": True}) as held:
        yield held


def _serve(tmp_path: pathlib.Path, callback_port: int) -> Iterator[Service]:
    return running_service(
        tmp_path / "serve",
        CORRAL_RUNNERS="0",
        CORRAL_JOIN_SECRET=JOIN_SECRET,
        CORRAL_CALLBACK_PORT=str(callback_port),
        CORRAL_RUNNER_LOST_SECONDS=str(LOST_AFTER),
    )


def _trigger(client: Client, action: str, value: object = None) -> pb.TriggerActionResponse:
    request = pb.TriggerActionRequest(
        action_name=action, connection_id="c", input_json=json.dumps(value)
    )
    return client.call("TriggerAction", request, timeout=60)


def _ready(client: Client, count: int) -> bool:
    return sum(r.state == "ready" for r in fleet(client).values()) == count


def _tls_serve(
    tmp_path: pathlib.Path, callbacks: str, certs: dict[str, Any]
) -> AbstractContextManager[Service]:
    """A serve with no local runner, taking joined runners over mTLS on ``callbacks``."""
    return running_service(
        tmp_path / "serve",
        CORRAL_RUNNERS="0",
        CORRAL_JOIN_SECRET=JOIN_SECRET,
        CORRAL_CALLBACK_PORT=callbacks.rpartition(":")[2],
        **certs["serve"],
    )


def _json_lines(path: pathlib.Path) -> list[dict[str, Any]]:
    """A process's JSON log lines (gRPC's own lines are not JSON). A log line is written, then
    its line end: gRPC's C core, writing to the same standard error, may land between the two,
    so what follows a line's JSON object is not part of it."""
    decoder = json.JSONDecoder()
    return [
        decoder.raw_decode(line)[0]
        for line in path.read_text().splitlines()
        if line.startswith("{")
    ]


def _deploy(client: Client, api: FakeApi) -> None:
    files = {"quick.py": QUICK, "slow.py": SLOW, "wait.py": FILES["wait.py"]}
    client.call("Deploy", pb.DeployRequest(integration="shop", files=files))
    client.call(
        "CreateConnection",
        pb.CreateConnectionRequest(integration="shop", connection_id="c", base_url=api.url),
    )


def test_runs_spread_by_load_and_a_killed_runner_loses_only_its_runs(
    tmp_path: pathlib.Path, upstream: tuple[FakeApi, threading.Event]
) -> None:
    api, _slow = upstream
    callbacks = f"127.0.0.1:{free_port()}"
    pool = futures.ThreadPoolExecutor(8)
    with (
        _serve(tmp_path, int(callbacks.rpartition(":")[2])) as service,
        joined_runner(tmp_path / "r1", callbacks) as one,
        joined_runner(tmp_path / "r2", callbacks) as two,
        Client(service.address, service.secret_key) as client,
    ):
        wait_until(lambda: _ready(client, 2))
        runners = fleet(client)
        assert set(runners) == {one.address, two.address}
        for runner in runners.values():
            assert runner.slots > 0
            assert runner.seconds_since_heartbeat < LOST_AFTER
            assert runner.layers_applied  # what each runner applies, as it said
        _deploy(client, api)

        # Two long runs: by load, one on each runner.
        held = [pool.submit(_trigger, client, "wait") for _ in range(2)]
        wait_until(lambda: sum(seen.path == "/hang" for seen in api.seen) == 2)
        wait_until(lambda: all(r.runs_in_progress == 1 for r in fleet(client).values()))

        # kill -9 of one runner: its run ends as runner_lost within seconds, the other goes on.
        killed_at = time.monotonic()
        one.process.send_signal(signal.SIGKILL)
        one.process.wait(10)
        lost = [f for f in held if _lost(f)]
        assert time.monotonic() - killed_at < LOST_AFTER + 10
        assert len(lost) == 1
        wait_until(lambda: fleet(client)[one.address].state == "lost", timeout=LOST_AFTER + 5)

        # The other runner carries the load.
        results = list(pool.map(lambda n: _trigger(client, "quick", n), range(12)))
        assert [json.loads(r.output_json) for r in results] == [{"echo": n} for n in range(12)]
        assert not next(f for f in held if f not in lost).done()  # still running on two
    pool.shutdown(wait=False, cancel_futures=True)


def _lost(future: futures.Future[pb.TriggerActionResponse]) -> bool:
    try:
        future.result(timeout=LOST_AFTER + 8)
    except futures.TimeoutError:
        return False
    except CorralError as err:
        return err.code == "runner_lost"
    return False


def test_a_drained_runner_finishes_its_run_and_takes_no_new_one(
    tmp_path: pathlib.Path, upstream: tuple[FakeApi, threading.Event]
) -> None:
    api, slow = upstream
    callbacks = f"127.0.0.1:{free_port()}"
    pool = futures.ThreadPoolExecutor(4)
    with (
        _serve(tmp_path, int(callbacks.rpartition(":")[2])) as service,
        joined_runner(tmp_path / "r1", callbacks) as one,
        Client(service.address, service.secret_key) as client,
    ):
        wait_until(lambda: _ready(client, 1))
        _deploy(client, api)
        going = pool.submit(_trigger, client, "slow")
        wait_until(lambda: any(seen.path == "/slow" for seen in api.seen))
        with joined_runner(tmp_path / "r2", callbacks) as two:
            wait_until(lambda: _ready(client, 2))
            one.process.send_signal(signal.SIGTERM)
            wait_until(lambda: fleet(client)[one.address].state == "draining", timeout=10)
            # New runs go to the other runner while the drained one finishes its own.
            results = [_trigger(client, "quick", n) for n in range(6)]
            assert [json.loads(r.output_json)["echo"] for r in results] == list(range(6))
            assert one.process.poll() is None  # still finishing its run
            slow.set()
            assert json.loads(going.result(30).output_json) == {"done": True}
            assert one.process.wait(30) == 0
            assert two.process.poll() is None
    pool.shutdown(wait=False, cancel_futures=True)


def test_a_wrong_join_secret_is_refused_on_both_sides(tmp_path: pathlib.Path) -> None:
    callbacks = f"127.0.0.1:{free_port()}"
    with (
        _serve(tmp_path, int(callbacks.rpartition(":")[2])) as service,
        joined_runner(tmp_path / "bad", callbacks, secret="not-the-secret-0123456789") as bad,
        Client(service.address, service.secret_key) as client,
    ):
        assert bad.process.wait(30) == 77  # EX_NOPERM: it can never join
        runner_log = bad.stderr_path.read_text()
        assert "join_refused" in runner_log
        assert "not-the-secret" not in runner_log
        serve_log = service.stderr_path.read_text()
        assert "runner refused: wrong join secret" in serve_log
        assert "not-the-secret" not in serve_log
        assert fleet(client) == {}


def test_only_operator_environments_list_runners(tmp_path: pathlib.Path) -> None:
    callbacks = f"127.0.0.1:{free_port()}"
    with _serve(tmp_path, int(callbacks.rpartition(":")[2])) as service:
        tenant_key = create_environment(service, "acme")
        with Client(service.address, tenant_key) as tenant, pytest.raises(CorralError) as caught:
            tenant.call("ListRunners", pb.ListRunnersRequest())
        assert caught.value.code == "not_operator"
        with Client(service.address, service.secret_key) as operator:  # dev: an operator
            assert fleet(operator) == {}


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any readable mapping of process ``pid`` holds ``needle`` (read as root)."""
    maps = pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            start, end = (int(part, 16) for part in span.split("-"))
            try:
                mem.seek(start)
                if needle in mem.read(end - start):
                    return True
            except OSError:
                continue
    return False


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``corral certs`` printed: the files and the settings of each process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    made = subprocess.run(
        [sys.executable, "-m", "corral", "certs", str(tmp_path_factory.mktemp("tls") / "c")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(made.stdout))


def _ca(certs: dict[str, Any]) -> bytes:
    return pathlib.Path(certs["client"]["CORRAL_TLS_CA"]).read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="reading another process's memory needs root")
def test_a_joined_runners_credentials_never_reach_a_workers_memory(
    tmp_path: pathlib.Path, certs: dict[str, Any]
) -> None:
    """Workers fork from the warm parent, which is forked before the join secret and the TLS
    key are read: a breached worker that scans its own memory finds neither, to join a rogue
    runner or to pose as this one. The fleet here runs over mutual TLS."""
    callbacks = f"127.0.0.1:{free_port()}"
    port = int(callbacks.rpartition(":")[2])
    with (
        running_service(
            tmp_path / "serve",
            CORRAL_RUNNERS="0",
            CORRAL_JOIN_SECRET=JOIN_SECRET,
            CORRAL_CALLBACK_PORT=str(port),
            **certs["serve"],
        ) as service,
        joined_runner(tmp_path / "r1", callbacks, **certs["runner"]) as one,
        Client(service.address, service.secret_key, tls_ca=_ca(certs)) as client,
    ):
        wait_until(lambda: _ready(client, 1))
        assert '"transport": "mtls"' in one.stderr_path.read_text()
        wait_until(lambda: len(_tree(one.process.pid)) >= 3)  # warm parent and a warm worker
        below = [pid for pid in _tree(one.process.pid) if pid != one.process.pid]
        key_lines = pathlib.Path(certs["files"]["runner_key"]).read_text().splitlines()
        needles = {"join secret": JOIN_SECRET.encode(), "TLS key": key_lines[1].encode()}
        assert _memory_holds(one.process.pid, needles["join secret"])  # the scan finds it
        assert below
        for pid in below:
            for what, needle in needles.items():
                assert not _memory_holds(pid, needle), f"process {pid} holds the {what}"


def test_a_joined_runner_whose_certificate_is_refused_gets_no_run_and_both_sides_log_it(
    tmp_path: pathlib.Path, certs: dict[str, Any], upstream: tuple[FakeApi, threading.Event]
) -> None:
    """A runner that joined (its client certificate is good) but is dialled at an address its
    certificate does not name: the orchestrator dials it as it joins, refuses it and logs it,
    never places a run on it (a run waits for another runner, then fails as no_runner, typed),
    ListRunners shows it ``refused``, and the runner logs the refusal the heartbeat replies
    tell it, once."""
    api, _slow = upstream
    callbacks = f"127.0.0.1:{free_port()}"
    runner_port = free_port()
    with (
        _tls_serve(tmp_path, callbacks, certs) as service,
        joined_runner(
            tmp_path / "r1",
            callbacks,
            CORRAL_RUNNER_PORT=str(runner_port),
            CORRAL_RUNNER_HOST="0.0.0.0",  # noqa: S104 - with TLS, any address may listen
            CORRAL_RUNNER_ADVERTISE=f"127.0.0.2:{runner_port}",  # not in its certificate
            **certs["runner"],
        ) as runner,
        Client(service.address, service.secret_key, tls_ca=_ca(certs)) as client,
    ):
        wait_until(lambda: [r.state for r in fleet(client).values()] == ["refused"])
        assert "runner refused: TLS handshake failed" in service.stderr_path.read_text()
        told = "refused this runner's certificate when it dialled it"
        wait_until(lambda: told in runner.stderr_path.read_text())
        started = time.monotonic()
        with pytest.raises(CorralError) as caught:
            _deploy(client, api)  # a deploy's describe is a run: no runner takes it
        assert caught.value.code == "no_runner"
        assert time.monotonic() - started < 30
        lines = _json_lines(runner.stderr_path)
        relayed = [line for line in lines if told in line.get("event", "")]
        assert len(relayed) == 1, relayed  # once, not at every heartbeat
        assert relayed[0]["error_type"] == "tls_refused"
        assert relayed[0]["level"] == "error"
        assert relayed[0]["reason"]


def test_a_runner_with_a_certificate_of_another_ca_cannot_join(
    tmp_path: pathlib.Path, certs: dict[str, Any]
) -> None:
    """Its heartbeat's TLS handshake fails: the runner says so (tls_refused) and exits as a
    refused one does, and it never joins. It refuses the orchestrator's certificate first, and
    TLS 1.3 ends there, so it offers its own certificate once more on a connection that checks
    nothing: the orchestrator's gRPC refuses it and logs it, and the runner's line says both
    sides are of different CAs. (A certificate that one's own CA did not sign is refused at
    start, ``invalid_tls``.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    made = subprocess.run(
        [sys.executable, "-m", "corral", "certs", str(tmp_path / "stranger")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stranger = json.loads(made.stdout)["runner"]  # another CA's PKI, whole
    callbacks = f"127.0.0.1:{free_port()}"
    with (
        _tls_serve(tmp_path, callbacks, certs) as service,
        joined_runner(tmp_path / "r1", callbacks, **stranger) as runner,
        Client(service.address, service.secret_key, tls_ca=_ca(certs)) as client,
    ):
        assert runner.process.wait(30) == 77
        lines = _json_lines(runner.stderr_path)
        refused = [line for line in lines if line.get("error_type") == "tls_refused"]
        assert refused, lines
        assert "different CAs" in refused[0]["diagnosis"]
        # nothing else in this test is refused a handshake: this line is the offered certificate
        wait_until(lambda: "Handshake failed" in service.stderr_path.read_text())
        assert fleet(client) == {}

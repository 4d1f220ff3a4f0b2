"""Process hygiene of a real `corral serve`: one per data dir, one per port, no orphans and no
runtime folders left behind, however it ends."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.processes import Pid, alive, descendants, wait_for
from tests.support.service import Service, running_service


def _runner_pids(service: Service) -> list[int]:
    lines = service.stderr_path.read_text().splitlines()
    return [int(json.loads(x)["pid"]) for x in lines if '"runner started"' in x]


def _serve(data_dir: pathlib.Path, port: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {
        "CORRAL_PORT": port,
        "CORRAL_DATA_DIR": str(data_dir),
        "CORRAL_PREWARM_WORKERS": "1",
        "CORRAL_LOG_FORMAT": "json",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "corral", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _second_serve(data_dir: pathlib.Path, port: str) -> subprocess.CompletedProcess[str]:
    process = _serve(data_dir, port)
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _answers(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def test_a_second_serve_on_the_same_data_dir_fails_clearly(tmp_path: pathlib.Path) -> None:
    with running_service(tmp_path / "data") as first:
        second = _second_serve(first.data_dir, "0")
        assert second.returncode == 1
        assert "data_dir_in_use" in second.stderr
        assert f"pid {first.process.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert _answers(first.address)
    assert first.process.returncode == 0


def test_a_second_serve_on_a_port_in_use_fails_clearly(tmp_path: pathlib.Path) -> None:
    with running_service(tmp_path / "data") as first:
        port = first.address.rpartition(":")[2]
        second = _second_serve(tmp_path / "other", port)
        assert second.returncode == 1
        assert "address_in_use" in second.stderr
        assert f"127.0.0.1:{port}" in second.stderr
        assert "Traceback" not in second.stderr
        # It started runners before it failed: none is left, nor its runtime folder.
        assert not (tmp_path / "other" / "runtime").exists()
        for _ in range(5):  # never a port shared with the failed one: every call lands here
            assert _answers(first.address)


def test_kill_9_of_serve_leaves_no_runner_warm_parent_or_worker(tmp_path: pathlib.Path) -> None:
    with running_service(tmp_path / "data", CORRAL_RUNNERS="2") as service:
        assert wait_for(lambda: len(_runner_pids(service)) == 2, 30)
        # Each runner has its warm parent, and the warm parent its prewarmed worker.
        assert wait_for(lambda: len(descendants(service.process.pid)) >= 6, 30)
        family = descendants(service.process.pid)
        os.kill(service.process.pid, signal.SIGKILL)
        service.process.wait(timeout=10)

        def left() -> list[Pid]:
            return [p for p in family if alive(p)]

        assert wait_for(lambda: not left(), 10), f"still running: {left()}"
        # A stale runtime folder of the dead serve is removed by the next one.
        marker = tmp_path / "data" / "runtime" / "stale"
        marker.parent.mkdir(exist_ok=True)
        marker.write_text("left by a dead serve")
        (tmp_path / "data" / "orchestrator.port").unlink()
    again = _serve(tmp_path / "data", "0")
    try:
        assert wait_for((tmp_path / "data" / "orchestrator.port").exists, 30)
        assert not marker.exists()
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)
    assert again.returncode == 0


def test_sigterm_removes_the_runtime_folder(tmp_path: pathlib.Path) -> None:
    with running_service(tmp_path / "data") as service:
        assert (tmp_path / "data" / "runtime" / "runners").is_dir()
        family = descendants(service.process.pid)
        assert family
    assert service.process.returncode == 0
    assert not (tmp_path / "data" / "runtime").exists()
    assert not [p for p in family if alive(p)]


def test_no_corral_setting_reaches_a_runner_in_any_case(tmp_path: pathlib.Path) -> None:
    """The settings read ``corral_secrets_key`` as ``CORRAL_SECRETS_KEY``: a serve configured in
    lower case still gives its runners none of its settings (the store's key above all), and
    their warm parents hold ``PATH`` alone."""
    key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # 32 bytes, base64
    with running_service(tmp_path / "data", corral_secrets_key=key) as service:
        pids = _runner_pids(service)
        assert pids
        for pid in pids:
            environ = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            names = {item.partition(b"=")[0].upper() for item in environ if item}
            assert b"CORRAL_SECRETS_KEY" not in names
            assert all(
                name.startswith(b"CORRAL_RUNNER_") for name in names if name.startswith(b"CORRAL_")
            ), names
            assert key.encode() not in b"\0".join(environ)
            for child, _ in descendants(pid):  # its warm parent and idle workers
                try:
                    held = pathlib.Path(f"/proc/{child}/environ").read_bytes()
                except FileNotFoundError:  # a worker that ended meanwhile
                    continue
                assert key.encode() not in held

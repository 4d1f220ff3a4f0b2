"""`corral runner`: a runner host process with the Runner API, health and its layers."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral.v1 import runner_pb2, runner_pb2_grpc
from runner.host import _containment
from sandbox import ContainmentError, HostSupport


def test_runner_status_reports_layers_and_health(tmp_path: pathlib.Path) -> None:
    port_file = tmp_path / "port"
    command = [sys.executable, "-m", "corral", "runner", "--callbacks", "127.0.0.1:9",
               "--port-file", str(port_file), "--log-format", "json"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        channel = grpc.insecure_channel(f"127.0.0.1:{port_file.read_text()}")
        status = runner_pb2_grpc.RunnerStub(channel).Status(
            runner_pb2.RunnerStatusRequest(), timeout=10
        )
        assert status.version
        assert set(status.layers_applied) | set(status.layers_missing) >= {
            "rlimits",
            "seccomp",
            "netns",
        }
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="corral.v1.Runner"), timeout=10
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        channel.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        if process.stderr:
            process.stderr.close()


def test_strict_containment_refuses_a_host_missing_a_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    def lacking(settings: object) -> HostSupport:
        return HostSupport(available=frozenset({"rlimits"}), missing={"seccomp": "not supported"})

    monkeypatch.setattr(_containment, "probe_apart", lacking)
    with pytest.raises(ContainmentError, match="seccomp"):
        _containment.make_containment(strict=True)
    containment, layers = _containment.make_containment(strict=False)
    assert layers == {"layers_applied": ["rlimits"], "layers_missing": {"seccomp": "not supported"}}
    assert containment.settings.layers == frozenset({"rlimits"})


def test_strict_runner_exits_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from corral._settings import RunnerSettings  # noqa: PLC0415
    from runner import _main  # noqa: PLC0415

    def lacking(settings: object) -> HostSupport:
        return HostSupport(available=frozenset(), missing={"landlock": "kernel too old"})

    monkeypatch.setattr(_containment, "probe_apart", lacking)
    settings = RunnerSettings(callbacks="127.0.0.1:9", strict_containment=True)
    with pytest.raises(SystemExit) as caught:
        _main.run_runner(settings, None, "json")
    assert caught.value.code == _main.EXIT_CONTAINMENT

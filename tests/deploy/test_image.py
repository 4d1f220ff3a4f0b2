"""The shipped image applies every isolation layer, and a runner without them says so loudly.

Docker cannot run here, so the container's conditions are made on the host for real: the
runner runs as root with Docker's default capability set plus ``CAP_SYS_ADMIN`` (what the
documented ``docker run`` gives), or with no capability at all (what the old non-root image
had), through ``setpriv``.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from corral._certs import DEV_FILES
from corral.v1 import runner_pb2, runner_pb2_grpc
from sandbox import ALL_LAYERS

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKER_DEFAULT_CAPS = (
    "chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid",
    "setfcap", "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write",
)  # fmt: skip
"""The capabilities Docker gives a container's root unless told otherwise (moby defaults)."""
EXIT_CONTAINMENT = 78

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="makes the container's capability sets with setpriv, which needs root",
)


def _setpriv(caps: Sequence[str]) -> list[str]:
    bounding = ",".join(["-all", *(f"+{cap}" for cap in caps)])
    return ["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", "--"]


@contextmanager
def _runner(
    tmp_path: pathlib.Path, prefix: Sequence[str], *, strict: bool
) -> Iterator[tuple[subprocess.Popen[str], grpc.Channel, str]]:
    port_file = tmp_path / "port"
    command = [*prefix, sys.executable, "-m", "corral", "runner", "--callbacks", "127.0.0.1:9",
               "--port-file", str(port_file), "--log-format", "json"]  # fmt: skip
    env = {**os.environ, "CORRAL_RUNNER_STRICT_CONTAINMENT": "true" if strict else "false"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() and process.poll() is None:
            assert time.monotonic() < deadline, "the runner did not start"
            time.sleep(0.05)
        address = f"127.0.0.1:{port_file.read_text()}" if port_file.exists() else ""
        with grpc.insecure_channel(address or "127.0.0.1:9") as channel:
            yield process, channel, address
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def _status(channel: grpc.Channel) -> runner_pb2.RunnerStatusResponse:
    return runner_pb2_grpc.RunnerStub(channel).Status(runner_pb2.RunnerStatusRequest(), timeout=10)


def _containment_health(channel: grpc.Channel) -> int:
    request = health_pb2.HealthCheckRequest(service="corral.containment")
    return health_pb2_grpc.HealthStub(channel).Check(request, timeout=10).status


def _log_lines(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    assert process.stderr is not None
    lines = []
    for line in process.stderr.read().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@needs_root
def test_the_documented_container_capabilities_give_every_layer(tmp_path: pathlib.Path) -> None:
    prefix = _setpriv([*DOCKER_DEFAULT_CAPS, "sys_admin"])
    with _runner(tmp_path, prefix, strict=True) as (process, channel, _):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        status = _status(channel)
        assert set(status.layers_applied) == ALL_LAYERS
        assert dict(status.layers_missing) == {}
        assert _containment_health(channel) == health_pb2.HealthCheckResponse.SERVING


@needs_root
def test_a_strict_runner_without_sys_admin_refuses_to_start(tmp_path: pathlib.Path) -> None:
    with _runner(tmp_path, _setpriv(DOCKER_DEFAULT_CAPS), strict=True) as (process, _, _):
        assert process.wait(timeout=60) == EXIT_CONTAINMENT
        (refusal,) = [line for line in _log_lines(process) if line.get("level") == "error"]
    reason = str(refusal["reason"])
    for layer in ("netns", "mountns", "ipcns", "utsns"):
        assert layer in reason


@needs_root
def test_a_runner_without_privileges_warns_and_reports_missing_layers(
    tmp_path: pathlib.Path,
) -> None:
    """What the old image did: no capability; the runner now warns and health says so."""
    with _runner(tmp_path, _setpriv([]), strict=False) as (process, channel, address):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        status = _status(channel)
        assert {"netns", "mountns", "uid"} <= set(status.layers_missing)
        assert _containment_health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        cli = subprocess.run(
            [sys.executable, "-m", "corral", "health", "--server", address,
             "--service", "corral.containment"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (cli.returncode, cli.stdout.strip()) == (1, "NOT_SERVING")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        warnings = [line for line in _log_lines(process) if line.get("level") == "warning"]
    assert any("uid" in dict(line.get("layers_missing") or {}) for line in warnings), warnings


def test_the_image_is_root_strict_and_documents_its_run_options() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line[:1].isalpha()]
    assert "USER" not in instructions, "the runner needs root in the container to contain"
    assert "CORRAL_STRICT_CONTAINMENT=true" in dockerfile
    assert "CORRAL_RUNNER_STRICT_CONTAINMENT=true" in dockerfile
    assert "COPY deploy/entrypoint.sh" in dockerfile
    assert '"--service", "corral.containment"' in dockerfile
    documented = " ".join((ROOT / "docs" / "security.md").read_text().split())
    for option in ("--cap-add SYS_ADMIN", "--cgroupns private", "seccomp=unconfined",
                   "apparmor=unconfined"):  # fmt: skip
        assert option in dockerfile
        assert option in documented


def _fake_proc(tmp_path: pathlib.Path, cgroup: str, mounts: str) -> pathlib.Path:
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup)
    (proc / "self" / "mounts").write_text(mounts)
    return proc


def _entrypoint(tmp_path: pathlib.Path, proc: pathlib.Path, **settings: str) -> list[str]:
    """Runs the image's entry point with ``mount``, ``id`` and ``corral`` recorded, not run."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for name, body in (("mount", 'echo "mount $*" >> "$CALLS"'), ("id", "echo 0"),
                       ("corral", 'echo "corral $*" >> "$CALLS"')):  # fmt: skip
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CORRAL_PROC": str(proc), "CALLS": str(calls)}
    env |= settings
    subprocess.run(["sh", str(ROOT / "deploy" / "entrypoint.sh"), "serve"], env=env, check=True,
                   timeout=30)  # fmt: skip
    return calls.read_text().splitlines()


MOUNTS = (
    "overlay / overlay rw,relatime 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup /sys/fs/cgroup/memory cgroup ro,nosuid,memory 0 0\n"
    "cgroup /sys/fs/cgroup/pids cgroup rw,nosuid,pids 0 0\n"
)


def test_the_entrypoint_makes_a_private_cgroup_tree_writable(tmp_path: pathlib.Path) -> None:
    proc = _fake_proc(tmp_path, "0::/\n", MOUNTS)
    assert _entrypoint(tmp_path, proc) == [
        "mount -o remount,rw /sys/fs/cgroup",
        "mount -o remount,rw /sys/fs/cgroup/memory",
        "corral serve",
    ]


def test_the_entrypoint_never_touches_the_hosts_cgroup_tree(tmp_path: pathlib.Path) -> None:
    proc = _fake_proc(tmp_path, "0::/system.slice/docker-abc.scope\n", MOUNTS)
    assert _entrypoint(tmp_path, proc) == ["corral serve"]


def test_the_entrypoint_makes_development_certificates_only_where_none_are(
    tmp_path: pathlib.Path,
) -> None:
    proc = _fake_proc(tmp_path, "0::/system.slice/docker-abc.scope\n", MOUNTS)
    tls = tmp_path / "tls"
    cert = str(tls / "orchestrator.pem")
    assert _entrypoint(tmp_path, proc, CORRAL_TLS_CERT=cert) == [
        f"corral certs {tls}",
        "corral serve",
    ]
    tls.mkdir()
    (tls / "orchestrator.pem").write_text("mounted by the operator")
    again = tmp_path / "again"
    again.mkdir()
    assert _entrypoint(again, proc, CORRAL_TLS_CERT=cert) == ["corral serve"]


def test_the_images_tls_files_are_the_ones_corral_certs_writes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for role, (cert, key) in DEV_FILES.items():
        if role != "ca":
            assert f"/data/tls/{cert}" in dockerfile
            assert f"/data/tls/{key}" in dockerfile
    assert "CORRAL_TLS_CA=/data/tls/ca.pem" in dockerfile

"""Assume the language layer is broken: run unrestricted Python in a contained worker.

Each test forks the test process, contains the child with ``contain_worker`` and runs plain
Python there (no RestrictedPython) that tries to read host files, write files, open sockets,
fork, execute programs, signal other processes, read the parent's environment and exhaust
memory, CPU and disk. The kernel and process layers alone must stop every attempt, while the
child can still do what a worker does. Where a layer is missing on the host, its test is
skipped with the reason ``probe()`` gives.
"""

from __future__ import annotations

import base64
import ctypes
import datetime
import decimal
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest

from sandbox.os._contain import ALL_LAYERS, ContainmentSettings, HostSupport, probe
from sandbox.os._limits import WorkerLimits
from tests.sandbox._breach_helpers import (
    Targets,
    attempt,
    blocked,
    connect,
    execute,
    fork,
    open_targets,
    read_file,
    refused_if_minus_one,
    remove_cgroup_parents,
    run_contained,
    vsize,
    write_file,
)

pytestmark = pytest.mark.forks_pytest

_LIBC = ctypes.CDLL(None, use_errno=True)
_SECRET_NAME = "CORRAL_TEST_PARENT_SECRET"
_CLONE_NEWUSER = 0x10000000
_PTRACE_ATTACH = 16


class Issue(pydantic.BaseModel):
    """A model built before the fork, as a function's models are in a warm parent."""

    id: str
    title: str
    labels: list[str] = []


@pytest.fixture(scope="module")
def support() -> HostSupport:
    return probe()


@pytest.fixture(scope="module", autouse=True)
def _remove_cgroup_parents() -> Iterator[None]:
    yield
    remove_cgroup_parents()


def _require(support: HostSupport, *layers: str) -> None:
    missing = {layer: support.missing.get(layer, "not probed") for layer in layers}
    missing = {layer: why for layer, why in missing.items() if layer not in support.available}
    if missing:
        pytest.skip(f"layers unavailable on this host: {missing}")


def _limits() -> WorkerLimits:
    return WorkerLimits(memory_bytes=vsize() + (256 << 20), cpu_seconds=10, max_open_files=32)


@pytest.fixture
def targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Targets]:
    monkeypatch.setenv(_SECRET_NAME, "hunter2")
    # Children inherit this working directory: a run with only some layers, whose write to
    # its working directory succeeds, writes here and not into the repository.
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    with open_targets(tmp_path) as found:
        yield found


def _slash_tmp_file(pid: int) -> str:
    """The host's shared /tmp, which any uid may write to without the kernel layers."""
    return f"/tmp/corral-breach-{pid}.txt"  # noqa: S108 - the attack under test


def _attacks(t: Targets) -> dict[str, Callable[[], object]]:
    ppid, victim = t.parent_pid, t.victim.pid
    return {
        "read_etc_passwd": read_file("/etc/passwd"),
        "read_proc1_environ": read_file("/proc/1/environ"),
        "read_parent_environ": read_file(f"/proc/{ppid}/environ"),
        "read_parent_mem_map": read_file(f"/proc/{ppid}/maps"),
        "list_root": lambda: len(os.listdir("/")),
        "write_cwd": write_file("breach.txt"),
        "write_slash_tmp": write_file(_slash_tmp_file(ppid)),
        "write_test_tmp": write_file(str(t.tmp_dir / "breach.txt")),
        "tcp_connect": connect(socket.AF_INET, t.tcp_address),
        "udp_send": connect(socket.AF_INET, t.udp_address, socket.SOCK_DGRAM),
        "unix_connect": connect(socket.AF_UNIX, t.unix_path),
        "abstract_connect": connect(socket.AF_UNIX, t.abstract_name),
        "socketpair": lambda: len(socket.socketpair()),
        "fork": fork,
        "subprocess": lambda: subprocess.run(["/bin/true"], check=False).returncode,
        "execute": execute,
        "kill_parent_probe": lambda: os.kill(ppid, 0),
        "kill_parent_term": lambda: os.kill(ppid, signal.SIGTERM),
        "kill_init_probe": lambda: os.kill(1, 0),
        "kill_victim_term": lambda: os.kill(victim, signal.SIGTERM),
        "read_victim_environ": read_file(f"/proc/{victim}/environ"),
        "ptrace_victim": lambda: refused_if_minus_one(
            _LIBC.ptrace(_PTRACE_ATTACH, t.victim.pid, None, None)
        ),
        "new_user_namespace": lambda: refused_if_minus_one(_LIBC.unshare(_CLONE_NEWUSER)),
    }


def _breach(t: Targets) -> Callable[[socket.socket], dict[str, Any]]:
    def body(_sock: socket.socket) -> dict[str, Any]:
        found = {name: attempt(action) for name, action in _attacks(t).items()}
        found["environment"] = {"ok": True, "value": json.dumps(sorted(os.environ))}
        found["secret_visible"] = {"ok": _SECRET_NAME in os.environ}
        found["uid"] = {"ok": True, "value": os.getuid()}
        found["kill_self_probe"] = attempt(lambda: os.kill(os.getpid(), 0))
        return found

    return body


def test_full_containment_stops_every_breach(support: HostSupport, targets: Targets) -> None:
    result = run_contained(ContainmentSettings(), _limits(), _breach(targets))

    assert result.exit_code == 0, result.report
    assert result.applied == set(support.available)
    found = result.report
    for name in _attacks(targets):
        assert blocked(found[name]), (name, found[name])
    assert not found["secret_visible"]["ok"]
    assert json.loads(found["environment"]["value"]) == ["HOME", "LANG", "PATH", "TZ"]
    assert found["kill_self_probe"]["ok"]
    assert targets.nothing_arrived()
    assert targets.sigterm_received == []
    assert not Path(_slash_tmp_file(targets.parent_pid)).exists()
    assert not (targets.tmp_dir / "breach.txt").exists()
    if "uid" in result.applied:
        assert found["uid"]["value"] == 65534


# One layer at a time: each of these layers stops the attack on its own.
_SINGLE_LAYER = [
    ("seccomp", "read_etc_passwd"),
    ("landlock", "read_etc_passwd"),
    ("mountns", "read_etc_passwd"),
    ("mountns", "read_proc1_environ"),
    ("uid", "read_proc1_environ"),
    ("uid", "read_parent_environ"),
    ("seccomp", "write_test_tmp"),
    ("landlock", "write_test_tmp"),
    ("mountns", "write_test_tmp"),
    ("seccomp", "tcp_connect"),
    ("landlock", "tcp_connect"),
    ("netns", "tcp_connect"),
    ("netns", "udp_send"),
    ("seccomp", "udp_send"),
    ("seccomp", "unix_connect"),
    ("mountns", "unix_connect"),
    ("seccomp", "abstract_connect"),
    ("landlock", "abstract_connect"),
    ("netns", "abstract_connect"),
    ("seccomp", "fork"),
    ("cgroup", "fork"),
    ("seccomp", "subprocess"),
    ("seccomp", "execute"),
    ("landlock", "execute"),
    ("mountns", "execute"),
    ("seccomp", "kill_parent_term"),
    ("landlock", "kill_parent_term"),
    ("uid", "kill_parent_term"),
    ("seccomp", "ptrace_victim"),
    ("uid", "ptrace_victim"),
    ("seccomp", "kill_victim_term"),
    ("landlock", "kill_victim_term"),
    ("uid", "kill_victim_term"),
    ("uid", "read_victim_environ"),
    ("seccomp", "new_user_namespace"),
]


@pytest.mark.parametrize(("layer", "attack"), _SINGLE_LAYER)
def test_one_layer_alone_stops_the_attack(
    support: HostSupport, targets: Targets, layer: str, attack: str
) -> None:
    _require(support, layer)
    settings = ContainmentSettings(layers=frozenset({layer}))

    def body(_sock: socket.socket) -> dict[str, Any]:
        return {"outcome": attempt(_attacks(targets)[attack])}

    result = run_contained(settings, _limits(), body)

    assert result.exit_code == 0, result.report
    assert result.applied == {layer}
    assert blocked(result.report["outcome"]), result.report["outcome"]
    assert targets.nothing_arrived()
    assert targets.sigterm_received == []


def _worker_duties(sock: socket.socket) -> dict[str, Any]:
    """What a real worker does after containment, with modules imported before the fork."""
    sock.settimeout(5.0)  # non-blocking mode and poll, as a worker's SDK calls use
    request = sock.recv(64)
    sock.sendall(b"pong:" + request)
    sock.settimeout(None)
    rewrapped = socket.socket(fileno=os.dup(sock.fileno()))  # getsockopt, getsockname
    family = rewrapped.family
    rewrapped.close()

    class Late(pydantic.BaseModel):  # a model first built after containment
        name: str
        when: datetime.datetime
        amount: decimal.Decimal | None = None

    late = Late.model_validate({"name": "x", "when": "2024-01-02T03:04:05Z", "amount": "1.5"})
    block = bytearray(32 << 20)
    block[:: 1 << 12] = b"x" * len(block[:: 1 << 12])
    return {
        "issue": Issue.model_validate({"id": "1", "title": "t"}).model_dump(mode="json"),
        "late": late.model_dump(mode="json"),
        "sha256": hashlib.sha256(b"corral").hexdigest(),
        "hmac": hmac.new(b"k", b"m", "sha256").hexdigest(),
        "regex": bool(re.fullmatch(r"[a-z]+-\d+", "run-42")),
        "json": json.loads(json.dumps({"a": [1, 2]})),
        "b64": base64.b64encode(b"x").decode(),
        "uuid": len(str(uuid.uuid4())),
        "token": len(secrets.token_hex(8)),
        "url": urllib.parse.urlencode({"q": "a b"}),
        "math": math.isclose(math.sqrt(2) ** 2, 2),
        "now": datetime.datetime.now(datetime.UTC).year > 2000,
        "allocated": len(block),
        "family": int(family),
    }


def test_worker_can_still_do_its_job(support: HostSupport) -> None:
    def talk(sock: socket.socket) -> None:
        sock.sendall(b"ping")
        assert sock.recv(64) == b"pong:ping"

    result = run_contained(ContainmentSettings(), _limits(), _worker_duties, talk=talk)

    assert result.exit_code == 0, result.report
    assert result.applied == set(support.available)
    report = result.report
    assert report["issue"] == {"id": "1", "title": "t", "labels": []}
    assert report["late"]["amount"] == "1.5"
    assert report["sha256"] == hashlib.sha256(b"corral").hexdigest()
    assert report["regex"]
    assert report["math"]
    assert report["now"]
    assert report["allocated"] == 32 << 20
    assert report["family"] == socket.AF_UNIX


def test_memory_beyond_the_limit_fails(support: HostSupport) -> None:
    _require(support, "rlimits")
    limits = _limits()

    def body(_sock: socket.socket) -> dict[str, Any]:
        return {"outcome": attempt(lambda: len(bytearray(limits.memory_bytes)))}

    result = run_contained(ContainmentSettings(), limits, body)

    assert result.exit_code == 0, result.report
    assert result.report["outcome"]["error"] == "MemoryError"


def test_memory_cgroup_alone_kills_a_hog(support: HostSupport) -> None:
    _require(support, "cgroup")
    limits = WorkerLimits(memory_bytes=64 << 20, max_processes=4)

    def body(_sock: socket.socket) -> dict[str, Any]:
        hog = bytearray(256 << 20)
        hog[:: 1 << 12] = b"x" * len(hog[:: 1 << 12])  # touch every page
        return {"survived": True}

    result = run_contained(ContainmentSettings(layers=frozenset({"cgroup"})), limits, body)

    assert result.signal == signal.SIGKILL, result.report


def test_cpu_beyond_the_limit_is_killed(support: HostSupport) -> None:
    _require(support, "rlimits")
    limits = _limits().with_cpu_seconds(1)

    def body(_sock: socket.socket) -> dict[str, Any]:
        spins = 0
        while True:  # stopped by SIGXCPU after one CPU second, SIGKILL one later
            spins += 1

    result = run_contained(ContainmentSettings(), limits, body, timeout=20)

    assert result.signal in {signal.SIGXCPU, signal.SIGKILL}, (result.status, result.report)


def test_no_file_may_grow(support: HostSupport, tmp_path: Path) -> None:
    _require(support, "rlimits")
    kept = os.open(tmp_path / "kept.log", os.O_WRONLY | os.O_CREAT, 0o600)

    def body(_sock: socket.socket) -> dict[str, Any]:
        return {"outcome": attempt(lambda: os.write(kept, b"x"))}

    try:
        result = run_contained(ContainmentSettings(), _limits(), body, keep_fds=[kept])
    finally:
        os.close(kept)

    assert result.exit_code == 0, result.report
    assert result.report["outcome"]["error"] == "OSError"  # EFBIG
    assert (tmp_path / "kept.log").stat().st_size == 0


def test_probe_finds_most_layers_on_a_root_host(support: HostSupport) -> None:
    if os.geteuid() != 0:
        pytest.skip("namespaces, cgroups and uid changes need root")
    assert support.available | set(support.missing) == ALL_LAYERS
    assert {"setsid", "env", "cwd", "fds", "rlimits", "no_new_privs", "uid"} <= support.available

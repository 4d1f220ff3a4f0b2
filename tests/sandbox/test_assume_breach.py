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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import pytest

from sandbox._containment import ALL_LAYERS, ContainmentSettings, HostSupport, probe
from sandbox._limits import WorkerLimits

if __package__:
    from tests.sandbox._breach_helpers import attempt, blocked, run_contained
else:  # tests/sandbox is not a package: pytest put this directory on sys.path
    from _breach_helpers import attempt, blocked, run_contained

_LIBC = ctypes.CDLL(None, use_errno=True)
_SECRET_NAME = "CORRAL_TEST_PARENT_SECRET"
_CLONE_NEWUSER = 0x10000000
_PTRACE_ATTACH = 16


class Issue(pydantic.BaseModel):
    """A model built before the fork, as a function's models are in a warm parent."""

    id: str
    title: str
    labels: list[str] = []


def _vsize() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def support() -> HostSupport:
    return probe()


def _require(support: HostSupport, *layers: str) -> None:
    missing = {layer: support.missing.get(layer, "not probed") for layer in layers}
    missing = {layer: why for layer, why in missing.items() if layer not in support.available}
    if missing:
        pytest.skip(f"layers unavailable on this host: {missing}")


def _limits() -> WorkerLimits:
    return WorkerLimits(memory_bytes=_vsize() + (256 << 20), cpu_seconds=10, max_open_files=32)


@dataclass
class Targets:
    """Things outside the worker that the test process sets up for it to attack."""

    parent_pid: int
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket
    unix_path: str
    abstract: socket.socket
    abstract_name: bytes
    tmp_dir: Path
    sigterm_received: list[int]

    @property
    def tcp_address(self) -> tuple[str, int]:
        """Where the TCP listener is; known before the fork (the child's copy is closed)."""
        return ("127.0.0.1", self._ports[0])

    @property
    def udp_address(self) -> tuple[str, int]:
        """Where the UDP socket is."""
        return ("127.0.0.1", self._ports[1])

    def __post_init__(self) -> None:
        self._ports = (self.tcp.getsockname()[1], self.udp.getsockname()[1])

    def nothing_arrived(self) -> bool:
        """No connection or datagram reached any of the listening sockets."""
        arrived = []
        for listener in (self.tcp, self.unix, self.abstract):
            listener.setblocking(False)
            arrived.append(attempt(listener.accept)["ok"])
        self.udp.setblocking(False)
        arrived.append(attempt(lambda: self.udp.recv(16))["ok"])
        return not any(arrived)


@pytest.fixture
def targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Targets]:
    monkeypatch.setenv(_SECRET_NAME, "hunter2")
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix_path = str(tmp_path / "runner.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen()
    name = f"\0corral-breach-{os.getpid()}".encode()
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(name)
    abstract.listen()
    tmp_path.chmod(0o777)  # even the unprivileged uid could write here without the kernel layers
    yield Targets(os.getpid(), tcp, udp, unix, unix_path, abstract, name, tmp_path, received)
    for sock in (tcp, udp, unix, abstract):
        sock.close()
    signal.signal(signal.SIGTERM, previous)


def _read(path: str) -> Callable[[], object]:
    return lambda: len(Path(path).read_bytes())


def _write(path: str) -> Callable[[], object]:
    return lambda: Path(path).write_text("breach")


def _connect(family: int, address: object, kind: int = socket.SOCK_STREAM) -> Callable[[], object]:
    def run() -> object:
        with socket.socket(family, kind) as sock:
            sock.settimeout(1.0)
            if kind == socket.SOCK_DGRAM:
                return sock.sendto(b"breach", address)
            sock.connect(address)
            return True

    return run


def _fork() -> object:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - only if the layers failed
        os._exit(0)
    return pid


def _execute() -> object:  # pragma: no cover - replaced by /bin/sh only if the layers failed
    os.execv("/bin/sh", ["sh", "-c", "exit 42"])


def _raw(result: int) -> object:
    """A raw libc call: -1 means the kernel refused; raise so ``attempt`` records a refusal."""
    if result == -1:
        raise OSError(ctypes.get_errno(), "refused")
    return result


def _attacks(t: Targets) -> dict[str, Callable[[], object]]:
    ppid = t.parent_pid
    return {
        "read_etc_passwd": _read("/etc/passwd"),
        "read_proc1_environ": _read("/proc/1/environ"),
        "read_parent_environ": _read(f"/proc/{ppid}/environ"),
        "read_parent_mem_map": _read(f"/proc/{ppid}/maps"),
        "list_root": lambda: len(os.listdir("/")),
        "write_cwd": _write("breach.txt"),
        "write_slash_tmp": _write(f"/tmp/corral-breach-{ppid}.txt"),
        "write_test_tmp": _write(str(t.tmp_dir / "breach.txt")),
        "tcp_connect": _connect(socket.AF_INET, t.tcp_address),
        "udp_send": _connect(socket.AF_INET, t.udp_address, socket.SOCK_DGRAM),
        "unix_connect": _connect(socket.AF_UNIX, t.unix_path),
        "abstract_connect": _connect(socket.AF_UNIX, t.abstract_name),
        "socketpair": lambda: len(socket.socketpair()),
        "fork": _fork,
        "subprocess": lambda: subprocess.run(["/bin/true"], check=False).returncode,
        "execute": _execute,
        "kill_parent_probe": lambda: os.kill(ppid, 0),
        "kill_parent_term": lambda: os.kill(ppid, signal.SIGTERM),
        "kill_init_probe": lambda: os.kill(1, 0),
        "ptrace_parent": lambda: _raw(_LIBC.ptrace(_PTRACE_ATTACH, ppid, None, None)),
        "new_user_namespace": lambda: _raw(_LIBC.unshare(_CLONE_NEWUSER)),
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
    assert not Path(f"/tmp/corral-breach-{targets.parent_pid}.txt").exists()
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
    ("seccomp", "ptrace_parent"),
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
    request = sock.recv(64)
    sock.sendall(b"pong:" + request)

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
    assert report["regex"] and report["math"] and report["now"]
    assert report["allocated"] == 32 << 20


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

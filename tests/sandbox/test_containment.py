"""Containment settings, host probing, strict mode, cgroup clean-up, and the seccomp program."""

from __future__ import annotations

import errno
import os
import resource
import signal
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corral.errors import CorralError
from sandbox.os import _cgroups, _landlock, _namespaces, _seccomp
from sandbox.os import _contain as containment
from sandbox.os._contain import (
    ALL_LAYERS,
    ContainmentError,
    ContainmentSettings,
    HostSupport,
    cleanup_cgroup,
    default_cgroup_name,
    prepare,
    probe,
)
from sandbox.os._limits import WorkerLimits, rlimits
from sandbox.os._syscall_numbers import AUDIT_ARCH, syscall_number
from tests.sandbox._breach_helpers import remove_cgroup_parents, run_contained

pytestmark = pytest.mark.forks_pytest


@pytest.fixture(scope="module")
def support() -> HostSupport:
    return probe()


@pytest.fixture(scope="module", autouse=True)
def _remove_cgroup_parents() -> Iterator[None]:
    yield
    remove_cgroup_parents()


def _nothing(_sock: socket.socket) -> dict[str, Any]:
    return {}


# -- limits and settings ---------------------------------------------------------------------


def test_limits_builders_return_changed_copies() -> None:
    base = WorkerLimits()
    changed = (
        base.with_wall_seconds(5)
        .with_cpu_seconds(2)
        .with_memory_bytes(1 << 28)
        .with_max_open_files(16)
        .with_max_processes(3)
        .with_max_output_bytes(1024)
    )
    assert base == WorkerLimits()
    assert (changed.wall_seconds, changed.cpu_seconds, changed.memory_bytes) == (5, 2, 1 << 28)
    assert (changed.max_open_files, changed.max_processes) == (16, 3)
    assert changed.max_output_bytes == 1024
    with pytest.raises(AttributeError):
        base.cpu_seconds = 1  # type: ignore[misc]


@pytest.mark.parametrize("field", ["cpu_seconds", "memory_bytes", "max_processes", "wall_seconds"])
def test_limits_refuse_non_positive_values(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        WorkerLimits(**{field: 0})


def test_rlimits_deny_file_growth_and_cores() -> None:
    table = {kind: (soft, hard) for kind, soft, hard in rlimits(WorkerLimits(cpu_seconds=7))}
    assert table[resource.RLIMIT_FSIZE] == (0, 0)
    assert table[resource.RLIMIT_CORE] == (0, 0)
    assert table[resource.RLIMIT_CPU] == (7, 8)
    assert table[resource.RLIMIT_AS] == (1 << 30, 1 << 30)
    assert table[resource.RLIMIT_NPROC] == (1, 1)


def test_settings_builders_and_validation() -> None:
    base = ContainmentSettings()
    assert base.layers == ALL_LAYERS
    assert not base.strict
    assert base.with_strict().strict
    assert base.without_layers("seccomp").layers == ALL_LAYERS - {"seccomp"}
    assert base.with_layers(["env"]).layers == frozenset({"env"})
    assert base.with_identity(1000, 1001).unprivileged_gid == 1001
    assert base.with_cgroup_root("/x").cgroup_root == "/x"
    assert isinstance(ContainmentSettings(layers={"env"}).layers, frozenset)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        ContainmentSettings(unprivileged_uid=-1)


def test_public_names_exist() -> None:
    for name in containment.__all__:
        assert hasattr(containment, name), name
    assert issubclass(ContainmentError, CorralError)
    assert ContainmentError("x").code == "containment_unavailable"


# -- probe -----------------------------------------------------------------------------------


def _process_facts() -> dict[str, object]:
    with open("/proc/self/status", encoding="ascii") as status:
        seccomp = [line for line in status if line.startswith(("Seccomp:", "NoNewPrivs:"))]
    with open("/proc/self/cgroup", encoding="ascii") as cgroup:
        groups = cgroup.read()
    namespaces = {ns: os.readlink(f"/proc/self/ns/{ns}") for ns in ("net", "mnt", "ipc", "uts")}
    return {
        "uid": os.getresuid(),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "sid": os.getsid(0),
        "seccomp": seccomp,
        "cgroup": groups,
        "ns": namespaces,
        "fds": sorted(os.listdir("/proc/self/fd")),
    }


def test_probe_reports_every_layer_and_leaves_the_caller_alone() -> None:
    before = _process_facts()
    found = probe()
    after = _process_facts()

    assert before == after
    assert found.available | set(found.missing) == ALL_LAYERS
    assert not found.available & set(found.missing)
    data = found.to_dict()
    assert data["available"] == sorted(found.available)
    assert set(data["missing"]) == set(found.missing)  # type: ignore[arg-type]


def test_probe_reports_an_unknown_layer_as_missing() -> None:
    found = probe(ContainmentSettings(layers=frozenset({"env", "teleport"})))
    assert found.missing["teleport"] == "unknown layer"
    assert "env" in found.available


def test_probe_reports_a_missing_cgroup_hierarchy(tmp_path: Path) -> None:
    found = probe(ContainmentSettings(cgroup_root=str(tmp_path)))
    assert "cgroup" in found.missing
    assert "cgroup" not in found.available


# -- strict mode -----------------------------------------------------------------------------


def test_strict_mode_refuses_an_unknown_layer() -> None:
    settings = ContainmentSettings(strict=True, layers=frozenset({"env", "teleport"}))
    result = run_contained(settings, WorkerLimits(), _nothing)
    assert result.exit_code == 3, result.report
    error = result.report["containment_error"]
    assert error["type"] == "containment_unavailable"
    assert error["details"] == {"layer": "teleport", "reason": "unknown layer"}


def test_strict_mode_refuses_a_missing_cgroup_hierarchy(tmp_path: Path) -> None:
    settings = ContainmentSettings(strict=True, cgroup_root=str(tmp_path))
    result = run_contained(settings, WorkerLimits(), _nothing)
    assert result.exit_code == 3, result.report
    assert result.report["containment_error"]["details"]["layer"] == "cgroup"


def test_strict_mode_refuses_a_layer_the_kernel_rejects(
    support: HostSupport, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "utsns" not in support.available:
        pytest.skip(f"utsns unavailable: {support.missing.get('utsns')}")

    def refuse() -> None:
        raise OSError(errno.EPERM, "sethostname: Operation not permitted")

    monkeypatch.setattr(_namespaces, "name_host", refuse)
    strict = ContainmentSettings(strict=True, layers=frozenset({"utsns"}))
    result = run_contained(strict, WorkerLimits(), _nothing)
    assert result.report["containment_error"]["details"] == {
        "layer": "utsns",
        "reason": "sethostname: Operation not permitted",
    }
    lenient = run_contained(strict.with_strict(False), WorkerLimits(), _nothing)
    assert lenient.exit_code == 0
    assert lenient.applied == set()


def test_lenient_mode_skips_what_fails(tmp_path: Path) -> None:
    settings = ContainmentSettings(layers=frozenset({"env", "cgroup"}), cgroup_root=str(tmp_path))
    result = run_contained(settings, WorkerLimits(), _nothing)
    assert result.exit_code == 0, result.report
    assert result.applied == {"env"}


# -- cgroups ---------------------------------------------------------------------------------


def _leaves(settings: ContainmentSettings, name: str) -> list[Path]:
    layout = prepare(settings).cgroups
    assert not isinstance(layout, str)
    return [Path(parent) / name for parent in layout.parents.values()]


def test_worker_cgroup_has_the_limits_and_is_removed(support: HostSupport) -> None:
    if "cgroup" not in support.available:
        pytest.skip(f"cgroup unavailable: {support.missing.get('cgroup')}")
    settings = ContainmentSettings(layers=frozenset({"cgroup"}))
    limits = WorkerLimits(memory_bytes=96 << 20, max_processes=2)

    def body(_sock: socket.socket) -> dict[str, Any]:
        with open("/proc/self/cgroup", encoding="ascii") as cgroup:
            return {"cgroup": cgroup.read()}

    result = run_contained(settings, limits, body)

    assert result.cgroup_name in result.report["cgroup"]
    assert not any(leaf.exists() for leaf in _leaves(settings, result.cgroup_name))


def test_cleanup_kills_what_is_left_and_removes_the_cgroup(support: HostSupport) -> None:
    if "cgroup" not in support.available:
        pytest.skip(f"cgroup unavailable: {support.missing.get('cgroup')}")
    settings = ContainmentSettings(layers=frozenset({"cgroup"}))
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            containment.contain_worker(settings, WorkerLimits(), [writer])
            os.write(writer, b"in")
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(writer)
    name = default_cgroup_name(pid)
    try:
        assert os.read(reader, 2) == b"in"
        assert all(leaf.exists() for leaf in _leaves(settings, name))
        cleanup_cgroup(settings, name)
    finally:
        os.close(reader)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    assert os.WTERMSIG(status) == signal.SIGKILL
    assert not any(leaf.exists() for leaf in _leaves(settings, name))
    cleanup_cgroup(settings, name)  # again: nothing left, nothing to do


def test_locate_finds_a_v2_hierarchy_below_the_own_cgroup(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    with open("/proc/self/cgroup", encoding="ascii") as source:
        own = next(line for line in source.read().splitlines() if line.startswith("0::"))
    layout = _cgroups.locate(str(tmp_path))
    assert layout.version == 2
    assert layout.parents == {"unified": f"{tmp_path}{own[3:].rstrip('/')}/corral"}


def test_locate_refuses_a_tree_without_cgroups(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no cgroup v2"):
        _cgroups.locate(str(tmp_path))


def test_cleanup_without_cgroups_is_a_no_op(tmp_path: Path) -> None:
    cleanup_cgroup(ContainmentSettings(cgroup_root=str(tmp_path)), "worker-1")


# -- the seccomp program, run by a small BPF interpreter -------------------------------------

_ALLOW, _KILL = 0x7FFF0000, 0x80000000


def _errno(value: int) -> int:
    return 0x00050000 | value


def _run_filter(code: bytes, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """Evaluate a classic BPF seccomp program on one ``seccomp_data``."""
    padded = (*args, *(0,) * (6 - len(args)))
    data = struct.pack("=iIQ6Q", nr, arch, 0, *(a & (2**64 - 1) for a in padded))
    insns = [struct.unpack_from("=HBBI", code, i) for i in range(0, len(code), 8)]
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = insns[pc]
        if op == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
        elif op == 0x06:
            return k
        elif op in (0x15, 0x35):
            taken = acc == k if op == 0x15 else acc >= k
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
        pc += 1


def _program(arch: str, pid: int) -> bytes:
    program = _seccomp.build_program(arch)
    code = bytearray(program.code)
    for offset in program.pid_offsets:
        struct.pack_into("=I", code, offset, pid)
    return bytes(code)


_DENIED = {
    # socket connect bind socketpair clone fork vfork execve execveat ptrace process_vm_readv
    # mount unshare setns keyctl bpf perf_event_open io_uring_setup userfaultfd open openat
    # memfd_create pidfd_open prctl setsockopt
    "x86_64": (
        *(41, 42, 49, 53, 56, 57, 58, 59, 322, 101, 310, 165, 272, 308, 250, 321, 298),
        *(425, 323, 2, 257, 319, 434, 157, 54),
    ),
    "aarch64": (
        *(198, 203, 200, 199, 220, 221, 281, 117, 270, 40, 97, 268, 219, 280, 241),
        *(425, 282, 56, 279, 434, 167, 208),
    ),
}


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_seccomp_program_decisions(arch: str) -> None:
    pid, audit = 4242, AUDIT_ARCH[arch]
    code = _program(arch, pid)

    def decide(name: str, *args: int, on: int = audit) -> int:
        number = syscall_number(arch, name)
        assert number is not None
        return _run_filter(code, on, number, args)

    for name in ("read", "write", "mmap", "futex", "exit_group", "getrandom", "recvfrom"):
        assert decide(name) == _ALLOW, name
    assert decide("clone3") == _errno(errno.ENOSYS)
    assert decide("kill", pid, 0) == _ALLOW
    assert decide("kill", pid + 1, 15) == _errno(errno.EPERM)
    assert decide("kill", 0, 15) == _errno(errno.EPERM)
    assert decide("tgkill", pid, pid, 6) == _ALLOW
    assert decide("tgkill", pid, pid + 1, 6) == _errno(errno.EPERM)
    assert decide("prlimit64", 0) == _ALLOW
    assert decide("prlimit64", pid + 1) == _errno(errno.EPERM)
    assert decide("ioctl", 0, 0x5401) == _ALLOW
    assert decide("ioctl", 0, 0x5412) == _errno(errno.EPERM)  # TIOCSTI
    assert decide("fcntl", 3, 4) == _ALLOW
    assert decide("fcntl", 3, 8) == _errno(errno.EPERM)  # F_SETOWN
    assert decide("read", on=0x40000003) == _KILL  # i386
    for number in _DENIED[arch]:
        assert _run_filter(code, audit, number) == _errno(errno.EPERM), number
    assert _run_filter(code, audit, 10_000) == _errno(errno.EPERM)
    if arch == "x86_64":
        assert _run_filter(code, audit, 0x40000000) == _KILL  # x32


def test_seccomp_refuses_unknown_architectures() -> None:
    with pytest.raises(KeyError):
        _seccomp.build_program("riscv64")


def test_landlock_ruleset_grows_with_the_abi() -> None:
    assert len(_landlock.ruleset_for(1).attr) == 8
    assert _landlock.ruleset_for(1).covers() == {"fs"}
    assert len(_landlock.ruleset_for(4).attr) == 16
    assert _landlock.ruleset_for(6).covers() == {"fs", "net", "scope"}
    fs, net, scope = struct.unpack("=3Q", _landlock.ruleset_for(7).attr)
    assert (fs, net, scope) == ((1 << 16) - 1, 0b11, 0b11)

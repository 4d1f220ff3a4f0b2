"""The seccomp allow-list of a worker, compiled to a classic BPF program without libseccomp.

The policy is an allow-list: a worker that has already imported everything needs memory,
futexes, I/O on the descriptors it already holds, clocks, randomness, signals to itself and
exit. Every other call fails with EPERM (so the worker sees ``PermissionError`` and the runner
can report a sandbox violation rather than a silent death); ``clone3`` fails with ENOSYS. A
call made with a foreign ABI (i386 or x32 on x86_64) kills the process: the filter only
understands the native syscall table.

Denied by omission, among others: ``open``/``openat``, ``socket``/``socketpair``,
``connect``, ``bind``, ``clone``/``fork``/``vfork``, ``execve``/``execveat``, ``ptrace``,
``process_vm_*``, ``mount``, ``unshare``, ``setns``, ``keyctl``, ``bpf``,
``perf_event_open``, ``io_uring_*``, ``userfaultfd``, ``prctl``, ``setsockopt``, ``pidfd_*``.

Allowed only with checked arguments: ``kill``, ``tkill`` and ``tgkill`` aimed at the worker
itself; ``prlimit64`` on itself; ``ioctl`` and ``fcntl`` with the listed commands.

The program is built once in the warm parent (``build_program``) as a binary search on the
syscall number; the worker only patches its own pid into the signal checks and loads it
(``install``, about 0.1 ms, most of it the kernel preparing its cache of allowed calls).
"""

from __future__ import annotations

import ctypes
import errno
import struct
from dataclasses import dataclass, field
from typing import Final

from sandbox.os._libc import PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prctl
from sandbox.os._syscall_numbers import AUDIT_ARCH, syscall_number, syscall_numbers

_ALWAYS: Final = frozenset(
    {
        # memory and the GIL
        *("mmap", "munmap", "mprotect", "mremap", "brk", "madvise", "futex"),
        # I/O on descriptors the worker already holds (socket() and open() are denied)
        *("read", "write", "readv", "writev", "pread64", "pwrite64", "lseek"),
        *("recvfrom", "sendto", "recvmsg", "sendmsg", "shutdown"),
        *("getsockopt", "getsockname", "getpeername"),
        *("close", "close_range", "dup", "dup2", "dup3"),
        *("fstat", "newfstatat", "statx", "stat", "lstat"),
        *("poll", "ppoll", "select", "pselect6"),
        *("epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait"),
        "epoll_pwait2",
        # time and randomness
        *("clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday"),
        *("time", "getrandom", "alarm", "setitimer", "getitimer"),
        # signals (handlers, masks, waiting); sending is checked below
        *("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending"),
        *("rt_sigsuspend", "rt_sigtimedwait", "sigaltstack", "pause", "restart_syscall"),
        # identity and process facts, read only
        *("getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid"),
        *("getresuid", "getresgid", "getgroups", "getpgrp", "getpgid", "getsid"),
        *("getrlimit", "getrusage", "times", "uname", "getcwd"),
        *("sched_yield", "sched_getaffinity", "exit", "exit_group"),
    }
)

_IOCTL_REQUESTS: Final = frozenset({0x5401, 0x541B, 0x5421, 0x5450, 0x5451})
# TCGETS (isatty), FIONREAD, FIONBIO (socket.setblocking), FIONCLEX, FIOCLEX: all act on the
# descriptor itself. Everything else (TIOCSTI and friends) is denied.

_FCNTL_COMMANDS: Final = frozenset({0, 1, 2, 3, 4, 1030})
# F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC. F_SETOWN/F_SETSIG would let a
# worker aim SIGIO at another process of the same uid, so they are denied.

_SELF: Final = -1
"""Placeholder for the worker's pid, patched in by ``install``."""


@dataclass(frozen=True)
class SyscallPolicy:
    """What a contained worker may ask of the kernel. Anything not listed fails with EPERM."""

    allowed: frozenset[str] = _ALWAYS
    """System calls allowed with any arguments."""

    ioctl_requests: frozenset[int] = _IOCTL_REQUESTS
    """``ioctl`` request numbers allowed (second argument)."""

    fcntl_commands: frozenset[int] = _FCNTL_COMMANDS
    """``fcntl`` commands allowed (second argument)."""

    enosys: frozenset[str] = frozenset({"clone3"})
    """Calls that fail with ENOSYS instead of EPERM, so glibc falls back to an older call."""


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


@dataclass(frozen=True)
class SeccompProgram:
    """A compiled filter: the ``sock_filter`` array and where the worker's pid goes.

    The C structures the kernel reads are made here, in the parent, so a worker only patches
    its pid in (its copy of the memory) and loads them.
    """

    code: bytes
    """The BPF instructions, 8 bytes each, native byte order."""

    pid_offsets: tuple[int, ...]
    """Byte offsets of the 32-bit constants to replace with the worker's pid."""

    _buffer: ctypes.Array[ctypes.c_char] = field(init=False, repr=False, compare=False)
    _fprog: _SockFprog = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        buffer = ctypes.create_string_buffer(self.code, len(self.code))
        object.__setattr__(self, "_buffer", buffer)
        fprog = _SockFprog(len(self.code) // 8, ctypes.addressof(buffer))
        object.__setattr__(self, "_fprog", fprog)


_LD_W_ABS: Final = 0x20
_JEQ_K: Final = 0x15
_JGE_K: Final = 0x35
_RET_K: Final = 0x06
_RET_KILL_PROCESS: Final = 0x80000000
_RET_ERRNO: Final = 0x00050000
_RET_ALLOW: Final = 0x7FFF0000
_OFFSET_NR: Final = 0
_OFFSET_ARCH: Final = 4
_X32_SYSCALL_BIT: Final = 0x40000000

_Insn = tuple[int, int, int, int]
_Interval = tuple[int, tuple[_Insn, ...]]


def _ret(action: int) -> _Insn:
    return (_RET_K, 0, 0, action)


def _load(offset: int) -> _Insn:
    return (_LD_W_ABS, 0, 0, offset)


def _arg(index: int) -> int:
    """Offset of the low 32 bits of argument ``index`` (the kernel truncates int arguments)."""
    low_first = struct.pack("=I", 1)[0] == 1
    return 16 + 8 * index + (0 if low_first else 4)


def _deny(err: int) -> _Insn:
    return _ret(_RET_ERRNO | err)


def _allow_if(checks: list[tuple[int, frozenset[int]]]) -> tuple[_Insn, ...]:
    """A leaf that allows the call iff every ``(argument, values)`` check holds."""
    body: list[_Insn] = []
    for position, (arg, values) in enumerate(checks):
        later = sum(len(vals) + 1 for _, vals in checks[position + 1 :])
        body.append(_load(_arg(arg)))
        ordered = sorted(values)
        for i, value in enumerate(ordered):
            remaining = len(ordered) - 1 - i
            miss = 0 if remaining else later + 1
            body.append((_JEQ_K, remaining, miss, value & 0xFFFFFFFF))
    return (*body, _ret(_RET_ALLOW), _deny(errno.EPERM))


def _checks(policy: SyscallPolicy) -> dict[str, list[tuple[int, frozenset[int]]]]:
    self_only = frozenset({_SELF})
    return {
        "kill": [(0, self_only)],
        "tkill": [(0, self_only)],
        "tgkill": [(0, self_only), (1, self_only)],
        "prlimit64": [(0, frozenset({0, _SELF}))],
        "ioctl": [(1, policy.ioctl_requests)],
        "fcntl": [(1, policy.fcntl_commands)],
    }


def _leaves(arch: str, policy: SyscallPolicy) -> dict[int, tuple[_Insn, ...]]:
    """What to do for each system call number the policy names."""
    allowed = syscall_numbers(arch, policy.allowed)
    leaves: dict[int, tuple[_Insn, ...]] = {nr: (_ret(_RET_ALLOW),) for nr in allowed}
    leaves.update({nr: (_deny(errno.ENOSYS),) for nr in syscall_numbers(arch, policy.enosys)})
    for name, checks in _checks(policy).items():
        number = syscall_number(arch, name)
        if number is not None:
            leaves[number] = _allow_if(checks)
    return leaves


def _intervals(arch: str, leaves: dict[int, tuple[_Insn, ...]]) -> list[_Interval]:
    """Cut the syscall number space into runs that end in the same leaf, in order."""
    deny = (_deny(errno.EPERM),)
    runs: list[_Interval] = []
    free = 0
    for number in sorted(leaves):
        if number > free:
            runs.append((free, deny))
        runs.append((number, leaves[number]))
        free = number + 1
    runs.append((free, deny))
    if arch == "x86_64":  # the x32 ABI: same arch value, numbers with bit 30 set
        runs.append((_X32_SYSCALL_BIT, (_ret(_RET_KILL_PROCESS),)))
    return [run for i, run in enumerate(runs) if i == 0 or run[1] != runs[i - 1][1]]


def _search(runs: list[_Interval]) -> list[_Insn]:
    """A binary search over ``runs`` on the syscall number in A: a few jumps per call.

    Short paths matter: the kernel emulates the filter for every syscall number when it is
    loaded (to cache the calls that are always allowed), so a linear chain costs far more.
    """
    if len(runs) == 1:
        return list(runs[0][1])
    middle = len(runs) // 2
    below, above = _search(runs[:middle]), _search(runs[middle:])
    if len(below) > 255:
        raise ValueError("seccomp search tree too deep for an 8-bit jump")
    return [(_JGE_K, len(below), 0, runs[middle][0]), *below, *above]


def _arch_guard(arch: str) -> list[_Insn]:
    return [
        _load(_OFFSET_ARCH),
        (_JEQ_K, 1, 0, AUDIT_ARCH[arch]),
        _ret(_RET_KILL_PROCESS),
        _load(_OFFSET_NR),
    ]


def build_program(arch: str, policy: SyscallPolicy = SyscallPolicy()) -> SeccompProgram:
    """Compile ``policy`` for ``arch`` ("x86_64" or "aarch64").

    Raises:
        KeyError: an architecture or a system call name the tables do not know.
    """
    runs = _intervals(arch, _leaves(arch, policy))
    return _encode(_arch_guard(arch) + _search(runs))


def _encode(insns: list[_Insn]) -> SeccompProgram:
    placeholder = _SELF & 0xFFFFFFFF
    code = b"".join(struct.pack("=HBBI", *insn) for insn in insns)
    offsets = tuple(8 * i + 4 for i, insn in enumerate(insns) if insn[3] == placeholder)
    if len(insns) > 4096:
        raise ValueError("seccomp program longer than BPF_MAXINSNS")
    return SeccompProgram(code=code, pid_offsets=offsets)


def install(program: SeccompProgram, pid: int) -> None:
    """Load ``program`` into the calling process, with ``pid`` as the only signal target.

    Needs no_new_privs (or CAP_SYS_ADMIN). Irreversible; inherited by any child.

    Raises:
        OSError: the kernel refused the filter.
    """
    for offset in program.pid_offsets:
        struct.pack_into("=I", program._buffer, offset, pid)
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(program._fprog))


def set_no_new_privs() -> None:
    """``PR_SET_NO_NEW_PRIVS``: execve can never grant privileges again (setuid bits, caps)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)

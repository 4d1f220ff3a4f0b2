"""``--profile STEP``: a py-spy profile of every process of the serve while one step runs.

py-spy (``pip install py-spy`` into the virtual environment; not a dependency of corral)
samples the serve, its runner host, warm parent and workers (``--subprocesses``) and writes a
speedscope JSON (open it at https://www.speedscope.app) to ``bench/results/profiles/``.
"""

from __future__ import annotations

import contextlib
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

STEPS = ("trivial", "throughput", "tenants", "callback", "get", "records", "sync")


def py_spy() -> str | None:
    """The py-spy executable beside this Python, or on PATH (None: not installed)."""
    beside = pathlib.Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def profiled(pid: int, output: pathlib.Path | None) -> Iterator[None]:
    """Samples ``pid`` and its children into ``output`` while the body runs (None: nothing)."""
    executable = py_spy()
    if output is None or executable is None:
        yield
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [executable, "record", "--pid", str(pid), "--subprocesses",
               "--format", "speedscope", "--output", str(output)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # py-spy attaches to each process before it samples
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        _, errors = process.communicate(timeout=120)
        if not output.exists() or process.returncode not in (0, -signal.SIGINT):
            print(f"py-spy failed: {errors.decode()[-500:]}", file=sys.stderr)

"""The runner host process imports only what it serves with (issue 13: its memory is its
imports). The real runner host is started as ``corral serve`` starts its local runners
(``python -m corral runner ...``), in an interpreter that writes down its ``sys.modules`` once
the host is serving; the warm parent and the workers, which import the sandbox, the SDK and
pydantic after the fork, are other processes."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

HEAVY = (
    "pydantic",
    "pydantic_settings",
    "cryptography",
    "prometheus_client",
    "RestrictedPython",
    "sandbox.language",
    "runner.sdk",
    "runner.worker",
    "orchestrator",
    "httpx",
    "corral.cli._main",
)
"""Modules the host never needs without TLS and metrics: its workers' (imported by the warm
parent after the fork), the orchestrator's, the rest of the CLI's."""

T = TypeVar("T")

_RECORDER = """
import json, os, runpy, sys, threading, time
port_file, modules_file = sys.argv[1], sys.argv[2]
def record():
    while not os.path.exists(port_file):
        time.sleep(0.02)
    with open(modules_file + ".tmp", "w") as out:
        json.dump(sorted(sys.modules), out)
    os.replace(modules_file + ".tmp", modules_file)
threading.Thread(target=record, daemon=True).start()
sys.argv = ["corral", *sys.argv[3:]]
runpy.run_module("corral", run_name="__main__", alter_sys=True)
"""


def _host_modules(tmp_path: pathlib.Path, *options: str) -> set[str]:
    """The modules of a serving runner host started with ``options``."""
    return _serving(tmp_path, options, lambda process: None)[0]


def _serving(
    tmp_path: pathlib.Path, options: tuple[str, ...], look: Callable[[subprocess.Popen[bytes]], T]
) -> tuple[set[str], T]:
    """The modules of a serving runner host started with ``options``, and what ``look`` saw
    of its process while it served."""
    port_file, modules_file = tmp_path / "runner.port", tmp_path / "modules.json"
    command = [
        sys.executable, "-c", _RECORDER, str(port_file), str(modules_file),
        "runner", "--callbacks", "127.0.0.1:9", "--port", "0", "--port-file", str(port_file),
        "--log-format", "json", *options,
    ]  # fmt: skip
    log = tmp_path / "runner.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while not modules_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the runner did not start: {log.read_text()}")
            time.sleep(0.05)
        return set(json.loads(modules_file.read_text())), look(process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(one.startswith(name + ".") for one in modules)


def test_a_serving_runner_host_imports_none_of_its_workers_or_the_cli_s_modules(
    tmp_path: pathlib.Path,
) -> None:
    modules = _host_modules(tmp_path)
    assert {"runner._main", "runner._service", "grpc", "sandbox.os"} <= modules  # it is the host
    assert [name for name in HEAVY if _loaded(modules, name)] == []


def test_a_runner_host_with_its_metrics_endpoint_imports_prometheus_client(
    tmp_path: pathlib.Path,
) -> None:
    modules = _host_modules(tmp_path, "--metrics-address", "127.0.0.1:0")
    assert "prometheus_client" in modules
    assert not _loaded(modules, "pydantic")


def _mapped_files(pid: int) -> set[str]:
    maps = pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in maps if len(line.split(maxsplit=5)) == 6}


def _warm_parent(process: subprocess.Popen[bytes]) -> set[str]:
    """The files the runner host's warm parent (its one child) has mapped."""
    children = pathlib.Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    (warm_parent,) = children
    return _mapped_files(int(warm_parent))


def test_the_warm_parent_is_forked_before_the_host_imports_grpc(tmp_path: pathlib.Path) -> None:
    # Its heap is what each worker's fork copies the page tables of, and each worker's exit
    # tears down: grpc's would be 6 MB more of it, of no use to a worker.
    modules, warm_parent_files = _serving(tmp_path, (), _warm_parent)
    assert "grpc" in modules  # the host serves with it
    assert [name for name in warm_parent_files if "grpc" in name] == []

"""Running deploy/compose.yaml's corral services as processes on this machine (no Docker here):
each service's command and environment (the image's ``ENV`` under the file's ``environment``),
with the names and ports of the compose network, and the container paths, rewritten to
127.0.0.1, free ports and temporary folders.

Example::

    with ComposeProcesses(tmp_path, compose, database_url) as fleet:
        fleet.start("orchestrator-1")
        fleet.wait_healthy("orchestrator-1")
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from tests.deploy.manifests import compose_environment, corral_arguments, image_environment
from tests.support.postgres import free_port

_ADDRESS = re.compile(r"\b([a-z][\w.-]*|0\.0\.0\.0|127\.0\.0\.1):(\d+)\b")
_PORT_SETTINGS = {"CORRAL_PORT", "CORRAL_CALLBACK_PORT", "CORRAL_RUNNER_PORT"}


class ComposeProcesses:
    """The corral services of a compose file as local processes; SIGTERM to each at the end."""

    def __init__(
        self,
        root: pathlib.Path,
        compose: Mapping[str, Any],
        database_url: str,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        """Args:
        root: a temporary folder for the services' files.
        compose: the parsed compose file (variables interpolated).
        database_url: replaces the PostgreSQL URL of the ``postgres`` service.
        overrides: settings that differ on this machine, over every service's environment.
        """
        self.root = root
        self.compose = compose
        self.database_url = database_url
        self.overrides = dict(overrides or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._ports: dict[tuple[str, int], int] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # --- rewriting ----------------------------------------------------------------------------

    def port(self, service: str, port: int) -> int:
        """The free local port standing for ``service``'s container port ``port``."""
        if (service, port) not in self._ports:
            self._ports[service, port] = free_port()
        return self._ports[service, port]

    def path(self, container_path: str, service: str) -> str:
        """Where a container path lives here: volumes (``/tls``, ``/data``) and secrets."""
        for prefix, local in (
            ("/run/secrets", self.root / "secrets"),
            ("/tls", self.root / "tls"),
            ("/data", self.root / service / "data"),
        ):
            if container_path == prefix or container_path.startswith(prefix + "/"):
                return str(local) + container_path[len(prefix) :]
        return container_path

    def localize(self, service: str, value: str, *, is_port: bool = False) -> str:
        """A value of ``service``'s command or environment as it must be on this machine."""
        if is_port:
            return str(self.port(service, int(value)))
        if value.startswith("postgresql://"):
            assert re.search(r"@postgres:5432/", value), value  # the compose file's database
            return self.database_url

        def address(match: re.Match[str]) -> str:
            host, port = match.group(1), int(match.group(2))
            if host in self.compose["services"]:
                return f"127.0.0.1:{self.port(host, port)}"
            if host in {"0.0.0.0", "127.0.0.1"}:  # noqa: S104 - its own port
                return f"127.0.0.1:{self.port(service, port)}"
            return match.group(0)

        value = _ADDRESS.sub(address, value)
        if value == "0.0.0.0":  # noqa: S104 - every address of the container: here, loopback
            return "127.0.0.1"
        return self.path(value, service)

    def arguments(self, service: str, command: list[Any]) -> list[str]:
        """``corral``'s arguments for a command (or health check) of ``service``, localized."""
        words = corral_arguments(command)
        return [
            self.localize(service, word, is_port=index > 0 and words[index - 1] == "--port")
            for index, word in enumerate(words)
        ]

    def environment(self, service: str) -> dict[str, str]:
        """The process environment of ``service``: this one without CORRAL_*, then the image's
        ``ENV``, the compose file's ``environment`` and the overrides, localized."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
        declared = image_environment() | compose_environment(self.compose["services"][service])
        declared.pop("PATH", None)
        for name, value in (declared | self.overrides).items():
            env[name] = self.localize(service, value, is_port=name in _PORT_SETTINGS)
        return env

    # --- the services -------------------------------------------------------------------------

    def make_secrets(self, variables: Mapping[str, str]) -> None:
        """The compose file's secrets, as files (0600) of the values they name."""
        folder = self.root / "secrets"
        folder.mkdir(parents=True, exist_ok=True)
        for name, secret in self.compose.get("secrets", {}).items():
            (folder / name).write_text(variables[secret["environment"]] + "\n")
            (folder / name).chmod(0o600)

    def make_certs(self) -> None:
        """Runs the ``certs`` service's ``corral certs`` on the local ``/tls``."""
        (script,) = self.compose["services"]["certs"]["command"]
        words = shlex.split(script.partition("exec ")[2])
        self.run_corral("certs", self.arguments("certs", words))

    def run_corral(self, service: str, arguments: list[str]) -> subprocess.CompletedProcess[str]:
        """``corral ARGUMENTS`` to its end, in ``service``'s environment."""
        return subprocess.run(
            [sys.executable, "-m", "corral", *arguments],
            env=self.environment(service),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def start(self, service: str) -> subprocess.Popen[bytes]:
        """Starts ``service``'s command; its stdout and stderr go to files in its folder."""
        folder = self.root / service
        (folder / "data").mkdir(parents=True, exist_ok=True)
        arguments = self.arguments(service, self.compose["services"][service]["command"])
        with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "corral", *arguments],
                env=self.environment(service),
                stdout=out,
                stderr=err,
                cwd=folder / "data",
            )
        self.processes[service] = process
        return process

    def output(self, service: str, stream: str = "stderr") -> str:
        """What ``service`` wrote so far to ``stream``."""
        return (self.root / service / stream).read_text(errors="replace")

    def healthy(self, service: str) -> bool:
        """Whether ``service``'s compose health check passes now."""
        test = self.compose["services"][service]["healthcheck"]["test"]
        checked = subprocess.run(
            [sys.executable, "-m", "corral", *self.arguments(service, test)],
            env=self.environment(service),
            capture_output=True,
            timeout=30,
            check=False,
        )
        return checked.returncode == 0

    def wait_healthy(self, service: str, timeout: float = 60.0) -> None:
        """Polls ``service``'s health check until it passes; fails if the process ends."""
        deadline = time.monotonic() + timeout
        while not self.healthy(service):
            process = self.processes[service]
            if process.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with {process.returncode}: {self.output(service)[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} not healthy: {self.output(service)[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM to every service (the runners first), and waits for each."""
        for service in sorted(self.processes, key=lambda name: not name.startswith("runner")):
            if self.processes[service].poll() is None:
                self.processes[service].send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

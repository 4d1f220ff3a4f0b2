"""A real PostgreSQL server for the tests: one per test session, a fresh database per test.

The server runs from Debian's binaries (``make setup`` installs the ``postgresql`` package when
they are missing) on a temporary directory and a free port on 127.0.0.1, with durability off
(``fsync``, ``synchronous_commit``, ``full_page_writes``) since its data dies with the session;
a ``durable`` server keeps ``synchronous_commit``, so that a crash of the server loses no commit.
PostgreSQL refuses to run as root, so under root the data directory belongs to the ``postgres``
user and the binaries run through ``runuser``.

Example::

    with PostgresServer.started(tmp_dir) as server:
        url = server.create_database("t1")
"""

from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Self

import psycopg
from psycopg import sql

START_TIMEOUT_S = 30
"""How long ``pg_ctl start`` may wait for the server to accept connections."""


def find_bindir() -> pathlib.Path:
    """The folder of PostgreSQL's server binaries (``initdb``, ``pg_ctl``).

    Looks at ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/*/bin``, then PATH.

    Raises:
        RuntimeError: no PostgreSQL server binaries are installed (run ``make setup``).
    """
    candidates: list[pathlib.Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(pathlib.Path(result.stdout.strip()))
    candidates += [
        pathlib.Path(path)
        for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    ]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(pathlib.Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise RuntimeError("PostgreSQL's server binaries are missing: run `make setup`")


def _version(path: str) -> int:
    name = pathlib.Path(path).parent.name
    return int(name) if name.isdigit() else 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server on a temporary directory, stopped and removed by ``stop``."""

    def __init__(
        self, root: pathlib.Path, bindir: pathlib.Path | None = None, *, durable: bool = False
    ) -> None:
        """A server to start on ``root`` (a new directory, or an empty one).

        Args:
            root: the directory of its data, sockets and log.
            bindir: the folder of PostgreSQL's binaries; found by ``find_bindir`` by default.
            durable: commits survive a crash of the server (``synchronous_commit`` on), for
                tests that stop it as a crash would and check that nothing committed is lost.
        """
        self.root = root
        self.durable = durable
        self.bindir = bindir or find_bindir()
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self.port = 0
        self._as_postgres = os.geteuid() == 0
        self._lock = threading.Lock()
        self._count = 0
        self._started_once = False

    @classmethod
    @contextlib.contextmanager
    def started(cls, root: pathlib.Path, *, durable: bool = False) -> Iterator[Self]:
        """A started server, stopped and removed when the block ends (also on failure)."""
        server = cls(root, durable=durable)
        try:
            server.start()
            yield server
        finally:
            server.stop()

    def url(self, database: str = "postgres") -> str:
        """The connection URL of a database on this server (user ``postgres``, trusted)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """initdb (the first time), then ``pg_ctl start``; waits until the server accepts.

        The first start picks a free port; a start after ``stop(remove=False)`` keeps the port
        and the data, as a server that comes back after an outage.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run(
                "initdb",
                *("-D", str(self.data), "-U", "postgres", "--auth=trust"),
                *("-E", "UTF8", "--locale=C", "--no-sync"),
            )
        for _attempt in range(5):
            if not self._started_once:
                self.port = free_port()
            options = (
                f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c full_page_writes=off -c max_connections=300"
                + ("" if self.durable else " -c synchronous_commit=off")
            )
            started = self._run(
                "pg_ctl",
                *("-D", str(self.data), "-l", str(self.log), "-o", options),
                *("-w", "-t", str(START_TIMEOUT_S), "start"),
                check=False,
            )
            if started.returncode == 0:
                self._started_once = True
                return
            # Another process took the port between the probe and the start: try another.
        raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text(errors='replace')}")

    def stop(self, *, remove: bool = True, mode: str = "immediate") -> None:
        """Stops the server at once, as a crash would (``pg_ctl stop -m immediate``).

        Args:
            remove: also remove its directory (its data is thrown away); False keeps it for
                ``start`` to bring the same server back.
            mode: ``pg_ctl``'s shutdown mode: ``immediate`` (a crash), or ``fast`` (an
                operator's stop: the sessions are ended, what is committed is kept).
        """
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection to a database of this server."""
        return psycopg.connect(self.url(database), autocommit=True)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Creates a database (a copy of ``template`` when given) and returns its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("{} TEMPLATE {} STRATEGY FILE_COPY").format(
                statement, sql.Identifier(template)
            )
        with self._lock, self.connect() as connection:
            # Copies of one template cannot be made at the same time: serialize them.
            connection.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops a database, ending the sessions still connected to it."""
        with self.connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def unique_name(self, prefix: str) -> str:
        """A database name not used before on this server."""
        with self._lock:
            self._count += 1
            return f"{prefix}_{self._count}"

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self.root)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")
        return result

"""The floors: what the machine allows for each path, measured beside it in the same run.

- a grpcio unary round trip on loopback (the Health check of the same `corral serve`);
- a pipe round trip: a small frame to a forked process over a Unix stream socket and back,
  as the runner host talks to a worker;
- a raw HTTP GET to the same local server the proxied GET reaches, one connection per request;
- the warm parent's isolated fork rate: workers forked by the runner's own warm parent
  (``runner.host._pool.WorkerPool``) with every containment layer this host has, each
  contained, ended and reaped, from several threads at once, as the runner does.

The two that fork run in a process of their own (``*_apart``): the benchmark's process holds
gRPC channels by then.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

_FRAME = b'{"op": "call", "rpc": "GetMetadata", "id": 1, "request": ""}'


def grpc_round_trips(address: str, count: int) -> list[float]:
    """Seconds of ``count`` Health checks on a channel of their own (after one to connect)."""
    channel = grpc.insecure_channel(address)
    stub = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest()
    stub.Check(request)
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        stub.Check(request)
        samples.append(time.perf_counter() - start)
    channel.close()
    return samples


def pipe_round_trips(count: int) -> list[float]:
    """Seconds of ``count`` round trips of a small frame to a forked echo process."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the echo child; no gRPC object is used here
        ours.close()
        while data := theirs.recv(65536):
            theirs.sendall(data)
        os._exit(0)
    theirs.close()
    samples = []
    try:
        for _ in range(count + 1):
            start = time.perf_counter()
            ours.sendall(_FRAME)
            _recv_exactly(ours, len(_FRAME))
            samples.append(time.perf_counter() - start)
    finally:
        ours.close()
        os.waitpid(pid, 0)
    return samples[1:]


def _recv_exactly(sock: socket.socket, size: int) -> None:
    got = 0
    while got < size:
        chunk = sock.recv(size - got)
        if not chunk:
            raise ConnectionError("the echo process hung up")
        got += len(chunk)


def raw_gets(url: str, count: int) -> list[float]:
    """Seconds of ``count`` GETs of ``url``, each on a new connection (as the server closes)."""
    parts = urllib.parse.urlsplit(url)
    samples = []
    for _ in range(count + 1):
        start = time.perf_counter()
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        connection.request("GET", parts.path or "/")
        connection.getresponse().read()
        connection.close()
        samples.append(time.perf_counter() - start)
    return samples[1:]


def isolated_fork_rate(count: int, threads: int = 4) -> tuple[float, dict[str, object]]:
    """Workers per second the warm parent forks, contains and reaps; and the layers on.

    Each worker is taken from a pool that keeps none idle (so every one is forked on demand),
    then its socket is closed: it finishes containing itself, reads the end of its socket and
    exits, and its exit status comes back through the warm parent.
    """
    # Imported here: the runner's modules are not needed by the other floors.
    from runner.host._containment import make_containment  # noqa: PLC0415
    from runner.host._pool import WorkerPool  # noqa: PLC0415
    from runner.host._warm import warm  # noqa: PLC0415

    contain, layers = make_containment(strict=False)
    pool = WorkerPool(contain, warm, prewarm=0)
    lock = threading.Lock()
    failed = 0

    def one(_: int) -> None:
        nonlocal failed
        worker = pool.take()
        worker.sock.close()
        status = pool.wait_status(worker.pid, 30)
        os.close(worker.pidfd)
        if status is None or not (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
            with lock:
                failed += 1

    try:
        for index in range(min(8, count)):  # warm-up: the first forks touch the parent's pages
            one(index)
        start = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool_threads:
            list(pool_threads.map(one, range(count)))
        elapsed = time.perf_counter() - start
    finally:
        pool.close()
    return count / elapsed, layers | {"failed": failed}


def _apart(what: str, count: int) -> Any:
    """A floor that forks, measured in a process of its own: this one holds gRPC channels, and
    a process with gRPC objects must not fork (STYLE.md 12)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.floors", what, str(count)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)


def isolated_fork_rate_apart(count: int) -> tuple[float, dict[str, object]]:
    """:func:`isolated_fork_rate` in a process of its own."""
    found = _apart("fork", count)
    return float(found["rate"]), dict(found["layers"])


def pipe_round_trips_apart(count: int) -> list[float]:
    """:func:`pipe_round_trips` in a process of its own."""
    return [float(x) for x in _apart("pipe", count)]


def _main(what: str, count: int) -> Any:
    if what == "pipe":
        return pipe_round_trips(count)
    rate, layers = isolated_fork_rate(count)
    return {"rate": rate, "layers": layers}


if __name__ == "__main__":
    print(json.dumps(_main(sys.argv[1], int(sys.argv[2]))))

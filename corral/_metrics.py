"""Prometheus metrics: the endpoint each process serves, and the latency interceptor.

Each process keeps its series in a ``CollectorRegistry`` of its own (never prometheus_client's
global one), so that what one test builds never shows in another's, and serves them over HTTP
on ``CORRAL_METRICS_ADDRESS`` (``corral serve``) or ``CORRAL_RUNNER_METRICS_ADDRESS``
(``corral runner``). Series are named ``corral_*``; their labels are bounded (kinds, outcomes,
method and operation names, environment names an operator creates), never run ids.
"""

from __future__ import annotations

import errno
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Histogram, start_http_server

from corral._interceptors import Behaviour, CallWrapper, StreamBehaviour
from corral._setting_checks import split_address
from corral.errors import InvalidRequest, Unavailable

__all__ = [
    "LATENCY_BUCKETS",
    "OTHER",
    "RUN_BUCKETS",
    "BoundedLabel",
    "LatencyInterceptor",
    "MetricsEndpoint",
    "listen_error",
    "serve_metrics",
    "timed",
]

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
"""Buckets, in seconds, of the short latencies: a store operation, an SDK callback."""

RUN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
"""Buckets, in seconds, of run durations: from a trivial action to an hour-long sync."""


OTHER = "other"
"""The label value of what falls outside a bounded set of values."""

_LABEL_VALUE = re.compile(r"[a-z][a-z0-9_]{0,47}")


class BoundedLabel:
    """Label values taken from data this process does not control (a rule a worker names):
    snake_case and at most ``limit`` distinct ones; any other value is ``other``."""

    def __init__(self, limit: int = 32) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """``value``, or ``other``."""
        if not _LABEL_VALUE.fullmatch(value):
            return OTHER
        with self._lock:
            if value not in self._seen and len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
        return value


class MetricsEndpoint:
    """The HTTP endpoint serving one registry (``/metrics``; any path answers the same)."""

    def __init__(self, server: Any, port: int) -> None:
        self._server = server
        self.port = port
        """The port bound (the one asked for, or the one chosen for port 0)."""

    def close(self) -> None:
        """Stops serving and frees the port."""
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(registry: CollectorRegistry, address: str, setting: str) -> MetricsEndpoint:
    """Serves ``registry`` over HTTP on ``address`` (``host:port``, from ``setting``).

    Raises:
        Unavailable: ``address_in_use``, another process listens on the port.
        InvalidRequest: ``invalid_setting``, the host is not an address of this machine, or
            the port needs privileges this process lacks.
    """
    host, port = split_address(address)
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise listen_error(exc, address, setting) from None
    return MetricsEndpoint(server, int(server.server_address[1]))


def listen_error(exc: OSError, address: str, setting: str, what: str = "metrics") -> Exception:
    """An HTTP endpoint's failure to listen on ``address`` (from ``setting``) as operators
    read it; ``what`` it serves names it."""
    if exc.errno == errno.EADDRINUSE:
        return Unavailable(
            f"cannot serve {what} on {address}: the port is in use ({setting}); stop the other"
            " process or choose another port",
            code="address_in_use",
            retryable=False,
        )
    if exc.errno == errno.EACCES:
        return InvalidRequest(
            f"{setting}: cannot serve {what} on {address}: the port needs privileges this"
            " process lacks; expected a port from 1024 up (or 0 for any)",
            code="invalid_setting",
        )
    return InvalidRequest(
        f"{setting}: cannot serve {what} on {address} ({exc.strerror or exc}); expected an"
        " address of this machine, such as 127.0.0.1:9464, or 0.0.0.0:9464 for all",
        code="invalid_setting",
    )


class LatencyInterceptor(CallWrapper):
    """Observes how long each call takes, by method (``SaveRecords``...), errors included.

    Placed first among a server's interceptors, it times what the caller waits for: the
    authentication and limits as well as the handler.
    """

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram

    def _child(self, method: str) -> Histogram:
        return self._histogram.labels(method=method.rpartition("/")[2])

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        child = self._child(method)

        def timed(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                return behaviour(request, context)
            finally:
                child.observe(time.perf_counter() - started)

        return timed

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        child = self._child(method)

        def timed(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            try:
                yield from behaviour(request, context)
            finally:
                child.observe(time.perf_counter() - started)

        return timed


def timed(observe: Callable[[float], None], call: Callable[..., Any]) -> Callable[..., Any]:
    """``call``, observing how long each call takes (failures included)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            observe(time.perf_counter() - started)

    return wrapper

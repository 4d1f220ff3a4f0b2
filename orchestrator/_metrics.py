"""The orchestrator's Prometheus series (``corral serve``; README, "Metrics").

One ``OrchestratorMetrics`` per process, with a registry of its own. What moves with each event
(a run ends, a proxied call returns, a callback or a store operation is timed) is a counter or a
histogram observed at one seam; what is a state (runs waiting, slots in use) is read from the
fair queue when Prometheus scrapes, so it costs nothing between scrapes.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from corral._listen import check_listen_address
from corral._metrics import (
    LATENCY_BUCKETS,
    RUN_BUCKETS,
    LatencyInterceptor,
    MetricsEndpoint,
    serve_metrics,
    timed,
)
from corral._settings import split_address
from corral.errors import RUN_ERROR_TYPES, InvalidRequest
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.storage import _areas

_log = structlog.get_logger("corral.metrics")

SUCCEEDED = "succeeded"
"""The outcome of a run that succeeded; any other is the run's error type."""
OTHER = "other"
"""The outcome, or proxy status, of what falls outside the bounded set of label values."""


class OrchestratorMetrics:
    """The series of one orchestrator process (see the module's docstring)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.runs = Counter(
            "corral_runs",
            "Runs ended, by kind, environment and outcome (succeeded, or the error type).",
            ["kind", "environment", "outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "corral_run_duration_seconds",
            "How long runs took from their slot to the runner's answer, by kind, environment"
            " and outcome.",
            ["kind", "environment", "outcome"],
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.proxy_calls = Counter(
            "corral_proxy_calls",
            "Functions' proxied HTTP calls, by the final status (or the error: network_error,"
            " egress_denied, too_large, refused).",
            ["status"],
            registry=self.registry,
        )
        self.callback_seconds = Histogram(
            "corral_callback_latency_seconds",
            "How long the runner callbacks (SDK calls) took to answer, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.store_seconds = Histogram(
            "corral_store_latency_seconds",
            "How long store operations took, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def run_ended(self, kind: str, environment: str, outcome: str, seconds: float | None) -> None:
        """Counts a run that ended; ``seconds`` from its slot (None: it never had one)."""
        outcome = outcome if outcome == SUCCEEDED or outcome in RUN_ERROR_TYPES else OTHER
        self.runs.labels(kind, environment, outcome).inc()
        if seconds is not None:
            self.run_seconds.labels(kind, environment, outcome).observe(seconds)

    def proxy_call(self, status: int | str) -> None:
        """Counts a proxied call by its final HTTP status, or by why it got none."""
        valid = isinstance(status, int) and 100 <= status <= 599
        self.proxy_calls.labels(str(status) if valid or isinstance(status, str) else OTHER).inc()

    def callback_interceptor(self) -> LatencyInterceptor:
        """The interceptor that times the callback server's calls (put it first)."""
        return LatencyInterceptor(self.callback_seconds)

    def watch_queue(self, queue: FairQueue, environment_name: Callable[[int], str]) -> None:
        """Reports the queue's depth by environment, and its slots, at each scrape."""
        self.registry.register(_QueueCollector(queue, environment_name))

    def watch_waiting(self, storage: WaitingCounts) -> None:
        """Reports the notifications and webhooks waiting in the store at each scrape."""
        self.registry.register(_WaitingCollector(storage))

    def time_store(self, storage: object) -> None:
        """Times every operation of ``storage`` from now on (the methods of the storage area
        protocols it has, run tokens included, each replaced on the instance by a timed one;
        the object and its type stay the same)."""
        for name in sorted(_store_operations()):
            method = getattr(storage, name, None)
            if callable(method):
                setattr(storage, name, timed(self._store_observer(name), method))

    def _store_observer(self, operation: str) -> Callable[[float], None]:
        """Observes one operation's latency; its series appears once it is first used."""
        child: list[Histogram] = []

        def observe(seconds: float) -> None:
            if not child:
                child.append(self.store_seconds.labels(operation))
            child[0].observe(seconds)

        return observe


def _store_operations() -> set[str]:
    """The operations of the storage areas (every protocol of ``_areas``, run tokens included;
    ``close`` belongs to the engine and is not one)."""
    names: set[str] = set()
    for cls in vars(_areas).values():
        if isinstance(cls, type) and cls.__module__ == _areas.__name__:
            names |= {
                name
                for name, value in vars(cls).items()
                if inspect.isfunction(value) and not name.startswith("_")
            }
    return names - {"close"}


class _QueueCollector(Collector):
    """``corral_runs_queued`` by environment, ``corral_run_slots_in_use`` and
    ``corral_run_slots``, read from the fair queue at each scrape."""

    def __init__(self, queue: FairQueue, environment_name: Callable[[int], str]) -> None:
        self._queue = queue
        self._name = environment_name
        self._seen: dict[int, str] = {}
        """Environments that had runs waiting: reported at 0 once they have none, not dropped."""
        self._lock = threading.Lock()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting, held, capacity = self._queue.snapshot()
        queued = GaugeMetricFamily(
            "corral_runs_queued",
            "Runs waiting for a slot, by environment.",
            labels=["environment"],
        )
        with self._lock:
            for env_id in waiting.keys() - self._seen.keys():
                self._seen[env_id] = self._environment(env_id)
            for env_id, name in sorted(self._seen.items()):
                queued.add_metric([name], waiting.get(env_id, 0))
        yield queued
        yield GaugeMetricFamily(
            "corral_run_slots_in_use", "Run slots held by runs (all environments).", value=held
        )
        yield GaugeMetricFamily(
            "corral_run_slots", "Run slots in all (CORRAL_MAX_CONCURRENT_RUNS).", value=capacity
        )

    def _environment(self, env_id: int) -> str:
        try:
            return self._name(env_id)
        except Exception:  # deleted since: its id still tells the runs apart
            return str(env_id)


class WaitingCounts(Protocol):
    """What ``_WaitingCollector`` reads of the store."""

    def notifications_waiting(self) -> int: ...

    def webhooks_waiting(self) -> int: ...


class _WaitingCollector(Collector):
    """``corral_notifications_waiting`` and ``corral_webhooks_waiting``, counted in the store at
    each scrape (the database's: every orchestrator of it reports the same)."""

    def __init__(self, storage: WaitingCounts) -> None:
        self._storage = storage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            notifications = self._storage.notifications_waiting()
            webhooks = self._storage.webhooks_waiting()
        except Exception:  # the store is away: the scrape goes on without these
            _log.warning("waiting notifications and webhooks not counted", exc_info=True)
            return
        yield GaugeMetricFamily(
            "corral_notifications_waiting",
            "Sync result notifications waiting in the store to be sent (or sent again).",
            value=notifications,
        )
        yield GaugeMetricFamily(
            "corral_webhooks_waiting",
            "Provider webhooks accepted and waiting in the store to be delivered.",
            value=webhooks,
        )


SETTING = "CORRAL_METRICS_ADDRESS or --metrics-address"
"""How errors name the setting of the metrics endpoint."""


def runner_metrics_addresses(address: str, runners: int) -> list[str]:
    """Where the local runners serve their metrics: the ports after the orchestrator's
    (9465, 9466... for 9464), or any port when the orchestrator's is 0."""
    host, _, port = address.rpartition(":")
    base = int(port)
    return [f"{host}:{base + 1 + index if base else 0}" for index in range(runners)]


def open_endpoint(metrics: OrchestratorMetrics, address: str, runners: int) -> MetricsEndpoint:
    """Serves the orchestrator's metrics on ``address``, once the ports of its ``runners``
    local runners are known to be free too.

    Raises:
        Unavailable: ``address_in_use``, a port is taken (the setting is named).
        InvalidRequest: ``invalid_setting``, an address this process cannot listen on.
    """
    endpoint = serve_metrics(metrics.registry, address, SETTING)
    try:
        for runner in runner_metrics_addresses(address, runners):
            _check_runner_port(runner, runners)
    except Exception:
        endpoint.close()
        raise
    return endpoint


def _check_runner_port(address: str, runners: int) -> None:
    host, port = split_address(address)
    if port > 65535:
        raise InvalidRequest(
            f"{SETTING}: the local runners' metrics would need port {port}; expected a port"
            f" at most {65535 - runners}",
            code="invalid_setting",
        )
    check_listen_address(host, port, SETTING, f"{SETTING}; the next ports are local runners'")

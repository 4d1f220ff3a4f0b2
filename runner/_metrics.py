"""A runner's Prometheus series (``corral runner``; README, "Metrics").

Workers busy and idle are read from the host when Prometheus scrapes; sandbox violations are
counted as runs end, by the rule broken. The rule comes from the worker, which runs untrusted
code, so its label values are bounded (``corral._metrics.BoundedLabel``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from corral._listen import check_listen_address
from corral._metrics import BoundedLabel, MetricsEndpoint, serve_metrics
from corral._setting_checks import split_address
from runner.host._host import Outcome, RunnerHost

SETTING = "CORRAL_RUNNER_METRICS_ADDRESS or --metrics-address"
"""How errors name the setting of the metrics endpoint."""

SECCOMP_RULE = "seccomp"
"""The rule of a worker the kernel killed for a system call outside the seccomp allow-list."""


class RunnerMetrics:
    """The series of one runner process (see the module's docstring)."""

    def __init__(self, host: RunnerHost, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.violations = Counter(
            "corral_sandbox_violations",
            "Runs ended by a sandbox violation, by the rule broken (seccomp: the kernel killed"
            " the worker for a forbidden system call).",
            ["rule"],
            registry=self.registry,
        )
        self._rule = BoundedLabel()
        self.registry.register(_WorkersCollector(host))

    def run_ended(self, outcome: Outcome) -> None:
        """Counts the run's violation, if it ended with one."""
        rule = violated_rule(outcome.error)
        if rule is not None:
            self.violations.labels(self._rule(rule)).inc()


def violated_rule(error: Mapping[str, Any] | None) -> str | None:
    """The rule a run's error says it broke (None: not a violation)."""
    if not error:
        return None
    payload = error.get("payload")
    payload = payload if isinstance(payload, Mapping) else {}
    if error.get("type") == "script_internal_error" and payload.get("signal") == "SIGSYS":
        return SECCOMP_RULE
    if error.get("type") != "sandbox_violation":
        return None
    rule = payload.get("rule")
    found = payload.get("violations")
    if rule is None and isinstance(found, list) and found and isinstance(found[0], Mapping):
        rule = found[0].get("rule")
    return rule if isinstance(rule, str) else "unknown"


class _WorkersCollector(Collector):
    """``corral_workers`` by state: busy (running a run) and idle (forked, waiting for one)."""

    def __init__(self, host: RunnerHost) -> None:
        self._host = host

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = self._host.status()
        workers = GaugeMetricFamily(
            "corral_workers", "Worker processes by state: busy or idle.", labels=["state"]
        )
        workers.add_metric(["busy"], int(status["runs_in_progress"]))
        workers.add_metric(["idle"], int(status["idle_workers"]))
        yield workers


def check_address(address: str) -> None:
    """Before the runner starts its warm parent: the metrics port is free ("": off).

    Raises:
        Unavailable: ``address_in_use``, naming the setting.
        InvalidRequest: ``invalid_setting``, an address this process cannot listen on.
    """
    if address:
        host, port = split_address(address)
        check_listen_address(host, port, SETTING, SETTING)


def open_endpoint(metrics: RunnerMetrics, address: str) -> MetricsEndpoint | None:
    """Serves the runner's metrics on ``address`` (None when it is "": off)."""
    return serve_metrics(metrics.registry, address, SETTING) if address else None

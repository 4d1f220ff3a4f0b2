"""The orchestrator's series: run outcomes bounded, proxied calls by status, the queue read at
scrape time, and every store operation timed on both engines without changing the store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client import REGISTRY, generate_latest

from corral._metrics import serve_metrics
from corral.errors import Unavailable
from orchestrator._metrics import OrchestratorMetrics, open_endpoint, runner_metrics_addresses
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.storage._areas import NewRun, Storage
from tests.orchestrator.storage_support import make_tenant, rec


def _value(metrics: OrchestratorMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_a_run_is_counted_by_kind_environment_and_outcome() -> None:
    metrics = OrchestratorMetrics()
    metrics.run_ended("action", "acme/prod", "succeeded", 0.2)
    metrics.run_ended("action", "acme/prod", "execution_timeout", 30.0)
    metrics.run_ended("sync", "acme/prod", "execution_cancelled", None)  # never had a slot
    labels = {"kind": "action", "environment": "acme/prod"}
    assert _value(metrics, "corral_runs_total", outcome="succeeded", **labels) == 1
    assert _value(metrics, "corral_runs_total", outcome="execution_timeout", **labels) == 1
    assert _value(metrics, "corral_run_duration_seconds_sum", outcome="succeeded", **labels) == 0.2
    sync = {"kind": "sync", "environment": "acme/prod", "outcome": "execution_cancelled"}
    assert _value(metrics, "corral_runs_total", **sync) == 1
    assert _value(metrics, "corral_run_duration_seconds_count", **sync) == 0


def test_an_outcome_outside_the_error_types_is_other() -> None:
    metrics = OrchestratorMetrics()
    for made_up in ("x" * 200, "run-123", "sql injection"):
        metrics.run_ended("action", "dev", made_up, 0.1)
    labels = {"kind": "action", "environment": "dev"}
    assert _value(metrics, "corral_runs_total", outcome="other", **labels) == 3


def test_proxied_calls_are_counted_by_status_or_by_why_none_came() -> None:
    metrics = OrchestratorMetrics()
    for status in (200, 200, 503, "network_error", 999):
        metrics.proxy_call(status)
    assert _value(metrics, "corral_proxy_calls_total", status="200") == 2
    assert _value(metrics, "corral_proxy_calls_total", status="503") == 1
    assert _value(metrics, "corral_proxy_calls_total", status="network_error") == 1
    assert _value(metrics, "corral_proxy_calls_total", status="other") == 1


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_the_queue_is_read_at_scrape_time_by_environment() -> None:
    metrics = OrchestratorMetrics()
    queue = FairQueue(capacity=1, limit_of=lambda env_id: 1)
    names = {1: "acme/prod"}
    metrics.watch_queue(queue, lambda env_id: names[env_id])  # env 2: deleted, shown by id
    release = threading.Event()
    try:
        queue.submit(1, lambda: release.wait(10), lambda: None)
        queue.submit(1, lambda: None, lambda: None)
        queue.submit(2, lambda: None, lambda: None)
        _until(lambda: _value(metrics, "corral_run_slots_in_use") == 1)
        assert _value(metrics, "corral_runs_queued", environment="acme/prod") == 1
        assert _value(metrics, "corral_runs_queued", environment="2") == 1
        assert _value(metrics, "corral_run_slots") == 1
        release.set()
        _until(lambda: _value(metrics, "corral_run_slots_in_use") == 0)
        # Still reported, at 0: a gauge that vanished would look like a scrape that failed.
        assert metrics.registry.get_sample_value("corral_runs_queued", {"environment": "2"}) == 0
    finally:
        release.set()
        queue.close()


def test_every_store_operation_is_timed_and_the_store_keeps_its_type(storage: Storage) -> None:
    kind = type(storage)
    metrics = OrchestratorMetrics()
    metrics.time_store(storage)
    assert type(storage) is kind
    tenant = make_tenant(storage)
    storage.save_records(tenant.scope(), [rec("1", title="a"), rec("2", title="b")])
    assert sorted(storage.get_records_by_id(tenant.scope(), ["1", "2"])) == ["1", "2"]

    def count(operation: str) -> float:
        return _value(metrics, "corral_store_latency_seconds_count", operation=operation)

    assert count("create_environment") == 1
    assert count("save_records") == 1  # one batch, one observation: nothing per record
    assert count("get_records_by_id") == 1
    assert count("close") == 0
    # Operations not used yet have no series: a scrape stays small.
    assert "list_records" not in generate_latest(metrics.registry).decode()


def test_a_process_registry_is_its_own() -> None:
    first, second = OrchestratorMetrics(), OrchestratorMetrics()
    first.proxy_call(200)
    assert _value(second, "corral_proxy_calls_total", status="200") == 0
    assert REGISTRY.get_sample_value("corral_proxy_calls_total", {"status": "200"}) is None


def test_local_runners_serve_their_metrics_on_the_next_ports() -> None:
    assert runner_metrics_addresses("127.0.0.1:9464", 2) == ["127.0.0.1:9465", "127.0.0.1:9466"]
    assert runner_metrics_addresses("[::1]:0", 2) == ["[::1]:0", "[::1]:0"]
    assert runner_metrics_addresses("0.0.0.0:9464", 0) == []


def test_the_endpoint_serves_the_registry_over_http() -> None:
    metrics = OrchestratorMetrics()
    metrics.proxy_call(204)
    endpoint = open_endpoint(metrics, "127.0.0.1:0", 0)
    try:
        text = httpx.get(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=5).text
        assert 'corral_proxy_calls_total{status="204"} 1.0' in text
        with pytest.raises(Unavailable) as caught:
            serve_metrics(metrics.registry, f"127.0.0.1:{endpoint.port}", "THE_SETTING")
        assert caught.value.code == "address_in_use"
        assert "THE_SETTING" in caught.value.message
    finally:
        endpoint.close()


def test_the_notifications_and_webhooks_waiting_are_counted_in_the_store_at_scrape_time(
    storage: Storage,
) -> None:
    metrics = OrchestratorMetrics()
    metrics.watch_waiting(storage)
    tenant = make_tenant(storage)
    assert metrics.registry.get_sample_value("corral_notifications_waiting") == 0  # present
    assert metrics.registry.get_sample_value("corral_webhooks_waiting") == 0
    url = {"notifications": {"url": "https://hooks.example.com/x", "secret": "s"}}
    storage.set_environment_settings(tenant.env_id, url)
    for _ in range(2):
        run = storage.create_run(
            tenant.env_id, NewRun("items", "github", "sync", "conn-1", "", "{}", started=True)
        )
        storage.finish_run(run.run_id, True, "null", None)
    storage.queue_webhook(tenant.env_id, "github", "push", "{}", now=time.time(), most=10)
    assert _value(metrics, "corral_notifications_waiting") == 2
    assert _value(metrics, "corral_webhooks_waiting") == 1


def test_a_store_that_cannot_count_leaves_the_rest_of_the_scrape() -> None:
    class Away:
        def notifications_waiting(self) -> int:
            raise Unavailable("the store is away", code="storage_unavailable")

        def webhooks_waiting(self) -> int:
            raise Unavailable("the store is away", code="storage_unavailable")

    metrics = OrchestratorMetrics()
    metrics.watch_waiting(Away())
    metrics.proxy_call(200)
    text = generate_latest(metrics.registry).decode()
    assert "corral_notifications_waiting" not in text
    assert 'corral_proxy_calls_total{status="200"} 1.0' in text

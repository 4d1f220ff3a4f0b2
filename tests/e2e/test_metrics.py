"""The Prometheus endpoints of a real ``corral serve`` and of its runner, scraped over HTTP while
real runs go through: the series move as actions, syncs, proxied calls, callbacks, store
operations, queued runs and sandbox violations happen."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from corral.cli import Client
from corral.errors import RunFailure
from tests.e2e.sdk_helpers import action, records, setup, sync
from tests.support.fake_api import FakeApi, Seen, running_fake_api
from tests.support.service import Service, create_environment, running_service

FETCH = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/item').data

action = create_action(description='one proxied call', exec=run)
"""
SLOW = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/slow').data

action = create_action(description='waits for a slow API', exec=run)
"""
ITEMS = """
from nango import create_sync
from pydantic import BaseModel

class Item(BaseModel):
    id: str

def fetch(nango):
    nango.batch_save([{'id': str(i)} for i in range(3)], 'Item')

sync = create_sync(description='items', frequency='every hour', auto_start=False,
                   models={'Item': Item}, exec=fetch)
"""
SNEAKY = """
from nango import create_action

def run(nango, input):
    name = '_' + 'dict' + '_'
    return getattr(nango, name)

action = create_action(description='reaches for a private attribute', exec=run)
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample of an endpoint, by name and labels."""
    text = httpx.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when the series is not there yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    """The sum of a sample over all its labels."""
    return sum(v for (n, _), v in samples.items() if n == name)


def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def free_port_pair() -> int:
    """A port that is free, with the next one free too (the orchestrator's and its runner's)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free ports")


@dataclass
class Metered:
    service: Service
    orchestrator: str
    runner: str
    client: Client
    api: FakeApi
    release: threading.Event


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Metered]:
    port = free_port_pair()
    data_dir = tmp_path_factory.mktemp("metrics") / "data"
    release = threading.Event()

    def slow(_seen: Seen) -> tuple[int, Any, dict[str, str]]:
        release.wait(30)
        return 200, {"slow": True}, {}

    with (
        running_fake_api() as api,
        running_service(data_dir, CORRAL_METRICS_ADDRESS=f"127.0.0.1:{port}") as service,
    ):
        api.route("GET", "/item", body={"id": 1})
        api.routes[("GET", "/slow")] = slow
        key = create_environment(service, "metered", {"concurrency": {"runs": 1}})
        with Client(service.address, key, timeout=60) as client:
            files = {"fetch.py": FETCH, "slow.py": SLOW, "items.py": ITEMS, "sneaky.py": SNEAKY}
            setup(client, "t", files, api.url)
            yield Metered(
                service,
                f"http://127.0.0.1:{port}/metrics",
                f"http://127.0.0.1:{port + 1}/metrics",
                client,
                api,
                release,
            )
            release.set()
    assert service.process.returncode == 0, pathlib.Path(service.stderr_path).read_text()[-2000:]


def test_runs_proxy_callbacks_and_store_move(metered: Metered) -> None:
    before = scrape(metered.orchestrator)
    run = {"environment": "metered", "outcome": "succeeded"}

    assert action(metered.client, "fetch") == {"id": 1}
    sync(metered.client, "items")
    assert set(records(metered.client, "Item")) == {"0", "1", "2"}

    after = scrape(metered.orchestrator)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("corral_runs_total", kind="action", **run) == 1
    assert moved("corral_runs_total", kind="sync", **run) == 1
    assert moved("corral_run_duration_seconds_count", kind="action", **run) == 1
    assert moved("corral_run_duration_seconds_count", kind="sync", **run) == 1
    assert value(after, "corral_runs_total", kind="describe", **run) >= 1  # the deploy
    assert moved("corral_proxy_calls_total", status="200") == 1
    assert moved("corral_callback_latency_seconds_count", method="Proxy") == 1
    assert moved("corral_callback_latency_seconds_count", method="BatchSave") == 1
    assert moved("corral_store_latency_seconds_count", operation="save_records") == 1
    assert moved("corral_store_latency_seconds_count", operation="finish_run") >= 2
    store = "corral_store_latency_seconds_count"
    assert total(after, store) > total(before, store)
    assert value(after, "corral_run_slots") == 64


def test_workers_and_the_queue_show_runs_in_flight(metered: Metered) -> None:
    # CORRAL_PREWARM_WORKERS is 1 (tests/support/service.py): one worker forked ahead.
    until(lambda: value(scrape(metered.runner), "corral_workers", state="idle") == 1)
    assert value(scrape(metered.runner), "corral_workers", state="busy") == 0
    failures: list[BaseException] = []

    def slow_action() -> None:
        try:
            action(metered.client, "slow")
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=slow_action) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        # The environment's run limit is 1: one run on a worker, the other waiting its turn.
        until(lambda: value(scrape(metered.runner), "corral_workers", state="busy") == 1)
        until(
            lambda: (
                value(scrape(metered.orchestrator), "corral_runs_queued", environment="metered")
                == 1
            )
        )
        assert value(scrape(metered.orchestrator), "corral_run_slots_in_use") == 1
    finally:
        metered.release.set()
        for thread in threads:
            thread.join(timeout=60)
    assert failures == []
    until(lambda: value(scrape(metered.runner), "corral_workers", state="busy") == 0)
    after = scrape(metered.orchestrator)
    assert value(after, "corral_runs_queued", environment="metered") == 0
    assert value(after, "corral_run_slots_in_use") == 0


def test_a_sandbox_violation_is_counted_by_rule(metered: Metered) -> None:
    before = scrape(metered.runner)
    with pytest.raises(RunFailure) as caught:
        action(metered.client, "sneaky")
    assert caught.value.code == "sandbox_violation"
    after = scrape(metered.runner)
    rule = {"rule": "private_attribute"}
    name = "corral_sandbox_violations_total"
    assert value(after, name, **rule) - value(before, name, **rule) == 1
    outcome = {"kind": "action", "environment": "metered", "outcome": "sandbox_violation"}
    assert value(scrape(metered.orchestrator), "corral_runs_total", **outcome) == 1


@contextlib.contextmanager
def taken_port(*, free_before: bool = False, free_after: bool = False) -> Iterator[int]:
    """A port another process (this one) listens on; ``free_before``, ``free_after``: one whose
    previous, or next, port is free (so that the error can only be about this one)."""
    for _ in range(50):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            port = int(holder.getsockname()[1])
            if (free_before and not _free(port - 1)) or (free_after and not _free(port + 1)):
                continue
            holder.listen()
            yield port
            return
    raise RuntimeError("no port found")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _corral(*args: str, data_dir: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    env |= {"CORRAL_PORT": "0", "CORRAL_DATA_DIR": str(data_dir), "CORRAL_LOG_FORMAT": "json"}
    return subprocess.run(
        [sys.executable, "-m", "corral", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_clear_line(result: subprocess.CompletedProcess[str], command: str) -> str:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith(f"corral {command}:")]
    return line


def test_serve_with_its_metrics_port_in_use_fails_in_one_line(tmp_path: pathlib.Path) -> None:
    with taken_port(free_after=True) as port:
        result = _corral("serve", "--metrics-address", f"127.0.0.1:{port}", data_dir=tmp_path)
    line = _one_clear_line(result, "serve")
    assert "address_in_use" in line
    assert f"127.0.0.1:{port}" in line
    assert "CORRAL_METRICS_ADDRESS" in line
    assert not (tmp_path / "corral.db").exists()  # nothing started


def test_serve_with_a_local_runners_metrics_port_in_use_fails_in_one_line(
    tmp_path: pathlib.Path,
) -> None:
    with taken_port(free_before=True) as port:
        address = f"127.0.0.1:{port - 1}"
        result = _corral("serve", "--metrics-address", address, data_dir=tmp_path)
    line = _one_clear_line(result, "serve")
    assert "address_in_use" in line
    assert f"127.0.0.1:{port}" in line
    assert "CORRAL_METRICS_ADDRESS" in line


def test_a_runner_with_its_metrics_port_in_use_fails_in_one_line(tmp_path: pathlib.Path) -> None:
    with taken_port() as port:
        result = _corral(
            "runner",
            *("--callbacks", "127.0.0.1:1", "--metrics-address", f"127.0.0.1:{port}"),
            data_dir=tmp_path,
        )
    line = _one_clear_line(result, "runner")
    assert "address_in_use" in line
    assert "CORRAL_RUNNER_METRICS_ADDRESS" in line


def test_a_malformed_metrics_address_is_a_setting_error(tmp_path: pathlib.Path) -> None:
    result = _corral("serve", "--metrics-address", "9464", data_dir=tmp_path)
    assert result.returncode != 0
    assert "CORRAL_METRICS_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr

"""Every row on one engine: a real `corral serve` and a local HTTP server, measured in turn."""

from __future__ import annotations

import pathlib
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from bench import _functions as f
from bench import actions, processes, profile, saves, tenants
from bench._rows import Row
from corral._settings import ServeSettings
from corral.cli import Client
from tests.support.fake_api import FakeApi, running_fake_api
from tests.support.service import Service, running_service

_T = TypeVar("_T")


@dataclass(frozen=True)
class Plan:
    """How much of everything to measure."""

    sizes: actions.Sizes = field(default_factory=actions.Sizes)
    load: tenants.Load = field(default_factory=tenants.Load)
    records: int = 20_000
    repeat: int = 3
    pages: int = 500
    only: frozenset[str] = frozenset()
    """Row groups to measure (empty: all)."""
    profile: str = ""
    """The step to profile with py-spy (``bench.profile.STEPS``; "": none)."""
    profiles: pathlib.Path | None = None
    """Where profiles go."""


@dataclass
class Served:
    """What the rows measure: the serve, a client of its first environment, the local API."""

    service: Service
    client: Client
    api: FakeApi
    database_url: str


@contextmanager
def served(data_dir: pathlib.Path, database_url: str) -> Iterator[Served]:
    """A `corral serve` with the product's defaults (and private addresses allowed: the local
    API is on loopback), its functions deployed."""
    settings = {
        "CORRAL_PREWARM_WORKERS": str(ServeSettings.model_fields["prewarm_workers"].default)
    }
    if database_url:
        settings["CORRAL_DATABASE_URL"] = database_url
    with (
        running_fake_api() as api,
        running_service(data_dir, banner=True, **settings) as service,
        Client(service.address, service.secret_key, timeout=600) as client,
    ):
        saves.serve_pages(api, 1)
        f.deploy(client, api.url)
        yield Served(service, client, api, database_url)


def rows(engine: str, database_url: str, plan: Plan, floor: saves.FloorSeconds) -> list[Row]:
    """Every row of ``plan`` on one engine (``database_url`` "" for SQLite)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        served(pathlib.Path(tmp) / "data", database_url) as s,
    ):
        out = _measure(s, plan, floor)
    for row in out:
        row.engine = engine
    return out


def _wanted(plan: Plan, group: str) -> bool:
    return not plan.only or group in plan.only


def _measure(s: Served, plan: Plan, floor: saves.FloorSeconds) -> list[Row]:
    step = _Steps(s, plan)
    out, grpc_rtt = step.run(
        "trivial", lambda: actions.trivial(s.client, s.service.address, plan.sizes)
    )
    time.sleep(1.0)  # the pool's idle workers refilled after the last run
    idle = processes.Snapshot()
    idle.take(s.service.process.pid)
    out += processes.rows(idle, "idle")
    with processes.Sampler(s.service.process.pid) as sampler:
        out.append(step.run("throughput", lambda: actions.throughput(s.client, plan.sizes)))
        if _wanted(plan, "tenants"):
            out += step.run("tenants", lambda: _tenants(s, plan))
    out += processes.rows(sampler.snapshot, "under load")
    if _wanted(plan, "actions"):
        out.append(step.run("callback", lambda: actions.callback(s.client, grpc_rtt, plan.sizes)))
        out.append(
            step.run("get", lambda: actions.proxied_get(s.client, grpc_rtt, _ping(s), plan.sizes))
        )
    if _wanted(plan, "records"):
        out += step.run(
            "records", lambda: saves.batch_save(s.client, plan.records, plan.repeat, floor)
        )
    if _wanted(plan, "sync"):
        out += step.run("sync", lambda: saves.full_sync(s.client, s.api, plan.pages, floor))
    return out


class _Steps:
    """Runs each step, under py-spy when it is the one ``--profile`` names."""

    def __init__(self, s: Served, plan: Plan) -> None:
        self._pid = s.service.process.pid
        self._plan = plan
        self._engine = "postgresql" if s.database_url else "sqlite"

    def run(self, name: str, step: Callable[[], _T]) -> _T:
        output = None
        if self._plan.profile == name and self._plan.profiles is not None:
            output = self._plan.profiles / f"{self._engine}-{name}-{int(time.time())}.json"
        with profile.profiled(self._pid, output):
            return step()


def _ping(s: Served) -> str:
    return f"{s.api.url}/ping"


def _tenants(s: Served, plan: Plan) -> list[Row]:
    keys = tenants.environments(s.service.data_dir, s.database_url, plan.load.environments)
    return tenants.concurrent_runs(s.service.address, keys, s.api.url, plan.load)

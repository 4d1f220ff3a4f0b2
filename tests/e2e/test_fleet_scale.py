"""The fleet at scale on this machine: one PostgreSQL, two ``corral serve`` and three
``corral runner --orchestrator`` as separate processes, all over mutual TLS.

500 actions and 20 syncs go through both orchestrators; mid-way one runner is killed (kill -9
of it and of every process below it). Then, read from the runs table and the fake upstream:

- every run ends exactly once (one terminal state, nothing left queued or running, and no
  action or sync page reached the upstream twice);
- the killed runner's runs ended as ``runner_lost`` (it held syncs when it was killed);
- only runs in flight on it are lost: one sent to it after the kill, before it counts as
  silent, never reached it and goes to another runner; runs placed once it is out of
  placement succeed on the other two runners;
- no committed data is lost: every sync that succeeded has all its records, none twice, and a
  sync lost with the runner resumes from its checkpoint when run again.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from corral.cli import Client
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb
from tests.e2e.test_recovery import _gone, _tree
from tests.support.fake_api import FakeApi, Seen, running_fake_api
from tests.support.fleet import JOIN_SECRET, Runner, fleet, joined_runner, wait_until
from tests.support.postgres import PostgresServer, free_port
from tests.support.service import running_service

pytestmark = pytest.mark.slow

ACTIONS = 500
SYNCS = 20
PAGES = 3
"""Pages of each sync (the sync's source says 3)."""
PER_PAGE = 5
CLIENTS = 16
LOST_AFTER = 2.0

HIT = """
from nango import create_action

def run(nango, input):
    return nango.get(endpoint='/hit', params={'n': input['n']}).data

action = create_action(description='one upstream call', exec=run)
"""

PAGED = """
from nango import create_sync

def fetch(nango):
    page = (nango.get_checkpoint() or {}).get('page', 0)
    while page < 3:
        items = nango.get(endpoint='/page', params={'page': page}).data['items']
        nango.batch_save(items, 'Item')
        page += 1
        nango.save_checkpoint({'page': page})

sync = create_sync(description='pages', frequency='every hour', auto_start=False, exec=fetch)
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``corral certs`` printed: the files and the settings of each process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    made = subprocess.run(
        [sys.executable, "-m", "corral", "certs", str(tmp_path_factory.mktemp("tls") / "c")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(made.stdout))


class Upstream:
    """The fake API: ``/hit?n=N`` answers at once; ``/{conn}/page?page=P`` answers the page's
    records, and page 1 waits for ``pages_open`` (so the syncs are in flight at the kill)."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.pages_open = threading.Event()
        api.routes[("GET", "/hit")] = self._hit
        for c in range(SYNCS):
            api.routes[("GET", f"/c{c}/page")] = self._page

    @staticmethod
    def _query(seen: Seen, name: str) -> str:
        return parse_qs(urlsplit(seen.path).query)[name][0]

    def _hit(self, seen: Seen) -> tuple[int, object, dict[str, str]]:
        return 200, {"n": int(self._query(seen, "n"))}, {}

    def _page(self, seen: Seen) -> tuple[int, object, dict[str, str]]:
        page = int(self._query(seen, "page"))
        if page == 1:
            self.pages_open.wait(120)
        items = [{"id": f"{page}-{i}"} for i in range(PER_PAGE)]
        return 200, {"items": items}, {}

    def hits(self) -> Counter[int]:
        seen = list(self.api.seen)
        return Counter(int(self._query(s, "n")) for s in seen if s.path.startswith("/hit?"))

    def pages(self) -> Counter[tuple[str, int]]:
        seen = list(self.api.seen)
        return Counter(
            (s.path.split("/")[1], int(self._query(s, "page"))) for s in seen if "/page?" in s.path
        )


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with running_fake_api() as api:
        up = Upstream(api)
        try:
            yield up
        finally:
            up.pages_open.set()


def _kill_tree(runner: Runner) -> None:
    """kill -9 of the runner and every process below it (warm parent, workers)."""
    pids = _tree(runner.process.pid)
    assert len(pids) >= 2, pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    runner.process.wait(timeout=10)
    wait_until(lambda: all(_gone(pid) for pid in pids), timeout=10)


def _outcome_of(call: Any, *args: Any) -> str:
    """``ok``, or the error type of ``call(*args)``."""
    try:
        call(*args)
    except CorralError as err:
        return err.code
    return "ok"


def _outcome(call: futures.Future[Any]) -> str:
    """``ok``, or the error type a run ended with."""
    try:
        call.result(timeout=120)
    except CorralError as err:
        return err.code
    return "ok"


def _action(client: Client, n: int) -> pb.TriggerActionResponse:
    request = pb.TriggerActionRequest(
        action_name="hit", connection_id="a", input_json=json.dumps({"n": n})
    )
    response: pb.TriggerActionResponse = client.call("TriggerAction", request, timeout=120)
    assert json.loads(response.output_json) == {"n": n}
    return response


def _sync(client: Client, c: int) -> pb.TriggerSyncResponse:
    request = pb.TriggerSyncRequest(sync_name="paged", connection_id=f"c{c}")
    response: pb.TriggerSyncResponse = client.call("TriggerSync", request, timeout=120)
    return response


def _records(client: Client, c: int) -> list[str]:
    request = pb.ListRecordsRequest(connection_id=f"c{c}", model="Item", limit=1000)
    return [json.loads(r.json)["id"] for r in client.call("ListRecords", request).records]


def _runs(url: str) -> list[tuple[str, str, str, str, dict[str, Any] | None]]:
    with psycopg.connect(url, autocommit=True) as db:
        rows = db.execute(
            "SELECT run_id, kind, connection_id, state, error FROM runs ORDER BY id"
        ).fetchall()
    return [(str(a), str(b), str(c), str(d), e) for a, b, c, d, e in rows]


def _deploy(on_a: Client, on_b: Client, upstream: Upstream) -> None:
    """The action and the sync on A; their connections on B (one store)."""
    files = {"hit.py": HIT, "paged.py": PAGED}
    on_a.call("Deploy", pb.DeployRequest(integration="shop", files=files))
    for name, base in [("a", upstream.api.url)] + [
        (f"c{c}", f"{upstream.api.url}/c{c}") for c in range(SYNCS)
    ]:
        on_b.call(
            "CreateConnection",
            pb.CreateConnectionRequest(integration="shop", connection_id=name, base_url=base),
        )


def _check_ended_once(
    url: str,
    victim: str,
    outcomes: dict[int, str],
    sync_outcomes: dict[int, str],
    upstream: Upstream,
) -> list[int]:
    """Each run ended once, the failed ones as runner_lost on ``victim``; the lost syncs."""
    # Every run ended, once: one terminal state each, nothing left queued or running.
    runs = _runs(url)
    assert len(runs) == ACTIONS + SYNCS
    assert len({r[0] for r in runs}) == len(runs)
    assert Counter(r[3] for r in runs).keys() <= {"succeeded", "failed"}, Counter(
        r[3] for r in runs
    )
    failed = [r for r in runs if r[3] == "failed"]
    assert failed, "the victim held syncs: some runs must have been lost"
    for _run_id, _kind, _conn, _state, error in failed:
        assert error is not None
        assert error["type"] == "runner_lost", error
        assert victim in error["message"], error
    # What each caller got is what the runs table says.
    assert sum(o != "ok" for o in outcomes.values()) + sum(
        o != "ok" for o in sync_outcomes.values()
    ) == len(failed)
    assert set(outcomes.values()) | set(sync_outcomes.values()) <= {"ok", "runner_lost"}
    # Only runs in flight on the victim are lost (at most one per client): a run sent to it
    # after the kill never reached it, and went to another runner.
    assert sum(o != "ok" for o in outcomes.values()) <= CLIENTS, Counter(outcomes.values())
    lost_syncs = [c for c, o in sync_outcomes.items() if o == "runner_lost"]
    assert lost_syncs, "the victim held the most syncs when it was killed"

    # No run executed twice: each action reached the upstream once (a lost one at most
    # once), each sync page once.
    hits = upstream.hits()
    assert all(hits[n] == 1 for n, o in outcomes.items() if o == "ok"), hits
    assert max(hits.values()) == 1
    assert max(upstream.pages().values()) == 1
    return lost_syncs


def _check_survivors(
    clients: tuple[Client, Client],
    survivors: set[str],
    placed_after: set[int],
    outcomes: dict[int, str],
) -> None:
    """The others carried the load, and are idle at the end."""
    # The others carried the load: every action placed once the victim was out succeeded.
    assert placed_after
    assert all(outcomes[n] == "ok" for n in placed_after)
    for client in clients:
        now = fleet(client)
        assert all(now[address].state == "ready" for address in survivors)
        wait_until(  # their heartbeats say so within a second
            lambda c=client: all(fleet(c)[address].runs_in_progress == 0 for address in survivors)
        )


def _check_committed_data(
    clients: tuple[Client, Client],
    sync_outcomes: dict[int, str],
    lost_syncs: list[int],
    upstream: Upstream,
) -> None:
    """Every sync's records are there; a lost one resumes from its checkpoint."""
    # Committed data: every sync that succeeded has all its records, none twice; a lost
    # sync kept page 0 and its checkpoint, and a rerun resumes from page 1.
    everything = sorted(f"{p}-{i}" for p in range(PAGES) for i in range(PER_PAGE))
    for c, outcome in sync_outcomes.items():
        ids = _records(clients[c % 2], c)
        if outcome == "ok":
            assert sorted(ids) == everything, (c, ids)
        else:
            assert sorted(ids) == [f"0-{i}" for i in range(PER_PAGE)], (c, ids)
    reruns = [_outcome_of(_sync, clients[c % 2], c) for c in lost_syncs]
    assert reruns == ["ok"] * len(lost_syncs)
    pages = upstream.pages()
    for c in lost_syncs:
        assert sorted(_records(clients[0], c)) == everything
        assert pages[(f"c{c}", 0)] == 1  # resumed at page 1: page 0 was not fetched again


def test_500_actions_and_20_syncs_on_two_orchestrators_and_three_runners_with_one_killed(
    tmp_path: pathlib.Path,
    postgres_server: PostgresServer,
    certs: dict[str, Any],
    upstream: Upstream,
) -> None:
    started = time.monotonic()
    url = postgres_server.create_database(postgres_server.unique_name("fleet"))
    ports = [free_port(), free_port()]
    callbacks = [f"127.0.0.1:{port}" for port in ports]

    def serve(name: str, port: int, banner: bool) -> Any:
        return running_service(
            tmp_path / name,
            banner=banner,
            CORRAL_DATABASE_URL=url,
            CORRAL_RUNNERS="0",
            CORRAL_JOIN_SECRET=JOIN_SECRET,
            CORRAL_CALLBACK_PORT=str(port),
            CORRAL_RUNNER_LOST_SECONDS=str(LOST_AFTER),
            **certs["serve"],
        )

    ca = pathlib.Path(certs["files"]["ca"]).read_bytes()
    pool = futures.ThreadPoolExecutor(CLIENTS + SYNCS)
    with (
        serve("a", ports[0], True) as a,
        serve("b", ports[1], False) as b,
        joined_runner(tmp_path / "r1", callbacks[0], **certs["runner"]) as r1,
        joined_runner(tmp_path / "r2", callbacks[1], **certs["runner"]) as r2,
        joined_runner(tmp_path / "r3", callbacks[0], **certs["runner"]) as r3,
        Client(a.address, a.secret_key, tls_ca=ca) as on_a,
        Client(b.address, a.secret_key, tls_ca=ca) as on_b,
    ):
        clients = (on_a, on_b)
        runners = {r.address: r for r in (r1, r2, r3)}
        # The registry is shared: each orchestrator places on all three runners, whichever one
        # each runner's heartbeats reach.
        for client in clients:
            wait_until(
                lambda c=client: (
                    {k for k, v in fleet(c).items() if v.state == "ready"} == set(runners)
                )
            )
        for runner in runners.values():
            assert '"transport": "mtls"' in runner.stderr_path.read_text()

        _deploy(on_a, on_b, upstream)

        # The 20 syncs, half on each orchestrator: each saves page 0 and its checkpoint, then
        # waits on page 1; so every runner holds syncs when one is killed.
        syncs = {c: pool.submit(_sync, clients[c % 2], c) for c in range(SYNCS)}
        wait_until(lambda: sum(p == 1 for _c, p in upstream.pages()) == SYNCS, timeout=60)
        wait_until(lambda: sum(r.runs_in_progress for r in fleet(on_a).values()) == SYNCS)
        load = {k: v.runs_in_progress for k, v in fleet(on_a).items()}
        assert all(load.values()), load  # spread by load: every runner has some
        victim = runners[max(load, key=lambda k: load[k])]
        survivors = set(runners) - {victim.address}

        # 500 actions from 16 clients over both orchestrators; the victim dies mid-way.
        done = threading.Semaphore(0)
        placed_after: set[int] = set()
        lost_seen = threading.Event()

        def act(n: int) -> pb.TriggerActionResponse:
            after = lost_seen.is_set()
            try:
                return _action(clients[n % 2], n)
            finally:
                if after:
                    placed_after.add(n)
                done.release()

        actions = {n: pool.submit(act, n) for n in range(ACTIONS)}
        for _ in range(ACTIONS // 2):
            assert done.acquire(timeout=60)
        _kill_tree(victim)
        killed_at = time.monotonic()
        upstream.pages_open.set()  # the survivors' syncs go on
        for client in clients:
            wait_until(
                lambda c=client: fleet(c)[victim.address].state == "lost", timeout=LOST_AFTER + 8
            )
        lost_seen.set()
        assert time.monotonic() - killed_at < LOST_AFTER + 8
        outcomes = {n: _outcome(f) for n, f in actions.items()}
        sync_outcomes = {c: _outcome(f) for c, f in syncs.items()}
        ran_for = time.monotonic() - started

        lost_syncs = _check_ended_once(url, victim.address, outcomes, sync_outcomes, upstream)

        _check_survivors(clients, survivors, placed_after, outcomes)
        _check_committed_data(clients, sync_outcomes, lost_syncs, upstream)
    pool.shutdown(wait=False, cancel_futures=True)
    lost = sum(o == "runner_lost" for o in outcomes.values())
    print(  # what the run measured, with -s
        f"fleet: {ACTIONS} actions and {SYNCS} syncs in {ran_for:.1f} s; lost with the runner:"
        f" {lost} actions, {len(lost_syncs)} syncs; {len(placed_after)} actions placed after"
    )

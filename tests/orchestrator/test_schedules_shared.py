"""Schedules fire exactly once across orchestrators: three ``PostgresStorage`` instances on one
database (three orchestrators' stores) claim due schedules at the same moments of a manual
clock; N slots give N runs of each schedule, none twice, none skipped, also after one of them
stops claiming midway (its orchestrator died)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent import futures
from datetime import timedelta

from orchestrator.storage._areas import NewRun
from orchestrator.storage._pg import PostgresStorage
from tests.orchestrator.storage_support import START, Clock, make_tenant
from tests.support.postgres import PostgresServer

SCHEDULES = 6
SLOTS = 10
FREQUENCY = 60.0
ORCHESTRATORS = 3


def test_three_orchestrators_claim_each_slot_once(
    postgres_server: PostgresServer, postgres_template: str
) -> None:
    url = postgres_server.create_database(
        postgres_server.unique_name("sched"), template=postgres_template
    )
    stores = [PostgresStorage(url, clock=Clock()) for _ in range(ORCHESTRATORS)]
    pool = futures.ThreadPoolExecutor(ORCHESTRATORS)
    try:
        tenant = make_tenant(stores[0])
        for index in range(SCHEDULES):
            stores[0].ensure_schedule(
                tenant.env_id,
                "conn-1",
                f"sync{index}",
                "base",
                frequency_seconds=FREQUENCY,
                state="running",
            )
        claims: Counter[tuple[int, int]] = Counter()
        lock = threading.Lock()

        def orchestrate(store: PostgresStorage, slot: int, ready: threading.Barrier) -> None:
            now = START + timedelta(hours=1, seconds=slot * FREQUENCY)
            ready.wait(10)  # all claim at the same moment
            for schedule in store.claim_due_schedules(now):
                run = store.create_run(
                    tenant.env_id,
                    NewRun(schedule.sync_name, "github", "sync", "conn-1", "base", "null"),
                )
                store.set_schedule_last_run(schedule.schedule_id, run.run_id)
                store.finish_run(run.run_id, True, "null", None)
                with lock:
                    claims[(schedule.schedule_id, slot)] += 1

        for slot in range(SLOTS):
            alive = stores if slot < SLOTS // 2 else stores[:-1]  # the last one dies midway
            ready = threading.Barrier(len(alive))
            done = [pool.submit(orchestrate, store, slot, ready) for store in alive]
            for future in done:
                future.result(30)

        schedule_ids = {s.schedule_id for s in stores[0].list_schedules(tenant.env_id)}
        assert len(schedule_ids) == SCHEDULES
        expected = {(sid, slot): 1 for sid in schedule_ids for slot in range(SLOTS)}
        assert dict(claims) == expected  # each slot of each schedule once: none twice or skipped
        for index in range(SCHEDULES):
            runs = stores[0].list_runs(tenant.env_id, function_name=f"sync{index}")
            assert len(runs) == SLOTS
    finally:
        pool.shutdown()
        for store in stores:
            store.close()

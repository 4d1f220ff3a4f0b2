"""A run's record counts, kept by the store in each write's transaction (every engine): added
up by model whichever orchestrator wrote, nothing for a write that changed nothing or failed,
bounded, deleted with the run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from corral._budgets import Budgets
from corral.errors import ResourceExhausted
from orchestrator.storage import _run_counts
from orchestrator.storage._areas import NewRun, Storage
from tests.orchestrator.storage_support import START, Tenant, rec


def _run(storage: Storage, tenant: Tenant) -> str:
    run = storage.create_run(tenant.env_id, NewRun("items", "github", "sync", "conn-1", "", "{}"))
    return run.run_id


def test_every_write_adds_its_counts_to_its_run_by_model(tenant: Tenant, storage: Storage) -> None:
    run_id, other = _run(storage, tenant), _run(storage, tenant)
    scope, elsewhere = tenant.scope(run_id=run_id), tenant.scope("Other", run_id=run_id)
    storage.save_records(scope, [rec("1", t="a"), rec("2"), rec("3")], Budgets())
    storage.save_records(scope, [rec("1", t="b"), rec("2"), rec("4")], Budgets())
    storage.update_records(scope, [("3", b'{"t": "c"}')], Budgets())
    storage.delete_records(scope, ["2", "missing"])
    storage.track_deletes_start(scope)
    storage.save_records(scope, [rec("1", t="b")], Budgets())
    storage.track_deletes_end(scope)  # 3 and 4 were not saved again
    storage.save_records(elsewhere, [rec("x")], Budgets())
    storage.save_records(tenant.scope(run_id=other), [rec("9")], Budgets())

    assert storage.record_counts(run_id) == {
        "Issue": {"added": 4, "updated": 2, "deleted": 3},
        "Other": {"added": 1, "updated": 0, "deleted": 0},
    }
    assert storage.record_counts(other) == {"Issue": {"added": 1, "updated": 0, "deleted": 0}}
    assert storage.record_counts("no-such-run") == {}


def test_a_write_that_changed_nothing_or_failed_counts_nothing(
    tenant: Tenant, storage: Storage
) -> None:
    first, run_id = _run(storage, tenant), _run(storage, tenant)
    batch = [rec("1", t="a"), rec("2", t="b")]
    storage.save_records(tenant.scope(run_id=first), batch, Budgets())
    scope = tenant.scope(run_id=run_id)

    storage.save_records(scope, batch, Budgets())  # unchanged
    claims = [(r.id, r.content_hash) for r in batch]
    storage.save_unchanged(scope, claims, Budgets())  # hashes first: unchanged
    storage.update_records(scope, [("1", b'{"t": "a"}')], Budgets())  # the same content
    storage.delete_records(scope, ["missing"])
    with pytest.raises(ResourceExhausted):  # over the run's budget: nothing of it is saved
        storage.save_records(scope, [rec("3"), rec("4")], Budgets(records_per_run=1))

    assert storage.record_counts(run_id) == {}


def test_a_run_counts_a_bounded_number_of_models(
    tenant: Tenant, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_run_counts, "MAX_MODELS", 2)
    run_id = _run(storage, tenant)
    for model in ("A", "B", "C"):
        storage.save_records(
            tenant.scope(model, run_id=run_id), [rec(model + "1"), rec(model + "2")]
        )
    storage.save_records(tenant.scope("A", run_id=run_id), [rec("A3")])  # counted already

    assert storage.record_counts(run_id) == {
        "A": {"added": 3, "updated": 0, "deleted": 0},
        "B": {"added": 2, "updated": 0, "deleted": 0},
    }


def test_writes_outside_a_run_count_nothing_and_a_runs_counts_go_with_it(
    tenant: Tenant, storage: Storage
) -> None:
    storage.save_records(tenant.scope(run_id=""), [rec("0")])
    run_id = _run(storage, tenant)
    storage.save_records(tenant.scope(run_id=run_id), [rec("1")], Budgets())
    storage.finish_run(run_id, True, "null", None)
    assert storage.record_counts(run_id) == {"Issue": {"added": 1, "updated": 0, "deleted": 0}}

    assert storage.purge_runs(START + timedelta(days=3650)) >= 1

    assert storage.record_counts(run_id) == {}
    # The records themselves stay (they are the connection's).
    assert storage.get_records_by_id(tenant.scope(), ["0", "1"]).keys() == {"0", "1"}

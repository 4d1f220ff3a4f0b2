"""A dry run's session keeps the run's data in a scratch store of its own, deleted on close."""

from __future__ import annotations

import pathlib

import pytest

from corral._budgets import Budgets
from corral.errors import PermissionDenied
from orchestrator.runs._dry_sessions import DrySession, DrySessions
from orchestrator.storage._areas import LogLine


def test_the_scratch_store_starts_from_the_given_metadata_and_is_deleted_on_close() -> None:
    sessions = DrySessions()
    session = DrySession({"team": "x"}, {"cursor": "a"}, record=False)
    sessions.open("dry-1", session)
    scratch = session.scratch(Budgets())
    assert session.scratch(Budgets()) is scratch
    scope = scratch.scope
    assert scratch.storage.get_connection(scope.env_id, scope.connection_id).metadata == {
        "team": "x"
    }
    scratch.storage.update_metadata(scope.env_id, scope.connection_id, {"seen": 2}, Budgets())
    assert session.metadata == {"team": "x", "seen": 2}
    files = list(pathlib.Path(scratch.storage._path).parent.iterdir())
    assert files
    sessions.close("dry-1")
    assert not any(path.exists() for path in files)
    assert sessions.get("dry-1") is None
    with pytest.raises(PermissionDenied) as refused:
        session.scratch(Budgets())
    assert refused.value.code == "run_ended"


def test_only_the_lines_the_store_kept_are_streamed() -> None:
    session = DrySession({}, None, record=False)
    scratch = session.scratch(Budgets(log_lines_per_run=2))
    for i in range(4):
        scratch.storage.append_logs(
            scratch.scope.run_id, [LogLine("info", f"m{i}", "[]")], Budgets(log_lines_per_run=2)
        )
        session.stream_logs()
    streamed = []
    while not session.events.empty():
        event = session.events.get_nowait()
        assert event is not None
        streamed.append(event.log.message)
    assert streamed == ["m0", "m1"]
    assert scratch.run().logs_dropped == 2
    session.close()

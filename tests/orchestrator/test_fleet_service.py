"""RunnerFleet.Heartbeat as an attacker may call it: without or with a wrong join secret
(refused, logged without the secret, nothing stored), or with a heartbeat describing an
impossible runner (refused as invalid, nothing stored)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from corral import _metadata
from corral.errors import InvalidRequest, Unauthenticated
from corral.v1 import runner_pb2
from orchestrator.runs._fleet_service import RunnerFleetService
from orchestrator.storage._memory_runners import MemoryRunnerRegistry

SECRET = "the-fleet-join-secret-0123456789"
NOW = datetime(2026, 1, 2, tzinfo=UTC)


class _Context:
    def __init__(self, secret: str | None) -> None:
        self._metadata = () if secret is None else ((_metadata.JOIN_SECRET, secret),)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return "ipv4:10.9.8.7:5555"


def _service(registry: MemoryRunnerRegistry) -> RunnerFleetService:
    return RunnerFleetService(registry, SECRET, lambda: NOW, interval=1.0, lost_after=3.0)


def _beat(**changes: Any) -> runner_pb2.RunnerHeartbeat:
    fields: dict[str, Any] = {
        "runner_id": "r1",
        "address": "10.0.0.2:7710",
        "slots": 8,
        "layers_applied": ["seccomp"],
    }
    return runner_pb2.RunnerHeartbeat(**(fields | changes))


def test_the_right_secret_registers_the_runner() -> None:
    registry = MemoryRunnerRegistry()
    reply = _service(registry).Heartbeat(_beat(), _Context(SECRET))  # type: ignore[arg-type]
    assert (reply.interval_seconds, reply.lost_after_seconds) == (1.0, 3.0)
    (record,) = registry.list_fleet_runners(NOW)
    assert (record.runner_id, record.address, record.last_heartbeat) == ("r1", "10.0.0.2:7710", NOW)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0123456789", SECRET + "x", SECRET[:-1]])
def test_a_wrong_or_missing_secret_is_refused_and_logged_without_it(secret: str | None) -> None:
    registry = MemoryRunnerRegistry()
    with capture_logs() as logs, pytest.raises(Unauthenticated) as caught:
        _service(registry).Heartbeat(_beat(), _Context(secret))  # type: ignore[arg-type]
    assert caught.value.code == "join_refused"
    assert registry.list_fleet_runners(NOW) == []
    (line,) = [entry for entry in logs if "refused" in entry["event"]]
    assert line["peer"] == "ipv4:10.9.8.7:5555"
    assert SECRET not in str(logs)
    assert secret is None or not secret or secret not in str(logs)


@pytest.mark.parametrize(
    "changes",
    [
        {"runner_id": ""},
        {"runner_id": "x" * 65},
        {"runner_id": "../../etc"},
        {"address": "not an address"},
        {"address": "10.0.0.2"},
        {"address": "10.0.0.2:99999"},
        {"slots": 0},
        {"slots": 100_000},
        {"runs_in_progress": -1},
        {"layers_applied": [f"layer{n}" for n in range(65)]},
    ],
)
def test_an_impossible_runner_is_refused(changes: dict[str, Any]) -> None:
    registry = MemoryRunnerRegistry()
    with pytest.raises(InvalidRequest):
        _service(registry).Heartbeat(_beat(**changes), _Context(SECRET))  # type: ignore[arg-type]
    assert registry.list_fleet_runners(NOW) == []


def test_long_strings_are_cut_before_they_are_stored() -> None:
    registry = MemoryRunnerRegistry()
    beat = _beat(version="v" * 1000, layers_missing={"k" * 500: "r" * 5000})
    _service(registry).Heartbeat(beat, _Context(SECRET))  # type: ignore[arg-type]
    (record,) = registry.list_fleet_runners(NOW)
    assert len(record.version) == 64
    assert all(len(k) <= 64 and len(v) <= 512 for k, v in record.layers_missing.items())


def test_the_reply_tells_a_runner_its_certificate_was_refused_and_no_other_runner() -> None:
    """What ``Fleet.refusal`` says of the runner that sent the heartbeat, and of no other."""
    refused = {"r1": "Tls handshake failed: certificate verify failed"}
    service = RunnerFleetService(
        MemoryRunnerRegistry(),
        SECRET,
        lambda: NOW,
        interval=1.0,
        lost_after=3.0,
        refusal=lambda runner_id: refused.get(runner_id, ""),
    )
    reply = service.Heartbeat(_beat(), _Context(SECRET))  # type: ignore[arg-type]
    assert reply.refused == refused["r1"]
    other = service.Heartbeat(_beat(runner_id="r2"), _Context(SECRET))  # type: ignore[arg-type]
    assert other.refused == ""

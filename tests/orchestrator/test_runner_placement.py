"""Placement by load on static runners (RunnerChannels) and on joined runners (Fleet): each run
goes to the runner with the fewest runs going; a draining runner's refusal sends the run
elsewhere; a runner that falls silent ends its runs as runner_lost."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from concurrent import futures
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import structlog
from typing_extensions import override

from corral._certs import dev_certs
from corral._grpc_errors import abort
from corral.errors import RunFailure, Unavailable
from corral.v1 import runner_pb2, runner_pb2_grpc
from orchestrator.runs import _fleet
from orchestrator.runs._fleet import Fleet
from orchestrator.runs._runner_client import RunnerChannels
from orchestrator.storage._areas import RunnerRecord
from orchestrator.storage._memory_runners import MemoryRunnerRegistry


class _Runner(runner_pb2_grpc.RunnerServicer):
    """Holds runs (but quick ones) until released; records which runs it got; refuses them
    when draining."""

    def __init__(self) -> None:
        self.got: list[str] = []
        self.released = threading.Event()
        self.draining = False

    @override
    def Run(
        self, request: runner_pb2.RunRequest, context: grpc.ServicerContext
    ) -> runner_pb2.RunResponse:
        if self.draining:
            abort(context, Unavailable("draining", code="runner_draining"))
        self.got.append(request.run_id)
        if not request.run_id.startswith("quick"):  # quick runs end at once
            self.released.wait(20)
        return runner_pb2.RunResponse(ok=True, output_json="null")

    @override
    def Cancel(
        self, request: runner_pb2.CancelRequest, context: grpc.ServicerContext
    ) -> runner_pb2.CancelResponse:
        return runner_pb2.CancelResponse(cancelled=False)


@pytest.fixture
def runners() -> object:
    started: list[tuple[_Runner, grpc.Server, str]] = []

    def start() -> tuple[_Runner, str]:
        runner = _Runner()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        runner_pb2_grpc.add_RunnerServicer_to_server(runner, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        started.append((runner, server, f"127.0.0.1:{port}"))
        return runner, f"127.0.0.1:{port}"

    yield start
    for runner, server, _ in started:
        runner.released.set()
        server.stop(None)


def _wait(check: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_static_runners_get_runs_by_load_not_in_turn(runners: object) -> None:
    (a, address_a), (b, address_b) = runners(), runners()  # type: ignore[operator]
    channels = RunnerChannels([address_a, address_b])
    pool = futures.ThreadPoolExecutor(8)
    try:
        first = pool.submit(channels.run, runner_pb2.RunRequest(run_id="long"), 20)
        _wait(lambda: len(a.got) + len(b.got) == 1)
        busy, idle = (a, b) if a.got else (b, a)
        # Quick runs one after the other: each goes to the idle runner, never in turn to the
        # one that holds the long run.
        for n in range(4):
            assert channels.run(runner_pb2.RunRequest(run_id=f"quick{n}"), 20).ok
        assert idle.got == [f"quick{n}" for n in range(4)]
        assert busy.got == ["long"]
        busy.released.set()
        assert first.result(10).ok
    finally:
        channels.close()
        pool.shutdown(wait=False)


def _record(runner_id: str, address: str, at: datetime, slots: int = 4) -> RunnerRecord:
    return RunnerRecord(runner_id, address, slots, 0, 1, ("seccomp",), {}, False, "t", at)


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_joined_runners_share_runs_by_free_slots(runners: object) -> None:
    (a, address_a), (b, address_b) = runners(), runners()  # type: ignore[operator]
    registry, clock = MemoryRunnerRegistry(), _Clock()
    registry.runner_heartbeat(_record("a", address_a, clock.now, slots=2))
    registry.runner_heartbeat(_record("b", address_b, clock.now, slots=6))
    fleet = Fleet(registry, None, clock, lost_after=3.0)
    _wait_ready(fleet, 2)  # each joined runner is dialled once before it takes runs
    pool = futures.ThreadPoolExecutor(16)
    try:
        going = [
            pool.submit(fleet.run, runner_pb2.RunRequest(run_id=f"r{n}"), 20) for n in range(8)
        ]
        _wait(lambda: len(a.got) + len(b.got) == 8)
        assert Counter({"a": len(a.got), "b": len(b.got)}) == Counter({"a": 2, "b": 6})
        a.released.set()
        b.released.set()
        assert all(f.result(10).ok for f in going)
    finally:
        fleet.close()
        pool.shutdown(wait=False)


def test_a_draining_runner_sends_the_run_elsewhere(runners: object) -> None:
    (a, address_a), (b, address_b) = runners(), runners()  # type: ignore[operator]
    a.draining = True  # it said so too late: its heartbeat still says ready
    registry, clock = MemoryRunnerRegistry(), _Clock()
    registry.runner_heartbeat(_record("a", address_a, clock.now, slots=8))
    registry.runner_heartbeat(_record("b", address_b, clock.now, slots=1))
    fleet = Fleet(registry, None, clock, lost_after=3.0)
    try:
        b.released.set()
        assert fleet.run(runner_pb2.RunRequest(run_id="r"), 10).ok
        assert b.got == ["r"]
    finally:
        fleet.close()


def test_a_silent_runner_ends_its_runs_as_lost_and_gets_no_more(runners: object) -> None:
    (a, address_a), (b, address_b) = runners(), runners()  # type: ignore[operator]
    registry, clock = MemoryRunnerRegistry(), _Clock()
    registry.runner_heartbeat(_record("a", address_a, clock.now))
    fleet = Fleet(registry, None, clock, lost_after=3.0)
    pool = futures.ThreadPoolExecutor(4)
    try:
        held = pool.submit(fleet.run, runner_pb2.RunRequest(run_id="held"), 20)
        _wait(lambda: a.got == ["held"])
        clock.now += timedelta(seconds=5)  # a said nothing since
        registry.runner_heartbeat(_record("b", address_b, clock.now))
        with pytest.raises(RunFailure) as caught:
            held.result(10)
        assert caught.value.code == "runner_lost"
        b.released.set()
        assert fleet.run(runner_pb2.RunRequest(run_id="next"), 10).ok
        assert b.got == ["next"]
        assert {r.address: state for r, state in fleet.runners()} == {
            address_a: "lost",
            address_b: "ready",
        }
    finally:
        fleet.close()
        pool.shutdown(wait=False)


@pytest.mark.parametrize("deadline", [0.3, 3600.0])
def test_no_runner_at_all_is_a_typed_retryable_error_within_the_wait(
    deadline: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_fleet, "WAIT_FOR_RUNNER_SECONDS", 0.5)
    fleet = Fleet(MemoryRunnerRegistry(), None, _Clock(), lost_after=3.0)
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable) as caught:
            fleet.run(runner_pb2.RunRequest(run_id="r"), deadline)
        assert caught.value.code == "no_runner"
        assert time.monotonic() - started < 5  # the wait, not the run's whole deadline
    finally:
        fleet.close()


def test_a_runner_that_cannot_be_reached_sends_the_run_elsewhere_until_it_heartbeats(
    runners: object,
) -> None:
    """A runner killed since its last heartbeat refuses connections: the run was never sent, so
    it goes to another runner (not ``runner_lost``), and the dead one is out of placement until
    a newer heartbeat says it is back."""
    b, address_b = runners()  # type: ignore[operator]
    dead = f"127.0.0.1:{_free_port()}"  # nothing listens there
    registry, clock = MemoryRunnerRegistry(), _Clock()
    registry.runner_heartbeat(_record("a", dead, clock.now, slots=64))  # by load, first choice
    # b is half busy by its heartbeat: a, all free, is the first choice every time (no tie).
    registry.runner_heartbeat(
        replace(_record("b", address_b, clock.now, slots=2), runs_in_progress=1)
    )
    fleet = Fleet(registry, None, clock, lost_after=3.0)
    _wait_ready(fleet, 2)  # the dead one too: its dial fails, but not its handshake
    try:
        b.released.set()
        for n in range(3):
            assert fleet.run(runner_pb2.RunRequest(run_id=f"r{n}"), 10).ok
        assert b.got == ["r0", "r1", "r2"]
        (member,) = [m for m in fleet._joined.values() if m.record.address == dead]
        assert member.unreachable_at == clock.now  # out of placement
        assert not fleet._ready(member)
        clock.now += timedelta(seconds=1)  # a newer heartbeat: back in placement
        registry.runner_heartbeat(_record("a", dead, clock.now, slots=64))
        fleet._refresh(force=True)
        assert fleet._ready(member)
    finally:
        fleet.close()


def _wait_ready(fleet: Fleet, count: int) -> None:
    """Until ``count`` joined runners are ``ready`` (each is dialled once as it joins)."""
    _wait(lambda: [state for _, state in fleet.runners()].count("ready") == count)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_joined_runner_whose_certificate_is_refused_is_never_placed_on(
    runners: object,
) -> None:
    """The fleet dials a runner as it joins: one whose certificate is of another CA is refused
    there, logged, shown ``refused``, its refusal kept for its heartbeat replies, and no run
    is ever sent to it; a good runner beside it takes every run."""
    good_runner, good = runners()  # type: ignore[operator]
    ours, stranger = dev_certs(), dev_certs()
    impostor = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    bad_runner = _Runner()
    runner_pb2_grpc.add_RunnerServicer_to_server(bad_runner, impostor)
    pair = stranger["runner"]
    port = impostor.add_secure_port(
        "127.0.0.1:0", grpc.ssl_server_credentials([(pair.key, pair.cert)])
    )
    impostor.start()
    trusted = grpc.ssl_channel_credentials(ours["ca"].cert)

    def channel(address: str) -> grpc.Channel:
        return (
            grpc.secure_channel(address, trusted)
            if address.endswith(f":{port}")
            else (grpc.insecure_channel(address))
        )

    registry, clock = MemoryRunnerRegistry(), _Clock()
    registry.runner_heartbeat(_record("bad", f"127.0.0.1:{port}", clock.now, slots=64))
    registry.runner_heartbeat(_record("good", good, clock.now, slots=1))
    with structlog.testing.capture_logs() as logs:
        fleet = Fleet(registry, None, clock, lost_after=3.0, channel=channel)
        try:
            _wait(lambda: dict(_states(fleet)) == {"bad": "refused", "good": "ready"})
            assert "handshake" in fleet.refusal("bad").lower()
            assert fleet.refusal("good") == ""
            for n in range(3):  # the bad one has far more free slots, and gets none
                assert fleet.run(runner_pb2.RunRequest(run_id=f"quick{n}"), 20).ok
            assert bad_runner.got == []
            assert good_runner.got == ["quick0", "quick1", "quick2"]
        finally:
            fleet.close()
            impostor.stop(None)
    refused = [e for e in logs if e["event"] == "runner refused: TLS handshake failed"]
    assert refused
    assert refused[0]["log_level"] == "error"
    assert refused[0]["runner_id"] == "bad"


def _states(fleet: Fleet) -> list[tuple[str, str]]:
    return [(record.runner_id, state) for record, state in fleet.runners()]

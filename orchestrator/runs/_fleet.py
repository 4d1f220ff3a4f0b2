"""Placing runs on runner hosts: the local ones ``corral serve`` starts (or one fixed address)
and those that joined the fleet (``corral runner --orchestrator``), by load.

Each run goes to the runner with the most free slots (its slots less the runs going on it:
the runner's last heartbeat, or this orchestrator's own count when that is higher), never to a
draining runner nor to one whose heartbeats stopped. A joined runner that stops heartbeating
for ``lost_after`` seconds is taken out of placement, and the runs this orchestrator has on it
end at once as ``runner_lost`` (its connection may stay open for a while: a machine gone, a
network cut, a frozen process). A runner that refuses a run because it is draining never
started it, so the run goes to another runner; so does a run whose runner cannot be connected
to (gRPC never sent it: a runner killed since its last heartbeat), and that runner is out of
placement until a newer heartbeat says it is back.

A runner that joins is dialled at once (its Status) before any run is placed on it: one whose
certificate this orchestrator refuses (another CA, or a name that is not the address it
advertises) never gets a run. The refusal is logged here and told to the runner in the reply to
its next heartbeat (``refusal``), so its own log says why it gets no runs: gRPC tells a server
nothing of a handshake its client aborted.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import grpc
import structlog

from corral import _grpc_errors
from corral.errors import CorralError, RunFailure, Unavailable
from corral.v1 import runner_pb2, runner_pb2_grpc
from orchestrator.runs._runner_client import (
    GAVE_UP,
    RunnerChannels,
    cancel_on,
    runner_channel,
)
from orchestrator.storage._areas import RunnerRecord, RunnerRegistry

_log = structlog.get_logger("corral.orchestrator")

LOST_AFTER_SECONDS = 3.0
"""A joined runner silent this long is out of placement, and its runs end as runner_lost."""
HEARTBEAT_SECONDS = 1.0
"""How often joined runners are asked to send a heartbeat."""
REFRESH_SECONDS = 0.5
"""How old the fleet this orchestrator places on may be (the registry is read this often)."""
WAIT_FOR_RUNNER_SECONDS = 10.0
"""How long a run waits for a runner to join when none is there (within its own deadline)."""
DRAINING = "runner_draining"
"""The error type of a Run that a draining runner refuses (the run never started)."""
TLS_REFUSED = "tls_refused"
"""The error type of a run whose runner's certificate this orchestrator refused."""
REFUSED_SECONDS = 30.0
"""How long a runner whose TLS handshake failed is left out of placement."""
LOST = "runner_lost"
"""The error type of a run whose runner was lost (its heartbeats stopped, or it went away)."""
UNREACHABLE = "runner_unreachable"
"""The error type of a Run that could not reach its runner (the run never started)."""
_NOT_CONNECTED = "failed to connect to all addresses"
"""gRPC's detail for a call that found no connection to its runner: it was never sent."""


@dataclass
class _Joined:
    """A joined runner this orchestrator knows: its channel and the runs it has on it."""

    record: RunnerRecord
    channel: grpc.Channel
    stub: runner_pb2_grpc.RunnerStub
    calls: dict[str, grpc.Future[Any]] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)
    placed: int = 0
    """Runs this orchestrator placed here that have not ended (counted at placement)."""
    refused_until: float = 0.0
    """Until then (monotonic) it is not placed on: its TLS handshake failed."""
    refused: str = ""
    """Why its TLS handshake failed, as gRPC said (told to the runner by heartbeat replies)."""
    checked: bool = False
    """Its first dial is done (placement waits for it)."""
    unreachable_at: datetime | None = None
    """The last heartbeat known when a run could not connect to it: out of placement until a
    newer one comes."""


class Fleet:
    """Sends runs to local runners and joined runners (``RunnerClient``)."""

    def __init__(
        self,
        registry: RunnerRegistry,
        static: RunnerChannels | None,
        clock: Callable[[], datetime],
        *,
        lost_after: float = LOST_AFTER_SECONDS,
        channel: Callable[[str], grpc.Channel] = runner_channel,
    ) -> None:
        """``static``: the local runners (or the one fixed address), always in placement;
        None when this orchestrator places on joined runners only."""
        self._registry = registry
        self._static = static
        self._clock = clock
        self.lost_after = lost_after
        self._channel = channel
        self._lock = threading.Lock()
        self._joined: dict[str, _Joined] = {}  # by runner id
        self._read_at = 0.0
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_loop, name="fleet-watch", daemon=True)
        self._watch.start()

    # ---- placement ----

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        """Executes a run on the least loaded runner.

        Raises:
            Unavailable: ``no_runner``, none joined within the wait.
            RunFailure: ``runner_lost``, ``execution_timeout``.
        """
        deadline = time.monotonic() + timeout
        tried: set[str] = set()
        while True:
            member = self._place(tried, deadline)
            if member is None:
                return self._run_static(request, deadline - time.monotonic())
            try:
                return self._run_on(member, request, deadline - time.monotonic())
            except CorralError as err:
                if err.code == UNREACHABLE:
                    continue  # it never started: elsewhere, or there once it heartbeats again
                if err.code != DRAINING:
                    raise
                tried.add(member.record.runner_id)  # it never started there: elsewhere

    def _place(self, tried: set[str], deadline: float) -> _Joined | None:
        """The joined runner with the most free slots, or None for the static runners; waits up
        to WAIT_FOR_RUNNER_SECONDS (within ``deadline``) for one to be ready."""
        limit = min(deadline, time.monotonic() + WAIT_FOR_RUNNER_SECONDS)
        while True:
            self._refresh()
            with self._lock:
                candidates = [
                    m
                    for m in self._joined.values()
                    if m.record.runner_id not in tried and self._ready(m)
                ]
                best = self._least_loaded(candidates)
                if best is not None and (self._static is None or self._free(best) > 0):
                    best.placed += 1
                    return best
                if self._static is not None:
                    return None
            if time.monotonic() >= limit:
                raise Unavailable("no runner is available to take the run", code="no_runner")
            time.sleep(0.1)

    def _least_loaded(self, candidates: Sequence[_Joined]) -> _Joined | None:
        if not candidates:
            return None
        top = max(self._free_share(m) for m in candidates)
        return random.choice([m for m in candidates if self._free_share(m) == top])  # noqa: S311 - placement, not security

    def _free(self, member: _Joined) -> int:
        return member.record.slots - _load(member)

    def _free_share(self, member: _Joined) -> float:
        return self._free(member) / max(member.record.slots, 1)

    def _ready(self, member: _Joined) -> bool:
        unreachable = member.unreachable_at is not None and (
            member.record.last_heartbeat <= member.unreachable_at
        )
        return (
            member.checked
            and not member.record.draining
            and not unreachable
            and not self._silent(member.record)
            and member.refused_until <= time.monotonic()
        )

    def _refuse(self, member: _Joined, why: str) -> None:
        _log.error(
            "runner refused: TLS handshake failed",
            code=TLS_REFUSED,
            runner_id=member.record.runner_id,
            address=member.record.address,
            reason=why[:300],
        )
        with self._lock:
            member.refused_until = time.monotonic() + REFUSED_SECONDS
            member.refused = why[:300]

    def _check(self, member: _Joined) -> None:
        """Dials a runner that just joined (its Status), without waiting: a refused handshake
        keeps it out of placement; anything else lets runs find what they find."""
        future = member.stub.Status.future(runner_pb2.RunnerStatusRequest(), timeout=5)

        def done(call: grpc.Future[Any]) -> None:
            exc = call.exception()
            refused = _grpc_errors.tls_refused(exc) if isinstance(exc, grpc.RpcError) else None
            if isinstance(exc, grpc.RpcError) and refused is not None:
                self._refuse(member, _grpc_errors.from_rpc_error(exc).message)
            with self._lock:
                if refused is None:
                    member.refused = ""
                member.checked = True

        future.add_done_callback(done)

    def refusal(self, runner_id: str) -> str:
        """Why this orchestrator refused that joined runner's certificate ("" when it did not),
        for the reply to its heartbeat."""
        with self._lock:
            member = self._joined.get(runner_id)
            return member.refused if member is not None else ""

    def _silent(self, record: RunnerRecord) -> bool:
        return record.last_heartbeat < self._clock() - timedelta(seconds=self.lost_after)

    def _run_static(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        if self._static is None:  # _place returns None only when there are static runners
            raise Unavailable("no runner is available to take the run", code="no_runner")
        return self._static.run(request, timeout)

    def _run_on(
        self, member: _Joined, request: runner_pb2.RunRequest, timeout: float
    ) -> runner_pb2.RunResponse:
        run_id = request.run_id
        try:
            future = member.stub.Run.future(request, timeout=max(timeout, 0.001))
            with self._lock:
                member.calls[run_id] = future
            response: runner_pb2.RunResponse = future.result()
            return response
        except grpc.FutureCancelledError:  # the watch cancelled it: the runner fell silent
            raise self._lost(member, "stopped sending heartbeats during the run") from None
        except grpc.RpcError as exc:
            with self._lock:
                lost = run_id in member.lost
            if lost:
                raise self._lost(member, "stopped sending heartbeats during the run") from None
            error = _grpc_errors.from_rpc_error(exc)
            if error.code == DRAINING:
                raise error from None  # it never started: ``run`` places it elsewhere
            if error.code == TLS_REFUSED:  # its certificate is not ours: out of placement
                self._refuse(member, error.message)
                raise error from None
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code == grpc.StatusCode.UNAVAILABLE and _never_sent(exc):
                raise self._unreachable(member) from None  # ``run`` places it elsewhere
            if code in GAVE_UP:
                cancel_on(member.stub, run_id)
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise RunFailure("execution_timeout", "the runner did not answer in time") from None
            if code == grpc.StatusCode.UNAVAILABLE:
                raise self._lost(member, "went away during the run") from None
            raise error from None
        finally:
            with self._lock:
                member.calls.pop(run_id, None)
                member.lost.discard(run_id)
                member.placed -= 1

    def _unreachable(self, member: _Joined) -> Unavailable:
        with self._lock:
            first = member.unreachable_at != member.record.last_heartbeat
            member.unreachable_at = member.record.last_heartbeat
        if first:
            _log.warning(
                "runner unreachable: out of placement until its next heartbeat",
                runner_id=member.record.runner_id,
                address=member.record.address,
            )
        return Unavailable(
            f"the runner at {member.record.address} cannot be reached", code=UNREACHABLE
        )

    @staticmethod
    def _lost(member: _Joined, what: str) -> RunFailure:
        return RunFailure(LOST, f"the runner at {member.record.address} {what}")

    # ---- the fleet's state ----

    def _refresh(self, force: bool = False) -> None:
        """Reads the registry when what this orchestrator knows is older than REFRESH_SECONDS."""
        now = time.monotonic()
        if not force and now - self._read_at < REFRESH_SECONDS:
            return
        self._read_at = now
        try:
            records = self._registry.list_fleet_runners(self._clock() - timedelta(hours=1))
        except CorralError:  # the store is away: place on what is known
            _log.warning("the fleet could not be read", exc_info=True)
            return
        joined: list[_Joined] = []
        with self._lock:
            for record in records:
                member = self._joined.get(record.runner_id)
                if member is None:
                    channel = self._channel(record.address)
                    member = _Joined(record, channel, runner_pb2_grpc.RunnerStub(channel))
                    self._joined[record.runner_id] = member
                    joined.append(member)
                    _log.info("runner joined", runner_id=record.runner_id, address=record.address)
                elif record.last_heartbeat >= member.record.last_heartbeat:
                    member.record = record
            known = {record.runner_id for record in records}
            for runner_id in [
                k for k, m in self._joined.items() if k not in known and not m.placed
            ]:
                self._joined.pop(runner_id).channel.close()
        for member in joined:
            self._check(member)

    def _watch_loop(self) -> None:
        """Ends the runs on runners whose heartbeats stopped (their calls are cancelled), and
        dials again those refused REFUSED_SECONDS ago."""
        while not self._stop.wait(REFRESH_SECONDS):
            self._refresh()
            now = time.monotonic()
            with self._lock:
                again = [
                    m
                    for m in self._joined.values()
                    if m.refused and m.checked and m.refused_until <= now
                ]
                for member in again:
                    member.checked = False
            for member in again:
                self._check(member)
            with self._lock:
                for member in self._joined.values():
                    if not self._silent(member.record) or not member.calls:
                        continue
                    _log.warning(
                        "runner lost",
                        runner_id=member.record.runner_id,
                        address=member.record.address,
                        runs=len(member.calls),
                    )
                    for run_id, future in member.calls.items():
                        member.lost.add(run_id)
                        future.cancel()

    def runners(self) -> list[tuple[RunnerRecord, str]]:
        """Every runner with its state: ``ready``, ``draining``, ``lost``, ``refused`` (its
        certificate) or ``checking`` (just joined) for joined runners, and the static ones as
        ``ready`` with what their Status says."""
        self._refresh(force=True)
        out: list[tuple[RunnerRecord, str]] = []
        if self._static is not None:
            now = self._clock()
            for address, status in self._static.statuses():
                out.append((_static_record(address, status, now), "ready"))
        with self._lock:
            for member in sorted(self._joined.values(), key=lambda m: m.record.address):
                record = replace(member.record, runs_in_progress=_load(member))
                out.append((record, self._state(member, record)))
        return out

    def _state(self, member: _Joined, record: RunnerRecord) -> str:
        if self._silent(record):
            return "lost"
        if member.refused_until > time.monotonic():
            return "refused"
        if not member.checked:
            return "checking"
        return "draining" if record.draining else "ready"

    def cancel(self, run_id: str) -> bool:
        """Asks the runner that has the run (or, not known, every runner) to kill it."""
        with self._lock:
            holders = [m.stub for m in self._joined.values() if run_id in m.calls]
            others = [m.stub for m in self._joined.values() if run_id not in m.calls]
        if any(cancel_on(stub, run_id) for stub in holders):
            return True
        if self._static is not None and self._static.cancel(run_id):
            return True
        return any(cancel_on(stub, run_id) for stub in others)

    def status(self) -> list[runner_pb2.RunnerStatusResponse]:
        """The static runners' statuses (the containment report at start)."""
        return [] if self._static is None else self._static.status()

    def close(self) -> None:
        """Stops watching and closes every channel."""
        self._stop.set()
        self._watch.join(timeout=5)
        with self._lock:
            for member in self._joined.values():
                member.channel.close()
            self._joined.clear()
        if self._static is not None:
            self._static.close()


def _never_sent(exc: grpc.RpcError) -> bool:
    """Whether gRPC failed the call before any connection to the runner carried it."""
    details = exc.details() if isinstance(exc, grpc.Call) else None
    return isinstance(details, str) and details.startswith(_NOT_CONNECTED)


def _load(member: _Joined) -> int:
    """The runs going on a runner: as its last heartbeat said, or as many as this orchestrator
    placed there since, whichever is more (so runs placed between two heartbeats spread)."""
    return max(member.record.runs_in_progress, member.placed)


def _static_record(
    address: str, status: runner_pb2.RunnerStatusResponse | None, now: datetime
) -> RunnerRecord:
    return RunnerRecord(
        runner_id="local",
        address=address,
        slots=0,
        runs_in_progress=status.runs_in_progress if status else 0,
        idle_workers=status.idle_workers if status else 0,
        layers_applied=tuple(status.layers_applied) if status else (),
        layers_missing=dict(status.layers_missing) if status else {},
        draining=False,
        version=status.version if status else "",
        last_heartbeat=now,
    )

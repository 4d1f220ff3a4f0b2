"""A runner's membership of a fleet (``corral runner --orchestrator ADDRESS``).

A thread sends a heartbeat to the orchestrator's RunnerFleet service every second (or as the
orchestrator's reply asks): the runner's address, slots, load, isolation layers and whether it
is draining. An orchestrator that cannot be reached is tried again at the same pace, with one
warning, and the runner keeps serving the runs it has. A refused join secret, a heartbeat the
orchestrator finds invalid or a TLS handshake that fails (a certificate of another CA, on
either side) stops the runner: it can never join, so it says so once (``join_refused``,
``invalid_request``, ``tls_refused``) and exits. When the runner is the side that refused (the
orchestrator's certificate is not signed by its CA), it first offers its own certificate once on
a connection that checks nothing (``offer_certificate``): the orchestrator's gRPC then logs its
own refusal of a wrong runner certificate, and the runner's line says which side is wrong.

An orchestrator that refuses this runner's certificate when it dials the runner says so in its
replies (``refused``); the runner logs it as an error, once per reason: it gets no run from that
orchestrator.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from corral import _grpc_errors, _metadata
from corral.v1 import runner_pb2, runner_pb2_grpc
from runner._offer_certificate import Verdict

_log = structlog.get_logger("corral.runner")

REFUSED = "join_refused"
_DIFFERENT_CAS = (
    "this runner does not trust the orchestrator's certificate, and the orchestrator refused"
    " this runner's certificate too: they are of different CAs"
)
_OUR_CA_WRONG = (
    "the orchestrator accepts this runner's certificate, but this runner's CA"
    " (CORRAL_RUNNER_TLS_CA) did not sign the orchestrator's"
)


class FleetMember:
    """Keeps one runner in an orchestrator's fleet by heartbeats."""

    def __init__(
        self,
        channel: grpc.Channel,
        join_secret: str,
        address: str,
        *,
        slots: int,
        status: Callable[[], dict[str, Any]],
        version: str,
        on_refused: Callable[[], None],
        offer: Callable[[], Verdict] | None = None,
    ) -> None:
        """``status``: the host's load and layers (``RunnerHost.status``); ``on_refused``:
        called once when the orchestrator refuses the join secret; ``offer``: offers this
        runner's certificate to the orchestrator without checking its own (with TLS only)."""
        self.runner_id = uuid.uuid4().hex[:16]
        self._stub = runner_pb2_grpc.RunnerFleetStub(channel)
        self._secret = join_secret
        self._address = address
        self._slots = slots
        self._status = status
        self._version = version
        self._on_refused = on_refused
        self._offer = offer
        self._told = ""
        self._interval = 1.0
        self.draining = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._unreachable = False
        self._thread = threading.Thread(target=self._loop, name="fleet-heartbeat", daemon=True)

    def start(self) -> None:
        """Starts the heartbeats (the first one at once)."""
        self._thread.start()

    def drain(self) -> None:
        """Says at once that this runner takes no new runs."""
        self.draining.set()
        self._wake.set()

    def stop(self) -> None:
        """Stops the heartbeats (the orchestrator counts the runner lost after its limit)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._beat():
                return
            self._wake.wait(self._interval)
            self._wake.clear()

    def _beat(self) -> bool:
        """One heartbeat; False when the orchestrator refused this runner for good."""
        status = self._status()
        request = runner_pb2.RunnerHeartbeat(
            runner_id=self.runner_id,
            address=self._address,
            slots=self._slots,
            runs_in_progress=int(status["runs_in_progress"]),
            idle_workers=int(status["idle_workers"]),
            layers_applied=sorted(status.get("layers_applied", [])),
            layers_missing=dict(status.get("layers_missing", {})),
            draining=self.draining.is_set(),
            version=self._version,
        )
        try:
            reply = self._stub.Heartbeat(
                request, metadata=((_metadata.JOIN_SECRET, self._secret),), timeout=5
            )
        except grpc.RpcError as exc:
            error = _grpc_errors.from_rpc_error(exc)
            if error.code in {REFUSED, "invalid_request", "tls_refused"}:
                _log.error("the orchestrator refused this runner", error_type=error.code,
                           message=error.message, **self._offered(error.message))  # fmt: skip
                self._on_refused()
                return False
            if not self._unreachable:
                _log.warning("the orchestrator cannot be reached; heartbeats go on",
                             error_type=error.code)  # fmt: skip
            self._unreachable = True
            return True
        if self._unreachable:
            _log.info("the orchestrator is reachable again")
        self._unreachable = False
        self._interval = min(max(reply.interval_seconds, 0.2), 10.0)
        if reply.refused and reply.refused != self._told:
            _log.error(
                "the orchestrator refused this runner's certificate when it dialled it: it"
                " places no run here (the certificate must be signed by the orchestrators' CA"
                " and name the address this runner advertises)",
                error_type="tls_refused",
                address=self._address,
                reason=reply.refused[:300],
            )
        self._told = reply.refused
        return True

    def _offered(self, message: str) -> dict[str, str]:
        """When this runner refused the orchestrator's certificate (TLS 1.3 ends there, and the
        orchestrator logs nothing), offers its own once, so that the orchestrator checks it and
        logs a refusal; says which side is wrong."""
        lowered = message.lower()
        if self._offer is None or "tls handshake failed" not in lowered:
            return {}  # the orchestrator refused ours ("socket closed"): it logged it
        verdict = self._offer()
        if verdict.outcome == "refused":
            return {"diagnosis": _DIFFERENT_CAS, "offered": verdict.reason}
        if verdict.outcome == "accepted":
            return {"diagnosis": _OUR_CA_WRONG}
        return {"offered": verdict.reason}

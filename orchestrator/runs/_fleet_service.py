"""The RunnerFleet service: runners join the fleet and stay in it by heartbeats.

It is served on the orchestrator's callback port, only when a join secret is set
(``CORRAL_JOIN_SECRET``). A heartbeat without the right secret is refused with the typed error
``join_refused`` and a warning naming the peer (the secret is never logged); a heartbeat that
describes an impossible runner is refused as ``invalid_request``. The reply tells a runner
whose certificate this orchestrator refused when it dialled it (``refused``).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import datetime

import grpc
import structlog

from corral import _metadata
from corral._settings import address
from corral.errors import InvalidRequest, Unauthenticated
from corral.v1 import runner_pb2, runner_pb2_grpc
from orchestrator.storage._areas import RunnerRecord, RunnerRegistry

_log = structlog.get_logger("corral.orchestrator")

_RUNNER_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_SLOTS = 4096
MAX_LAYERS = 64


class RunnerFleetService(runner_pb2_grpc.RunnerFleetServicer):
    """Heartbeat: registers a runner and keeps it in placement."""

    def __init__(
        self,
        registry: RunnerRegistry,
        join_secret: str,
        clock: Callable[[], datetime],
        *,
        interval: float,
        lost_after: float,
        refusal: Callable[[str], str] = lambda _runner_id: "",
    ) -> None:
        """``refusal``: why this orchestrator refused a runner's certificate ("" if it did
        not), by runner id (``Fleet.refusal``)."""
        if not join_secret:
            raise ValueError("the fleet needs a join secret")
        self._registry = registry
        self._secret = join_secret.encode()
        self._clock = clock
        self._interval = interval
        self._lost_after = lost_after
        self._refusal = refusal

    def Heartbeat(
        self, request: runner_pb2.RunnerHeartbeat, context: grpc.ServicerContext
    ) -> runner_pb2.HeartbeatReply:
        """Stores the runner's heartbeat after checking the join secret."""
        given = str(dict(context.invocation_metadata()).get(_metadata.JOIN_SECRET, ""))
        if not hmac.compare_digest(given.encode(), self._secret):
            _log.warning(
                "runner refused: wrong join secret",
                peer=context.peer(),
                runner_id=request.runner_id[:64],
                address=request.address[:256],
            )
            raise Unauthenticated(
                "the join secret is wrong or missing (CORRAL_RUNNER_JOIN_SECRET must equal the"
                " orchestrator's CORRAL_JOIN_SECRET)",
                code="join_refused",
            )
        self._registry.runner_heartbeat(self._record(request))
        return runner_pb2.HeartbeatReply(
            interval_seconds=self._interval,
            lost_after_seconds=self._lost_after,
            refused=self._refusal(request.runner_id),
        )

    def _record(self, request: runner_pb2.RunnerHeartbeat) -> RunnerRecord:
        if not _RUNNER_ID.fullmatch(request.runner_id):
            raise InvalidRequest("runner_id: 1 to 64 letters, digits, '.', '_' or '-'")
        try:
            where = address(request.address)
        except ValueError as exc:
            raise InvalidRequest(f"address: {exc}") from None
        if not 1 <= request.slots <= MAX_SLOTS:
            raise InvalidRequest(f"slots: expected 1 to {MAX_SLOTS}")
        if request.runs_in_progress < 0 or request.idle_workers < 0:
            raise InvalidRequest("runs_in_progress and idle_workers cannot be negative")
        if len(request.layers_applied) + len(request.layers_missing) > MAX_LAYERS:
            raise InvalidRequest(f"at most {MAX_LAYERS} isolation layers")
        return RunnerRecord(
            runner_id=request.runner_id,
            address=where,
            slots=request.slots,
            runs_in_progress=request.runs_in_progress,
            idle_workers=request.idle_workers,
            layers_applied=tuple(str(layer)[:64] for layer in request.layers_applied),
            layers_missing={str(k)[:64]: str(v)[:512] for k, v in request.layers_missing.items()},
            draining=request.draining,
            version=request.version[:64],
            last_heartbeat=self._clock(),
        )

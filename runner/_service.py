"""The Runner gRPC service: Run, Cancel, Status, on top of a RunnerHost."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import grpc
import structlog

from corral import _json
from corral._error_shapes import from_json, to_proto
from corral.errors import RunFailure, Unavailable
from corral.limits import RunLimits, defaults_for
from corral.v1 import callbacks_pb2_grpc, common_pb2, runner_pb2, runner_pb2_grpc
from runner._context import LOG_LEVELS, RunContext
from runner.host._forward import GrpcCallbackHandler, passed_through
from runner.host._host import Job, Outcome, RunnerHost

KIND_NAMES = {
    common_pb2.FUNCTION_KIND_SYNC: "sync",
    common_pb2.FUNCTION_KIND_ACTION: "action",
    common_pb2.FUNCTION_KIND_ON_EVENT: "on_event",
}
PAGINATION_FIELDS = tuple(runner_pb2.PaginationDefaults.DESCRIPTOR.fields_by_name)
"""The pagination settings a provider may default (the fields of ``PaginationDefaults``)."""
VERSION = "0.1.0"
_log = structlog.get_logger("corral.runner")


def job_from_request(request: runner_pb2.RunRequest) -> Job:
    """The job a RunRequest describes (a limit of 0 is ``corral.limits.DEFAULTS`` of its kind)."""
    kind = KIND_NAMES.get(request.kind, "")
    describe = request.context.mode == runner_pb2.RUN_MODE_DESCRIBE
    limits = RunLimits.from_proto(request.limits, defaults_for("describe" if describe else kind))
    return Job(
        run_id=request.run_id,
        kind=kind,
        function_name=request.function_name,
        entry=request.source.entry,
        files=dict(request.source.files),
        input=_json.loads(request.input_json, what="input_json"),
        context=context_from_proto(request.context),
        mode="describe" if describe else "run",
        wall_seconds=limits.wall_seconds,
        cpu_seconds=limits.cpu_seconds,
        memory_bytes=limits.memory_bytes,
        max_output_bytes=limits.max_output_bytes,
        max_open_files=limits.max_open_files,
        max_run_output_bytes=limits.max_run_output_bytes,
        scope=request.context.environment,
    )


def context_from_proto(message: runner_pb2.RunContext) -> RunContext:
    """The run context a RunRequest carries (empty fields are the defaults)."""
    legacy = message.legacy_config_json
    by_file = {
        name: _json.loads_object(text, what=f"legacy_configs_json[{name}]")
        for name, text in message.legacy_configs_json.items()
    }
    pagination = {f: getattr(message.pagination, f) for f in PAGINATION_FIELDS}
    return RunContext(
        variant=message.variant or "base",
        log_level=message.log_level if message.log_level in LOG_LEVELS else "info",
        validate=not message.skip_validation,
        paginate_defaults={name: value for name, value in pagination.items() if value},
        legacy=_json.loads_object(legacy, what="legacy_config_json") if legacy else None,
        legacy_by_file=by_file,
        webhook=message.mode == runner_pb2.RUN_MODE_WEBHOOK,
    )


def run_response(outcome: Outcome) -> runner_pb2.RunResponse:
    """The RunResponse for an outcome."""
    response = runner_pb2.RunResponse(ok=outcome.ok, duration_seconds=outcome.duration_seconds)
    if outcome.ok:
        response.output_json = json.dumps(outcome.output, ensure_ascii=False)
    else:
        response.error.CopyFrom(to_proto(from_json(outcome.error)))
    return response


class RunnerService(runner_pb2_grpc.RunnerServicer):
    """Serves Runner RPCs; forwards SDK calls to the orchestrator at ``callbacks``."""

    def __init__(
        self,
        host: RunnerHost,
        callbacks: grpc.Channel,
        *,
        draining: threading.Event | None = None,
        ended: Callable[[Outcome], None] | None = None,
    ) -> None:
        """``draining``: once set, new runs are refused (``runner_draining``: they never
        started, so the orchestrator places them on another runner). ``ended``: told of each
        run's outcome (metrics)."""
        self._host = host
        self._draining = draining or threading.Event()
        self._ended = ended
        self._stub = callbacks_pb2_grpc.RunnerCallbacksStub(callbacks)
        self._raw = passed_through(callbacks)

    def Run(
        self, request: runner_pb2.RunRequest, context: grpc.ServicerContext
    ) -> runner_pb2.RunResponse:
        """Executes one run; the run's worker is killed when the caller goes away (gives up,
        is cancelled, or its deadline passes) before the run ends.

        Never fails with an unexpected error: a run that cannot be served is a ``runner_error``.
        """
        if self._draining.is_set():
            raise Unavailable(
                "this runner is draining: it takes no new runs", code="runner_draining"
            )
        job = job_from_request(request)
        context.add_callback(lambda: self._cancel(job.run_id))
        try:
            outcome = self._host.execute(
                job, GrpcCallbackHandler(self._stub, request.run_token, self._raw)
            )
            if self._ended is not None:
                self._ended(outcome)
            return run_response(outcome)
        except Exception as exc:
            _log.exception("run failed in the runner", run_id=job.run_id)
            failure = RunFailure("runner_error", f"the runner failed ({type(exc).__name__})")
            return run_response(Outcome(ok=False, error=failure.to_dict()))

    def _cancel(self, run_id: str) -> None:
        self._host.cancel(run_id)

    def Cancel(
        self, request: runner_pb2.CancelRequest, context: grpc.ServicerContext
    ) -> runner_pb2.CancelResponse:
        """Kills a run in progress."""
        del context
        return runner_pb2.CancelResponse(cancelled=self._host.cancel(request.run_id))

    def Status(
        self, request: runner_pb2.RunnerStatusRequest, context: grpc.ServicerContext
    ) -> runner_pb2.RunnerStatusResponse:
        """The runner's version, load and isolation layers."""
        del request, context
        status = self._host.status()
        return runner_pb2.RunnerStatusResponse(
            version=VERSION,
            layers_applied=sorted(status.get("layers_applied", [])),
            layers_missing=dict(status.get("layers_missing", {})),
            runs_in_progress=int(status["runs_in_progress"]),
            idle_workers=int(status["idle_workers"]),
        )

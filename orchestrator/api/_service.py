"""The Orchestrator service: the public API, one environment per secret key (its integrations
and connections in ``_connections_api``, the checks of its fields in ``orchestrator._fields``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import grpc

from corral import _json
from corral.errors import InvalidRequest, PermissionDenied
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from orchestrator import _fields as fields
from orchestrator.api._auth import current_environment
from orchestrator.api._connections_api import ConnectionsApi
from orchestrator.api._pages import (
    PageFiller,
    decode_cursor,
    decode_number_cursor,
    encode_cursor,
    sized,
)
from orchestrator.api._views import (
    function_pb,
    log_pb,
    record_pb,
    run_pb,
    schedule_pb,
)
from orchestrator.lifecycle._deploy import Deployer
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.runs._dry_runs import DryRuns
from orchestrator.runs._manager import RunManager
from orchestrator.runs._run_request import RunRequestSpec, output_or_raise
from orchestrator.storage._areas import FunctionRow, Run, RunnerRecord
from orchestrator.storage._needs import ApiStorage
from orchestrator.storage._records import to_rfc3339
from orchestrator.webhooks._tally import Progress

RECORD_CHUNK = 50
"""Records read from the store at a time while a page of records fills."""


class OrchestratorService(ConnectionsApi, orchestrator_pb2_grpc.OrchestratorServicer):
    """Serves the Orchestrator RPCs for the caller's environment."""

    def __init__(
        self,
        storage: ApiStorage,
        runs: RunManager,
        deployer: Deployer,
        dry_runs: DryRuns,
        lifecycle: Lifecycle,
        *,
        runners: Callable[[], list[tuple[RunnerRecord, str]]] | None = None,
        operators: frozenset[str] = frozenset({"dev"}),
        progress: Callable[[str], Progress | None] | None = None,
    ) -> None:
        """``runners``: the fleet as ``ListRunners`` shows it (with each runner's state);
        ``operators``: the environments allowed to see it; ``progress``: a running sync's
        counts so far (``GetRun``)."""
        self._storage = storage
        self._runs = runs
        self._deployer = deployer
        self._dry_runs = dry_runs
        self._lifecycle = lifecycle
        self._runners = runners or list
        self._operators = operators
        self._progress = progress or (lambda _run_id: None)

    # ---- functions ----

    def Deploy(self, request: pb.DeployRequest, context: grpc.ServicerContext) -> pb.DeployResponse:
        """Compiles, describes and stores an integration's functions."""
        env = current_environment()
        legacy = {
            name: _json.loads_object(text, what=f"legacy_config_json[{name}]")
            for name, text in request.legacy_config_json.items()
        }
        rows = self._deployer.deploy(
            env,
            request.integration,
            dict(request.files),
            legacy,
            caller=context,
            plan=request.plan,
            only=[fields.name(name, "only") for name in request.only],
            refuse_removals=request.refuse_removals,
            allow_removing=[fields.name(name, "allow_removing") for name in request.allow_removing],
        )
        if not request.plan:
            self._lifecycle.after_deploy(env, request.integration, rows)
        return pb.DeployResponse(functions=[function_pb(r) for r in rows])

    def ListFunctions(
        self, request: pb.ListFunctionsRequest, context: grpc.ServicerContext
    ) -> pb.ListFunctionsResponse:
        """The deployed functions (of one integration, if given)."""
        rows: list[FunctionRow] = self._storage.list_functions(
            current_environment().id, request.integration or None
        )
        return pb.ListFunctionsResponse(functions=[function_pb(r) for r in rows])

    # ---- runs ----

    def TriggerAction(
        self, request: pb.TriggerActionRequest, context: grpc.ServicerContext
    ) -> pb.TriggerActionResponse:
        """Runs an action; waits for it unless ``async``."""
        env = current_environment()
        name = fields.required(request.action_name, "action_name")
        cid = fields.required(request.connection_id, "connection_id")
        input_value = _json.loads(request.input_json, what="input_json")
        function, provider = self._runs.target_for(env, cid, name, "action")
        spec = RunRequestSpec(env, function, cid, input_value, provider=provider)
        key = fields.idempotency_key(request.idempotency_key)
        detached = getattr(request, "async")
        if not key and not detached:
            run = self._runs.run(spec, caller=context)
            return _action_response(run)
        if key:
            run, new = self._runs.claim(spec, key, detached=detached)
        else:
            run, new = self._runs.start(spec, detached=detached), True
        if detached:
            if new:
                self._runs.submit(spec, run)
            return pb.TriggerActionResponse(run_id=run.run_id)
        if new:
            run = self._runs.execute(spec, run, caller=context)
        else:
            run = self._runs.wait(env.id, run.run_id, context)
        return _action_response(run)

    def TriggerSync(
        self, request: pb.TriggerSyncRequest, context: grpc.ServicerContext
    ) -> pb.TriggerSyncResponse:
        """Runs a sync now; with ``reset``, its checkpoint is cleared first, and with
        ``empty_records`` too, the connection's records of the sync's models."""
        env = current_environment()
        name = fields.required(request.sync_name, "sync_name")
        cid = fields.required(request.connection_id, "connection_id")
        variant = fields.name(request.variant, "variant") if request.variant else "base"
        if request.empty_records and not request.reset:
            raise InvalidRequest(
                "empty_records empties a sync's records only with reset",
                code="empty_records_without_reset",
            )
        function, provider = self._runs.target_for(env, cid, name, "sync")
        if request.reset:
            models = _models_to_empty(function) if request.empty_records else []
            self._storage.reset_sync(env.id, cid, name, variant, models)
        spec = RunRequestSpec(env, function, cid, None, variant, provider=provider)

        def mark(run: Run) -> None:  # a manual run is its schedule's last run
            self._storage.mark_manual_run(env.id, cid, name, variant, run.run_id)

        if not getattr(request, "async"):
            run = self._runs.run(spec, caller=context, on_stored=mark)
            output_or_raise(run)
            return pb.TriggerSyncResponse(run_id=run.run_id)
        run = self._runs.start(spec, detached=True)
        mark(run)
        self._runs.submit(spec, run)
        return pb.TriggerSyncResponse(run_id=run.run_id)

    def StartSync(
        self, request: pb.SyncScheduleRequest, context: grpc.ServicerContext
    ) -> pb.SyncSchedule:
        """Starts a sync's schedule for a connection (due at once)."""
        return self._set_schedule(request, "running")

    def PauseSync(
        self, request: pb.SyncScheduleRequest, context: grpc.ServicerContext
    ) -> pb.SyncSchedule:
        """Pauses a sync's schedule for a connection."""
        return self._set_schedule(request, "paused")

    def _set_schedule(self, request: pb.SyncScheduleRequest, state: str) -> pb.SyncSchedule:
        schedule = self._lifecycle.set_state(
            current_environment(),
            fields.required(request.connection_id, "connection_id"),
            fields.required(request.sync_name, "sync_name"),
            fields.name(request.variant, "variant") if request.variant else "base",
            state,
            frequency=request.frequency,
            clear_frequency=request.clear_frequency,
        )
        return schedule_pb(schedule)

    def ListSyncSchedules(
        self, request: pb.ListSyncSchedulesRequest, context: grpc.ServicerContext
    ) -> pb.ListSyncSchedulesResponse:
        """The environment's sync schedules (of one connection, if given)."""
        rows = self._storage.list_schedules(current_environment().id, request.connection_id or None)
        return pb.ListSyncSchedulesResponse(schedules=[schedule_pb(r) for r in rows])

    def DeliverWebhook(
        self, request: pb.DeliverWebhookRequest, context: grpc.ServicerContext
    ) -> pb.DeliverWebhookResponse:
        """Runs the subscribed syncs' webhook handlers in the background."""
        run_ids = self._lifecycle.deliver_webhook(
            current_environment(),
            fields.required(request.integration, "integration"),
            request.connection_id,
            fields.name(request.event_type, "event_type") if request.event_type else "",
            _json.loads(request.payload_json, what="payload_json"),
        )
        return pb.DeliverWebhookResponse(run_ids=run_ids)

    def CancelRun(
        self, request: pb.CancelRunRequest, context: grpc.ServicerContext
    ) -> pb.CancelRunResponse:
        """Cancels a run of this environment (``RunManager.cancel``); a finished one stays."""
        env_id = current_environment().id
        run: Run = self._storage.get_run(env_id, fields.required(request.run_id, "run_id"))
        cancelled = run.state in ("queued", "running") and self._runs.cancel(run.run_id)
        if cancelled:
            run = self._storage.get_run(env_id, run.run_id)
        return pb.CancelRunResponse(cancelled=cancelled, run=run_pb(run))

    def GetRun(self, request: pb.GetRunRequest, context: grpc.ServicerContext) -> pb.Run:
        """One run with its state and result."""
        run: Run = self._storage.get_run(
            current_environment().id, fields.required(request.run_id, "run_id")
        )
        message = run_pb(run)
        running_sync = run.state == "running" and run.kind == "sync"
        progress = self._progress(run.run_id) if running_sync else None
        if progress is not None:
            message.progress.CopyFrom(
                pb.RunProgress(
                    records_added=progress.records_added,
                    records_updated=progress.records_updated,
                    records_deleted=progress.records_deleted,
                    requests=progress.requests,
                )
            )
        return message

    def ListRuns(
        self, request: pb.ListRunsRequest, context: grpc.ServicerContext
    ) -> pb.ListRunsResponse:
        """Runs, newest first, a page at most ``limit`` runs and about 3 MiB."""
        limit = fields.limit(request.limit, 50)
        rows = self._storage.list_runs(
            current_environment().id,
            request.connection_id or None,
            request.function_name or None,
            limit + 1,
            before_run_id=decode_cursor("runs", request.cursor) or None,
        )
        page, more = sized((run_pb(r) for r in rows[:limit]), lambda v: v.ByteSize())
        more = more or len(rows) > limit
        cursor = encode_cursor("runs", page[-1].run_id) if more else ""
        return pb.ListRunsResponse(runs=page, next_cursor=cursor)

    def GetRunLogs(
        self, request: pb.GetRunLogsRequest, context: grpc.ServicerContext
    ) -> pb.GetRunLogsResponse:
        """The log lines of a run, a page at most ``limit`` lines and about 3 MiB."""
        after = decode_number_cursor("logs", request.cursor)
        limit = fields.limit(request.limit, fields.MAX_LIST)
        lines = self._storage.get_logs(
            current_environment().id,
            fields.required(request.run_id, "run_id"),
            after_seq=after,
            limit=limit + 1,
        )
        page, more = sized((log_pb(line) for line in lines[:limit]), lambda v: v.ByteSize())
        more = more or len(lines) > limit
        tail = encode_cursor("logs", str(page[-1].seq)) if page else ""
        return pb.GetRunLogsResponse(lines=page, next_cursor=tail if more else "", tail_cursor=tail)

    # ---- runners ----

    def ListRunners(
        self, request: pb.ListRunnersRequest, context: grpc.ServicerContext
    ) -> pb.ListRunnersResponse:
        """The runner hosts runs are placed on; for operator environments only."""
        del request, context
        env = current_environment()
        if env.name not in self._operators:
            raise PermissionDenied(
                "only operator environments (CORRAL_OPERATOR_ENVIRONMENTS) may list runners",
                code="not_operator",
            )
        now = datetime.now(UTC)
        return pb.ListRunnersResponse(
            runners=[_runner_info(record, state, now) for record, state in self._runners()]
        )

    # ---- records ----

    def ListRecords(
        self, request: pb.ListRecordsRequest, context: grpc.ServicerContext
    ) -> pb.ListRecordsResponse:
        """A page of a connection's records of one model, in modification order."""
        env = current_environment()
        filters = frozenset(f.strip().lower() for f in request.filter.split(",") if f.strip())
        if filters - {"added", "updated", "deleted"}:
            raise InvalidRequest("filter takes added, updated and deleted", code="invalid_filter")
        limit = fields.limit(request.limit, 100)
        options: dict[str, Any] = {"variant": request.variant or "base"}
        if request.modified_after:
            options["modified_after"] = fields.timestamp(request.modified_after)
        if filters:
            options["filter"] = filters
        self._storage.get_connection(
            env.id, fields.required(request.connection_id, "connection_id")
        )
        model = fields.required(request.model, "model")
        page = PageFiller()
        cursor = resume = request.cursor
        # Read in small chunks, so that a page of large records is never all in memory.
        while len(page.rows) < limit:
            chunk, cursor = self._storage.list_records(
                env.id,
                request.connection_id,
                model,
                cursor=cursor,
                limit=min(limit - len(page.rows), RECORD_CHUNK),
                **options,
            )
            for record in chunk:
                if not page.add(record_pb(record)):
                    return pb.ListRecordsResponse(records=page.rows, next_cursor=resume)
                resume = record.cursor
            if not cursor:
                break
        return pb.ListRecordsResponse(records=page.rows, next_cursor=cursor)

    # ---- dry runs ----

    def DryRun(
        self, request: pb.DryRunRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.DryRunEvent]:
        """Runs undeployed files against a connection's API, storing nothing; streams events."""
        if request.variant:
            fields.name(request.variant, "variant")
        yield from self._dry_runs.stream(current_environment(), request, caller=context)


def _models_to_empty(function: FunctionRow) -> list[str]:
    """The models whose records ``TriggerSync`` with ``empty_records`` deletes: those the
    sync's definition names (refused when it names none: which records it stored is not
    known)."""
    models = [str(name) for name in function.config.get("models") or ()]
    if not models:
        raise InvalidRequest(
            f"sync {function.name!r} names no models, so its records cannot be told apart;"
            " name them in create_sync(models=...) to empty them",
            code="sync_declares_no_models",
        )
    return models


def _action_response(run: Run) -> pb.TriggerActionResponse:
    """The answer of a finished action run (its failure raised)."""
    output = output_or_raise(run)
    return pb.TriggerActionResponse(
        run_id=run.run_id, output_json=json.dumps(output, ensure_ascii=False)
    )


def _runner_info(record: RunnerRecord, state: str, now: datetime) -> pb.RunnerInfo:
    return pb.RunnerInfo(
        runner_id=record.runner_id,
        address=record.address,
        layers_applied=list(record.layers_applied),
        layers_missing=dict(record.layers_missing),
        slots=record.slots,
        runs_in_progress=record.runs_in_progress,
        idle_workers=record.idle_workers,
        last_heartbeat=to_rfc3339(record.last_heartbeat),
        seconds_since_heartbeat=max(0.0, (now - record.last_heartbeat).total_seconds()),
        state=state,
        version=record.version,
    )

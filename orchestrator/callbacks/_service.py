"""The RunnerCallbacks service: every SDK operation of a running function, scoped by its token.

The run token in the call metadata alone decides what a call may touch: the run's environment,
connection, function and variant. The token is resolved before a handler runs, by the interceptor of
``orchestrator.callbacks._run_auth``, which binds the run's scope for the call; handlers read it
with ``current_scope()``. Records and checkpoints are for syncs; nothing here takes an environment,
connection or model name from the caller without checking it against the scope."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import grpc

from corral import _json
from corral._budgets import Budgets, budgets_for
from corral._error_shapes import budget_failure_json
from corral.errors import InvalidRequest, PermissionDenied, ResourceExhausted
from corral.v1 import callbacks_pb2 as pb
from corral.v1 import callbacks_pb2_grpc
from orchestrator._time_left import LONGEST_CALLBACK_SECONDS, time_left
from orchestrator.callbacks._records import (
    MAX_MODEL_LENGTH,
    MAX_RECORDS_PER_CALL,
    claims_in,
    ids_in,
    is_hashes_first,
    records_in,
)
from orchestrator.callbacks._run_auth import current_scope
from orchestrator.callbacks._store_retry import retrying
from orchestrator.proxy._credentials import ProxyTarget
from orchestrator.proxy._proxy import OutboundRequest, ProxyResult
from orchestrator.runs._caller import Caller
from orchestrator.runs._dry_sessions import DRY_KIND, DrySession, DrySessions
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._areas import (
    CheckpointKey,
    LogLine,
    RecordCounts,
    RecordScope,
)
from orchestrator.storage._needs import CallbackStorage
from orchestrator.storage._records import api_view

LOG_LEVELS = frozenset({"debug", "info", "warn", "error"})
MAX_LOG_MESSAGE = 64 * 1024
MAX_CHECKPOINT_BYTES = 64 * 1024
RUN_BUDGETS = frozenset({"records_per_run", "record_bytes_per_run"})
"""Budgets whose excess fails the run (past the others, only the request is refused)."""


class TriggerNested(Protocol):
    """Runs another action for the same connection, returns its output (or raises its failure).

    ``caller`` is the parent run's ``TriggerAction`` call: its deadline (the parent's) bounds the
    nested run, and its end (the parent killed or cancelled) cancels it.
    """

    def __call__(
        self, scope: RunScope, action_name: str, input_value: Any, caller: Caller | None = None
    ) -> Any:
        """Runs the action and returns its output."""


class Sender(Protocol):
    """Sends a function's HTTP requests (``orchestrator.proxy._proxy.Proxy``, or recorded
    answers)."""

    def send(
        self, request: OutboundRequest, target_source: Callable[[], ProxyTarget]
    ) -> ProxyResult:
        """The final response to ``request``."""


class Connections(Protocol):
    """The run's connection and integration
    (``orchestrator.proxy._connections.ConnectionService``)."""

    def proxy_target(self, scope: RunScope) -> ProxyTarget:
        """Where the run's requests go and the credentials to inject."""

    def connection_view(
        self, scope: RunScope, *, force_refresh: bool, include_refresh_token: bool
    ) -> dict[str, Any]:
        """The connection as ``get_connection()`` returns it."""

    def integration_view(self, scope: RunScope, include_credentials: bool) -> dict[str, Any]:
        """The integration as ``get_integration()`` returns it."""


@dataclass(frozen=True)
class _Target:
    """Where a call's data lives: a store, the run's scope in it, and a dry run's session."""

    storage: CallbackStorage
    scope: RunScope
    session: DrySession | None


def _value(data: Any) -> pb.JsonValue:
    return pb.JsonValue(json=json.dumps(data, ensure_ascii=False).encode())


def _counts(counts: RecordCounts) -> pb.RecordBatchResult:
    return pb.RecordBatchResult(
        added=counts.added,
        updated=counts.updated,
        deleted=counts.deleted,
        unchanged=counts.unchanged,
    )


class CallbacksService(callbacks_pb2_grpc.RunnerCallbacksServicer):
    """Serves RunnerCallbacks for the runs this orchestrator started.

    The offline dry run serves its calls with this same service, over a scratch store
    (``orchestrator.callbacks._scratch``), with recorded responses as its ``proxy`` and
    ``connections``.
    """

    def __init__(
        self,
        storage: CallbackStorage,
        proxy: Sender,
        connections: Connections,
        trigger_nested: TriggerNested,
        *,
        dry: DrySessions | None = None,
        cancel_run: Callable[[str], Any] | None = None,
        match_hashes: bool = True,
    ) -> None:
        """``match_hashes`` False: a hashes-first batch is answered with no record held, so
        that each record arrives in full (what an offline dry run keeps and compares)."""
        self._match_hashes = match_hashes
        self._dry = dry or DrySessions()
        self._cancel_run = cancel_run
        self._storage = storage
        self._proxy = proxy
        self._connections = connections
        self._trigger_nested = trigger_nested

    def _target(self, scope: RunScope) -> _Target:
        """Where the run's data lives: the store, or a dry run's scratch store.

        Raises:
            PermissionDenied: a dry run that has ended (``run_ended``): its data is gone, and
                never goes to the real store.
        """
        if scope.kind != DRY_KIND:
            return _Target(self._storage, scope, None)
        session = self._dry.get(scope.run_id)
        if session is None:
            raise PermissionDenied("the dry run has ended", code="run_ended")
        scratch = session.scratch(self._budgets())
        return _Target(scratch.storage, scratch.scope, session)

    def _budgets(self) -> Budgets:
        """The budgets of the call's environment (a dry run's too: its scratch store's are a
        copy)."""
        return budgets_for(self._storage.get_environment_by_id(current_scope().env_id).settings)

    def _records(self, model: str) -> tuple[_Target, RecordScope]:
        scope = _sync_scope()
        if not model:
            raise InvalidRequest("a model name is required", code="invalid_sync_record")
        if "\x00" in model:
            # No engine stores it as given (orchestrator._text_values): refused, read or write.
            raise InvalidRequest(
                "a model name must not hold the character U+0000 (NUL)",
                code="invalid_sync_record",
            )
        if len(model) > MAX_MODEL_LENGTH:
            # Like a long record id, a long name in the records' index costs every lookup
            # that passes it a read of its overflow pages (orchestrator.storage._records).
            raise InvalidRequest(
                f"a model name is at most {MAX_MODEL_LENGTH} characters",
                code="invalid_sync_record",
            )
        target = self._target(scope)
        own = target.scope
        return target, RecordScope(own.env_id, own.connection_id, model, own.variant, own.run_id)

    # ---- proxy, logs ----

    def Proxy(self, request: pb.ProxyRequest, context: grpc.ServicerContext) -> pb.ProxyResponse:
        """Sends a request with the connection's credentials injected."""
        scope = current_scope()
        # The store is read before the request goes out; those reads wait out a passing outage
        # of the store (``_store_retry``), the request itself is never sent twice for it.
        budgets = retrying(self._budgets, context, rpc="Proxy")
        outbound = OutboundRequest(
            method=request.method or "GET",
            endpoint=request.endpoint,
            headers=tuple((h.name, h.value) for h in request.headers),
            params=_params(request.params_json),
            data=request.data if request.has_data else None,
            data_is_json=request.data_is_json,
            retries=max(0, min(request.retries, 20)),
            retry_on=tuple(request.retry_on),
            base_url_override=request.base_url_override,
            decompress=request.decompress,
            response_type=request.response_type,
            deadline=_deadline(context),
            # The runner hangs up when the run ends (cancelled, timed out, its worker or the
            # runner itself died): the request stops at once rather than at the run's deadline.
            caller_gone=lambda: not context.is_active(),
            max_response_bytes=budgets.response_bytes,
        )
        result = self._proxy.send(
            outbound,
            lambda: retrying(lambda: self._connections.proxy_target(scope), context, rpc="Proxy"),
        )
        session = self._dry.get(scope.run_id)
        if session is not None:
            session.exchange(request, result)
        return _proxy_response(result)

    def Log(self, request: pb.LogRequest, context: grpc.ServicerContext) -> pb.Empty:
        """Stores one log line of the run; past the run's log budgets it is dropped and counted."""
        scope = current_scope()
        level = request.level if request.level in LOG_LEVELS else "info"
        line = LogLine(
            level=level,
            message=request.message[:MAX_LOG_MESSAGE],
            meta_json=request.meta_json.decode(errors="replace"),
        )
        target = self._target(scope)
        target.storage.append_logs(target.scope.run_id, [line], self._budgets())
        if target.session is not None:
            target.session.stream_logs()
        return pb.Empty()

    # ---- connection, integration, environment ----

    def GetConnection(
        self, request: pb.GetConnectionCallRequest, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        """The run's connection with credentials (refreshed when they expire soon).

        Raises:
            PermissionDenied: ``connection_override_refused`` for an override naming another
                integration or connection than the run's: never served, never ignored.
        """
        scope = current_scope()
        _own_connection(request, scope)
        view = self._connections.connection_view(
            scope, force_refresh=request.force_refresh, include_refresh_token=request.refresh_token
        )
        return _value(view)

    def GetIntegration(
        self, request: pb.GetIntegrationCallRequest, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        """The run's integration; its client credentials only when asked."""
        scope = current_scope()
        return _value(self._connections.integration_view(scope, "credentials" in request.include))

    def GetEnvironmentVariables(
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        """The environment's variables as [{name, value}]."""
        scope = current_scope()
        pairs = self._storage.get_environment_variables(scope.env_id)
        return _value([{"name": n, "value": v} for n, v in pairs])

    def GetMetadata(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.JsonValue:
        """The connection's metadata."""
        target = self._target(current_scope())
        own = target.scope
        return _value(target.storage.get_metadata(own.env_id, own.connection_id))

    def SetMetadata(self, request: pb.JsonValue, context: grpc.ServicerContext) -> pb.Empty:
        """Replaces the connection's metadata."""
        scope = current_scope()
        target = self._target(scope)
        own = target.scope
        target.storage.set_metadata(
            own.env_id, own.connection_id, _object(request, "metadata"), self._budgets()
        )
        return pb.Empty()

    def UpdateMetadata(self, request: pb.JsonValue, context: grpc.ServicerContext) -> pb.Empty:
        """Merges keys into the connection's metadata."""
        scope = current_scope()
        target = self._target(scope)
        own = target.scope
        target.storage.update_metadata(
            own.env_id, own.connection_id, _object(request, "metadata"), self._budgets()
        )
        return pb.Empty()

    # ---- checkpoints ----

    def _checkpoint_key(self) -> tuple[_Target, CheckpointKey]:
        target = self._target(_sync_scope())
        own = target.scope
        return target, CheckpointKey(own.env_id, own.connection_id, own.function_name, own.variant)

    def GetCheckpoint(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.Checkpoint:
        """The sync's checkpoint (null when none) and its version."""
        target, key = self._checkpoint_key()
        value, version = target.storage.get_checkpoint_versioned(key)
        return _checkpoint(value, version)

    def SaveCheckpoint(
        self, request: pb.SaveCheckpointRequest, context: grpc.ServicerContext
    ) -> pb.Checkpoint:
        """Saves the sync's checkpoint, on top of ``expected_version`` when given.

        Raises:
            CheckpointConflict: another run saved or cleared it since this run read it.
        """
        target, key = self._checkpoint_key()
        value = _json.loads_object(request.json, what="checkpoint")
        if len(request.json) > MAX_CHECKPOINT_BYTES:
            raise InvalidRequest(
                f"a checkpoint is at most {MAX_CHECKPOINT_BYTES} bytes", code="invalid_checkpoint"
            )
        expected = request.expected_version if request.HasField("expected_version") else None
        version = target.storage.save_checkpoint(key, value, expected_version=expected)
        return _checkpoint(value, version)

    def ClearCheckpoint(self, request: pb.Empty, context: grpc.ServicerContext) -> pb.Checkpoint:
        """Clears the sync's checkpoint."""
        target, key = self._checkpoint_key()
        target.storage.clear_checkpoint(key)
        return _checkpoint(*target.storage.get_checkpoint_versioned(key))

    # ---- records ----

    def BatchSave(
        self, request: pb.RecordBatch, context: grpc.ServicerContext
    ) -> pb.RecordBatchResult:
        """Upserts records; for a hashes-first batch, saves those stored with their hash and
        answers their positions (a dry run's: none, so that the run keeps every record it
        saved)."""
        target, scope = self._records(request.model)
        if is_hashes_first(request):
            claims = claims_in(request)
            if target.session is not None or not self._match_hashes:
                return pb.RecordBatchResult()
            with self._failing_run(target):
                counts, held = target.storage.save_unchanged(scope, claims, self._budgets())
            return pb.RecordBatchResult(unchanged=counts.unchanged, held=held)
        records = records_in(request)
        with self._failing_run(target):
            counts = target.storage.save_records(scope, records, self._budgets())
        if target.session is not None:
            target.session.saved(scope.model, [r.json for r in records])
        return _counts(counts)

    def BatchDelete(
        self, request: pb.RecordBatch, context: grpc.ServicerContext
    ) -> pb.RecordBatchResult:
        """Soft-deletes records by id."""
        target, scope = self._records(request.model)
        ids = ids_in(request)
        counts = target.storage.delete_records(scope, ids)
        if target.session is not None:
            target.session.deleted_ids(scope.model, ids)
        return _counts(counts)

    def BatchUpdate(
        self, request: pb.RecordBatch, context: grpc.ServicerContext
    ) -> pb.RecordBatchResult:
        """Deep-merges partial records into stored ones."""
        target, scope = self._records(request.model)
        patches = [(r.id, r.json) for r in records_in(request, what="patch")]
        with self._failing_run(target):
            return _counts(target.storage.update_records(scope, patches, self._budgets()))

    def GetRecordsById(
        self, request: pb.GetRecordsByIdRequest, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        """The stored records with these ids, soft-deleted ones included, each with its
        ``_nango_metadata`` (``deleted_at`` and ``last_action`` tell a deleted one)."""
        target, scope = self._records(request.model)
        ids = list(request.ids)[:MAX_RECORDS_PER_CALL]
        found = target.storage.get_records_by_id(scope, ids)
        return _value({rid: api_view(record) for rid, record in found.items()})

    def TrackDeletesStart(
        self, request: pb.ModelRequest, context: grpc.ServicerContext
    ) -> pb.Empty:
        """Starts deletion tracking for a model."""
        target, scope = self._records(request.model)
        target.storage.track_deletes_start(scope)
        return pb.Empty()

    def TrackDeletesEnd(
        self, request: pb.ModelRequest, context: grpc.ServicerContext
    ) -> pb.RecordBatchResult:
        """Deletes the model's records not saved since the start of tracking."""
        target, scope = self._records(request.model)
        return _counts(target.storage.track_deletes_end(scope))

    @contextlib.contextmanager
    def _failing_run(self, target: _Target) -> Iterator[None]:
        """Fails the run when a per-run records budget is used up, whatever the function does.

        The first finish of a run wins, so a later ``done`` from the worker cannot clear it.
        """
        try:
            yield
        except ResourceExhausted as exc:
            if exc.resource in RUN_BUDGETS:
                run_id = target.scope.run_id
                target.storage.abandon_tracking(run_id)
                target.storage.finish_run(run_id, False, None, budget_failure_json(exc))
                if self._cancel_run is not None:
                    # The worker stops at once; its later ``done`` could not change the outcome.
                    threading.Thread(
                        target=self._cancel_run, args=(current_scope().run_id,), daemon=True
                    ).start()
            raise

    # ---- nested actions ----

    def TriggerAction(
        self, request: pb.TriggerActionCallRequest, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        """Runs another action of the integration for the same connection."""
        scope = current_scope()
        value = _json.loads(request.input_json, what="input")
        return _value(self._trigger_nested(scope, request.action_name, value, caller=context))


def _proxy_response(result: ProxyResult) -> pb.ProxyResponse:
    """The response message of a proxied request (the body is copied into it; the caller's
    ``result`` is freed when the handler returns, before gRPC serialises the message)."""
    return pb.ProxyResponse(
        status=result.status,
        headers=[pb.Header(name=n, value=v) for n, v in result.headers],
        body=result.body,
        url=result.url,
        method=result.method,
    )


def _own_connection(request: pb.GetConnectionCallRequest, scope: RunScope) -> None:
    """Refuses ``get_connection`` overrides that name anything but the run's own connection."""
    asked = (
        ("integration", request.provider_config_key_override, scope.integration_key),
        ("connection", request.connection_id_override, scope.connection_id),
    )
    for what, override, own in asked:
        if override and override != own:
            raise PermissionDenied(
                f"get_connection() reaches this run's own connection only: {what} "
                f"{override[:200]!r} is not this run's ({own!r})",
                code="connection_override_refused",
                details={what: override[:200]},
            )


def _sync_scope() -> RunScope:
    """The call's scope, when its run may store records and checkpoints (a sync's)."""
    scope = current_scope()
    if scope.kind not in ("sync", DRY_KIND):
        raise PermissionDenied("only syncs store records and checkpoints", code="sync_only")
    return scope


def _checkpoint(value: Any, version: int) -> pb.Checkpoint:
    return pb.Checkpoint(json=json.dumps(value, ensure_ascii=False).encode(), version=version)


def _deadline(context: grpc.ServicerContext) -> datetime | None:
    """When the call must end; the caller's time is bounded by a run's (``_time_left``)."""
    seconds = time_left(context, LONGEST_CALLBACK_SECONDS)
    return None if seconds is None else datetime.now(UTC) + timedelta(seconds=seconds)


def _object(message: pb.JsonValue, what: str) -> dict[str, Any]:
    return _json.loads_object(message.json, what=what)


def _params(data: bytes) -> Any:
    if not data:
        return None
    params = _json.loads(data, what="params")
    if params is not None and not isinstance(params, dict | str):
        raise InvalidRequest(
            "params must be a JSON object (or a query string)", code="invalid_params"
        )
    return params

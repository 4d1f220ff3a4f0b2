"""``Orchestrator.DryRun``: run function files against a connection's real API, storing nothing."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from concurrent import futures
from typing import Any

from corral import _json
from corral._error_shapes import ErrorValue, to_proto
from corral.errors import CorralError, InvalidRequest, RunFailure
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import runner_pb2
from orchestrator._concurrency import SERVER_THREADS
from orchestrator.lifecycle._deploy import check_files
from orchestrator.runs._caller import Caller
from orchestrator.runs._dispatch import Dispatcher, RunOrder
from orchestrator.runs._dry_sessions import DRY_KIND, DrySession, DrySessions
from orchestrator.runs._limits import limits_for
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._areas import ConnectionStore, Environment

POLL_SECONDS = 0.2
"""How often a waiting stream checks that its run ended, should the wake-up have been lost."""


class DryRuns:
    """Starts dry runs and streams what they do."""

    def __init__(
        self, storage: ConnectionStore, sessions: DrySessions, dispatcher: Dispatcher
    ) -> None:
        self._storage = storage
        self._sessions = sessions
        self._dispatcher = dispatcher
        # As many as the public API has threads: each dry run is an open DryRun call, which
        # concurrency.api_calls bounds per environment, so one tenant's dry runs waiting for
        # their turn in the fair queue never take the threads of another's.
        self._pool = futures.ThreadPoolExecutor(
            max_workers=SERVER_THREADS, thread_name_prefix="dry-run"
        )

    def stream(
        self, env: Environment, request: pb.DryRunRequest, caller: Caller | None = None
    ) -> Iterator[pb.DryRunEvent]:
        """Runs the request's function; yields log lines, exchanges, then the result.

        ``caller``: the DryRun call (its deadline and its end pass on to the runner).
        """
        connection = self._storage.get_connection(env.id, request.connection_id)
        check_files(connection.integration_key, dict(request.files))
        if request.entry not in request.files:
            raise InvalidRequest(
                f"entry {request.entry!r} is not among the files", code="invalid_file"
            )
        metadata = connection.metadata
        if request.metadata_json:
            metadata = _json.loads_object(request.metadata_json, what="metadata_json")
        checkpoint = _json.loads(request.checkpoint_json, what="checkpoint_json")
        if checkpoint is not None and not isinstance(checkpoint, dict):
            raise InvalidRequest(
                "checkpoint_json must be a JSON object (or null for none)", code="invalid_json"
            )
        _json.loads(request.input_json, what="input_json")
        session = DrySession(
            metadata, checkpoint, request.record_responses, self._sessions.scratch_dir
        )
        run_id = "dry-" + uuid.uuid4().hex
        scope = RunScope(
            env_id=env.id, run_id=run_id, connection_id=connection.connection_id,
            integration_key=connection.integration_key,
            function_name=request.entry.removesuffix(".py"), kind=DRY_KIND,
            variant=request.variant or "base",
        )  # fmt: skip
        order = _order(env, request, scope)
        self._sessions.open(run_id, session)
        future = self._pool.submit(self._dispatcher.dispatch, order, caller)
        future.add_done_callback(lambda _: session.wake())
        try:
            yield from _events_until_done(session, future)
            yield pb.DryRunEvent(result=_result(session, future))
        finally:
            # The session outlives the run's token (revoked when the runner answers): a call
            # of the run is never taken for one of a real run.
            future.add_done_callback(lambda _: self._sessions.close(run_id))
            if not future.done():
                self._dispatcher.cancel(run_id)

    def shutdown(self) -> None:
        """Stops taking dry runs."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _order(env: Environment, request: pb.DryRunRequest, scope: RunScope) -> RunOrder:
    legacy = _json.loads_object(request.legacy_config_json, what="legacy_config_json") or None
    return RunOrder(
        kind="dry",
        env=env,
        run_id=scope.run_id,
        entry=request.entry,
        files=dict(request.files),
        limits=limits_for("sync", env.settings),
        function_name=scope.function_name,
        integration_key=scope.integration_key,
        connection_id=scope.connection_id,
        variant=scope.variant,
        input_json=request.input_json or "null",
        legacy=legacy,
        scope=scope,
    )


def _events_until_done(
    session: DrySession, future: futures.Future[Any]
) -> Iterator[pb.DryRunEvent]:
    while True:
        try:
            event = session.events.get(timeout=POLL_SECONDS)
        except queue.Empty:
            event = None
        if event is not None:
            yield event
        elif future.done() and session.events.empty():
            return


def _result(session: DrySession, future: futures.Future[Any]) -> pb.DryRunResult:
    result = pb.DryRunResult(
        records_json=json.dumps(session.records, ensure_ascii=False),
        deleted_json=json.dumps(session.deleted, ensure_ascii=False),
        metadata_json=json.dumps(session.metadata, ensure_ascii=False),
    )
    try:
        response: runner_pb2.RunResponse = future.result()
    except CorralError as err:
        code = err.code if isinstance(err, RunFailure) else "runner_error"
        result.error.CopyFrom(to_proto(ErrorValue(code, err.message)))
        return result
    exhausted = session.failure
    if exhausted is not None:
        # Past a per-run budget the run has failed, even when the function caught the error.
        result.error.CopyFrom(to_proto(exhausted.value))
        return result
    result.ok = response.ok
    if response.ok:
        result.output_json = response.output_json
    else:
        result.error.CopyFrom(response.error)
    return result

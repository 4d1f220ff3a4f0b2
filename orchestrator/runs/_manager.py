"""Runs: store, send to a runner through the dispatcher, store the outcome.

A run that fails leaves the stored state as it was before its failure point: its deletion
tracking is abandoned, and its result is recorded as a typed error.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import replace
from functools import cached_property
from typing import Any, cast

import structlog

from corral._error_shapes import ErrorValue, from_proto, to_json, to_proto
from corral._logging import run_log_context
from corral.errors import CorralError, InvalidRequest, NotFound, RunFailure, Unavailable
from corral.v1 import runner_pb2
from orchestrator.proxy._connections import redact_value
from orchestrator.runs._caller import Caller
from orchestrator.runs._dispatch import (
    Dispatcher,
    RunEnded,
    RunnerClient,
    RunOrder,
    token_seconds,
)
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.runs._lease_renewal import LeaseRenewal
from orchestrator.runs._limits import limits_for
from orchestrator.runs._recovery import LOST
from orchestrator.runs._run_request import RunRequestSpec, new_run, output_or_raise, run_kind
from orchestrator.runs._tokens import IssuedToken, RunScope, RunTokens
from orchestrator.runs._unstored import UnstoredOutcomes
from orchestrator.storage._areas import Environment, FunctionRow, NewRun, Run, RunTokenWrites
from orchestrator.storage._needs import RunStorage
from orchestrator.storage._run_leases import REQUEUE_RUN, REQUEUE_WEBHOOK

_log = structlog.get_logger("corral.runs")

MAX_NESTING = 5

LEASE_SECONDS = 30.0
"""How long a run's lease lasts unrenewed (``corral serve``: ``CORRAL_RUN_LEASE_SECONDS``).
A run whose orchestrator died is ended by another orchestrator at most this long (plus one
scheduler tick) after its last renewal."""

TAKE_OVER_BATCH = 64
"""At most this many runs of lost orchestrators are taken over per sweep (one scheduler tick)."""


MAX_CANCELS_KEPT = 10_000
"""Cancels of runs not yet started, remembered at most (the oldest are forgotten)."""


class RunManager:
    """Starts runs and records their outcomes."""

    def __init__(
        self,
        storage: RunStorage,
        tokens: RunTokens,
        runners: RunnerClient,
        queue: FairQueue | None = None,
        secrets: Callable[[RunScope], Sequence[str]] | None = None,
        *,
        owner: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        hand_off: bool = False,
        ended: RunEnded | None = None,
        finished: Callable[[Run], None] | None = None,
    ) -> None:
        """``queue``: the run slots, shared fairly across environments (every run of the
        service takes one, dry runs and describes included). ``owner``: this orchestrator
        instance's id; its runs are stored with a lease of ``lease_seconds`` that
        ``renew_leases`` (a thread, from ``start_lease_renewal``) keeps alive. ``hand_off``
        (orchestrators sharing a store): at shutdown, background runs still queued are released
        for another orchestrator to take over, instead of ending as cancelled. ``ended``: told
        of every run the dispatcher ends (metrics). ``finished``: given each run whose outcome
        is stored (sync result notifications); it must not block."""
        self._finished = finished
        self._hand_off = hand_off
        self._storage = storage
        self.owner = owner
        self._lease_seconds = lease_seconds
        self._renewal: LeaseRenewal | None = None
        self._tokens = tokens
        self.dispatcher = Dispatcher(storage, tokens, runners, queue, ended)
        """Sends this manager's runs, and the dry runs and describes of the same service."""
        self._joint = (
            storage if isinstance(storage, RunTokenWrites) and tokens.kept_by(storage) else None
        )
        """The store, when it keeps the run tokens and writes a run's token with the run: the
        hot path's token is then stored by the run's insert and revoked by its finish."""
        self._secrets = secrets or (lambda scope: ())
        self._pending: set[futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._cancel_asked: dict[str, None] = {}  # run ids, oldest first (CancelRun)
        self._queued: set[str] = set()  # background runs waiting in the fair queue
        self._drained = threading.Condition(self._lock)

    def function_for(
        self, env: Environment, connection_id: str, name: str, kind: str
    ) -> FunctionRow:
        """The deployed function ``name`` of the connection's integration, of the given kind."""
        return self.target_for(env, connection_id, name, kind)[0]

    def target_for(
        self, env: Environment, connection_id: str, name: str, kind: str
    ) -> tuple[FunctionRow, str]:
        """``function_for``'s function and its integration's provider, read in one statement
        (a run's ``RunRequestSpec`` takes both: its dispatch then reads nothing more)."""
        function, provider = self._storage.get_connection_function(env.id, connection_id, name)
        if function.kind != kind:
            raise NotFound(f"{name!r} is a {function.kind}, not a {kind}", code="unknown_function")
        return function, provider

    def start(self, spec: RunRequestSpec, *, detached: bool = False) -> Run:
        """Stores a new run (queued), held by this instance. ``detached``: nobody waits on this
        orchestrator for it (it goes to ``submit``), so another orchestrator may take it over
        while it is queued, should this one die (``take_over_lost_runs``)."""
        return self._storage.create_run(spec.env.id, self._new_run(spec, detached))

    def _new_run(self, spec: RunRequestSpec, detached: bool) -> NewRun:
        requeue = None
        if detached and spec.parent is None:
            requeue = REQUEUE_WEBHOOK if spec.webhook else REQUEUE_RUN
        return replace(
            new_run(spec), owner=self.owner, lease_seconds=self._lease_seconds, requeue=requeue
        )

    def run(
        self,
        spec: RunRequestSpec,
        caller: Caller | None = None,
        on_stored: Callable[[Run], object] = lambda _run: None,
    ) -> Run:
        """Stores a new run and runs it to its end for a caller that waits; the finished run.

        ``spec`` was read just now (its function and connection: ``target_for``).
        The hot path: when a slot is free (nobody waits for one) or the run is nested (it
        uses its parent's), the run is stored already ``running``, one transaction before
        the runner and one after (its finish). Otherwise it is stored ``queued`` and waits
        for its slot in turn, as ``start`` then ``execute`` do. ``on_stored`` is called with
        the run once it is stored, before it runs.
        """
        if spec.parent is not None:
            return self._execute_started(spec, caller, on_stored)
        held = self.dispatcher.queue.free_slot(spec.env.id)
        if held is None:
            run = self.start(spec)
            on_stored(run)
            return self.execute(spec, run, caller)
        with held:
            return self._execute_started(spec, caller, on_stored)

    def _execute_started(
        self, spec: RunRequestSpec, caller: Caller | None, on_stored: Callable[[Run], object]
    ) -> Run:
        new = replace(self._new_run(spec, detached=False), started=True)
        if self._joint is None:
            run = self._storage.create_run(spec.env.id, new)
            on_stored(run)
            order = self._order(spec, run.run_id, connection_checked=True)
            return self._execute_order(order, run, caller, admitted=True)
        # The store keeps the run's token: stored by the run's insert, revoked by its finish.
        order = self._order(spec, str(uuid.uuid4()), connection_checked=True)
        scope = cast("RunScope", order.scope)
        issued = self._tokens.issue(scope, token_seconds(order.limits))
        run = self._joint.create_run_with_token(
            spec.env.id, replace(new, run_id=order.run_id), issued.row
        )
        on_stored(run)
        return self._execute_order(replace(order, issued=issued), run, caller, admitted=True)

    def claim(
        self, spec: RunRequestSpec, idempotency_key: str, *, detached: bool = False
    ) -> tuple[Run, bool]:
        """The run of a client's idempotency key: the first one (False), or a new one (True).

        Raises:
            InvalidRequest: ``idempotency_key_reused``.
        """
        new = replace(self._new_run(spec, detached), idempotency_key=idempotency_key)
        return self._storage.claim_run(spec.env.id, new)

    def take_over_lost_runs(self, limit: int = TAKE_OVER_BATCH) -> list[str]:
        """Takes over the queued detached runs of orchestrators whose lease expired (they died
        before the runs had their turn) and queues them here; returns their ids.

        A run never started, so running it here is its first execution, never a retry. One
        whose function, connection or environment is gone since ends as ``orchestrator_lost``.
        """
        if self.owner is None:
            return []
        taken = self._storage.take_over_runs(self.owner, self._lease_seconds, limit)
        for run, mark in taken:
            try:
                spec = self._request_of(run, mark)
            except CorralError as err:
                message = f"the run of a lost orchestrator could not be taken over: {err.message}"
                error = to_json(ErrorValue(LOST, message), form="compact")
                self._storage.finish_run(run.run_id, False, None, error)
                continue
            _log.info("run of a lost orchestrator taken over", run_id=run.run_id)
            self.submit(spec, run)
        return [run.run_id for run, _ in taken]

    def _request_of(self, run: Run, mark: str) -> RunRequestSpec:
        """The request a stored run was made of (``NewRun.requeue``)."""
        env = self.environment(run.env_id)
        function, provider = self.target_for(env, run.connection_id, run.function_name, run.kind)
        input_value = json.loads(run.input_json)
        return RunRequestSpec(
            env,
            function,
            run.connection_id,
            input_value,
            run.variant,
            webhook=mark == REQUEUE_WEBHOOK,
            provider=provider,
        )

    def wait(self, env_id: int, run_id: str, caller: Caller) -> Run:
        """The run once it has ended, polled until the caller's deadline.

        Raises:
            RunFailure: ``execution_timeout`` (details ``run_id``), the caller's deadline came
                first; the run goes on, and its outcome can be read later.
        """
        while True:
            run = self._storage.get_run(env_id, run_id)
            if run.state not in ("queued", "running"):
                return run
            remaining = caller.time_remaining()
            if remaining is not None and remaining <= WAIT_POLL_SECONDS:
                raise RunFailure(
                    "execution_timeout",
                    "the run of this idempotency key is still going",
                    details={"run_id": run_id},
                )
            time.sleep(WAIT_POLL_SECONDS)

    def execute(
        self,
        spec: RunRequestSpec,
        run: Run,
        caller: Caller | None = None,
        *,
        admitted: bool = False,
    ) -> Run:
        """Runs a stored run to its end and stores the outcome; returns the finished run.

        The run waits ``queued`` for its slot (``admitted``: it has one already). ``caller``:
        the API call that waits for the run (its deadline and its end pass on to the runner;
        see ``Dispatcher.dispatch``).
        """
        return self._execute_order(self._order(spec, run.run_id), run, caller, admitted)

    def _order(
        self, spec: RunRequestSpec, run_id: str, *, connection_checked: bool = False
    ) -> RunOrder:
        """What the dispatcher sends for the run ``run_id`` of ``spec``, with its scope.

        ``connection_checked``: the run starts now, on its request's own read of its function
        and connection (``target_for``, a moment ago): the dispatch need not read the
        connection again (``Dispatcher._check_connection``)."""
        scope = RunScope(
            env_id=spec.env.id,
            run_id=run_id,
            connection_id=spec.connection_id,
            integration_key=spec.function.integration_key,
            function_name=spec.function.name,
            kind=spec.function.kind,
            variant=spec.variant,
            depth=spec.parent.depth + 1 if spec.parent else 0,
        )
        legacy = spec.function.config.get("legacy_config")
        return RunOrder(
            kind="webhook" if spec.webhook else run_kind(spec.function.kind),
            env=spec.env,
            run_id=run_id,
            entry=spec.function.entry,
            files=spec.function.files,
            limits=limits_for(spec.function.kind, spec.env.settings),
            function_name=spec.function.name,
            integration_key=spec.function.integration_key,
            connection_id=spec.connection_id,
            variant=spec.variant,
            input_json=json.dumps(spec.input_value, ensure_ascii=False),
            legacy=legacy if isinstance(legacy, Mapping) else None,
            scope=scope,
            provider=spec.provider,
            connection_checked=connection_checked,
        )

    def _execute_order(
        self, order: RunOrder, run: Run, caller: Caller | None, admitted: bool
    ) -> Run:
        with self._lock:
            self._in_flight.add(run.run_id)
        try:
            with run_log_context(run.run_id, order.env.name, order.connection_id):
                return self._dispatch_and_store(order, run, caller, admitted)
        finally:
            with self._lock:
                self._in_flight.discard(run.run_id)
                self._cancel_asked.pop(run.run_id, None)
                self._drained.notify_all()

    def _dispatch_and_store(
        self, order: RunOrder, run: Run, caller: Caller | None, admitted: bool
    ) -> Run:
        scope = cast("RunScope", order.scope)
        mark = run.state == "queued"  # else stored as started (``run``): no second write

        def started() -> None:
            with self._lock:
                asked = self._cancel_asked.pop(run.run_id, False) is None
            if asked:
                raise RunFailure("execution_cancelled", "the run was cancelled before it started")
            if mark:
                self._storage.mark_run_started(run.run_id)

        try:
            response = self.dispatcher.dispatch(order, caller, admitted=admitted, started=started)
        except RunFailure as failure:
            response = _failed(failure.code, failure.message)
        except Exception as exc:
            _log.warning("runner call failed", run_id=run.run_id, error=str(exc))
            response = _failed("runner_error", f"the runner could not complete the run: {exc}")
        try:
            stored = self._store_outcome(run, response, scope, order.issued)
        except Exception as exc:
            # The store refuses to write (a full disk): the run must not stay "running". Its
            # outcome waits in memory and is stored once the store can write again.
            if not self._unstored.keep(
                run.run_id, lambda: self._store_outcome(run, response, scope, None, quiet=True)
            ):
                raise
            raise Unavailable(
                f"the run {run.run_id} ended but its outcome cannot be stored now ({exc}); it is "
                "stored once the store can write again: look the run up instead of retrying",
                code=exc.code if isinstance(exc, CorralError) else "storage_unavailable",
                retryable=False,
                details={
                    **(exc.details if isinstance(exc, CorralError) else {}),
                    "run_id": run.run_id,
                },
            ) from exc
        if self._finished is not None:
            self._finished(stored)
        return stored

    @cached_property
    def _unstored(self) -> UnstoredOutcomes:
        """Outcomes the store refused, retried in the background (see ``_unstored``)."""
        return UnstoredOutcomes()

    def _store_outcome(
        self,
        run: Run,
        response: runner_pb2.RunResponse,
        scope: RunScope,
        issued: IssuedToken | None,
        *,
        quiet: bool = False,
    ) -> Run:
        """Stores a run's outcome; if that fails, that the outcome could not be stored.

        ``issued``: the run's token kept with it, revoked by the finish (if that fails, on its
        own). ``quiet``: a retry, whose failures ``UnstoredOutcomes`` logs in one line.
        """
        try:
            return self._finish(run, response, scope, issued)
        except Exception as exc:
            # The run must not stay "running": record that its outcome could not be stored.
            if not quiet:
                _log.exception("storing a run's outcome failed", run_id=run.run_id)
            message = f"the run's outcome could not be stored: {exc}"
            error = to_json(ErrorValue("runner_error", message), form="compact")
            return self._storage.finish_run(run.run_id, False, None, error)
        finally:
            if issued is not None and not issued.revoked:  # the finish did not revoke it
                self._tokens.revoke(issued.token)

    def environment(self, env_id: int) -> Environment:
        """The environment with this id."""
        return self._storage.get_environment_by_id(env_id)

    def _finish(
        self,
        run: Run,
        response: runner_pb2.RunResponse,
        scope: RunScope,
        issued: IssuedToken | None,
    ) -> Run:
        if response.ok:
            return self._end(run.run_id, True, response.output_json or "null", None, issued)
        if run.kind == "sync":
            self._storage.abandon_tracking(run.run_id)
        error = to_json(from_proto(response.error))
        # An upstream error body may echo the credential the proxy injected (an API that
        # repeats the request's headers): the stored error, which callers and logs show,
        # never keeps it. The function itself saw the real response.
        return self._end(run.run_id, False, None, redact_value(error, self._secrets(scope)), issued)

    def _end(
        self,
        run_id: str,
        ok: bool,
        output_json: str | None,
        error: Mapping[str, Any] | None,
        issued: IssuedToken | None,
    ) -> Run:
        """Stores a run's finish; with ``issued``, revoking the run's token in the same
        statement."""
        if issued is None or self._joint is None:
            return self._storage.finish_run(run_id, ok, output_json, error)
        digest = issued.row.digest
        run = self._joint.finish_run_revoking(run_id, ok, output_json, error, digest)
        self._tokens.ended(issued)
        return run

    def connection_deleted(self, env_id: int, connection_id: str) -> None:
        """The connection is gone: the tokens of its runs end (``RunTokens.revoke_connection``),
        so none reaches a connection made later under the same id; its runs still going fail
        their next call."""
        self._tokens.revoke_connection(env_id, connection_id)

    def integration_deleted(self, env_id: int, integration_key: str) -> None:
        """The integration is gone: the tokens of its functions' runs end."""
        self._tokens.revoke_integration(env_id, integration_key)

    def start_lease_renewal(self) -> None:
        """Renews the leases of this instance's unfinished runs every third of a lease, on a
        thread, until ``shutdown``."""
        if self.owner is None:
            return
        self._renewal = LeaseRenewal(self._storage, self.owner, self._lease_seconds)
        self._renewal.start()

    def submit(self, spec: RunRequestSpec, run: Run) -> None:
        """Executes a stored run in the background: it waits ``queued`` in the fair queue,
        holding no thread, until its environment's turn."""

        def abandon() -> None:  # the service stops before the run had its turn
            if self._hand_off and spec.parent is None:
                self._storage.release_run(run.run_id)  # another orchestrator takes it over
                return
            error = ErrorValue("execution_cancelled", "the service stopped before the run started")
            self._storage.finish_run(run.run_id, False, None, to_json(error, form="compact"))

        future = self.dispatcher.queue.submit(
            spec.env.id, lambda: self._execute_admitted(spec, run), abandon
        )
        with self._lock:
            self._queued.add(run.run_id)
        future.add_done_callback(lambda _f: self._unqueue(run.run_id))
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def cancel(self, run_id: str) -> bool:
        """``CancelRun``: kills the run on its runner if it is running there; a run still waiting
        for its slot (on this orchestrator) ends as ``execution_cancelled`` when its turn comes,
        without running. True when the cancel reached the run."""
        with self._lock:
            self._cancel_asked[run_id] = None
            while len(self._cancel_asked) > MAX_CANCELS_KEPT:
                del self._cancel_asked[next(iter(self._cancel_asked))]
            here = run_id in self._in_flight or run_id in self._queued
        return self.dispatcher.cancel(run_id) or here

    def _unqueue(self, run_id: str) -> None:
        with self._lock:
            self._queued.discard(run_id)
            self._cancel_asked.pop(run_id, None)

    def _execute_admitted(self, spec: RunRequestSpec, run: Run) -> None:
        self.execute(spec, run, admitted=True)

    def _forget(self, future: futures.Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def run_nested(
        self, scope: RunScope, action_name: str, input_value: Any, caller: Caller | None = None
    ) -> Any:
        """``nango.trigger_action``: another action, same connection; its output or failure.

        ``caller``: the parent's callback call, whose deadline and end pass on to the run.
        """
        if scope.depth >= MAX_NESTING:
            raise InvalidRequest(
                f"trigger_action nests deeper than {MAX_NESTING} levels", code="nesting_too_deep"
            )
        env = self._storage.get_environment_by_id(scope.env_id)
        function, provider = self.target_for(env, scope.connection_id, action_name, "action")
        spec = RunRequestSpec(
            env, function, scope.connection_id, input_value, parent=scope, provider=provider
        )
        return output_or_raise(self.run(spec, caller))

    def shutdown(self, grace_seconds: float) -> None:
        """Waits up to ``grace_seconds`` for the runs in flight; then cancels the ones still
        going on their runners, and waits (at most ``CANCEL_DRAIN_SECONDS``) until each has
        stored its outcome (``execution_cancelled``), so nothing uses the store after it closes.
        """
        with self._lock:
            pending = list(self._pending)
        futures.wait(pending, timeout=grace_seconds)
        self.dispatcher.queue.close()  # queued runs end as cancelled (or are handed off)
        with self._lock:
            late = list(self._in_flight)
        if late:
            _log.warning("runs cancelled at shutdown", runs=len(late))
        for run_id in late:
            try:
                self.dispatcher.cancel(run_id)
            except Exception:  # a runner already gone: its run ends with the channel
                _log.warning("cancelling a run at shutdown failed", run_id=run_id)
        with self._lock:
            self._drained.wait_for(lambda: not self._in_flight, timeout=CANCEL_DRAIN_SECONDS)
        # Outcomes the store refused get one more try; what is left, the next start ends.
        self._unstored.stop()
        if self._renewal is not None:
            self._renewal.stop()


def _failed(code: str, message: str) -> runner_pb2.RunResponse:
    return runner_pb2.RunResponse(ok=False, error=to_proto(ErrorValue(code, message)))


CANCEL_DRAIN_SECONDS = 5.0
"""At shutdown, how long cancelled runs get to store their outcome before the store closes."""

WAIT_POLL_SECONDS = 0.1
"""How often a retry with an idempotency key looks whether the first run has ended."""

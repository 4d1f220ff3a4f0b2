"""The one dispatcher: every run goes to a runner through ``Dispatcher.dispatch``.

Actions, syncs, webhooks, on-event functions, a deploy's describe and dry runs are each a
``RunOrder``; ``dispatch`` builds the typed ``RunRequest`` (with its typed ``RunContext``),
takes a slot in the fair queue (``orchestrator.runs._fair_queue``; nested runs use their
parent's), mints the run's token for its scope, sends it through the runner client within the
caller's deadline, cancels it when the caller goes away, and revokes the token when the runner
answers, whose reply it checks before anything stores it or hands it on
(``orchestrator.runs._runner_reply``). No other code builds a ``RunRequest``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog

from corral import _providers
from corral.errors import RunFailure
from corral.v1 import common_pb2, runner_pb2
from orchestrator.runs._caller import Caller, CallerWatch
from orchestrator.runs._fair_queue import FairQueue
from orchestrator.runs._runner_reply import checked_reply
from orchestrator.runs._tokens import IssuedToken, RunScope, RunTokens
from orchestrator.storage._areas import ConnectionStore, Environment

_log = structlog.get_logger("corral.runs")

RunKind = Literal["action", "sync", "on_event", "webhook", "describe", "dry"]
"""What a run does: runs a deployed function of a kind, hands a webhook to a sync, describes
an integration's files (deploy), or runs undeployed files storing nothing (dry run)."""

KIND_ENUM = {
    "sync": common_pb2.FUNCTION_KIND_SYNC,
    "action": common_pb2.FUNCTION_KIND_ACTION,
    "on_event": common_pb2.FUNCTION_KIND_ON_EVENT,
}
"""The proto kind of a function kind."""

_FUNCTION_KIND: Mapping[RunKind, common_pb2.FunctionKind.ValueType] = {
    "sync": common_pb2.FUNCTION_KIND_SYNC,
    "action": common_pb2.FUNCTION_KIND_ACTION,
    "on_event": common_pb2.FUNCTION_KIND_ON_EVENT,
    "webhook": common_pb2.FUNCTION_KIND_SYNC,
    "describe": common_pb2.FUNCTION_KIND_UNSPECIFIED,
    "dry": common_pb2.FUNCTION_KIND_UNSPECIFIED,  # whatever the files define
}
_MODE: Mapping[RunKind, runner_pb2.RunMode.ValueType] = {
    "webhook": runner_pb2.RUN_MODE_WEBHOOK,
    "describe": runner_pb2.RUN_MODE_DESCRIBE,
}

_NO_CONNECTION_CHECK: frozenset[RunKind] = frozenset({"describe", "dry"})
"""Runs with no stored connection of their own to check (``Dispatcher._check_connection``): a
deploy's description, and dry runs (an online one reads its connection as it starts)."""

UNSHARED_CAPACITY = 1 << 16
"""The slots of a dispatcher made without a queue (tests, tools): in effect no limit."""

RUNNER_GRACE_SECONDS = 60.0
"""How long past a run's wall-clock limit the orchestrator waits for the runner's answer."""
TOKEN_GRACE_SECONDS = 120.0
"""How long past a run's wall-clock limit its token stays valid, at most (it is revoked as
soon as the runner answers)."""


def token_seconds(limits: common_pb2.RunLimits) -> float:
    """How long a run's token lives at most: its wall-clock limit and ``TOKEN_GRACE_SECONDS``."""
    return limits.wall_seconds + TOKEN_GRACE_SECONDS


class RunnerClient(Protocol):
    """Sends runs to runner hosts."""

    def run(self, request: runner_pb2.RunRequest, timeout: float) -> runner_pb2.RunResponse:
        """Executes a run; raises Unavailable when no runner can take it."""

    def cancel(self, run_id: str) -> bool:
        """Kills a run in progress."""


RunEnded = Callable[[RunKind, str, str, float | None], None]
"""Told of each run that ends: its kind, environment name, outcome (``succeeded`` or the error
type) and the seconds from its slot to the runner's answer (None: it never had a slot)."""


@dataclass(frozen=True)
class RunOrder:
    """One run to send: what it runs, for which connection, with which input and limits.

    ``scope`` is what the run's SDK calls may touch (a token is minted for it); None for a
    describe, which makes no calls. ``legacy`` is a legacy script's configuration (None: the
    function defines itself); ``legacy_by_file`` is a describe's, per file.
    """

    kind: RunKind
    env: Environment
    run_id: str
    entry: str
    files: Mapping[str, str]
    limits: common_pb2.RunLimits
    function_name: str = ""
    integration_key: str = ""
    connection_id: str = ""
    variant: str = "base"
    input_json: str = "null"
    legacy: Mapping[str, Any] | None = None
    legacy_by_file: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    scope: RunScope | None = None
    provider: str | None = None
    """The integration's provider when the order's maker read it (None: read at dispatch)."""
    connection_checked: bool = False
    """The run's connection was read with its function a moment before the order was made
    (a run started at once on its request): the dispatch does not read it again."""
    issued: IssuedToken | None = None
    """The run's token when its store keeps it with the run (stored with it, revoked with its
    finish: ``RunManager``); None: minted here and revoked when the runner answers."""


class Dispatcher:
    """Sends every run to a runner (see the module's docstring)."""

    def __init__(
        self,
        storage: ConnectionStore,
        tokens: RunTokens,
        runners: RunnerClient,
        queue: FairQueue | None = None,
        ended: RunEnded | None = None,
    ) -> None:
        """``ended``: told of every run that ends (metrics)."""
        self._storage = storage
        self._tokens = tokens
        self._runners = runners
        self._ended = ended
        self.queue = queue or FairQueue(UNSHARED_CAPACITY, lambda env_id: UNSHARED_CAPACITY)
        """The slots runs take (shared fairly across environments)."""

    def dispatch(
        self,
        order: RunOrder,
        caller: Caller | None = None,
        *,
        admitted: bool = False,
        started: Callable[[], None] | None = None,
    ) -> runner_pb2.RunResponse:
        """Runs the order on a runner and returns its answer (a failed run is an answer too),
        checked: a reply a breached runner made up is a ``runner_error`` failure instead.

        ``caller`` is the API call the run answers, if it waits for it: the runner gets no more
        time than the caller's deadline leaves (its wait for a slot included), and the run is
        cancelled when the call ends before it. ``admitted``: the run holds a slot already (a
        background run the queue started); a nested run uses its parent's. ``started`` is
        called once the run has its slot, before it goes to a runner.

        Raises:
            RunFailure: ``execution_timeout`` (no answer in time, the caller's deadline
                included) or ``execution_cancelled`` (the caller went away first).
            Unavailable: no runner could take the run.
        """
        began: float | None = None
        outcome = "runner_error"
        try:
            with self._slot(order, caller, admitted):
                began = time.perf_counter()
                if started is not None:
                    started()
                response = checked_reply(self._send(order, caller), order.limits)
                outcome = "succeeded" if response.ok else response.error.type
                return response
        except RunFailure as failure:
            outcome = failure.code
            raise
        finally:
            if self._ended is not None:
                took = None if began is None else time.perf_counter() - began
                self._ended(order.kind, order.env.name, outcome, took)

    def _slot(
        self, order: RunOrder, caller: Caller | None, admitted: bool
    ) -> AbstractContextManager[None]:
        nested = order.scope is not None and order.scope.depth > 0
        if admitted or nested:
            return nullcontext()
        return self.queue.slot(order.env.id, caller)

    def _send(self, order: RunOrder, caller: Caller | None) -> runner_pb2.RunResponse:
        request = self._request(order)
        token = ""
        if order.issued is not None:
            request.run_token = order.issued.token
        elif order.scope is not None:
            token = self._tokens.mint(order.scope, token_seconds(order.limits))
            request.run_token = token
        watch = CallerWatch(caller, lambda: self._runners.cancel(order.run_id))
        try:
            self._check_connection(order)  # once the token exists (see the method)
            with watch:
                return self._runners.run(request, watch.bound(self._timeout(order)))
        except RunFailure as failure:
            if failure.code == "execution_timeout" and watch.bound_by_caller:
                raise RunFailure(
                    "execution_timeout", "the caller's deadline passed before the run ended"
                ) from None
            raise
        finally:
            if token:
                self._tokens.revoke(token)

    def _check_connection(self, order: RunOrder) -> None:
        """Fails a run of a deployed function whose connection is gone, or is now another
        connection under the same id, of another integration, or whose integration no longer
        has its function: deleted (and perhaps made again) while the run waited. A deletion
        revokes its runs' tokens (``RunTokens.revoke_connection``); checked after this run's
        token exists, the run
        either sees the deletion here or has its token revoked by it. A run started at once on
        its request's own read (``connection_checked``) is not read again: a deletion in the
        moment between that read and its token's making leaves the token to its run's end,
        and the connection's credentials are still refused to it if the id is then taken by
        another integration's connection (``ConnectionService``).

        Raises:
            RunFailure: ``unknown_connection``.
        """
        scope = order.scope
        if scope is None or order.connection_checked or order.kind in _NO_CONNECTION_CHECK:
            return
        if not self._storage.holds_function(
            order.env.id, order.connection_id, scope.integration_key, scope.function_name
        ):
            raise RunFailure(
                "unknown_connection",
                f"the run's connection {order.connection_id!r} or its function was deleted"
                " before the run started",
            )

    def cancel(self, run_id: str) -> bool:
        """Kills a run in progress (its ``dispatch`` then returns ``execution_cancelled``)."""
        return self._runners.cancel(run_id)

    @staticmethod
    def _timeout(order: RunOrder) -> float:
        return order.limits.wall_seconds + RUNNER_GRACE_SECONDS

    def _request(self, order: RunOrder) -> runner_pb2.RunRequest:
        return runner_pb2.RunRequest(
            run_id=order.run_id,
            kind=_FUNCTION_KIND[order.kind],
            function_name=order.function_name,
            source=common_pb2.FunctionSource(entry=order.entry, files=dict(order.files)),
            input_json=order.input_json,
            context=self._context(order),
            limits=order.limits,
        )

    def _context(self, order: RunOrder) -> runner_pb2.RunContext:
        """The typed context: mode, variant, log level, validation, provider, legacy config."""
        settings = order.env.settings
        context = runner_pb2.RunContext(
            mode=_MODE.get(order.kind, runner_pb2.RUN_MODE_RUN),
            variant=order.variant,
            # A dry run shows every log line, as the seeds' CLI does.
            log_level="debug" if order.kind == "dry" else str(settings.get("log_level") or "info"),
            skip_validation=not settings.get("validation", True),
            environment=order.env.name,
            connection_id=order.connection_id,
        )
        if order.legacy is not None:
            context.legacy_config_json = json.dumps(dict(order.legacy), ensure_ascii=False)
        for name, config in order.legacy_by_file.items():
            context.legacy_configs_json[name] = json.dumps(dict(config), ensure_ascii=False)
        if order.integration_key:
            provider = order.provider
            if provider is None:
                provider = self._storage.get_integration(
                    order.env.id, order.integration_key
                ).provider
            context.provider = provider
            known = _providers.provider(provider)
            if known is not None:
                context.pagination.CopyFrom(pagination_defaults(known.paginate))
        return context


def pagination_defaults(paginate: Mapping[str, Any]) -> runner_pb2.PaginationDefaults:
    """A provider's pagination defaults, typed; a setting the message has no field for is
    left out (and logged: the provider catalogue should not have one)."""
    fields = runner_pb2.PaginationDefaults.DESCRIPTOR.fields_by_name
    unknown = sorted(set(paginate) - set(fields))
    if unknown:
        _log.warning("pagination defaults without a field are left out", settings=unknown)
    return runner_pb2.PaginationDefaults(
        **{name: str(value) for name, value in paginate.items() if name in fields}
    )

"""Authentication of RunnerCallbacks: the run token in the call metadata selects the run's scope.

One interceptor resolves the ``x-corral-run-token`` of every callback, once, before any handler
runs: a call without a live token is refused here (``Unauthenticated``), so a handler only ever
meets an authenticated call. While the handler runs, the run's scope is bound for it
(:func:`current_scope`) and ``run_id``, ``environment`` and ``connection`` are bound in
structlog's contextvars, so every log line of the call carries them. Both are unbound after.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from corral import _metadata
from corral._interceptors import Behaviour, CallWrapper, StreamBehaviour
from corral._logging import run_log_context
from corral.errors import Unauthenticated
from orchestrator.runs._tokens import RunScope, RunTokens

CALLBACKS_PREFIX = "/corral.v1.RunnerCallbacks/"

_current: contextvars.ContextVar[RunScope | None] = contextvars.ContextVar(
    "run_scope", default=None
)

EnvironmentName = Callable[[int], str]
"""The name of an environment, by its id."""


def current_scope() -> RunScope:
    """The scope of the run whose callback is being served.

    Raises:
        Unauthenticated: no run token was resolved for this call (it did not pass the
            interceptor).
    """
    scope = _current.get()
    if scope is None:
        raise Unauthenticated("no run token for this call", code="invalid_run_token")
    return scope


def current_env_id() -> int | None:
    """The environment of the run whose callback is being served (None: no run is bound)."""
    scope = _current.get()
    return None if scope is None else scope.env_id


class RunTokenAuth(CallWrapper):
    """Resolves the run token of every RunnerCallbacks call and binds the run's scope."""

    def __init__(self, tokens: RunTokens, environment_name: EnvironmentName) -> None:
        self._tokens = tokens
        self._environment_name = environment_name
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        if not method.startswith(CALLBACKS_PREFIX):
            return behaviour

        def authenticated(request: Any, context: grpc.ServicerContext) -> Any:
            with self.bound(context):
                return behaviour(request, context)

        return authenticated

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        if not method.startswith(CALLBACKS_PREFIX):
            return behaviour

        def authenticated(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with self.bound(context):
                yield from behaviour(request, context)

        return authenticated

    @contextlib.contextmanager
    def bound(self, context: grpc.ServicerContext) -> Iterator[RunScope]:
        """The call's scope, bound for the block (and its log context).

        Raises:
            Unauthenticated: the token is missing, unknown, revoked or expired.
        """
        token = dict(context.invocation_metadata()).get(_metadata.RUN_TOKEN, "")
        scope = self._tokens.resolve(str(token))
        reset = _current.set(scope)
        try:
            with run_log_context(scope.run_id, self._name(scope.env_id), scope.connection_id):
                yield scope
        finally:
            _current.reset(reset)

    def _name(self, env_id: int) -> str:
        """The environment's name (names never change, so each is looked up once)."""
        with self._lock:
            name = self._names.get(env_id)
        if name is None:
            name = self._environment_name(env_id)
            with self._lock:
                self._names[env_id] = name
        return name

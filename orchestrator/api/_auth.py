"""Authentication of the public API: the bearer secret key selects the environment."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import grpc

from corral import _metadata
from corral._interceptors import Behaviour, CallWrapper, StreamBehaviour
from corral.errors import Unauthenticated
from orchestrator.storage._areas import Environment, TenantStore

_current: contextvars.ContextVar[Environment | None] = contextvars.ContextVar(
    "environment", default=None
)

PUBLIC_PREFIX = "/corral.v1.Orchestrator/"


def current_environment() -> Environment:
    """The environment of the call being served."""
    env = _current.get()
    if env is None:
        raise Unauthenticated("no environment for this call", code="missing_secret_key")
    return env


def current_environment_id() -> int | None:
    """The id of the environment of the call being served (None: no call is bound)."""
    env = _current.get()
    return None if env is None else env.id


class SecretKeyAuth(CallWrapper):
    """Resolves ``authorization: Bearer <secret key>`` for Orchestrator calls."""

    def __init__(self, storage: TenantStore) -> None:
        self._storage = storage

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        if not method.startswith(PUBLIC_PREFIX):
            return behaviour

        def authenticated(request: Any, context: grpc.ServicerContext) -> Any:
            env = self._storage.environment_by_secret_key(_bearer(context))
            token = _current.set(env)
            try:
                return behaviour(request, context)
            finally:
                _current.reset(token)

        return authenticated

    def wrap_stream(self, method: str, behaviour: StreamBehaviour) -> StreamBehaviour:
        if not method.startswith(PUBLIC_PREFIX):
            return behaviour

        def authenticated(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            env = self._storage.environment_by_secret_key(_bearer(context))
            token = _current.set(env)
            try:
                yield from behaviour(request, context)
            finally:
                _current.reset(token)

        return authenticated


def _bearer(context: grpc.ServicerContext) -> str:
    header = str(dict(context.invocation_metadata()).get(_metadata.AUTHORIZATION, ""))
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated(
            "missing secret key: send 'authorization: Bearer <secret key>'",
            code="missing_secret_key",
        )
    return key.strip()

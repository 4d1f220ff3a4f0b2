"""The callback service as its server serves it, for tests that call its handlers directly.

``Context`` stands in for the ``grpc.ServicerContext`` the service reads (a run token only);
``authenticated`` puts the run-token interceptor in front of every handler, as the callback
server does, so a handler is reached only with a live token and the run's scope bound.
"""

from __future__ import annotations

from typing import Any, cast

from orchestrator.callbacks._run_auth import CALLBACKS_PREFIX, RunTokenAuth
from orchestrator.callbacks._service import CallbacksService
from orchestrator.runs._tokens import RunTokens


class Context:
    """The parts of a grpc.ServicerContext the service reads."""

    def __init__(self, token: str) -> None:
        self.token = token

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-corral-run-token", self.token),)

    def time_remaining(self) -> float | None:
        return None


class _Authenticated:
    def __init__(self, service: CallbacksService, auth: RunTokenAuth) -> None:
        self._service = service
        self._auth = auth

    def __getattr__(self, name: str) -> Any:
        return self._auth.wrap(CALLBACKS_PREFIX + name, getattr(self._service, name))


def authenticated(service: CallbacksService, tokens: RunTokens) -> CallbacksService:
    """``service`` with each handler behind the run-token interceptor."""
    auth = RunTokenAuth(tokens, lambda env_id: f"env-{env_id}")
    return cast(CallbacksService, _Authenticated(service, auth))

"""RunnerCallbacks served in this process: the callback service called as its gRPC stub is.

An offline dry run has no orchestrator to call, yet its SDK calls take the production path:
``runner.host._forward`` sends them to ``ScratchCallbacks.stub`` as it would to a
``RunnerCallbacksStub``, which hands them to the same service behind the same run-token
interceptor, over a scratch store. Requests and responses cross as bytes, as on the wire, so
nothing the service keeps is shared with the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import grpc
from google.protobuf.message import Message

from orchestrator.callbacks._run_auth import CALLBACKS_PREFIX, RunTokenAuth
from orchestrator.callbacks._scratch import ScratchSeed, ScratchStore
from orchestrator.callbacks._service import CallbacksService, Connections, Sender, TriggerNested
from orchestrator.runs._tokens import RunTokens

Metadata = Sequence[tuple[str, str]]

TOKEN_SECONDS = 7 * 24 * 3600.0
"""How long a scratch run's token lives (the run ends long before: its wall-clock limit)."""


class _Context:
    """The parts of a ``grpc.ServicerContext`` the service and the interceptor read."""

    def __init__(self, metadata: Metadata, timeout: float | None) -> None:
        self._metadata = tuple(metadata)
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None if self._deadline is None else max(self._deadline - time.monotonic(), 0.0)

    def is_active(self) -> bool:
        """In process, the caller waits for the answer: it never goes away first."""
        return True


class LocalCallbacks:
    """A ``RunnerCallbacksStub`` look-alike that serves each call in this process."""

    def __init__(self, service: CallbacksService, auth: RunTokenAuth) -> None:
        self._service = service
        self._auth = auth

    def __getattr__(self, rpc: str) -> Callable[..., Message]:
        if rpc.startswith("_"):
            raise AttributeError(rpc)
        handler = getattr(self._service, rpc)
        behaviour = self._auth.wrap(CALLBACKS_PREFIX + rpc, handler)

        def call(request: Message, timeout: float | None = None, metadata: Metadata = ()) -> Any:
            copy = type(request).FromString(request.SerializeToString())
            response = behaviour(copy, cast(grpc.ServicerContext, _Context(metadata, timeout)))
            return type(response).FromString(response.SerializeToString())

        return call


class ScratchCallbacks:
    """The callback service over a new scratch store, served in this process; ``close``
    deletes the store.

    Attributes:
        store: the scratch store (its run, logs, records, metadata, checkpoint).
        stub: what ``runner.GrpcCallbackHandler`` calls instead of a ``RunnerCallbacksStub``.
        token: the run token of the store's run.
    """

    def __init__(
        self,
        seed: ScratchSeed,
        proxy: Sender,
        connections: Connections,
        trigger_nested: TriggerNested,
    ) -> None:
        self.store = ScratchStore(seed)
        tokens = RunTokens()
        service = CallbacksService(
            self.store.storage, proxy, connections, trigger_nested, match_hashes=False
        )
        self.stub = LocalCallbacks(service, RunTokenAuth(tokens, lambda env_id: "scratch"))
        self.token = tokens.mint(self.store.scope, TOKEN_SECONDS)

    def close(self) -> None:
        """Deletes the scratch store."""
        self.store.close()

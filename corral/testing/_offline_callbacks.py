"""The SDK calls of an offline dry run (``corral dryrun``, ``corral test``): production's path,
over a scratch store, with recorded responses for the network.

Nothing is stored and nothing leaves the machine, yet every call means what it means on a server: it
is forwarded as the runner forwards it (``runner.host._forward``) to the production callback service
(``orchestrator.callbacks._service``), behind the same run-token interceptor, over the same SQLite
code on a temporary database (``orchestrator.callbacks._scratch``). So budgets, record merges,
checkpoints and metadata behave as in production, by construction. Only what a server would fetch
from elsewhere differs: HTTP requests are answered from the fixture (a recorded non-2xx response
raises in the function, as in production), ``get_connection()`` answers the fixture's
``getConnection`` (its ``provider_config_key`` and ``connection_id`` are the run's own, which
``get_connection`` overrides must name, as in production), and ``get_integration()`` and
``trigger_action()`` are not available offline.

Besides the store, the run keeps what the function passed to ``batch_save`` and
``batch_delete`` (the calls the store accepted), per model, in call order: what ``corral
test`` compares with a fixture.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.message import Message

from corral._budgets import Budgets
from corral.errors import InvalidRequest, RunFailure
from corral.testing._fixtures import Fixture, NoRecordedResponse
from corral.v1 import callbacks_pb2
from orchestrator import (
    OutboundRequest,
    ProxyResult,
    ProxyTarget,
    RunScope,
    ScratchCallbacks,
    ScratchSeed,
)
from runner import GrpcCallbackHandler

_KEPT = {"BatchSave": "records", "BatchDelete": "deleted"}
"""The record calls whose records the run keeps, and where."""


def _not_offline(operation: str) -> InvalidRequest:
    return InvalidRequest(
        f"{operation} is not available in an offline dry run", code="not_supported_offline"
    )


class FixtureProxy:
    """Answers a function's HTTP requests from the fixture's recorded responses."""

    def __init__(self, fixture: Fixture | None) -> None:
        self._fixture = fixture

    def send(
        self, request: OutboundRequest, target_source: Callable[[], ProxyTarget]
    ) -> ProxyResult:
        """The recorded response to ``request``.

        Raises:
            RunFailure: ``script_network_error`` when there is no fixture (payload code
                ``OFFLINE``) or it recorded no such request (``NO_RECORDING``).
        """
        del target_source
        if self._fixture is None:
            raise RunFailure(
                "script_network_error",
                "an offline dry run has no network: give --fixture with recorded responses",
                payload={"code": "OFFLINE"},
            )
        method = request.method or "GET"
        try:
            entry = self._fixture.lookup(
                method, request.endpoint, request.params, dict(request.headers), _data(request)
            )
        except NoRecordedResponse as exc:
            raise RunFailure(
                "script_network_error", str(exc), payload={"code": "NO_RECORDING"}
            ) from None
        response = entry.get("response", "")
        body = response.encode() if isinstance(response, str) else json.dumps(response).encode()
        headers = dict(entry.get("headers") or {})
        if not isinstance(response, str):
            headers.setdefault("content-type", "application/json")
        return ProxyResult(
            status=int(entry.get("status") or 200),
            headers=tuple((str(k), str(v)) for k, v in headers.items()),
            body=body,
            url=request.endpoint,
            method=method,
            attempts=1,
        )


def _data(request: OutboundRequest) -> Any:
    """The body as the fixture identifies it: JSON, text, or bytes (as the recorder reads it)."""
    if request.data is None:
        return None
    if request.data_is_json:
        return json.loads(request.data)
    try:
        return request.data.decode()
    except UnicodeDecodeError:
        return request.data


class FixtureConnections:
    """The run's connection as the fixture recorded it; no integration."""

    def __init__(self, connection: Mapping[str, Any]) -> None:
        self._connection = dict(connection)

    def proxy_target(self, scope: RunScope) -> ProxyTarget:
        """Never needed: the fixture answers requests, no credentials are injected."""
        raise _not_offline("a request target")

    def connection_view(
        self, scope: RunScope, *, force_refresh: bool, include_refresh_token: bool
    ) -> dict[str, Any]:
        """The fixture's ``getConnection`` (``{}`` when it has none)."""
        return dict(self._connection)

    def integration_view(self, scope: RunScope, include_credentials: bool) -> dict[str, Any]:
        """Not available offline."""
        raise _not_offline("get_integration")


def _no_nested(
    scope: RunScope, action_name: str, input_value: Any, caller: object | None = None
) -> Any:
    raise _not_offline("trigger_action")


def _own_connection(connection: Mapping[str, Any], integration: str) -> dict[str, str]:
    """The run's integration and connection ids: the fixture's connection's when it names
    them (what ``get_connection`` overrides are checked against), else the integration's
    name and ``offline``."""
    own = {"integration": integration, "connection_id": "offline"}
    for field, key in (("integration", "provider_config_key"), ("connection_id", "connection_id")):
        value = connection.get(key)
        if isinstance(value, str) and value:
            own[field] = value
    return own


class OfflineCallbacks:
    """The SDK calls of one offline run; ``close`` deletes its scratch store.

    The store is made on the run's first SDK call, so a run that makes none (``describe``)
    costs nothing.
    """

    def __init__(
        self,
        fixture: Fixture | None = None,
        metadata: Mapping[str, Any] | None = None,
        checkpoint: Any = None,
        *,
        connection: Mapping[str, Any] | None = None,
        budgets: Budgets | None = None,
        variant: str = "base",
        integration: str = "offline",
    ) -> None:
        nango = fixture.nango if fixture else {}
        self._fixture = fixture
        self._connection = dict(
            connection if connection is not None else nango.get("getConnection") or {}
        )
        self._seed = ScratchSeed(
            metadata=dict(metadata if metadata is not None else nango.get("getMetadata") or {}),
            checkpoint=checkpoint,
            budgets=budgets or Budgets(),
            variant=variant,
            **_own_connection(self._connection, integration),
        )
        self.records: dict[str, list[Any]] = {}
        self.deleted: dict[str, list[Any]] = {}
        self._scratch: ScratchCallbacks | None = None
        self._forward: GrpcCallbackHandler | None = None

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
        """Performs one RPC on the production path; raises its typed error."""
        response = self._open().call(rpc, request, deadline)
        # No RPC is passed through as bytes here (the handler is built without ``raw``).
        assert isinstance(response, Message)  # noqa: S101
        kept = _KEPT.get(rpc)
        if kept is not None and isinstance(request, callbacks_pb2.RecordBatch):
            records = (
                json.loads(request.records_json)
                if request.records_json
                else [json.loads(record.json) for record in request.records]
            )
            getattr(self, kept).setdefault(request.model, []).extend(records)
        return response

    def _open(self) -> GrpcCallbackHandler:
        if self._forward is None:
            self._scratch = ScratchCallbacks(
                self._seed,
                FixtureProxy(self._fixture),
                FixtureConnections(self._connection),
                _no_nested,
            )
            self._forward = GrpcCallbackHandler(self._scratch.stub, self._scratch.token)
        return self._forward

    @property
    def failure(self) -> dict[str, Any] | None:
        """The error of a run that went past a per-run budget (it has failed), or None."""
        if self._scratch is None:
            return None
        run = self._scratch.store.run()
        return dict(run.error or {}) if run.state == "failed" else None

    @property
    def logs_dropped(self) -> int:
        """Log lines dropped past the log budgets."""
        return 0 if self._scratch is None else self._scratch.store.run().logs_dropped

    @property
    def logs(self) -> list[dict[str, Any]]:
        """The run's log lines as stored: level, message and extra values."""
        if self._scratch is None:
            return []
        return [
            {
                "level": line.level,
                "message": line.message,
                "meta": json.loads(line.meta_json or "[]"),
            }
            for line in self._scratch.store.logs()
        ]

    def close(self) -> None:
        """Deletes the scratch store."""
        if self._scratch is not None:
            self._scratch.close()

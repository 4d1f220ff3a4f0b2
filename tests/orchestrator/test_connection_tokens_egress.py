"""Every token the orchestrator fetches for a tenant goes through the egress policy, and a
refused token URL is the proxy's typed ``EGRESS_DENIED`` error, never an internal one."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import httpx
import pytest
from grpc import StatusCode

from corral import _grpc_errors
from corral.errors import CorralError, RunFailure
from orchestrator._clock import FakeClock
from orchestrator.proxy._connections import ConnectionService
from orchestrator.proxy._egress import EgressDenied, EgressPolicy, pinned_transport
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._sqlite import SqliteStorage
from tests.orchestrator.test_connection_tokens import (
    CLIENT_SECRET,
    NOW,
    TokenServer,
    app_scope,
    cc_scope,
    connect,
)
from tests.support.fake_api import FakeApi, running_fake_api


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with running_fake_api() as running:
        yield running


@pytest.fixture
def storage(tmp_path: pathlib.Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "corral.db")
    yield store
    store.close()


@pytest.fixture
def guarded(storage: SqliteStorage) -> Iterator[ConnectionService]:
    """The service as serve builds it: its client's transport checks every connect, and the
    default policy refuses the fake API's loopback address."""
    with httpx.Client(transport=pinned_transport(EgressPolicy())) as client:
        yield ConnectionService(storage, client, FakeClock(NOW))


def _refused(service: ConnectionService, scope: RunScope, url: str) -> RunFailure:
    with pytest.raises(RunFailure) as caught:
        service.connection_view(scope, force_refresh=True, include_refresh_token=False)
    failure = caught.value
    assert failure.code == "script_network_error"
    assert not failure.retryable
    assert failure.payload["code"] == "EGRESS_DENIED"
    assert failure.payload["url"] == url
    assert "127.0.0.1" in failure.payload["reason"]
    assert CLIENT_SECRET not in failure.message + json.dumps(failure.payload)
    return failure


def test_a_client_credentials_token_url_refused_by_egress_is_typed(
    guarded: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    tokens = TokenServer({"access_token": "cc-{n}"})
    api.routes[("POST", "/oauth/token")] = tokens
    failure = _refused(guarded, cc_scope(storage, api), api.url + "/oauth/token")
    assert "refused" in failure.message
    assert tokens.seen == []


def test_an_oauth2_refresh_to_a_refused_address_is_typed(
    guarded: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    tokens = TokenServer({"access_token": "new-{n}"})
    api.routes[("POST", "/oauth/token")] = tokens
    config = {"token_url": api.url + "/oauth/token", "client_id": "cid"}
    credentials = {"access_token": "old", "refresh_token": "r-1", "client_secret": CLIENT_SECRET}
    scope = connect(storage, "OAUTH2", config, credentials)
    _refused(guarded, scope, api.url + "/oauth/token")
    assert tokens.seen == []


def test_a_github_app_token_url_refused_by_egress_is_typed(
    guarded: ConnectionService, storage: SqliteStorage, api: FakeApi
) -> None:
    tokens = TokenServer({"token": "ghs_{n}"}, status=201)
    api.routes[("POST", "/app/installations/99/access_tokens")] = tokens
    url = api.url + "/app/installations/99/access_tokens"
    _refused(guarded, app_scope(storage, api), url)
    assert tokens.seen == []


def test_a_refusal_no_caller_turned_into_its_own_error_is_still_typed() -> None:
    """The last line: an ``EgressDenied`` that escapes is a run failure the handlers map
    (ABORTED with its type), not an unhandled error answered INTERNAL."""
    refusal = EgressDenied("169.254.169.254", "169.254.169.254 is link-local", "169.254.169.254")
    assert isinstance(refusal, CorralError)
    assert refusal.code == "script_network_error"
    assert refusal.payload["code"] == "EGRESS_DENIED"
    assert _grpc_errors.status_code_of(refusal) != StatusCode.INTERNAL.value[0]

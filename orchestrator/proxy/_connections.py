"""Connections as runs see them: proxy targets, credential views, OAuth2 refresh.

Where the integration sets nothing, the provider catalogue (``corral/providers.json``) gives
the base URL (filled from the connection's ``connection_config``), the OAuth2 token URL and
the statuses retried.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from corral import _providers
from corral.errors import NotFound
from orchestrator._clock import Clock
from orchestrator.proxy._credentials import (
    ProxyTarget,
    needs_refresh,
    redact,
    refresh_oauth2,
    secrets_of,
)
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._areas import Connection, ConnectionStore, Integration

_INTEGRATION_SECRETS = frozenset({"client_secret", "private_key", "app_secret", "webhook_secret"})


class ConnectionService:
    """Reads connections for runs and refreshes OAuth2 tokens that expire within 15 minutes."""

    def __init__(self, storage: ConnectionStore, client: httpx.Client, clock: Clock) -> None:
        self._storage = storage
        self._client = client
        self._clock = clock
        self._refresh_lock = threading.Lock()

    def _load(self, scope: RunScope, force_refresh: bool = False) -> tuple[Connection, Integration]:
        connection = self._storage.get_connection(scope.env_id, scope.connection_id)
        integration = self._storage.get_integration(scope.env_id, connection.integration_key)
        if connection.auth_mode == "OAUTH2" and (
            force_refresh or needs_refresh(connection.credentials, self._clock.now())
        ):
            connection = self._refresh(connection, integration)
        return connection, integration

    def _refresh(self, connection: Connection, integration: Integration) -> Connection:
        config = integration.auth_config
        refresh_token = str(connection.credentials.get("refresh_token") or "")
        token_url = str(config.get("token_url") or "")
        if not token_url:
            known = _providers.provider(integration.provider)
            token_url = (
                _providers.fill(known.token_url, connection.connection_config) if known else ""
            )
        if not refresh_token or not token_url:
            return connection
        with self._refresh_lock:
            credentials = refresh_oauth2(
                self._client,
                token_url,
                str(config.get("client_id") or ""),
                str(config.get("client_secret") or ""),
                refresh_token,
                self._clock,
            )
            self._storage.update_credentials(
                connection.env_id, connection.connection_id, credentials
            )
            return self._storage.get_connection(connection.env_id, connection.connection_id)

    def proxy_target(self, scope: RunScope) -> ProxyTarget:
        """Where the run's requests go and the credentials to inject, fresh."""
        return _target(*self._load(scope))

    def secrets(self, scope: RunScope) -> tuple[str, ...]:
        """The run's connection's secret values (as injected), to keep them out of what is
        stored about the run. Reads without refreshing; nothing when the connection is gone."""
        try:
            connection = self._storage.get_connection(scope.env_id, scope.connection_id)
            integration = self._storage.get_integration(scope.env_id, connection.integration_key)
        except NotFound:
            return ()
        return secrets_of(_target(connection, integration))

    def connection_view(
        self, scope: RunScope, *, force_refresh: bool, include_refresh_token: bool
    ) -> dict[str, Any]:
        """The connection as ``get_connection()`` returns it."""
        connection, _ = self._load(scope, force_refresh)
        credentials = dict(connection.credentials)
        if not include_refresh_token:
            credentials.pop("refresh_token", None)
        return {
            "connection_id": connection.connection_id,
            "provider_config_key": connection.integration_key,
            "provider": connection.provider,
            "created_at": connection.created_at.isoformat(),
            "updated_at": connection.updated_at.isoformat(),
            "credentials": credentials,
            "connection_config": dict(connection.connection_config),
            "metadata": dict(connection.metadata),
        }

    def integration_view(self, scope: RunScope, include_credentials: bool) -> dict[str, Any]:
        """The integration as ``get_integration()`` returns it."""
        integration = self._storage.get_integration(scope.env_id, scope.integration_key)
        config = dict(integration.auth_config)
        credentials = {k: config.pop(k) for k in list(config) if k in _INTEGRATION_SECRETS}
        view: dict[str, Any] = {
            "unique_key": integration.unique_key,
            "provider": integration.provider,
            "base_url": integration.base_url,
            "auth_mode": integration.auth_mode,
            "config": config,
            "created_at": integration.created_at.isoformat(),
            "updated_at": integration.updated_at.isoformat(),
        }
        if include_credentials:
            view["credentials"] = {"client_id": config.get("client_id", ""), **credentials}
        return view


def _target(connection: Connection, integration: Integration) -> ProxyTarget:
    """The proxy target: the connection's and integration's settings, else the catalogue's."""
    known = _providers.provider(integration.provider)
    base_url = connection.base_url or integration.base_url
    if not base_url and known is not None:
        base_url = _providers.fill(known.base_url, connection.connection_config)
    retry = integration.auth_config.get("retry_status_codes")
    codes = _providers.status_codes(retry) if isinstance(retry, list) else None
    if codes is None and known is not None:
        codes = known.retry_status_codes
    return ProxyTarget(
        base_url=base_url,
        auth_mode=connection.auth_mode or integration.auth_mode,
        auth_config=integration.auth_config,
        credentials=connection.credentials,
        retry_status_codes=codes,
    )


def redact_value(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` (JSON-like data) with every secret in its strings, keys included, hidden."""
    if not secrets:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {redact(str(k), secrets): redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    return value

"""Connections as runs see them: proxy targets, credential views, OAuth2 refresh."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from orchestrator._clock import Clock
from orchestrator._credentials import ProxyTarget, needs_refresh, refresh_oauth2
from orchestrator._storage import Connection, Integration, Storage
from orchestrator._tokens import RunScope

_INTEGRATION_SECRETS = frozenset({"client_secret", "private_key", "app_secret", "webhook_secret"})


class ConnectionService:
    """Reads connections for runs and refreshes OAuth2 tokens that expire within 15 minutes."""

    def __init__(self, storage: Storage, client: httpx.Client, clock: Clock) -> None:
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
        if not refresh_token or not config.get("token_url"):
            return connection
        with self._refresh_lock:
            credentials = refresh_oauth2(
                self._client,
                str(config["token_url"]),
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
        connection, integration = self._load(scope)
        retry = integration.auth_config.get("retry_status_codes")
        return ProxyTarget(
            base_url=connection.base_url or integration.base_url,
            auth_mode=connection.auth_mode or integration.auth_mode,
            auth_config=integration.auth_config,
            credentials=connection.credentials,
            retry_status_codes=tuple(int(c) for c in retry) if isinstance(retry, list) else None,
        )

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

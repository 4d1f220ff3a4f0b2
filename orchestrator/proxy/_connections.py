"""Connections as runs see them: proxy targets, credential views, tokens kept fresh.

Where the integration sets nothing, the provider catalogue (``corral/providers.json``) gives
the base URL and the token URL (both filled from the connection's ``connection_config``) and
the statuses retried.

Tokens are stored in the connection's credentials with their ``expires_at`` and renewed when
they are due: an ``OAUTH2`` token that expires within 15 minutes is refreshed; an
``OAUTH2_CC`` or ``APP`` (GitHub App) token is fetched when there is none or it expires within
:data:`FETCH_MARGIN`. One connection renews once at a time: runs that find its token due
together wait for the one fetch and use its token.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import httpx

from corral import _providers
from corral.errors import InvalidRequest, NotFound
from orchestrator._clock import Clock
from orchestrator.proxy._credentials import (
    INTEGRATION_SECRETS,
    ProxyTarget,
    as_text,
    needs_refresh,
    redact,
    secrets_of,
)
from orchestrator.proxy._grants import client_credentials, github_app_token, refresh_oauth2
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._areas import Connection, ConnectionStore, Integration

FETCH_MARGIN = timedelta(minutes=5)
"""How long before its expiry a fetched (``OAUTH2_CC``, ``APP``) token is replaced."""
_REFRESH_MARGIN = timedelta(minutes=15)  # the seed's rule for OAuth2 refresh tokens
_FETCHED = {"OAUTH2_CC": "token", "APP": "access_token"}  # the mode's token, in credentials
_SIGNING_SECRETS = ("client_secret", "consumer_secret", "oauth_token_secret", "token_secret")


class ConnectionService:
    """Reads connections for runs and keeps their tokens fresh (see the module docstring)."""

    def __init__(self, storage: ConnectionStore, client: httpx.Client, clock: Clock) -> None:
        self._storage = storage
        self._client = client
        self._clock = clock
        self._locks_guard = threading.Lock()
        self._locks: dict[tuple[int, str], threading.Lock] = {}

    def _load(self, scope: RunScope, force_refresh: bool = False) -> tuple[Connection, Integration]:
        connection = self._own_connection(scope)
        integration = self._storage.get_integration(scope.env_id, connection.integration_key)
        if force_refresh or self._due(connection):
            connection = self._renew(connection, integration, force_refresh)
        return connection, integration

    def _own_connection(self, scope: RunScope) -> Connection:
        """The run's connection: the one of its id, if it is of the run's integration (a
        connection made under the same id after the run's was deleted may be another's).

        Raises:
            NotFound: code ``unknown_connection``.
        """
        connection = self._storage.get_connection(scope.env_id, scope.connection_id)
        if connection.integration_key != scope.integration_key:
            raise NotFound(f"no connection {scope.connection_id!r}", code="unknown_connection")
        return connection

    def _due(self, connection: Connection) -> bool:
        """Whether the connection's token must be renewed before use."""
        creds, now = connection.credentials, self._clock.now()
        if connection.auth_mode in _FETCHED:
            has_token = bool(as_text(creds.get(_FETCHED[connection.auth_mode])))
            return not has_token or needs_refresh(creds, now, FETCH_MARGIN)
        return connection.auth_mode == "OAUTH2" and needs_refresh(creds, now, _REFRESH_MARGIN)

    def _renew(self, connection: Connection, integration: Integration, force: bool) -> Connection:
        """Renew the token under the connection's lock, unless a run just did."""
        with self._lock(connection):
            current = self._storage.get_connection(connection.env_id, connection.connection_id)
            if not force and not self._due(current):
                return current  # renewed by the run that held the lock before us
            credentials = self._fetch(current, integration)
            if credentials is None:
                return current
            self._storage.update_credentials(
                current.env_id, current.connection_id, dict(current.credentials) | credentials
            )
            return self._storage.get_connection(current.env_id, current.connection_id)

    def _lock(self, connection: Connection) -> threading.Lock:
        with self._locks_guard:
            key = (connection.env_id, connection.connection_id)
            return self._locks.setdefault(key, threading.Lock())

    def _fetch(self, connection: Connection, integration: Integration) -> dict[str, Any] | None:
        """New credentials from the token endpoint; None when the mode has none to fetch."""
        config, creds = integration.auth_config, connection.credentials
        token_url = _token_url(connection, integration)
        secret = as_text(creds.get("client_secret")) or as_text(config.get("client_secret"))
        client_id = as_text(creds.get("client_id")) or as_text(config.get("client_id"))
        if connection.auth_mode in _FETCHED and not token_url:
            raise InvalidRequest(
                f"{connection.auth_mode} needs a token_url: the integration's, or the"
                " catalogue's with the connection_config values it names",
                code="missing_token_url",
            )
        if connection.auth_mode == "OAUTH2_CC":
            scopes = _scopes(config.get("scopes") or config.get("scope"))
            return client_credentials(
                self._client, token_url, client_id, secret, scopes, self._clock
            )
        if connection.auth_mode == "APP":
            app_id = as_text(config.get("app_id")) or client_id
            key = as_text(config.get("private_key"))
            return github_app_token(self._client, token_url, app_id, key, self._clock)
        refresh_token = as_text(creds.get("refresh_token"))
        if connection.auth_mode != "OAUTH2" or not refresh_token or not token_url:
            return None
        return refresh_oauth2(
            self._client, token_url, client_id, secret, refresh_token, self._clock
        )

    def proxy_target(self, scope: RunScope) -> ProxyTarget:
        """Where the run's requests go and the credentials to inject, fresh."""
        return _target(*self._load(scope))

    def secrets(self, scope: RunScope) -> tuple[str, ...]:
        """The run's connection's secret values (as injected), to keep them out of what is
        stored about the run. Reads without refreshing; nothing when the connection is gone."""
        try:
            connection = self._own_connection(scope)
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
        for name in _SIGNING_SECRETS:  # they sign requests; the proxy signs, the function never
            credentials.pop(name, None)
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
        credentials = {k: config.pop(k) for k in list(config) if k in INTEGRATION_SECRETS}
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
        realm=_realm(connection, integration),
    )


def _token_url(connection: Connection, integration: Integration) -> str:
    """The integration's token URL, else the catalogue's, filled from ``connection_config``."""
    config = integration.auth_config
    known = _providers.provider(integration.provider)
    template = as_text(config.get("token_url")) or (known.token_url if known else "")
    return _providers.fill(template, connection.connection_config)


def _scopes(value: Any) -> list[str]:
    """Scopes from a list or a space- or comma-separated string."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v)]
    return as_text(value).replace(",", " ").split()


def _realm(connection: Connection, integration: Integration) -> str:
    """NetSuite's realm for ``TBA``: the account id, upper case, ``-`` as ``_``."""
    if (connection.auth_mode or integration.auth_mode) != "TBA":
        return ""
    config = connection.connection_config
    account = as_text(connection.credentials.get("account_id"))
    account = account or as_text(config.get("accountId")) or as_text(config.get("account_id"))
    return account.upper().replace("-", "_")


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

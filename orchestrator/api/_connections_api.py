"""The public API's integrations, connections, their metadata and the environment's
variables: a part of ``OrchestratorService``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc

from corral import _json, _providers
from corral._budgets import Budgets, budgets_for, check_metadata, check_variables
from corral.errors import InvalidRequest
from corral.v1 import orchestrator_pb2 as pb
from orchestrator import _fields as fields
from orchestrator.api._auth import current_environment
from orchestrator.api._pages import decode_cursor, encode_cursor, sized
from orchestrator.api._views import connection_pb, integration_pb
from orchestrator.lifecycle._deploy import check_integration_key
from orchestrator.lifecycle._lifecycle import Lifecycle
from orchestrator.proxy._credentials import AUTH_MODES
from orchestrator.storage._areas import Connection, Integration
from orchestrator.storage._needs import ApiStorage


class ConnectionsApi:
    """Integrations, connections, metadata and variables, for the caller's environment."""

    _storage: ApiStorage
    _lifecycle: Lifecycle

    def CreateIntegration(
        self, request: pb.CreateIntegrationRequest, context: grpc.ServicerContext
    ) -> pb.Integration:
        """Creates or updates an integration."""
        env = current_environment()
        known = _providers.provider(request.provider or request.unique_key)
        default_mode = known.auth_mode if known and known.auth_mode in AUTH_MODES else "NONE"
        auth_mode = (request.auth_mode or default_mode).upper()
        if auth_mode not in AUTH_MODES:
            raise InvalidRequest(
                f"auth_mode must be one of {', '.join(sorted(AUTH_MODES))}",
                code="invalid_auth_mode",
            )
        fields.check_url(request.base_url, "base_url")
        unique_key = check_integration_key(fields.required(request.unique_key, "unique_key"))
        if request.provider:
            fields.name(request.provider, "provider")
        row: Integration = self._storage.upsert_integration(
            env.id,
            unique_key,
            provider=request.provider or request.unique_key,
            base_url=request.base_url,
            auth_mode=auth_mode,
            auth_config=_json.loads_object(request.auth_config_json, what="auth_config_json"),
        )
        return integration_pb(row)

    def ListIntegrations(
        self, request: pb.ListIntegrationsRequest, context: grpc.ServicerContext
    ) -> pb.ListIntegrationsResponse:
        """The environment's integrations."""
        rows = self._storage.list_integrations(current_environment().id)
        return pb.ListIntegrationsResponse(integrations=[integration_pb(r) for r in rows])

    def DeleteIntegration(
        self, request: pb.DeleteIntegrationRequest, context: grpc.ServicerContext
    ) -> pb.DeleteIntegrationResponse:
        """Deletes an integration, each connection as ``DeleteConnection`` does, then its
        functions (``Lifecycle.delete_integration``)."""
        deleted, run_ids = self._lifecycle.delete_integration(
            current_environment(), fields.required(request.unique_key, "unique_key"), context
        )
        return pb.DeleteIntegrationResponse(connection_ids=deleted, run_ids=run_ids)

    def CreateConnection(
        self, request: pb.CreateConnectionRequest, context: grpc.ServicerContext
    ) -> pb.Connection:
        """Creates a connection with its credentials."""
        env = current_environment()
        credentials = _json.loads_object(request.credentials_json, what="credentials_json")
        mode = str(credentials.get("type") or "NONE").upper()
        if mode not in AUTH_MODES:
            raise InvalidRequest(
                f"credentials type must be one of {', '.join(sorted(AUTH_MODES))}",
                code="invalid_credentials",
            )
        fields.check_url(request.base_url, "base_url")
        config = _json.loads_object(request.connection_config_json, what="connection_config_json")
        metadata = _json.loads_object(request.metadata_json, what="metadata_json")
        budgets = budgets_for(env.settings)
        check_metadata(config, budgets, "connection_config")
        check_metadata(metadata, budgets)
        row: Connection = self._storage.create_connection(
            env.id,
            fields.required(request.integration, "integration"),
            fields.name(request.connection_id, "connection_id")
            if request.connection_id
            else str(uuid.uuid4()),
            credentials=credentials | {"type": mode},
            connection_config=config,
            metadata=metadata,
            base_url=request.base_url,
        )
        self._lifecycle.connection_created(env, row.integration_key, row.connection_id, context)
        return connection_pb(row)

    def GetConnection(
        self, request: pb.GetConnectionRequest, context: grpc.ServicerContext
    ) -> pb.Connection:
        """One connection (without credentials)."""
        env = current_environment()
        return connection_pb(
            self._storage.get_connection(
                env.id, fields.required(request.connection_id, "connection_id")
            )
        )

    def ListConnections(
        self, request: pb.ListConnectionsRequest, context: grpc.ServicerContext
    ) -> pb.ListConnectionsResponse:
        """The environment's connections (of one integration, if given)."""
        after = decode_cursor("connections", request.cursor)
        rows = self._storage.list_connections(current_environment().id, request.integration or None)
        views = [connection_pb(r) for r in rows if r.connection_id > after]
        limit = fields.limit(request.limit, fields.MAX_LIST)
        page, more = sized(views[:limit], lambda v: v.ByteSize())
        more = more or len(views) > limit
        cursor = encode_cursor("connections", page[-1].connection_id) if more else ""
        return pb.ListConnectionsResponse(connections=page, next_cursor=cursor)

    def DeleteConnection(
        self, request: pb.DeleteConnectionRequest, context: grpc.ServicerContext
    ) -> pb.DeleteConnectionResponse:
        """Runs pre-deletion functions, then deletes a connection, its records and checkpoints."""
        env = current_environment()
        connection = self._storage.get_connection(
            env.id, fields.required(request.connection_id, "connection_id")
        )
        self._lifecycle.delete_connection(
            env, connection.integration_key, connection.connection_id, context
        )
        return pb.DeleteConnectionResponse()

    def SetMetadata(
        self, request: pb.SetMetadataRequest, context: grpc.ServicerContext
    ) -> pb.Connection:
        """Replaces a connection's metadata."""
        return self._change_metadata(request, self._storage.set_metadata)

    def UpdateMetadata(
        self, request: pb.SetMetadataRequest, context: grpc.ServicerContext
    ) -> pb.Connection:
        """Merges keys into a connection's metadata."""
        return self._change_metadata(request, self._storage.update_metadata)

    def _change_metadata(
        self,
        request: pb.SetMetadataRequest,
        change: Callable[[int, str, dict[str, Any], Budgets], Any],
    ) -> pb.Connection:
        env = current_environment()
        cid = fields.required(request.connection_id, "connection_id")
        metadata = _json.loads_object(request.metadata_json, what="metadata_json")
        change(env.id, cid, metadata, budgets_for(env.settings))
        return connection_pb(self._storage.get_connection(env.id, cid))

    def SetEnvironmentVariables(
        self, request: pb.SetEnvironmentVariablesRequest, context: grpc.ServicerContext
    ) -> pb.SetEnvironmentVariablesResponse:
        """Replaces the environment's variables (within ``corral._budgets``' variable bounds)."""
        check_variables([(v.name, v.value) for v in request.variables])
        pairs = [(fields.name(v.name, "variable name"), v.value) for v in request.variables]
        self._storage.set_environment_variables(current_environment().id, pairs)
        return pb.SetEnvironmentVariablesResponse()

    def ListEnvironmentVariables(
        self, request: pb.ListEnvironmentVariablesRequest, context: grpc.ServicerContext
    ) -> pb.ListEnvironmentVariablesResponse:
        """The names of the environment's variables (never their values)."""
        found = self._storage.get_environment_variables(current_environment().id)
        return pb.ListEnvironmentVariablesResponse(names=sorted(name for name, _ in found))

"""The orchestrator: the public API, storage, the outbound proxy and the runner pool."""

from orchestrator._admin import Admin, EnvironmentSettings, NewEnvironment, open_admin
from orchestrator._app import serve
from orchestrator._sqlite import SqliteStorage
from orchestrator._storage import Storage
from orchestrator._tokens import RunScope, RunTokens

__all__ = [
    "Admin",
    "EnvironmentSettings",
    "NewEnvironment",
    "RunScope",
    "RunTokens",
    "SqliteStorage",
    "Storage",
    "open_admin",
    "serve",
]

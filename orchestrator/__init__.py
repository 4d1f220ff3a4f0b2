"""The orchestrator: the public API, storage, the outbound proxy and the runner pool."""

from orchestrator._app import serve
from orchestrator._env_settings import merged as merged_settings
from orchestrator._env_settings import validated as validated_settings
from orchestrator._sqlite import SqliteStorage
from orchestrator._storage import Storage
from orchestrator._tokens import RunScope, RunTokens

__all__ = [
    "RunScope",
    "RunTokens",
    "SqliteStorage",
    "Storage",
    "merged_settings",
    "serve",
    "validated_settings",
]

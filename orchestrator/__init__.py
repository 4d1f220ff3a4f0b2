"""The orchestrator: the public API, storage, the outbound proxy and the runner pool."""

from orchestrator._admin import Admin, EnvironmentSettings, NewEnvironment, open_admin
from orchestrator._app import serve
from orchestrator._callbacks_local import ScratchCallbacks
from orchestrator._credentials import ProxyTarget
from orchestrator._outbound import OutboundRequest
from orchestrator._proxy import ProxyResult
from orchestrator._scratch import ScratchSeed
from orchestrator._sqlite import SqliteStorage
from orchestrator._storage import Storage
from orchestrator._tokens import RunScope, RunTokens

__all__ = [
    "Admin",
    "EnvironmentSettings",
    "NewEnvironment",
    "OutboundRequest",
    "ProxyResult",
    "ProxyTarget",
    "RunScope",
    "RunTokens",
    "ScratchCallbacks",
    "ScratchSeed",
    "SqliteStorage",
    "Storage",
    "open_admin",
    "serve",
]

"""The orchestrator: the public API, storage, the outbound proxy and the runner pool."""

from orchestrator._admin import Admin, EnvironmentSettings, NewEnvironment, open_admin
from orchestrator._app import serve
from orchestrator.callbacks._local import ScratchCallbacks
from orchestrator.callbacks._scratch import ScratchSeed
from orchestrator.proxy._credentials import ProxyTarget
from orchestrator.proxy._outbound import OutboundRequest
from orchestrator.proxy._proxy import ProxyResult
from orchestrator.runs._tokens import RunScope, RunTokens
from orchestrator.storage._areas import Storage
from orchestrator.storage._sqlite import SqliteStorage

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

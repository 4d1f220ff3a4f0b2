"""corral: a sandboxed multi-tenant execution service for integration functions.

The shared core: errors, settings, the generated API modules (``corral.v1``), the command line.
"""

from corral.errors import (
    AlreadyExists,
    CompileError,
    CorralError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    RunFailure,
    Unauthenticated,
    Unavailable,
)

__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "CompileError",
    "CorralError",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "RunFailure",
    "Unauthenticated",
    "Unavailable",
    "__version__",
]

"""corral: a sandboxed multi-tenant execution service for integration functions.

The shared core, the bottom layer that every other package imports: errors, settings, JSON,
gRPC errors and server, logging, providers, budgets, the generated API modules (``corral.v1``).
It imports none of the others. Above it: ``corral.cli`` (the ``corral`` command) and
``corral.testing`` (fixtures for authors' tests), which are the top layer.
"""

from corral._error_shapes import ErrorValue
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
    "ErrorValue",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "RunFailure",
    "Unauthenticated",
    "Unavailable",
    "__version__",
]

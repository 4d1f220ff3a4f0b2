"""Errors that clients and function authors see.

Every error carries a stable snake_case ``code`` (the error type strings of DESIGN.md), whether a
retry can help, and JSON-able ``details``. Mapping them to gRPC status codes happens in
``corral._grpc_errors`` only.

The tree::

    CorralError
    ├── InvalidRequest          malformed input, bad JSON, input failing a model  (INVALID_ARGUMENT)
    │   └── CompileError        a function that breaks the policy or does not parse
    ├── NotFound                unknown environment, integration, connection, function, run
    ├── AlreadyExists           a unique key taken
    ├── Unauthenticated         wrong secret key, wrong or expired run token
    ├── PermissionDenied        a run token used outside its scope
    ├── Unavailable             no runner, storage busy (retryable)
    ├── ResourceExhausted       a budget of an environment setting used up  (RESOURCE_EXHAUSTED)
    └── RunFailure              a run ended with a typed error (action_script_failure, ...)
        └── EgressDenied        (orchestrator.proxy) a destination the egress policy refuses
                                (script_network_error, payload code EGRESS_DENIED)

A run's error itself is an ``ErrorValue`` (``RunFailure.value``); ``corral._error_shapes`` is
the one place that turns it into JSON, a ``RunError`` message or ErrorInfo details, and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from corral._error_shapes import ErrorValue, corral_error_json, to_json

RUN_ERROR_TYPES: frozenset[str] = frozenset(
    {
        "action_script_failure",
        "script_http_error",
        "script_network_error",
        "script_internal_error",
        "execution_timeout",
        "execution_cancelled",
        "invalid_action_input",
        "invalid_action_output",
        "invalid_sync_record",
        "invalid_checkpoint",
        "checkpoint_conflict",
        "invalid_definition",
        "invalid_limits",
        "invalid_pagination",
        "pagination_loop",
        "resource_exhausted",
        "sandbox_violation",
        "compile_error",
        "runner_error",
        "worker_protocol_violation",
        "orchestrator_restarted",
        "orchestrator_lost",
        "runner_lost",
    }
)
"""The error types a run can end with."""


class CorralError(Exception):
    """Base of every error corral reports to a client or a function author."""

    default_code: ClassVar[str] = "internal_error"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.details: dict[str, Any] = dict(details or {})

    @property
    def value(self) -> ErrorValue:
        """The error as a run's error: its details are the payload (None when empty)."""
        return ErrorValue(self.code, self.message, self.details or None)

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-able data: type, message, details."""
        return corral_error_json(self)


class InvalidRequest(CorralError):
    """The request is malformed or its values are not acceptable."""

    default_code = "invalid_request"


class CompileError(InvalidRequest):
    """A function file does not compile under the sandbox policy.

    ``details["errors"]`` lists every violation as ``{file, line, column, rule, message}``.
    """

    default_code = "compile_error"


class NotFound(CorralError):
    """The named thing does not exist in this environment."""

    default_code = "not_found"


class AlreadyExists(CorralError):
    """A unique name is taken already."""

    default_code = "already_exists"


class Unauthenticated(CorralError):
    """The caller's secret key or run token is wrong or expired."""

    default_code = "unauthenticated"


class PermissionDenied(CorralError):
    """The caller is known but may not do this."""

    default_code = "permission_denied"


class Unavailable(CorralError):
    """A part of the service cannot take the request now; a retry may help."""

    default_code = "unavailable"
    default_retryable = True


class ResourceExhausted(CorralError):
    """A budget (an environment setting) would be exceeded; nothing of the request is kept.

    ``details`` name the budget: ``{"resource": "records_per_run", "limit": 1000000}``.
    """

    default_code = "resource_exhausted"

    def __init__(
        self,
        message: str,
        *,
        resource: str = "",
        limit: int = 0,
        code: str | None = None,
        retryable: bool | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        budget = {"resource": resource, "limit": limit} if resource else {}
        super().__init__(
            message, code=code, retryable=retryable, details={**(details or {}), **budget}
        )
        self.resource = str(self.details.get("resource", ""))
        self.limit = int(self.details.get("limit", 0) or 0)


class RunFailure(CorralError):
    """A run ended with a typed error.

    Attributes:
        payload: JSON-able data for the caller (an ActionError's payload, HTTP details, ...).
        file: the customer file the error was raised in, when known.
        line: the line in that file, when known.
    """

    default_code = "script_internal_error"

    def __init__(
        self,
        code: str,
        message: str,
        *,
        payload: Any = None,
        file: str = "",
        line: int = 0,
        retryable: bool | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code, retryable=retryable, details=details)
        self.payload = payload
        self.file = file
        self.line = line

    @staticmethod
    def from_value(
        value: ErrorValue,
        *,
        retryable: bool | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> RunFailure:
        """The failure of a run that ended with ``value``."""
        return RunFailure(
            value.code,
            value.message,
            payload=value.payload,
            file=value.file,
            line=value.line,
            retryable=retryable,
            details=details,
        )

    @property
    def value(self) -> ErrorValue:
        """The run's error: type, message, payload, file, line."""
        return ErrorValue(self.code, self.message, self.payload, self.file, self.line)

    def to_dict(self) -> dict[str, Any]:
        """The error as the run result shows it: type, message, payload, and file and line
        when known (the "compact" JSON of ``corral._error_shapes``)."""
        return to_json(self.value, form="compact")

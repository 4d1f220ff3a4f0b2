"""A run's request (``RunRequestSpec``: a function, a connection, an input), the row it is
stored as, and a finished run's output or error."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from corral import _json
from corral._error_shapes import from_json
from corral.errors import InvalidRequest, RunFailure
from orchestrator.runs._dispatch import RunKind
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._areas import Environment, FunctionRow, NewRun, Run


@dataclass(frozen=True)
class RunRequestSpec:
    """What to run: a function, for a connection, with an input."""

    env: Environment
    function: FunctionRow
    connection_id: str
    input_value: Any = None
    variant: str = "base"
    parent: RunScope | None = None
    webhook: bool = False
    """Run the sync's ``on_webhook`` handler with ``input_value`` (the payload)."""
    provider: str | None = None
    """The integration's provider, when it was read with the function (None: the dispatcher
    reads it)."""


def run_kind(kind: str) -> RunKind:
    """The run kind of a deployed function's kind."""
    kinds: dict[str, RunKind] = {"action": "action", "sync": "sync", "on_event": "on_event"}
    if kind not in kinds:
        raise InvalidRequest(f"a deployed function has no kind {kind!r}", code="invalid_kind")
    return kinds[kind]


def new_run(spec: RunRequestSpec) -> NewRun:
    return NewRun(
        function_name=spec.function.name,
        integration_key=spec.function.integration_key,
        kind=spec.function.kind,
        connection_id=spec.connection_id,
        variant=spec.variant,
        input_json=json.dumps(spec.input_value, ensure_ascii=False),
        parent_run_id=spec.parent.run_id if spec.parent else None,
    )


def output_or_raise(run: Run) -> Any:
    """The output of a finished run, or its error raised as a RunFailure.

    The output is read strictly (``corral._json``), as it was checked when the runner's reply
    arrived; one stored before that check that does not read is the run's ``runner_error``.
    """
    if run.state == "succeeded":
        try:
            return _json.loads(run.output_json or "null", what="the run's stored output")
        except InvalidRequest as err:
            raise RunFailure(
                "runner_error", err.message[:300], details={"run_id": run.run_id}
            ) from None
    value = from_json(run.error)
    if not value.message:
        value = replace(value, message="the run failed")
    raise RunFailure.from_value(value, details={"run_id": run.run_id})

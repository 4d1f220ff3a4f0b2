"""A runner's reply to a run, checked as it arrives: the runner may be breached.

The orchestrator stores a reply's output or error and hands it on: to the API's caller, to a
parent run's ``trigger_action``, to a dry run's or a deploy's caller. Nothing a runner sends is
trusted on that path, so every field read from a ``RunResponse`` is checked here, in
``Dispatcher.dispatch``, before anything else sees it:

* the output and the error's payload are JSON as the project reads it at every boundary
  (``corral._json``: UTF-8, no ``NaN`` or infinities, no lone surrogates, at most 128 levels,
  integers Python can read back);
* the error's type is a snake_case name, its line not negative;
* the whole reply is at most twice the run's ``max_output_bytes`` (the runner host re-encodes
  the worker's result, with a space after each separator) and 64 KiB more.

A reply that breaks a rule is not stored as it came: the run fails with ``runner_error``,
whose message names the rule, and the warning ``runner reply refused`` is logged.
"""

from __future__ import annotations

import re

import structlog

from corral import _json
from corral._error_shapes import ErrorValue, to_proto
from corral.errors import InvalidRequest
from corral.limits import CEILING
from corral.v1 import common_pb2, runner_pb2

_log = structlog.get_logger("corral.runs")

REFUSED = "runner_error"
"""The error type of a run whose runner's reply is refused."""

SLACK_BYTES = 64 << 10
"""What a reply may hold beyond twice the run's ``max_output_bytes`` (the error's fields)."""

_ERROR_TYPE = re.compile(r"[a-z][a-z0-9_]{0,99}")


def checked_reply(
    response: runner_pb2.RunResponse, limits: common_pb2.RunLimits
) -> runner_pb2.RunResponse:
    """``response``, or a ``runner_error`` failure in its place when a field breaks a rule."""
    problem = reply_problem(response, limits)
    if not problem:
        return response
    _log.warning("runner reply refused", reason=problem)
    error = ErrorValue(REFUSED, f"the runner's reply was refused: {problem}")
    return runner_pb2.RunResponse(ok=False, error=to_proto(error))


def reply_problem(response: runner_pb2.RunResponse, limits: common_pb2.RunLimits) -> str:
    """Why the reply cannot be stored or handed on, or ``""``."""
    most = 2 * (limits.max_output_bytes or CEILING.max_output_bytes) + SLACK_BYTES
    size = response.ByteSize()
    if size > most:
        return f"it is {size} bytes, more than the run's {most}"
    if response.ok:
        return _json_problem(response.output_json, "its output")
    return _error_problem(response.error)


def _error_problem(error: common_pb2.RunError) -> str:
    if error.type and not _ERROR_TYPE.fullmatch(error.type):
        return "its error's type is not a snake_case name of at most 100 characters"
    if error.line < 0:
        return f"its error's line is {error.line}"
    return _json_problem(error.payload_json, "its error's payload")


def _json_problem(text: str, what: str) -> str:
    try:
        _json.loads(text, what=what)
    except InvalidRequest as err:
        return err.message[:300]
    return ""

"""Running fuzz cases against a gRPC service and judging how each call ended.

A :class:`Case` is one call: an RPC of a service, its request (a message, or raw bytes that
need not parse), its metadata and the status codes it may end with. :func:`run_barrage` makes
the calls in order and returns every problem found: a status outside the allowed ones
(UNKNOWN, INTERNAL, ...), a refusal without a corral ErrorInfo, and, for RPCs that write, a
refusal that changed the stored state anyway. Set ``FUZZ_TRACE=1`` to print every outcome.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import message

from tests.support import hostile

Metadata = tuple[tuple[str, str], ...]
State = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Case:
    """One call: an RPC, its request (a message, or raw bytes), and its metadata."""

    rpc: str
    label: str
    request: message.Message | bytes
    metadata: Metadata | None = None
    """None: the barrage's default metadata (a valid key or token)."""
    expect: frozenset[grpc.StatusCode] = hostile.ALLOWED_CODES


@dataclass
class Outcome:
    """How a call ended."""

    code: grpc.StatusCode
    reason: str = ""
    domain: str = ""
    message: str = ""


def call(
    channel: grpc.Channel,
    service: str,
    case: Case,
    metadata: Metadata,
    *,
    streaming: Collection[str] = (),
    timeout: float = 30.0,
) -> Outcome:
    """Makes the case's call on a generic stub (so that raw bytes can be sent as they are)."""
    path = f"/{service}/{case.rpc}"
    serialize: Callable[[Any], bytes] = (
        (lambda b: b) if isinstance(case.request, bytes) else (lambda m: m.SerializeToString())
    )
    sent = metadata if case.metadata is None else case.metadata
    try:
        if case.rpc in streaming:
            stream = channel.unary_stream(
                path, request_serializer=serialize, response_deserializer=lambda b: b
            )
            for _ in stream(case.request, metadata=sent, timeout=timeout):
                pass
        else:
            unary = channel.unary_unary(
                path, request_serializer=serialize, response_deserializer=lambda b: b
            )
            unary(case.request, metadata=sent, timeout=timeout)
    except grpc.RpcError as exc:
        if not isinstance(exc, grpc.Call):
            return Outcome(grpc.StatusCode.UNKNOWN, message=f"not a call: {exc!r}")
        info = hostile.error_info(exc)
        return Outcome(
            exc.code(),
            reason=info.reason if info else "",
            domain=info.domain if info else "",
            message=(exc.details() or "")[:300],
        )
    return Outcome(grpc.StatusCode.OK)


def problem(case: Case, outcome: Outcome) -> str | None:
    """What is wrong with how the case ended, or None."""
    where = f"{case.rpc}[{case.label}]"
    if outcome.code not in hostile.ALLOWED_CODES:
        return f"{where}: {outcome.code.name} {outcome.message!r}"
    if outcome.code not in case.expect:
        expected = ", ".join(sorted(c.name for c in case.expect))
        return f"{where}: {outcome.code.name} (expected {expected}) {outcome.message!r}"
    if outcome.code is not grpc.StatusCode.OK and (
        outcome.domain != "corral" or not outcome.reason
    ):
        return f"{where}: {outcome.code.name} without a corral ErrorInfo {outcome.message!r}"
    return None


def run_barrage(
    cases: Sequence[Case],
    make_call: Callable[[Case], Outcome],
    *,
    writes: Collection[str],
    snapshot: Callable[[], State],
) -> list[str]:
    """Makes every call; returns the problems (see the module docstring)."""
    problems = []
    baseline = snapshot()
    for case in cases:
        outcome = make_call(case)
        if os.environ.get("FUZZ_TRACE"):
            shown = f"{outcome.code.name} {outcome.reason} {outcome.message[:150]!r}"
            print(f"TRACE {case.rpc}[{case.label}] {shown}")
        found = problem(case, outcome)
        if found:
            problems.append(found)
        if case.rpc in writes:
            after = snapshot()
            if outcome.code is not grpc.StatusCode.OK and after != baseline:
                problems.append(
                    f"{case.rpc}[{case.label}]: refused with {outcome.code.name} but changed"
                    f" {diff(baseline, after)}"
                )
            baseline = after
    return problems


def report(problems: Sequence[str], cases: Sequence[Case]) -> str:
    """The assertion message for a barrage."""
    return f"{len(problems)} of {len(cases)} cases:\n" + "\n".join(problems)


# ---- stored state, read straight from the SQLite file ----

STABLE_QUERIES: Mapping[str, str] = {
    "integrations": "SELECT * FROM integrations WHERE env_id = ? ORDER BY id",
    "connections": "SELECT * FROM connections WHERE env_id = ? ORDER BY id",
    "functions": "SELECT f.* FROM functions f JOIN integrations i ON i.id = f.integration_id"
    " WHERE i.env_id = ? ORDER BY f.id",
    "environment_variables": "SELECT * FROM environment_variables WHERE env_id = ?"
    " ORDER BY position",
    "schedules": "SELECT s.id, s.connection_pk, s.sync_name, s.variant, s.state,"
    " s.frequency_seconds FROM sync_schedules s JOIN connections c ON c.id = s.connection_pk"
    " WHERE c.env_id = ? ORDER BY s.id",
}
"""An environment's configuration: what no refused call may change, even while runs go on."""

DATA_QUERIES: Mapping[str, str] = {
    # Every change of a record takes a new cursor, so a summary shows any change cheaply.
    "records": "SELECT count(*), max(r.cursor), total(length(r.json)),"
    " sum(r.delete_mark IS NOT NULL) FROM records r JOIN connections c"
    " ON c.id = r.connection_pk WHERE c.env_id = ?",
    "checkpoints": "SELECT k.* FROM checkpoints k JOIN connections c ON c.id = k.connection_pk"
    " WHERE c.env_id = ? ORDER BY k.connection_pk, k.function_name",
    "delete_trackings": "SELECT t.* FROM delete_trackings t JOIN connections c"
    " ON c.id = t.connection_pk WHERE c.env_id = ? ORDER BY t.id",
}
"""What runs of the environment write."""

EVERYTHING_QUERIES: Mapping[str, str] = {
    **STABLE_QUERIES,
    **DATA_QUERIES,
    "all_records": "SELECT r.* FROM records r JOIN connections c ON c.id = r.connection_pk"
    " WHERE c.env_id = ? ORDER BY r.id",
    "runs": "SELECT * FROM runs WHERE env_id = ? ORDER BY id",
    "run_logs": "SELECT l.* FROM run_logs l JOIN runs r ON r.id = l.run_pk WHERE r.env_id = ?"
    " ORDER BY l.run_pk, l.seq",
    "all_schedules": "SELECT s.* FROM sync_schedules s JOIN connections c"
    " ON c.id = s.connection_pk WHERE c.env_id = ? ORDER BY s.id",
    "environment": "SELECT * FROM environments WHERE id = ?",
}
"""Everything an environment owns."""


def db_state(db: str, env_id: int, queries: Mapping[str, str]) -> State:
    """The rows of one environment, read from the store's file (read-only, beside the server)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {
            name: [tuple(row) for row in conn.execute(sql, (env_id,)).fetchall()]
            for name, sql in queries.items()
        }
    finally:
        conn.close()


def diff(before: State, after: State) -> str:
    """Which tables differ, for a message."""
    return ", ".join(
        f"{name}: {len(before[name])} -> {len(after[name])} rows"
        for name in before
        if before[name] != after[name]
    )


def live_runs(db: str) -> list[tuple[Any, ...]]:
    """Runs still queued or running, in every environment."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return [
            tuple(row)
            for row in conn.execute(
                "SELECT run_id, function_name, state FROM runs WHERE state IN ('queued', 'running')"
            ).fetchall()
        ]
    finally:
        conn.close()

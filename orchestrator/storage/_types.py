"""The values that cross the storage interface: the rows storage keeps and what callers pass in.

Every area protocol of ``orchestrator.storage._areas`` speaks in these types, so they live in one
place shared by all areas and engines; ``orchestrator.storage._areas`` re-exports them.

Timestamps are timezone-aware UTC ``datetime`` values. Records travel as JSON bytes, exactly as
the runner encoded them; other JSON objects (settings, credentials, metadata, configs) are dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from corral.errors import InvalidRequest

FUNCTION_KINDS: frozenset[str] = frozenset({"sync", "action", "on_event"})
"""The kinds a deployed function can have."""

TOKEN_SCOPE_FIELDS: frozenset[str] = frozenset({"connection_id", "integration_key"})
"""The fields of a run token's scope that its tokens are revoked by (``revoke_tokens_of``)."""

RUN_STATES: frozenset[str] = frozenset({"queued", "running", "succeeded", "failed"})
"""The states of a run: created queued, then running, then succeeded or failed."""

LAST_ACTIONS: frozenset[str] = frozenset({"ADDED", "UPDATED", "DELETED"})
"""A record's ``last_action`` values, as ``_nango_metadata`` shows them."""

ALL_RECORD_FILTERS: frozenset[str] = frozenset({"added", "updated", "deleted"})
"""The ``list_records`` filter that keeps every record."""

SCHEDULE_STATES: frozenset[str] = frozenset({"running", "paused"})
"""The states of a sync schedule: ``running`` (runs when due) or ``paused``."""


class CheckpointConflict(InvalidRequest):
    """A checkpoint was saved with an ``expected_version`` that is no longer current."""

    default_code = "checkpoint_conflict"


@dataclass(frozen=True)
class Environment:
    """A tenant's space.

    Attributes:
        id: the environment's internal id, passed to every other method.
        name: the unique name, such as ``acme/prod``.
        settings: JSON object of environment settings (log level, ...).
        created_at: when it was created.
    """

    id: int
    name: str
    settings: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Integration:
    """A configured API provider in an environment."""

    env_id: int
    unique_key: str
    provider: str
    base_url: str
    auth_mode: str
    auth_config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Connection:
    """One end-customer's account on an integration.

    ``provider`` and ``auth_mode`` are the integration's, joined in for convenience.
    """

    env_id: int
    connection_id: str
    integration_key: str
    provider: str
    auth_mode: str
    credentials: dict[str, Any]
    connection_config: dict[str, Any]
    metadata: dict[str, Any]
    base_url: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FunctionRow:
    """A deployed function.

    As input to ``replace_functions``, ``integration_key`` and ``deployed_at`` are ignored;
    the rows it returns have both set.

    Attributes:
        name: the function's name (its file's stem), unique in its integration.
        kind: one of ``FUNCTION_KINDS``.
        version: the definition's version string.
        description: the definition's description.
        config: JSON object: frequency, models, auto_start, event, ... as defined.
        files: every file of the integration folder, name -> source.
        entry: the file that defines this function.
        code_hash: hash of the code, the runner's compile-cache key.
        integration_key: the integration the function belongs to.
        deployed_at: when this set of functions was deployed.
    """

    name: str
    kind: str
    version: str
    description: str
    config: dict[str, Any]
    files: dict[str, str]
    entry: str
    code_hash: str
    integration_key: str = ""
    deployed_at: datetime | None = None


@dataclass(frozen=True)
class NewRun:
    """What ``create_run`` needs to store a queued (or, ``started``, a running) run."""

    function_name: str
    integration_key: str
    kind: str
    connection_id: str
    variant: str
    input_json: str
    parent_run_id: str | None = None
    idempotency_key: str | None = None
    """A client's key: at most one run per key and environment (``claim_run``)."""
    owner: str | None = None
    """The orchestrator instance that holds the run (its lease); None: nobody."""
    lease_seconds: float = 0.0
    """With ``owner``: the run's first lease lasts this long from its creation."""
    requeue: str | None = None
    """Nobody waits on the run's orchestrator: ``run`` or ``webhook`` (``_run_leases``), and
    another orchestrator may take it over while it is queued; None: never taken over."""
    started: bool = False
    """Stored ``running`` (started now) rather than ``queued``: the run holds its slot already,
    so its start is not a second transaction (the hot path, docs/runtime.md)."""
    run_id: str | None = None
    """The run's id, made by the caller (a token for the run is made before it is stored:
    ``RunTokenWrites``); None: a new random one."""


@dataclass(frozen=True)
class NewToken:
    """A run token to store with its run (``RunTokenWrites.create_run_with_token``): the
    token's SHA-256 digest, its environment, the rest of its scope and its lifetime, as
    ``TokenStore.mint_token`` takes them."""

    digest: bytes
    env_id: int
    scope: Mapping[str, Any]
    ttl_seconds: float


@dataclass(frozen=True)
class Run:
    """One execution of a function for one connection.

    Attributes:
        state: one of ``RUN_STATES``.
        output_json: the output of a succeeded run (JSON text), else None.
        error: the error of a failed run (``{"type", "message", ...}``), else None.
        parent_run_id: the run that triggered this one (``trigger_action``), if any.
    """

    run_id: str
    env_id: int
    function_name: str
    integration_key: str
    kind: str
    connection_id: str
    variant: str
    state: str
    input_json: str
    output_json: str | None
    error: dict[str, Any] | None
    parent_run_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    logs_dropped: int = 0


@dataclass(frozen=True)
class LogLine:
    """One log line of a run.

    As input to ``append_logs``, ``seq`` is ignored (storage numbers lines from 1) and a
    missing ``timestamp`` becomes the storage clock's now.
    """

    level: str
    message: str
    meta_json: str = ""
    timestamp: datetime | None = None
    seq: int = 0


@dataclass(frozen=True)
class RecordScope:
    """Where record operations act: one model (and variant) of one connection, for one run."""

    env_id: int
    connection_id: str
    model: str
    variant: str
    run_id: str


class RecordIn(NamedTuple):
    """A record to save: its id, its JSON bytes and the sha256 hex of those bytes (a tuple:
    batches of thousands are built per call, at a tuple's cost, not a frozen dataclass's)."""

    id: str
    json: bytes
    content_hash: str


@dataclass(frozen=True)
class RecordCounts:
    """How many records one call added, updated, deleted or left unchanged."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored, with its metadata.

    Attributes:
        id: the record's id.
        json: the record's JSON bytes (the last-known payload, also when deleted).
        first_seen_at: when the record was first saved.
        last_modified_at: when it last changed (added, updated, deleted).
        last_action: one of ``LAST_ACTIONS``.
        deleted_at: when it was deleted, or None.
        cursor: opaque cursor of this change; ``list_records(cursor=...)`` resumes after it.
    """

    id: str
    json: bytes
    first_seen_at: datetime
    last_modified_at: datetime
    last_action: str
    deleted_at: datetime | None
    cursor: str


@dataclass(frozen=True)
class Schedule:
    """When a sync runs for a connection.

    Attributes:
        state: ``running`` (runs when due) or ``paused``.
        frequency_seconds: the interval between two runs: the connection's own
            (``frequency_override_seconds``) if set, else the sync's.
        next_run_at: when it is next due.
        last_run_id: the last run the scheduler started, if any.
        frequency_override_seconds: the connection's own interval for this sync
            (``StartSync`` with a frequency), kept across deploys; None: the sync's.
    """

    schedule_id: int
    env_id: int
    connection_id: str
    sync_name: str
    variant: str
    state: str
    frequency_seconds: float
    next_run_at: datetime
    last_run_id: str | None
    frequency_override_seconds: float | None = None


@dataclass(frozen=True)
class CheckpointKey:
    """Where a checkpoint lives: one function (and variant) of one connection."""

    env_id: int
    connection_id: str
    function_name: str
    variant: str = ""


@dataclass(frozen=True)
class RunnerRecord:
    """A runner host of the fleet as its last heartbeat described it (``RunnerRegistry``)."""

    runner_id: str
    address: str
    slots: int
    runs_in_progress: int
    idle_workers: int
    layers_applied: tuple[str, ...]
    layers_missing: Mapping[str, str]
    draining: bool
    version: str
    last_heartbeat: datetime


class DueNotification(NamedTuple):
    """A sync run whose notification is due, claimed by the caller
    (``orchestrator.storage._run_notifications``)."""

    run_id: str
    env_id: int
    tries: int
    """Tries made before this one."""


class QueuedWebhook(NamedTuple):
    """A provider webhook accepted and waiting to be delivered, claimed by the caller
    (``orchestrator.storage._webhook_inbox``)."""

    webhook_id: int
    env_id: int
    integration_key: str
    event_type: str
    payload: str
    """The body's JSON, as read."""
    tries: int
    """Tries made before this one."""

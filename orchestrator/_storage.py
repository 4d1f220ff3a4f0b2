"""The orchestrator's storage interface: the rows it keeps and the ``Storage`` protocol.

Every engine (SQLite now, PostgreSQL later) implements ``Storage`` and passes the same tests.
Every method that reads or writes tenant data takes the environment id first, and nothing
crosses environments: two environments may hold the same connection id, integration key or
record ids without seeing each other.

Timestamps are timezone-aware UTC ``datetime`` values. Records travel as JSON bytes, exactly as
the runner encoded them; other JSON objects (settings, credentials, metadata, configs) are dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from corral._budgets import Budgets
from corral.errors import InvalidRequest

FUNCTION_KINDS: frozenset[str] = frozenset({"sync", "action", "on_event"})
"""The kinds a deployed function can have."""

RUN_STATES: frozenset[str] = frozenset({"queued", "running", "succeeded", "failed"})
"""The states of a run: created queued, then running, then succeeded or failed."""

LAST_ACTIONS: frozenset[str] = frozenset({"ADDED", "UPDATED", "DELETED"})
"""A record's ``last_action`` values, as ``_nango_metadata`` shows them."""

ALL_RECORD_FILTERS: frozenset[str] = frozenset({"added", "updated", "deleted"})
SCHEDULE_STATES: frozenset[str] = frozenset({"running", "paused"})
"""The ``list_records`` filter that keeps every record."""


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
    """What ``create_run`` needs to store a queued run."""

    function_name: str
    integration_key: str
    kind: str
    connection_id: str
    variant: str
    input_json: str
    parent_run_id: str | None = None


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


@dataclass(frozen=True)
class RecordIn:
    """A record to save: its id, its JSON bytes and the sha256 hex of those bytes."""

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
        frequency_seconds: the interval between two runs.
        next_run_at: when it is next due.
        last_run_id: the last run the scheduler started, if any.
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


@dataclass(frozen=True)
class CheckpointKey:
    """Where a checkpoint lives: one function (and variant) of one connection."""

    env_id: int
    connection_id: str
    function_name: str
    variant: str = ""


class Storage(Protocol):
    """Everything the orchestrator keeps. See ``orchestrator._sqlite.SqliteStorage``."""

    def close(self) -> None:
        """Releases the engine's resources."""

    # ---- environments ----
    def create_environment(self, name: str) -> tuple[Environment, str]:
        """Creates an environment; returns it and its secret key (shown once)."""

    def environment_by_secret_key(self, secret_key: str) -> Environment:
        """The environment a secret key belongs to (Unauthenticated if none)."""

    def get_environment(self, name: str) -> Environment:
        """An environment by name (NotFound ``unknown_environment``)."""

    def get_environment_by_id(self, env_id: int) -> Environment:
        """An environment by id (NotFound ``unknown_environment``)."""

    def list_environments(self) -> list[Environment]:
        """Every environment, by name."""

    def set_environment_settings(self, env_id: int, settings: Mapping[str, Any]) -> None:
        """Replaces an environment's settings."""

    # ---- integrations ----
    def upsert_integration(
        self,
        env_id: int,
        unique_key: str,
        *,
        provider: str,
        base_url: str,
        auth_mode: str,
        auth_config: Mapping[str, Any],
    ) -> Integration:
        """Creates or replaces an integration."""

    def get_integration(self, env_id: int, unique_key: str) -> Integration:
        """An integration (NotFound ``unknown_integration``)."""

    def list_integrations(self, env_id: int) -> list[Integration]:
        """Every integration of an environment, by key."""

    # ---- connections ----
    def create_connection(
        self,
        env_id: int,
        integration_key: str,
        connection_id: str,
        *,
        credentials: Mapping[str, Any],
        connection_config: Mapping[str, Any],
        metadata: Mapping[str, Any],
        base_url: str = "",
    ) -> Connection:
        """Creates a connection (AlreadyExists; NotFound ``unknown_integration``)."""

    def get_connection(self, env_id: int, connection_id: str) -> Connection:
        """A connection (NotFound ``unknown_connection``)."""

    def list_connections(self, env_id: int, integration_key: str | None = None) -> list[Connection]:
        """The connections of an environment, or of one of its integrations."""

    def delete_connection(self, env_id: int, connection_id: str) -> None:
        """Deletes a connection with its records, checkpoints and deletion tracking."""

    def set_metadata(
        self,
        env_id: int,
        connection_id: str,
        metadata: Mapping[str, Any],
        budgets: Budgets | None = None,
    ) -> None:
        """Replaces a connection's metadata (ResourceExhausted above the budget)."""

    def update_metadata(
        self,
        env_id: int,
        connection_id: str,
        patch: Mapping[str, Any],
        budgets: Budgets | None = None,
    ) -> dict[str, Any]:
        """Merges ``patch`` into the metadata at the top level; returns the result.

        The merged metadata must fit the budget (ResourceExhausted, nothing changed).
        """

    def update_credentials(
        self, env_id: int, connection_id: str, credentials: Mapping[str, Any]
    ) -> None:
        """Replaces a connection's credentials (after an OAuth refresh)."""

    # ---- functions ----
    def replace_functions(
        self, env_id: int, integration_key: str, functions: Sequence[FunctionRow]
    ) -> list[FunctionRow]:
        """Atomically replaces every function of an integration."""

    def get_function(self, env_id: int, integration_key: str, name: str) -> FunctionRow:
        """A function (NotFound ``unknown_function``)."""

    def list_functions(self, env_id: int, integration_key: str | None = None) -> list[FunctionRow]:
        """The functions of an environment, or of one integration."""

    # ---- environment variables ----
    def set_environment_variables(self, env_id: int, variables: Sequence[tuple[str, str]]) -> None:
        """Replaces an environment's variables."""

    def get_environment_variables(self, env_id: int) -> list[tuple[str, str]]:
        """An environment's variables, in the order they were set."""

    # ---- runs and logs ----
    def create_run(self, env_id: int, run: NewRun) -> Run:
        """Stores a queued run with a new id."""

    def mark_run_started(self, run_id: str) -> None:
        """Moves a queued run to running."""

    def finish_run(
        self, run_id: str, ok: bool, output_json: str | None, error: Mapping[str, Any] | None
    ) -> Run:
        """Ends a run; the first finish wins, later ones return the stored run."""

    def get_run(self, env_id: int, run_id: str) -> Run:
        """A run (NotFound ``unknown_run``)."""

    def list_runs(
        self,
        env_id: int,
        connection_id: str | None = None,
        function_name: str | None = None,
        limit: int = 50,
        before_run_id: str | None = None,
    ) -> list[Run]:
        """Runs, newest first (older than ``before_run_id`` when given)."""

    def append_logs(
        self, run_id: str, lines: Sequence[LogLine], budgets: Budgets | None = None
    ) -> None:
        """Appends log lines to a run, up to the per-run cap and the run's log budgets."""

    def get_logs(
        self, env_id: int, run_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[LogLine]:
        """A run's log lines in order (after ``after_seq``, at most ``limit``)."""

    # ---- records ----
    def save_records(
        self, scope: RecordScope, records: Sequence[RecordIn], budgets: Budgets | None = None
    ) -> RecordCounts:
        """Upserts records in one transaction (charged to the run's budgets when given)."""

    def delete_records(self, scope: RecordScope, ids: Sequence[str]) -> RecordCounts:
        """Soft-deletes records."""

    def update_records(
        self,
        scope: RecordScope,
        patches: Sequence[tuple[str, bytes]],
        budgets: Budgets | None = None,
    ) -> RecordCounts:
        """Deep-merges partial records into existing ones (within the budgets when given)."""

    def get_records_by_id(self, scope: RecordScope, ids: Sequence[str]) -> dict[str, bytes]:
        """The JSON of the found, not deleted records among ``ids``."""

    def track_deletes_start(self, scope: RecordScope) -> None:
        """Starts deletion tracking for the scope's model and variant."""

    def track_deletes_end(self, scope: RecordScope) -> RecordCounts:
        """Deletes the records that existed at start and were not saved since."""

    def abandon_tracking(self, run_id: str) -> None:
        """Drops the deletion tracking of a run that will not reach its end."""

    def list_records(
        self,
        env_id: int,
        connection_id: str,
        model: str,
        *,
        variant: str = "",
        cursor: str = "",
        modified_after: datetime | None = None,
        limit: int = 100,
        filter: frozenset[str] = ALL_RECORD_FILTERS,
    ) -> tuple[list[StoredRecord], str]:
        """Records in change order after ``cursor``; returns them and the next cursor."""

    # ---- checkpoints ----
    def get_checkpoint(self, key: CheckpointKey) -> dict[str, Any] | None:
        """The checkpoint, or None."""

    def get_checkpoint_versioned(self, key: CheckpointKey) -> tuple[dict[str, Any] | None, int]:
        """The checkpoint (or None) and its version (0 if never saved)."""

    def save_checkpoint(
        self, key: CheckpointKey, value: Mapping[str, Any], expected_version: int | None = None
    ) -> int:
        """Saves the checkpoint; returns its new version (CheckpointConflict on a stale one)."""

    def clear_checkpoint(self, key: CheckpointKey) -> None:
        """Clears the checkpoint."""

    # ---- sync schedules ----

    def ensure_schedule(
        self,
        env_id: int,
        connection_id: str,
        sync_name: str,
        variant: str,
        *,
        frequency_seconds: float,
        state: str,
    ) -> Schedule:
        """Creates the schedule (due now) if missing, else updates its interval."""

    def set_schedule_state(
        self, env_id: int, connection_id: str, sync_name: str, variant: str, state: str
    ) -> Schedule:
        """Pauses or starts a schedule (NotFound ``unknown_schedule``)."""

    def list_schedules(self, env_id: int, connection_id: str | None = None) -> list[Schedule]:
        """The environment's schedules."""

    def claim_due_schedules(self, now: datetime, limit: int = 100) -> list[Schedule]:
        """Due schedules whose last run ended, each moved to its next due time."""

    def set_schedule_last_run(self, schedule_id: int, run_id: str) -> None:
        """Records the run a schedule started."""

    def remove_schedules(self, env_id: int, integration_key: str, keep: frozenset[str]) -> None:
        """Removes the integration's schedules of syncs not in ``keep``."""

    def reset_sync(self, env_id: int, connection_id: str, function_name: str, variant: str) -> None:
        """Clears a sync's checkpoint; its records stay."""

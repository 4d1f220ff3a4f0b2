"""The orchestrator's storage interface: one protocol per area, and ``Storage`` over them all.

Each area protocol holds the methods of one kind of data, and each engine implements each area
in one module (SQLite: ``orchestrator/storage/_sqlite_<area>.py``), so a second engine can be
written area by area. No method belongs to two areas. A part of the orchestrator is typed
against the areas it uses (``orchestrator.storage._needs``); ``Storage`` combines every area
with ``close`` for the code that holds the whole store.

The areas, what each holds, and the SQLite module that implements it:

- ``TenantStore``: environments, their secret keys, settings and variables
  (``_sqlite_tenants``);
- ``ConnectionStore``: integrations and their connections, with credentials and metadata
  (``_sqlite_connections``);
- ``FunctionStore``: deployed functions (``_sqlite_functions``);
- ``RunStore``: runs and their log lines (``_sqlite_runs``);
- ``RecordStore``: records (``_sqlite_records``);
- ``TrackingStore``: deletion tracking of records (``_sqlite_tracking``);
- ``CheckpointStore``: checkpoints and sync resets (``_sqlite_checkpoints``);
- ``ScheduleStore``: when each sync runs for each connection (``_sqlite_schedules``).

One more area is not part of ``Storage``: ``TokenStore``, the run tokens that callbacks carry,
kept by their SHA-256 digest. PostgreSQL keeps them in the database (``_pg_tokens``), so that a
callback may land on any orchestrator; one SQLite orchestrator keeps them in its memory
(``_memory_tokens``; docs/runtime.md, "Run tokens").

What an area does is written once for both engines, in ``_area_<area>.py`` over the dialect
interface of ``_engine``; each engine's area module holds only its own SQL and mechanisms.

Every engine implements every area and passes the same tests
(``tests/orchestrator/storage_support.py``): SQLite (``_sqlite.py``) and PostgreSQL (``_pg.py``,
one ``_pg_<area>.py`` module per area; not offered by ``corral serve`` yet).

Every method that reads or writes tenant data takes the environment id first (or a key or scope
that holds it), and nothing crosses environments: two environments may hold the same connection
id, integration key or record ids without seeing each other.

The values these methods take and return (rows, scopes, keys, counts) are defined once in
``orchestrator.storage._types`` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from corral._budgets import Budgets
from orchestrator.storage._secrets import SecretBox
from orchestrator.storage._types import (
    ALL_RECORD_FILTERS,
    FUNCTION_KINDS,
    LAST_ACTIONS,
    RUN_STATES,
    SCHEDULE_STATES,
    TOKEN_SCOPE_FIELDS,
    CheckpointConflict,
    CheckpointKey,
    Connection,
    DueNotification,
    Environment,
    FunctionRow,
    Integration,
    LogLine,
    NewRun,
    NewToken,
    QueuedWebhook,
    RecordCounts,
    RecordIn,
    RecordScope,
    Run,
    RunnerRecord,
    Schedule,
    StoredRecord,
)

__all__ = [
    "ALL_RECORD_FILTERS",
    "FUNCTION_KINDS",
    "LAST_ACTIONS",
    "RUN_STATES",
    "SCHEDULE_STATES",
    "TOKEN_SCOPE_FIELDS",
    "CheckpointConflict",
    "CheckpointKey",
    "CheckpointStore",
    "Connection",
    "ConnectionStore",
    "DueNotification",
    "Environment",
    "FunctionRow",
    "FunctionStore",
    "Integration",
    "LogLine",
    "NewRun",
    "NewToken",
    "QueuedWebhook",
    "RecordCounts",
    "RecordIn",
    "RecordScope",
    "RecordStore",
    "Run",
    "RunStore",
    "RunTokenWrites",
    "RunnerRecord",
    "RunnerRegistry",
    "Schedule",
    "ScheduleStore",
    "Storage",
    "StoredRecord",
    "TenantStore",
    "TokenStore",
    "TrackingStore",
]


class TenantStore(Protocol):
    """Environments (a tenant's space): their secret keys, settings and variables."""

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

    def rotate_secret_key(self, env_id: int) -> str:
        """Gives the environment a new secret key (returned, shown once); the old one stops
        working at once (NotFound ``unknown_environment``)."""

    def set_environment_settings(self, env_id: int, settings: Mapping[str, Any]) -> None:
        """Replaces an environment's settings."""

    # ---- environment variables ----

    def set_environment_variables(self, env_id: int, variables: Sequence[tuple[str, str]]) -> None:
        """Replaces an environment's variables."""

    def get_environment_variables(self, env_id: int) -> list[tuple[str, str]]:
        """An environment's variables, in the order they were set."""


class ConnectionStore(Protocol):
    """Integrations (configured API providers) and their connections (end-customer accounts).

    A connection's credentials and metadata are part of it; deleting a connection deletes its
    records, checkpoints and deletion tracking with it.
    """

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

    def delete_integration(self, env_id: int, unique_key: str) -> None:
        """Deletes an integration with its functions and connections (NotFound
        ``unknown_integration``)."""

    def queue_webhook(
        self,
        env_id: int,
        integration_key: str,
        event_type: str,
        payload: str,
        *,
        now: float,
        most: int,
    ) -> bool:
        """Stores an accepted provider webhook; False when ``most`` wait already
        (``orchestrator.storage._webhook_inbox``)."""

    def claim_webhooks(
        self,
        now: float,
        hold_seconds: float,
        limit: int,
        skip_environments: Sequence[int] = (),
    ) -> list[QueuedWebhook]:
        """Due webhooks no other deliverer holds, of none of ``skip_environments``, held for
        the caller."""

    def webhook_tried(self, webhook_id: int, retry_at: float | None) -> None:
        """A claimed webhook is due again at ``retry_at``, or (None) forgotten."""

    def webhooks_waiting(self) -> int:
        """The webhooks accepted and not yet delivered, of every environment."""

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

    def get_metadata(self, env_id: int, connection_id: str) -> dict[str, Any]:
        """A connection's metadata alone, its credentials not read (NotFound
        ``unknown_connection``)."""

    def holds_function(
        self, env_id: int, connection_id: str, integration_key: str, function_name: str
    ) -> bool:
        """Whether the connection is of ``integration_key`` and that integration has a function
        ``function_name`` (credentials not read)."""

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


class FunctionStore(Protocol):
    """The deployed functions of each integration."""

    def replace_functions(
        self,
        env_id: int,
        integration_key: str,
        functions: Sequence[FunctionRow],
        *,
        refuse_removals: bool = False,
        allow_removing: Sequence[str] = (),
    ) -> list[FunctionRow]:
        """Atomically replaces every function of an integration (or, ``refuse_removals``,
        refuses when one deployed would be removed that ``allow_removing`` does not name)."""

    def get_function(self, env_id: int, integration_key: str, name: str) -> FunctionRow:
        """A function (NotFound ``unknown_function``)."""

    def get_connection_function(
        self, env_id: int, connection_id: str, name: str
    ) -> tuple[FunctionRow, str]:
        """The function ``name`` of a connection's integration, and the integration's provider,
        in one read (NotFound ``unknown_connection`` or ``unknown_function``)."""

    def list_functions(self, env_id: int, integration_key: str | None = None) -> list[FunctionRow]:
        """The functions of an environment, or of one integration."""


class RunStore(Protocol):
    """Runs (one execution of a function for one connection) and their log lines."""

    def create_run(self, env_id: int, run: NewRun) -> Run:
        """Stores a queued run (``running`` when ``run.started``) with a new id."""

    def purge_runs(self, finished_before: datetime, env_id: int | None = None) -> int:
        """Deletes runs that ended before ``finished_before``, with their logs; returns how many.

        Only the runs of environment ``env_id`` when it is given. A sync schedule's last run is
        kept, and so is every run still queued or running.
        """

    def claim_run(self, env_id: int, run: NewRun) -> tuple[Run, bool]:
        """The run of ``run.idempotency_key``: the one stored before (False), or a new one (True).

        Raises:
            InvalidRequest: ``idempotency_key_reused`` (another function, connection or input).
        """

    def mark_run_started(self, run_id: str) -> None:
        """Moves a queued run to running."""

    def finish_run(
        self, run_id: str, ok: bool, output_json: str | None, error: Mapping[str, Any] | None
    ) -> Run:
        """Ends a run; the first finish wins, later ones return the stored run."""

    def end_unfinished_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends every queued or running run as failed with ``error``; returns their ids.

        For a process that starts on a store whose unfinished runs no live process owns (the
        one that ran them is gone). Their deletion tracking is dropped in the same transaction
        (as ``TrackingStore.abandon_tracking`` drops a failed run's), so nothing is deleted.
        """

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        """Extends to now + ``lease_seconds`` the lease of every queued or running run that
        ``owner`` holds; returns how many."""

    def end_expired_runs(self, error: Mapping[str, Any]) -> list[str]:
        """Ends as failed with ``error`` every queued or running run whose lease has expired
        (or that has none: nobody holds it); returns their ids, oldest first.

        For orchestrators that share a store: a run whose holder died is ended by another once
        its lease runs out. Their deletion tracking is dropped in the same transaction.
        """

    def release_run(self, run_id: str) -> None:
        """Ends the lease of a queued run that may be re-queued (``NewRun.requeue``) now, so
        another orchestrator takes it over; any other run stays as it is."""

    def take_over_runs(self, owner: str, lease_seconds: float, limit: int) -> list[tuple[Run, str]]:
        """Gives ``owner`` (with a lease of ``lease_seconds``) at most ``limit`` queued runs that
        may be re-queued (``NewRun.requeue``) and whose lease expired; returns them with their
        mark, oldest first. Each run goes to one caller only, however many ask at once.
        """

    def get_run(self, env_id: int, run_id: str) -> Run:
        """A run (NotFound ``unknown_run``)."""

    def claim_notifications(
        self,
        now: float,
        hold_seconds: float,
        limit: int,
        skip_environments: Sequence[int] = (),
    ) -> list[DueNotification]:
        """Due notifications of ended sync runs no other sender holds, of none of
        ``skip_environments``, held for the caller
        (``orchestrator.storage._run_notifications``)."""

    def notification_tried(self, run_id: str, retry_at: float | None) -> None:
        """A claimed notification is due again at ``retry_at``, or (None) forgotten."""

    def notifications_waiting(self) -> int:
        """The notifications waiting to be sent, of every environment."""

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


class RecordStore(Protocol):
    """The records syncs save, per connection, model and variant."""

    def save_records(
        self, scope: RecordScope, records: Sequence[RecordIn], budgets: Budgets | None = None
    ) -> RecordCounts:
        """Upserts records in one transaction (charged to the run's budgets when given)."""

    def save_unchanged(
        self,
        scope: RecordScope,
        claims: Sequence[tuple[str, str]],
        budgets: Budgets | None = None,
    ) -> tuple[RecordCounts, list[int]]:
        """Saves, unchanged, the records stored live with these (id, content hash) pairs;
        returns their counts and positions (the others are to be saved in full)."""

    def delete_records(self, scope: RecordScope, ids: Sequence[str]) -> RecordCounts:
        """Soft-deletes records."""

    def update_records(
        self,
        scope: RecordScope,
        patches: Sequence[tuple[str, bytes]],
        budgets: Budgets | None = None,
    ) -> RecordCounts:
        """Deep-merges partial records into existing ones (within the budgets when given)."""

    def get_records_by_id(self, scope: RecordScope, ids: Sequence[str]) -> dict[str, StoredRecord]:
        """The found records among ``ids``, soft-deleted ones included, with their metadata."""

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

    def record_counts(self, run_id: str) -> dict[str, dict[str, int]]:
        """The records each model's writes of the run added, updated and deleted."""


class TrackingStore(Protocol):
    """Deletion tracking: which records a sync did not save again between start and end."""

    def track_deletes_start(self, scope: RecordScope) -> None:
        """Starts deletion tracking for the scope's model and variant."""

    def track_deletes_end(self, scope: RecordScope) -> RecordCounts:
        """Deletes the records that existed at start and were not saved since."""

    def abandon_tracking(self, run_id: str) -> None:
        """Drops the deletion tracking of a run that will not reach its end."""


class CheckpointStore(Protocol):
    """Checkpoints per connection, function and variant, and sync resets."""

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

    def reset_sync(
        self,
        env_id: int,
        connection_id: str,
        function_name: str,
        variant: str,
        empty_models: Sequence[str] = (),
    ) -> int:
        """Clears a sync's checkpoint; its records stay."""


class ScheduleStore(Protocol):
    """When each sync runs for each connection."""

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

    def set_frequency_override(
        self,
        env_id: int,
        connection_id: str,
        sync_name: str,
        variant: str,
        frequency_seconds: float | None,
    ) -> Schedule:
        """Sets or clears (None) the connection's own interval for one schedule."""

    def list_schedules(self, env_id: int, connection_id: str | None = None) -> list[Schedule]:
        """The environment's schedules."""

    def claim_due_schedules(self, now: datetime, limit: int = 100) -> list[Schedule]:
        """Due schedules whose last run ended, each moved to its next due time."""

    def set_schedule_last_run(self, schedule_id: int, run_id: str) -> None:
        """Records the run a schedule started."""

    def mark_manual_run(
        self, env_id: int, connection_id: str, sync_name: str, variant: str, run_id: str
    ) -> bool:
        """Records a run started by hand as its schedule's last run (False: no schedule)."""

    def remove_schedules(self, env_id: int, integration_key: str, keep: frozenset[str]) -> None:
        """Removes the integration's schedules of syncs not in ``keep``."""


class Storage(
    TenantStore,
    ConnectionStore,
    FunctionStore,
    RunStore,
    RecordStore,
    TrackingStore,
    CheckpointStore,
    ScheduleStore,
    Protocol,
):
    """Everything the orchestrator keeps: every area.

    See ``orchestrator.storage._sqlite.SqliteStorage``.

    Only ``close`` and ``use_secrets`` are its own; they belong to the engine, not to an area.
    """

    def close(self) -> None:
        """Releases the engine's resources."""

    def use_secrets(self, box: SecretBox) -> int:
        """Seals secrets with ``box`` from now on, and every stored one with its current key
        (``orchestrator.storage._sealing``); the number of values written again."""


class RunnerRegistry(Protocol):
    """The runner hosts that joined the fleet, as their last heartbeats described them.

    In memory for one orchestrator (SQLite); a table on PostgreSQL, so that every orchestrator
    of the database places runs on every runner, whichever one a runner's heartbeat reached.
    """

    def runner_heartbeat(self, record: RunnerRecord) -> None:
        """Stores a runner's heartbeat (the first one registers it)."""

    def list_fleet_runners(self, heard_since: datetime) -> list[RunnerRecord]:
        """The runners heard from at ``heard_since`` or later, by address."""


class TokenStore(Protocol):
    """Run tokens, each known only by its SHA-256 digest (the token itself is never stored).

    A token is live from ``mint_token`` until ``revoke_token`` or its expiry, whichever comes
    first; the expiry is the store's own clock plus the token's lifetime. A scope is a JSON
    object; its ``env_id`` is always the environment the token was minted for.
    """

    def mint_token(
        self, digest: bytes, env_id: int, scope: Mapping[str, Any], ttl_seconds: float
    ) -> None:
        """Stores a new token's digest with its scope, live for ``ttl_seconds``."""

    def resolve_token(self, digest: bytes) -> dict[str, Any] | None:
        """The scope of a live token, or None (unknown, revoked or expired)."""

    def revoke_token(self, digest: bytes) -> None:
        """Ends a token's validity (nothing happens for an unknown one)."""

    def purge_expired_tokens(self) -> int:
        """Deletes the expired tokens; returns how many."""

    def revoke_tokens_of(self, env_id: int, field: str, value: str) -> int:
        """Ends the validity of every token of the environment whose scope's ``field`` (one of
        ``TOKEN_SCOPE_FIELDS``; another raises ValueError) is ``value``; returns how many."""


@runtime_checkable
class RunTokenWrites(Protocol):
    """An engine that keeps run tokens (``TokenStore``) and writes a run's token in its run's
    own statements: the token is stored by the run's insert and revoked by its finish, one
    round trip to the store fewer at each end of a run."""

    def create_run_with_token(self, env_id: int, run: NewRun, token: NewToken) -> Run:
        """``RunStore.create_run`` (the run's id is ``run.run_id``, which the token's scope
        names), storing ``token`` in the same statement: both or neither."""

    def finish_run_revoking(
        self,
        run_id: str,
        ok: bool,
        output_json: str | None,
        error: Mapping[str, Any] | None,
        digest: bytes,
    ) -> Run:
        """``RunStore.finish_run``, revoking the token of ``digest`` in the same statement (also
        when the run had finished before)."""

"""The SQLite engine: the embedded default, one file in WAL mode.

``SqliteStorage`` implements ``orchestrator.storage._areas.Storage``. It is assembled from mixins
over ``SqliteBase`` (connections, transactions, ``close``), one module per storage area, each
implementing exactly that area's protocol:

- ``_sqlite_tenants``: ``TenantStore``, environments and their variables;
- ``_sqlite_connections``: ``ConnectionStore``, integrations and connections;
- ``_sqlite_functions``: ``FunctionStore``, deployed functions;
- ``_sqlite_runs``: ``RunStore``, runs and run logs;
- ``_sqlite_records``: ``RecordStore``, records;
- ``_sqlite_tracking``: ``TrackingStore``, deletion tracking of records;
- ``_sqlite_checkpoints``: ``CheckpointStore``, checkpoints and sync resets;
- ``_sqlite_schedules``: ``ScheduleStore``, when each sync runs for each connection.

Choices every caller may rely on:

- Timestamps are stored as RFC 3339 UTC text with microseconds and exposed as aware datetimes.
- Deleting a connection deletes its records, checkpoints and deletion tracking for good
  (ON DELETE CASCADE); runs and their logs stay.
- Each call is one transaction; a batch of records is written in one.
- The schema is created and migrated when the store opens (``migrations/sqlite/*.sql``).
"""

from __future__ import annotations

from orchestrator.storage._areas import (
    CheckpointStore,
    ConnectionStore,
    FunctionStore,
    RecordStore,
    RunStore,
    ScheduleStore,
    Storage,
    TenantStore,
    TrackingStore,
)
from orchestrator.storage._sqlite_checkpoints import CheckpointsMixin
from orchestrator.storage._sqlite_connections import ConnectionsMixin
from orchestrator.storage._sqlite_functions import FunctionsMixin
from orchestrator.storage._sqlite_records import MAX_LIST_LIMIT, RecordsMixin
from orchestrator.storage._sqlite_runs import RunsMixin
from orchestrator.storage._sqlite_schedules import SchedulesMixin
from orchestrator.storage._sqlite_tenants import SECRET_KEY_PREFIX, TenantsMixin
from orchestrator.storage._sqlite_tracking import TrackingMixin

__all__ = ["MAX_LIST_LIMIT", "SECRET_KEY_PREFIX", "SqliteStorage"]


class SqliteStorage(
    TenantsMixin,
    ConnectionsMixin,
    FunctionsMixin,
    RunsMixin,
    RecordsMixin,
    TrackingMixin,
    CheckpointsMixin,
    SchedulesMixin,
):
    """Storage in one SQLite file.

    Thread-safe: every thread uses its own connection, writes wait for each other up to the
    busy timeout (then fail with ``Unavailable``, code ``storage_busy``).

    Example::

        storage = SqliteStorage(data_dir / "corral.db")
        environment, secret_key = storage.create_environment("acme/prod")
    """


def _conforms(
    *,
    tenants: TenantsMixin,
    connections: ConnectionsMixin,
    functions: FunctionsMixin,
    runs: RunsMixin,
    records: RecordsMixin,
    tracking: TrackingMixin,
    checkpoints: CheckpointsMixin,
    schedules: SchedulesMixin,
    storage: SqliteStorage,
) -> tuple[
    TenantStore,
    ConnectionStore,
    FunctionStore,
    RunStore,
    RecordStore,
    TrackingStore,
    CheckpointStore,
    ScheduleStore,
    Storage,
]:
    # mypy proves here that each area module implements its area's protocol, and that
    # SqliteStorage implements all of Storage.
    return tenants, connections, functions, runs, records, tracking, checkpoints, schedules, storage

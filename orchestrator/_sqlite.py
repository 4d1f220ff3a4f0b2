"""The SQLite storage engine: the embedded default, one file in WAL mode.

``SqliteStorage`` implements ``orchestrator._storage.Storage``. It is assembled from mixins, one
module per area, over ``SqliteBase`` (connections and transactions):

- ``_sqlite_tenants``: environments, integrations, connections, environment variables;
- ``_sqlite_runs``: deployed functions, runs, run logs;
- ``_sqlite_records``: records;
- ``_sqlite_tracking``: deletion tracking of records;
- ``_sqlite_checkpoints``: checkpoints and sync resets;
- ``_sqlite_schedules``: when each sync runs for each connection.

Choices every caller may rely on:

- Timestamps are stored as RFC 3339 UTC text with microseconds and exposed as aware datetimes.
- Deleting a connection deletes its records, checkpoints and deletion tracking for good
  (ON DELETE CASCADE); runs and their logs stay.
- Each call is one transaction; a batch of records is written in one.
- The schema is created and migrated when the store opens (``migrations/sqlite/*.sql``).
"""

from __future__ import annotations

from orchestrator._sqlite_checkpoints import CheckpointsMixin
from orchestrator._sqlite_records import MAX_LIST_LIMIT
from orchestrator._sqlite_runs import RunsMixin
from orchestrator._sqlite_schedules import SchedulesMixin
from orchestrator._sqlite_tenants import SECRET_KEY_PREFIX, TenantsMixin
from orchestrator._sqlite_tracking import TrackingMixin
from orchestrator._storage import Storage

__all__ = ["MAX_LIST_LIMIT", "SECRET_KEY_PREFIX", "SqliteStorage"]


class SqliteStorage(TenantsMixin, RunsMixin, TrackingMixin, CheckpointsMixin, SchedulesMixin):
    """Storage in one SQLite file.

    Thread-safe: every thread uses its own connection, writes wait for each other up to the
    busy timeout (then fail with ``Unavailable``, code ``storage_busy``).

    Example::

        storage = SqliteStorage(data_dir / "corral.db")
        environment, secret_key = storage.create_environment("acme/prod")
    """


def _conforms(storage: SqliteStorage) -> Storage:
    # mypy proves here that SqliteStorage implements the Storage protocol.
    return storage

"""A scratch store for a dry run: the production SQLite storage on a temporary database.

A dry run must store nothing, yet its SDK calls must mean what they mean in production. So it
is served by the production callback service over this store: the same SQLite code, on a
database of its own that is deleted when the run is done. It holds one environment (with the
run's budgets), integration, connection (with the run's metadata), checkpoint and run, and
the run's scope in it: a sync's, which may store records and checkpoints (a dry run may,
whatever kind of function runs).
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral._budgets import Budgets
from corral.errors import InvalidRequest
from orchestrator.runs._tokens import RunScope
from orchestrator.storage._areas import CheckpointKey, LogLine, NewRun, Run
from orchestrator.storage._sqlite import SqliteStorage

SCRATCH_KIND = "sync"
"""The kind of the run in a scratch store: one that may store records and checkpoints."""


@dataclass(frozen=True)
class ScratchSeed:
    """What a scratch store starts with."""

    metadata: Mapping[str, Any] = field(default_factory=dict)
    checkpoint: Any = None
    budgets: Budgets = field(default_factory=Budgets)
    integration: str = "offline"
    connection_id: str = "offline"
    function_name: str = "dryrun"
    variant: str = "base"


class ScratchStore:
    """A temporary store seeded for one dry run; ``close`` deletes it."""

    def __init__(self, seed: ScratchSeed, directory: pathlib.Path | None = None) -> None:
        """Creates and seeds the store, in a folder of its own under ``directory`` (the system
        temp folder by default; ``corral serve`` gives ``<data dir>/runtime/scratch``, which it
        clears at start, so a store a killed serve left behind does not stay).

        Raises:
            InvalidRequest: a checkpoint that is not a JSON object.
        """
        if seed.checkpoint is not None and not isinstance(seed.checkpoint, dict):
            raise InvalidRequest("a checkpoint must be a JSON object", code="invalid_checkpoint")
        self._dir = tempfile.TemporaryDirectory(prefix="corral-scratch-", dir=directory)
        self.storage = SqliteStorage(pathlib.Path(self._dir.name) / "scratch.db")
        try:
            self.scope = _seed(self.storage, seed)
        except BaseException:
            self.close()
            raise

    def run(self) -> Run:
        """The run as stored: its state, error and ``logs_dropped``."""
        return self.storage.get_run(self.scope.env_id, self.scope.run_id)

    def logs(self) -> list[LogLine]:
        """The run's log lines, in order."""
        return self.storage.get_logs(self.scope.env_id, self.scope.run_id)

    def close(self) -> None:
        """Closes and deletes the store."""
        self.storage.close()
        self._dir.cleanup()


def _seed(storage: SqliteStorage, seed: ScratchSeed) -> RunScope:
    env, _ = storage.create_environment("scratch")
    storage.set_environment_settings(env.id, {"budgets": dataclasses.asdict(seed.budgets)})
    storage.upsert_integration(
        env.id, seed.integration, provider=seed.integration, base_url="", auth_mode="NONE",
        auth_config={},
    )  # fmt: skip
    storage.create_connection(
        env.id, seed.integration, seed.connection_id, credentials={"type": "NONE"},
        connection_config={}, metadata=dict(seed.metadata),
    )  # fmt: skip
    if seed.checkpoint is not None:
        key = CheckpointKey(env.id, seed.connection_id, seed.function_name, seed.variant)
        storage.save_checkpoint(key, seed.checkpoint, expected_version=None)
    run = storage.create_run(
        env.id,
        NewRun(
            function_name=seed.function_name, integration_key=seed.integration, kind=SCRATCH_KIND,
            connection_id=seed.connection_id, variant=seed.variant, input_json="null",
        ),
    )  # fmt: skip
    storage.mark_run_started(run.run_id)
    return RunScope(
        env_id=env.id,
        run_id=run.run_id,
        connection_id=seed.connection_id,
        integration_key=seed.integration,
        function_name=seed.function_name,
        kind=SCRATCH_KIND,
        variant=seed.variant,
    )

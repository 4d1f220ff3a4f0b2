"""Checkpoints and sync resets for every engine.

A checkpoint's version grows by one on every save and clear and never goes back, also across a
clear, so a writer that read version N and saves with ``expected_version=N`` can only succeed if
nobody wrote in between. ``CheckpointsArea`` implements ``CheckpointStore`` once, in SQL both
engines speak; where the engine locks rows, writers of one connection's checkpoints take turns
on the connection's row lock, so that check holds across orchestrators too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator._text_values import refuse_nul
from orchestrator.storage._engine import C, EngineBase
from orchestrator.storage._types import CheckpointConflict, CheckpointKey


class CheckpointsArea(EngineBase[C]):
    """Checkpoints of (connection, function, variant) and sync resets: ``CheckpointStore``."""

    def get_checkpoint(self, key: CheckpointKey) -> dict[str, Any] | None:
        """The checkpoint, or None when never saved or cleared."""
        return self.get_checkpoint_versioned(key)[0]

    def get_checkpoint_versioned(self, key: CheckpointKey) -> tuple[dict[str, Any] | None, int]:
        """The checkpoint (or None) and its version (0 when never saved).

        Raises:
            NotFound: code ``unknown_connection``.
        """
        with self._read() as conn:
            pk = self._connection_pk(conn, key.env_id, key.connection_id)
            return self._checkpoint(conn, pk, key)

    def save_checkpoint(
        self, key: CheckpointKey, value: Mapping[str, Any], expected_version: int | None = None
    ) -> int:
        """Saves the checkpoint.

        Args:
            key: where the checkpoint lives.
            value: the checkpoint, a JSON object.
            expected_version: when given, the version the caller last saw; the save fails if
                the stored version differs (0 means "no checkpoint saved yet").

        Returns:
            The checkpoint's new version.

        Raises:
            CheckpointConflict: ``expected_version`` is stale; nothing changes.
            InvalidRequest: ``invalid_checkpoint``, a key or string holds NUL.
            NotFound: code ``unknown_connection``.
        """
        refuse_nul(value, what="checkpoint", code="invalid_checkpoint")
        with self._write() as conn:
            pk = self._connection_pk(conn, key.env_id, key.connection_id, lock=True)
            _, version = self._checkpoint(conn, pk, key)
            if expected_version is not None and expected_version != version:
                raise CheckpointConflict(
                    f"checkpoint is at version {version}, not {expected_version}",
                    details={"expected_version": expected_version, "current_version": version},
                )
            self._store(conn, pk, key, dict(value), version + 1)
        return version + 1

    def clear_checkpoint(self, key: CheckpointKey) -> None:
        """Clears the checkpoint; the next ``get_checkpoint`` returns None."""
        with self._write() as conn:
            self._clear(conn, key)

    def reset_sync(
        self,
        env_id: int,
        connection_id: str,
        function_name: str,
        variant: str,
        empty_models: Sequence[str] = (),
    ) -> int:
        """Resets a sync: its checkpoint is cleared, and the connection's records of
        ``empty_models`` (in this variant) are deleted for good in the same transaction; other
        records stay. Returns how many records were deleted."""
        key = CheckpointKey(env_id, connection_id, function_name, variant)
        with self._write() as conn:
            pk = self._clear(conn, key)
            return sum(
                self._exec(
                    conn,
                    "DELETE FROM records WHERE connection_pk = ? AND model = ? AND variant = ?",
                    (pk, model, variant),
                )
                for model in empty_models
            )

    def _clear(self, conn: C, key: CheckpointKey) -> int:
        pk = self._connection_pk(conn, key.env_id, key.connection_id, lock=True)
        value, version = self._checkpoint(conn, pk, key)
        if value is not None:
            self._store(conn, pk, key, None, version + 1)
        return pk

    def _store(
        self,
        conn: C,
        pk: int,
        key: CheckpointKey,
        value: dict[str, Any] | None,
        version: int,
    ) -> None:
        self._exec(
            conn,
            "INSERT INTO checkpoints (connection_pk, function_name, variant, value, version,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (connection_pk,"
            " function_name, variant) DO UPDATE SET value = excluded.value,"
            " version = excluded.version, updated_at = excluded.updated_at",
            (
                *(pk, key.function_name, key.variant),
                None if value is None else self._json_in(value),
                *(version, self._now()),
            ),
        )

    def _checkpoint(
        self, conn: C, pk: int, key: CheckpointKey
    ) -> tuple[dict[str, Any] | None, int]:
        row = self._fetch_one(
            conn,
            "SELECT value, version FROM checkpoints"
            " WHERE connection_pk = ? AND function_name = ? AND variant = ?",
            (pk, key.function_name, key.variant),
        )
        return (None, 0) if row is None else (self._codec.json(row["value"]), int(row["version"]))

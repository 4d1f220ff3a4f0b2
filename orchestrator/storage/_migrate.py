"""Schema migrations: plain numbered SQL files per engine.

The files live in ``orchestrator/storage/migrations/<engine>/`` and are named ``NNNN_what.sql``. An
engine applies the ones its ``schema_migrations`` table does not list, in number order, each in
its own transaction together with its row in that table. Applied files are never edited; a
change is a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
"""The folder that holds one folder of migrations per engine."""

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""
"""The table that records applied migrations (portable SQL)."""


@dataclass(frozen=True)
class Migration:
    """One migration file.

    Attributes:
        version: the file's number.
        name: the file's name.
        sql: the file's SQL script.
    """

    version: int
    name: str
    sql: str


def load_migrations(engine: str, directory: Path | None = None) -> list[Migration]:
    """The migrations of an engine, in version order.

    Args:
        engine: the engine's folder name (``sqlite``, ``postgresql``).
        directory: the folder that holds the engines' folders; the package's by default.

    Raises:
        ValueError: a file is misnamed or two files share a number.
    """
    folder = (directory or MIGRATIONS_DIR) / engine
    migrations = [_load(path) for path in sorted(folder.glob("*.sql"))]
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migrations share a number in {folder}")
    return sorted(migrations, key=lambda migration: migration.version)


def pending(migrations: list[Migration], applied: set[int]) -> list[Migration]:
    """The migrations not applied yet, in order."""
    return [migration for migration in migrations if migration.version not in applied]


def _load(path: Path) -> Migration:
    match = _FILE_NAME.match(path.name)
    if match is None:
        raise ValueError(f"migration {path.name!r} is not named NNNN_name.sql")
    return Migration(int(match.group(1)), path.name, path.read_text(encoding="utf-8"))

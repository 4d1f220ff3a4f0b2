"""What each list command shows on a terminal (its ``--json`` output is the whole value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.cli._table import Table, field


def _error_type(item: Mapping[str, Any]) -> Any:
    error = item.get("error")
    return error.get("type") if isinstance(error, dict) else None


def _record_meta(name: str) -> Any:
    def cell(item: Mapping[str, Any]) -> Any:
        meta = item.get("_nango_metadata")
        return meta.get(name) if isinstance(meta, dict) else None

    return cell


def _record_rest(item: Mapping[str, Any]) -> Any:
    return {k: v for k, v in item.items() if k not in {"id", "_nango_metadata"}}


def _frequency_source(item: Mapping[str, Any]) -> str:
    """Whose frequency a schedule runs at: the connection's own (StartSync) or the sync's."""
    return "connection" if item.get("frequency_override_seconds") else "sync"


RUNS = Table(
    "runs",
    [
        ("RUN", field("run_id")),
        ("FUNCTION", field("function_name")),
        ("KIND", field("kind")),
        ("STATE", field("state")),
        ("CONNECTION", field("connection_id")),
        ("CREATED", field("created_at")),
        ("ERROR", _error_type),
    ],
    empty="no runs",
)
LOGS = Table(
    "logs",
    [("TIME", field("timestamp")), ("LEVEL", field("level")), ("MESSAGE", field("message"))],
    empty="no log lines",
)
CONNECTIONS = Table(
    "connections",
    [
        ("CONNECTION", field("connection_id")),
        ("INTEGRATION", field("integration")),
        ("AUTH", field("auth_mode")),
        ("CREATED", field("created_at")),
    ],
    empty="no connections",
)
RECORDS = Table(
    "records",
    [
        ("ID", field("id")),
        ("LAST ACTION", _record_meta("last_action")),
        ("MODIFIED", _record_meta("last_modified_at")),
        ("RECORD", _record_rest),
    ],
    empty="no records",
)
RUNNERS = Table(
    "runners",
    [
        ("ADDRESS", field("address")),
        ("STATE", field("state")),
        ("SLOTS", field("slots")),
        ("RUNS", field("runs_in_progress")),
        ("LAYERS", field("layers_applied")),
        ("HEARD", field("last_heartbeat")),
    ],
    empty="no runners",
)
SCHEDULES = Table(
    "schedules",
    [
        ("SYNC", field("sync_name")),
        ("CONNECTION", field("connection_id")),
        ("VARIANT", field("variant")),
        ("STATE", field("state")),
        ("EVERY (s)", field("frequency_seconds")),
        ("SET BY", _frequency_source),
        ("NEXT RUN", field("next_run_at")),
        ("LAST RUN", field("last_run_id")),
    ],
    empty="no schedules",
)
VARIABLES = Table("variables", [("NAME", lambda name: name)], empty="no variables")
ENVIRONMENTS = Table(
    "environments",
    [("ENVIRONMENT", field("name")), ("CREATED", field("created_at"))],
    empty="no environments",
)
INTEGRATIONS = Table(
    "integrations",
    [
        ("INTEGRATION", field("unique_key")),
        ("PROVIDER", field("provider")),
        ("AUTH", field("auth_mode")),
        ("BASE URL", field("base_url")),
    ],
    empty="no integrations",
)

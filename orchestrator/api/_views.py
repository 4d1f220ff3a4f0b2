"""Stored rows as API messages (never with credentials)."""

from __future__ import annotations

import json
from datetime import datetime

from corral._error_shapes import from_json, to_proto
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from orchestrator.runs._dispatch import KIND_ENUM
from orchestrator.storage._areas import (
    Connection,
    FunctionRow,
    Integration,
    LogLine,
    Run,
    Schedule,
    StoredRecord,
)

RUN_STATES = {
    "queued": pb.RUN_STATE_QUEUED,
    "running": pb.RUN_STATE_RUNNING,
    "succeeded": pb.RUN_STATE_SUCCEEDED,
    "failed": pb.RUN_STATE_FAILED,
}


def _time(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def function_pb(row: FunctionRow) -> pb.FunctionInfo:
    """A deployed function."""
    return pb.FunctionInfo(
        integration=row.integration_key,
        name=row.name,
        kind=KIND_ENUM.get(row.kind, common_pb2.FUNCTION_KIND_UNSPECIFIED),
        version=row.version,
        description=row.description,
        config_json=_dump(row.config),
        code_hash=row.code_hash,
        deployed_at=_time(row.deployed_at),
    )


SHOWN_AUTH_CONFIG = frozenset(
    {
        "header",
        "format",
        "query",
        "allowed_origins",
        "retry_status_codes",
        "token_url",
        "authorization_url",
        "client_id",
        "scopes",
    }
)
"""Auth configuration settings that are not secret: shown as they are. Any other setting is
shown as set but hidden (an operator may put a password or token under any name)."""
HIDDEN = "[hidden]"


def integration_pb(row: Integration) -> pb.Integration:
    """An integration; only the known non-secret settings of its auth configuration are shown,
    the others as ``[hidden]``."""
    config = {k: v if k in SHOWN_AUTH_CONFIG else HIDDEN for k, v in row.auth_config.items()}
    return pb.Integration(
        unique_key=row.unique_key,
        provider=row.provider,
        base_url=row.base_url,
        auth_mode=row.auth_mode,
        auth_config_json=_dump(config),
        created_at=_time(row.created_at),
    )


def connection_pb(row: Connection) -> pb.Connection:
    """A connection, without its credentials."""
    return pb.Connection(
        connection_id=row.connection_id,
        integration=row.integration_key,
        connection_config_json=_dump(row.connection_config),
        metadata_json=_dump(row.metadata),
        base_url=row.base_url,
        auth_mode=row.auth_mode,
        created_at=_time(row.created_at),
        updated_at=_time(row.updated_at),
    )


def run_pb(row: Run) -> pb.Run:
    """A run with its outcome."""
    message = pb.Run(
        run_id=row.run_id,
        function_name=row.function_name,
        kind=KIND_ENUM.get(row.kind, common_pb2.FUNCTION_KIND_UNSPECIFIED),
        connection_id=row.connection_id,
        state=RUN_STATES.get(row.state, pb.RUN_STATE_UNSPECIFIED),
        input_json=row.input_json,
        output_json=row.output_json or "",
        created_at=_time(row.created_at),
        started_at=_time(row.started_at),
        finished_at=_time(row.finished_at),
        variant=row.variant,
        logs_dropped=row.logs_dropped,
    )
    if row.error:
        message.error.CopyFrom(to_proto(from_json(row.error)))
    return message


def log_pb(line: LogLine) -> pb.LogLine:
    """One log line."""
    return pb.LogLine(
        seq=line.seq,
        level=line.level,
        message=line.message,
        meta_json=line.meta_json,
        timestamp=_time(line.timestamp),
    )


def record_pb(row: StoredRecord) -> pb.StoredRecord:
    """A stored record with ``_nango_metadata`` added."""
    metadata = {
        "first_seen_at": _time(row.first_seen_at),
        "last_modified_at": _time(row.last_modified_at),
        "last_action": row.last_action,
        "deleted_at": _time(row.deleted_at) or None,
        "cursor": row.cursor,
    }
    data = json.loads(row.json)
    data["_nango_metadata"] = metadata
    return pb.StoredRecord(
        json=_dump(data),
        metadata=pb.RecordMetadata(
            first_seen_at=metadata["first_seen_at"] or "",
            last_modified_at=metadata["last_modified_at"] or "",
            last_action=row.last_action,
            deleted_at=_time(row.deleted_at),
            cursor=row.cursor,
        ),
    )


def schedule_pb(row: Schedule) -> pb.SyncSchedule:
    """A sync's schedule for a connection."""
    return pb.SyncSchedule(
        sync_name=row.sync_name,
        connection_id=row.connection_id,
        variant=row.variant,
        state=row.state,
        frequency_seconds=row.frequency_seconds,
        next_run_at=_time(row.next_run_at),
        last_run_id=row.last_run_id or "",
        frequency_override_seconds=row.frequency_override_seconds or 0.0,
    )

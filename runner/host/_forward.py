"""Forwards a worker's SDK calls to the orchestrator's RunnerCallbacks service.

The worker is untrusted: every argument is checked and converted here before it becomes a
typed request, and the run token (which the worker never sees) goes in the call metadata.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import grpc
import structlog

from corral import _grpc_errors, _metadata
from corral.errors import InvalidRequest, Unavailable
from corral.v1 import callbacks_pb2 as pb
from corral.v1 import callbacks_pb2_grpc

_log = structlog.get_logger("corral.runner")

MAX_LOG_LINES = 10_000
"""Log lines stored per run; later ones are dropped after one line that says so."""
MAX_LOG_BYTES = 64 * 1024
"""Characters of one log message (and of its extra values, as JSON) kept."""
MAX_BATCH_BYTES = 16 << 20
"""Record JSON sent in one RecordBatch; a larger batch goes in several calls."""

CallbacksStub = callbacks_pb2_grpc.RunnerCallbacksStub | Any
"""A ``RunnerCallbacksStub``, or an object with its methods (the offline dry run serves the
same calls in process)."""


def encode_record(record: Any) -> pb.Record:
    """A record as compact JSON bytes with its id and a content hash (sha256 of those bytes).

    The storage hashes merged records the same way, so an unchanged record stays unchanged.
    """
    if not isinstance(record, dict) or "id" not in record:
        raise InvalidRequest("a record must be an object with an id", code="invalid_sync_record")
    data = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
    return pb.Record(id=str(record["id"]), json=data, content_hash=hashlib.sha256(data).hexdigest())


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _loads(message: pb.JsonValue | pb.Checkpoint) -> Any:
    return json.loads(message.json) if message.json else None


def _counts(result: pb.RecordBatchResult) -> dict[str, int]:
    return {
        "added": result.added,
        "updated": result.updated,
        "deleted": result.deleted,
        "unchanged": result.unchanged,
    }


def _by_size(records: list[pb.Record], max_bytes: int) -> list[list[pb.Record]]:
    """Records split into consecutive parts of at most ``max_bytes`` of JSON (one record each
    at least), so that no message passes the gRPC size limit."""
    parts: list[list[pb.Record]] = [[]]
    size = 0
    for record in records:
        if parts[-1] and size + len(record.json) > max_bytes:
            parts.append([])
            size = 0
        parts[-1].append(record)
        size += len(record.json)
    return parts


def _proxy_request(args: dict[str, Any]) -> pb.ProxyRequest:
    headers = args.get("headers") or {}
    if not isinstance(headers, dict):
        raise InvalidRequest("headers must be an object")
    request = pb.ProxyRequest(
        method=str(args.get("method") or "GET"),
        endpoint=str(args.get("endpoint") or ""),
        headers=[pb.Header(name=str(k), value=str(v)) for k, v in headers.items()],
        params_json=_json(args["params"]) if args.get("params") is not None else b"",
        retries=int(args.get("retries") or 0),
        retry_on=[int(s) for s in args.get("retry_on") or []],
        base_url_override=str(args.get("base_url_override") or ""),
        decompress=bool(args.get("decompress")),
        response_type=str(args.get("response_type") or ""),
    )
    if "data_json" in args:
        request.data, request.data_is_json, request.has_data = _json(args["data_json"]), True, True
    elif "data_text" in args:
        request.data, request.has_data = str(args["data_text"]).encode(), True
    elif "data_b64" in args:
        request.data, request.has_data = base64.b64decode(str(args["data_b64"])), True
    return request


def _proxy_reply(response: pb.ProxyResponse) -> dict[str, Any]:
    return {
        "status": response.status,
        "headers": [[h.name, h.value] for h in response.headers],
        "body_b64": base64.b64encode(response.body).decode(),
        "url": response.url,
        "method": response.method,
    }


class GrpcCallbackHandler:
    """Answers one run's SDK calls through RunnerCallbacks, with that run's token.

    One handler serves one run, so it keeps that run's state: the checkpoint version the run
    last read or wrote (a save is made on top of it, so a second writer in between makes the
    save fail with ``checkpoint_conflict`` instead of being overwritten silently), and how many
    log lines the run sent (past :data:`MAX_LOG_LINES` the rest are dropped, after one line
    that says so). Both live here, not in the worker, because the worker is not trusted.
    """

    def __init__(self, stub: CallbacksStub, run_token: str) -> None:
        self._stub = stub
        self._metadata = ((_metadata.RUN_TOKEN, run_token),)
        self._checkpoint_version: int | None = None
        self._log_lines = 0
        self._methods: dict[str, Callable[[dict[str, Any], float], Any]] = {
            "proxy": self._proxy,
            "log": self._log,
            "get_connection": self._get_connection,
            "get_integration": self._get_integration,
            "get_environment_variables": self._simple("GetEnvironmentVariables"),
            "get_metadata": self._simple("GetMetadata"),
            "set_metadata": self._with_value("SetMetadata", "metadata"),
            "update_metadata": self._with_value("UpdateMetadata", "metadata"),
            "get_checkpoint": self._get_checkpoint,
            "save_checkpoint": self._save_checkpoint,
            "clear_checkpoint": self._clear_checkpoint,
            "batch_save": self._batch("BatchSave"),
            "batch_delete": self._batch("BatchDelete"),
            "batch_update": self._batch("BatchUpdate"),
            "get_records_by_id": self._get_records_by_id,
            "track_deletes_start": self._model("TrackDeletesStart"),
            "track_deletes_end": self._model("TrackDeletesEnd"),
            "trigger_action": self._trigger_action,
        }

    def call(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        """Performs one SDK call; raises the orchestrator's typed error."""
        handler = self._methods.get(method)
        if handler is None:
            raise InvalidRequest(f"unknown SDK operation {method!r}")
        try:
            return handler(args, deadline)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequest(f"malformed arguments to {method}: {exc}") from None
        except grpc.RpcError as exc:
            error = _grpc_errors.from_rpc_error(exc)
            if isinstance(error, Unavailable) and error.code.startswith("rpc_"):
                # A transport failure, not a typed answer: its details name the orchestrator's
                # address and port, which are no business of the function. Operators get them.
                _log.warning("callback transport failure", method=method, error=error.message)
                raise Unavailable(
                    f"the orchestrator could not be reached ({error.code.removeprefix('rpc_')})",
                    code=error.code,
                    retryable=True,
                ) from None
            raise error from None

    def _invoke(self, rpc: str, request: Any, deadline: float) -> Any:
        timeout = max(deadline - time.monotonic(), 0.001)
        return getattr(self._stub, rpc)(request, timeout=timeout, metadata=self._metadata)

    def _proxy(self, args: dict[str, Any], deadline: float) -> Any:
        return _proxy_reply(self._invoke("Proxy", _proxy_request(args), deadline))

    def _log(self, args: dict[str, Any], deadline: float) -> Any:
        self._log_lines += 1
        if self._log_lines > MAX_LOG_LINES + 1:
            return
        level, message = str(args.get("level") or "info"), str(args.get("message") or "")
        meta = _json(args.get("meta") or [])
        if len(meta) > MAX_LOG_BYTES:
            meta = _json([f"(the extra values were cut: over {MAX_LOG_BYTES} bytes)"])
        if self._log_lines == MAX_LOG_LINES + 1:
            level, meta = "warn", b"[]"
            message = (
                f"log limit reached: the run's lines after the first {MAX_LOG_LINES} are dropped"
            )
        request = pb.LogRequest(
            level=level, message=message[:MAX_LOG_BYTES], meta_json=meta, timestamp=time.time()
        )
        self._invoke("Log", request, deadline)

    def _get_checkpoint(self, args: dict[str, Any], deadline: float) -> Any:
        del args
        return self._remember(self._invoke("GetCheckpoint", pb.Empty(), deadline))

    def _save_checkpoint(self, args: dict[str, Any], deadline: float) -> Any:
        request = pb.SaveCheckpointRequest(json=_json(args["checkpoint"]))
        if self._checkpoint_version is not None:
            request.expected_version = self._checkpoint_version
        self._remember(self._invoke("SaveCheckpoint", request, deadline))

    def _clear_checkpoint(self, args: dict[str, Any], deadline: float) -> Any:
        del args
        self._remember(self._invoke("ClearCheckpoint", pb.Empty(), deadline))

    def _remember(self, checkpoint: pb.Checkpoint) -> Any:
        self._checkpoint_version = checkpoint.version
        return _loads(checkpoint)

    def _get_connection(self, args: dict[str, Any], deadline: float) -> Any:
        request = pb.GetConnectionCallRequest(
            force_refresh=bool(args.get("force_refresh")),
            refresh_token=bool(args.get("refresh_token")),
            refresh_github_app_jwt_token=bool(args.get("refresh_github_app_jwt_token")),
        )
        return _loads(self._invoke("GetConnection", request, deadline))

    def _get_integration(self, args: dict[str, Any], deadline: float) -> Any:
        include = [str(i) for i in args.get("include") or []]
        return _loads(
            self._invoke("GetIntegration", pb.GetIntegrationCallRequest(include=include), deadline)
        )

    def _simple(self, rpc: str) -> Callable[[dict[str, Any], float], Any]:
        def call(args: dict[str, Any], deadline: float) -> Any:
            del args
            reply = self._invoke(rpc, pb.Empty(), deadline)
            return _loads(reply) if isinstance(reply, pb.JsonValue) else None

        return call

    def _with_value(self, rpc: str, key: str) -> Callable[[dict[str, Any], float], Any]:
        def call(args: dict[str, Any], deadline: float) -> Any:
            self._invoke(rpc, pb.JsonValue(json=_json(args[key])), deadline)

        return call

    def _batch(self, rpc: str) -> Callable[[dict[str, Any], float], Any]:
        def call(args: dict[str, Any], deadline: float) -> Any:
            records = [encode_record(r) for r in args["records"]]
            total = dict.fromkeys(("added", "updated", "deleted", "unchanged"), 0)
            for part in _by_size(records, MAX_BATCH_BYTES):
                batch = pb.RecordBatch(model=str(args["model"]), records=part)
                for name, count in _counts(self._invoke(rpc, batch, deadline)).items():
                    total[name] += count
            return total

        return call

    def _model(self, rpc: str) -> Callable[[dict[str, Any], float], Any]:
        def call(args: dict[str, Any], deadline: float) -> Any:
            reply = self._invoke(rpc, pb.ModelRequest(model=str(args["model"])), deadline)
            return _counts(reply) if isinstance(reply, pb.RecordBatchResult) else None

        return call

    def _get_records_by_id(self, args: dict[str, Any], deadline: float) -> Any:
        request = pb.GetRecordsByIdRequest(
            model=str(args["model"]), ids=[str(i) for i in args["ids"]]
        )
        return _loads(self._invoke("GetRecordsById", request, deadline))

    def _trigger_action(self, args: dict[str, Any], deadline: float) -> Any:
        request = pb.TriggerActionCallRequest(
            action_name=str(args["name"]), input_json=_json(args.get("input"))
        )
        return _loads(self._invoke("TriggerAction", request, deadline))

"""Answering SDK calls offline, for ``corral dryrun`` and ``corral test``: recorded responses,
memory for the rest.

Nothing is stored and nothing leaves the machine. Records passed to ``batch_save`` and
``batch_delete`` are collected per model, in call order, as the JSON the function produced.
``get_connection()`` and ``get_metadata()`` answer the fixture's ``getConnection`` and
``getMetadata`` (``{}`` when it has none, where the seeds' mock throws); the checkpoint starts
empty unless one is given. Deliberate difference from the seeds' test mock: a recorded non-2xx
response raises in the function (``HttpError``), as it does in production.

The budgets of a run hold offline as they do on a server (defaults, or the ``budgets`` given):
log lines past them are dropped and counted (``logs_dropped``); an oversized record or
metadata is refused with ``ResourceExhausted``, and past a per-run records budget the run has
failed (``failure``), whatever the function does with the error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from corral._budgets import Budgets, RunMeter, check_metadata
from corral.errors import InvalidRequest, ResourceExhausted, RunFailure
from corral.testing import Fixture, NoRecordedResponse

LEVELS = ("debug", "info", "warn", "error")


class OfflineHandler:
    """SDK calls of one offline run."""

    def __init__(
        self,
        fixture: Fixture | None = None,
        metadata: Mapping[str, Any] | None = None,
        checkpoint: Any = None,
        connection: Mapping[str, Any] | None = None,
        budgets: Budgets | None = None,
    ) -> None:
        self._fixture = fixture
        self.meter = RunMeter(budgets or Budgets())
        nango = fixture.nango if fixture else {}
        self.metadata: dict[str, Any] = dict(
            metadata if metadata is not None else nango.get("getMetadata") or {}
        )
        self._connection = dict(
            connection if connection is not None else nango.get("getConnection") or {}
        )
        self.checkpoint = checkpoint
        self.records: dict[str, list[Any]] = {}
        self.deleted: dict[str, list[Any]] = {}
        self.logs: list[dict[str, Any]] = []
        self._saved: dict[str, dict[str, Any]] = {}

    def call(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        """Performs one SDK call in memory."""
        del deadline
        handler = getattr(self, "_" + method, None)
        if handler is None or method.startswith("_"):
            raise InvalidRequest(
                f"{method} is not available in an offline dry run", code="not_supported_offline"
            )
        return handler(args)

    def _proxy(self, args: dict[str, Any]) -> Any:
        if self._fixture is None:
            raise RunFailure(
                "script_network_error",
                "an offline dry run has no network: give --fixture with recorded responses",
                payload={"code": "OFFLINE"},
            )
        data: Any = args.get("data_json")
        if "data_text" in args:
            data = args["data_text"]
        elif "data_b64" in args:
            data = base64.b64decode(args["data_b64"])
        try:
            entry = self._fixture.lookup(
                str(args.get("method") or "GET"),
                str(args.get("endpoint") or ""),
                args.get("params"),
                args.get("headers") or {},
                data,
            )
        except NoRecordedResponse as exc:
            raise RunFailure(
                "script_network_error", str(exc), payload={"code": "NO_RECORDING"}
            ) from None
        response = entry.get("response", "")
        body = response.encode() if isinstance(response, str) else json.dumps(response).encode()
        headers = dict(entry.get("headers") or {})
        if not isinstance(response, str):
            headers.setdefault("content-type", "application/json")
        return {
            "status": int(entry.get("status") or 200),
            "headers": [[k, str(v)] for k, v in headers.items()],
            "body_b64": base64.b64encode(body).decode(),
            "url": str(args.get("endpoint")),
            "method": str(args.get("method") or "GET"),
        }

    @property
    def failure(self) -> ResourceExhausted | None:
        """The per-run budget the run went past (it has failed), or None."""
        return self.meter.failure

    @property
    def logs_dropped(self) -> int:
        """Log lines dropped past the log budgets."""
        return self.meter.logs_dropped

    def _log(self, args: dict[str, Any]) -> None:
        message = str(args.get("message", ""))
        meta = args.get("meta") or []
        meta_json = json.dumps(meta, ensure_ascii=False)
        kept = self.meter.admit_log(message, meta_json)
        if kept is None:
            return
        self.logs.append(
            {
                "level": args.get("level", "info"),
                "message": message,
                "meta": meta if kept == meta_json else json.loads(kept),
            }
        )

    def _get_connection(self, args: dict[str, Any]) -> Any:
        del args
        return self._connection

    def _get_metadata(self, args: dict[str, Any]) -> Any:
        del args
        return self.metadata

    def _set_metadata(self, args: dict[str, Any]) -> None:
        metadata = dict(args["metadata"])
        check_metadata(metadata, self.meter.budgets)
        self.metadata = metadata

    def _update_metadata(self, args: dict[str, Any]) -> None:
        merged = self.metadata | dict(args["metadata"])
        check_metadata(merged, self.meter.budgets)
        self.metadata = merged

    def _get_environment_variables(self, args: dict[str, Any]) -> Any:
        del args
        return []

    def _get_checkpoint(self, args: dict[str, Any]) -> Any:
        del args
        return self.checkpoint

    def _save_checkpoint(self, args: dict[str, Any]) -> None:
        self.checkpoint = args["checkpoint"]

    def _clear_checkpoint(self, args: dict[str, Any]) -> None:
        del args
        self.checkpoint = None

    def _charge(self, records: list[Any], *, count: bool = True) -> None:
        """Charges records to the run's budgets; past a per-run one, the run has failed."""
        sized = [(str(r.get("id") if isinstance(r, dict) else ""), _encoded(r)) for r in records]
        self.meter.charge_records(sized, count=count)

    def _batch_save(self, args: dict[str, Any]) -> Any:
        self._charge(list(args["records"]))
        model = str(args["model"])
        self.records.setdefault(model, []).extend(args["records"])
        for record in args["records"]:
            self._saved.setdefault(model, {})[str(record["id"])] = record
        return {"added": len(args["records"])}

    def _batch_delete(self, args: dict[str, Any]) -> Any:
        self.deleted.setdefault(str(args["model"]), []).extend(args["records"])
        return {"deleted": len(args["records"])}

    def _batch_update(self, args: dict[str, Any]) -> Any:
        self._charge(list(args["records"]), count=False)
        return {"updated": len(args["records"])}

    def _get_records_by_id(self, args: dict[str, Any]) -> Any:
        saved = self._saved.get(str(args["model"]), {})
        return {i: saved[i] for i in args["ids"] if i in saved}

    def _track_deletes_start(self, args: dict[str, Any]) -> None:
        del args

    def _track_deletes_end(self, args: dict[str, Any]) -> Any:
        del args
        return {"deleted": 0}


def _encoded(value: Any) -> bytes:
    """A record as the compact UTF-8 JSON a server would store."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

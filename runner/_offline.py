"""Answering SDK calls offline, for ``corral dryrun`` and ``corral test``: recorded responses,
memory for the rest.

Nothing is stored and nothing leaves the machine. Records passed to ``batch_save`` and
``batch_delete`` are collected per model, in call order, as the JSON the function produced.
``get_connection()`` and ``get_metadata()`` answer the fixture's ``getConnection`` and
``getMetadata`` (``{}`` when it has none, where the seeds' mock throws); the checkpoint starts
empty unless one is given. Deliberate difference from the seeds' test mock: a recorded non-2xx
response raises in the function (``HttpError``), as it does in production.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from corral.errors import InvalidRequest, RunFailure
from runner._fixtures import Fixture, NoRecordedResponse

LEVELS = ("debug", "info", "warn", "error")


class OfflineHandler:
    """SDK calls of one offline run."""

    def __init__(
        self,
        fixture: Fixture | None = None,
        metadata: Mapping[str, Any] | None = None,
        checkpoint: Any = None,
        connection: Mapping[str, Any] | None = None,
    ) -> None:
        self._fixture = fixture
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

    def _log(self, args: dict[str, Any]) -> None:
        self.logs.append(
            {
                "level": args.get("level", "info"),
                "message": args.get("message", ""),
                "meta": args.get("meta") or [],
            }
        )

    def _get_connection(self, args: dict[str, Any]) -> Any:
        del args
        return self._connection

    def _get_metadata(self, args: dict[str, Any]) -> Any:
        del args
        return self.metadata

    def _set_metadata(self, args: dict[str, Any]) -> None:
        self.metadata = dict(args["metadata"])

    def _update_metadata(self, args: dict[str, Any]) -> None:
        self.metadata |= dict(args["metadata"])

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

    def _batch_save(self, args: dict[str, Any]) -> Any:
        model = str(args["model"])
        self.records.setdefault(model, []).extend(args["records"])
        for record in args["records"]:
            self._saved.setdefault(model, {})[str(record["id"])] = record
        return {"added": len(args["records"])}

    def _batch_delete(self, args: dict[str, Any]) -> Any:
        self.deleted.setdefault(str(args["model"]), []).extend(args["records"])
        return {"deleted": len(args["records"])}

    def _batch_update(self, args: dict[str, Any]) -> Any:
        return {"updated": len(args["records"])}

    def _get_records_by_id(self, args: dict[str, Any]) -> Any:
        saved = self._saved.get(str(args["model"]), {})
        return {i: saved[i] for i in args["ids"] if i in saved}

    def _track_deletes_start(self, args: dict[str, Any]) -> None:
        del args

    def _track_deletes_end(self, args: dict[str, Any]) -> Any:
        del args
        return {"deleted": 0}

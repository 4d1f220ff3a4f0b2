"""Writing what a dry run against a real API answered as a ``*.test.json`` fixture.

The file is in the seeds' format (shared/fixtures/FORMAT.md): ``api[method][/endpoint]`` holds
one exchange or a list of them, each with the response, its status and headers, the sha1
``hash`` of the request identity and the identity's ``request`` fields; ``nango`` holds the
metadata the run started from and the records it saved and deleted; an action also gets its
``input`` and ``output``. Replaying the file with ``corral dryrun --fixture`` or
``corral test`` answers the same requests the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from corral.testing import identity
from corral.v1 import orchestrator_pb2 as pb

_LONG_DATA = 1000


def _request_data(exchange: pb.RecordedExchange) -> Any:
    if not exchange.has_data:
        return None
    if exchange.data_is_json:
        return json.loads(exchange.data)
    try:
        return exchange.data.decode()
    except UnicodeDecodeError:
        return exchange.data


def _response(exchange: pb.RecordedExchange) -> Any:
    if not exchange.response_body:
        return ""
    text = exchange.response_body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _stored_data(data: Any, data_identity: str | None) -> Any:
    if data_identity is not None and data_identity.startswith("sha1:"):
        return data_identity
    if isinstance(data, bytes):
        return data_identity
    return data


def entry_of(exchange: pb.RecordedExchange) -> tuple[str, str, dict[str, Any]]:
    """(method, endpoint key, entry) for one recorded exchange."""
    params = json.loads(exchange.params_json) if exchange.params_json else None
    headers = json.loads(exchange.headers_json) if exchange.headers_json else {}
    data = _request_data(exchange)
    ident = identity(exchange.method, exchange.endpoint, params, headers, data)
    request: dict[str, Any] = {}
    if ident.params:
        request["params"] = dict(ident.params)
    if ident.headers:
        request["headers"] = dict(ident.headers)
    if ident.data is not None:
        request["data"] = _stored_data(data, ident.data)
    entry = {
        "response": _response(exchange),
        "status": exchange.status,
        "headers": json.loads(exchange.response_headers_json or "{}"),
        "hash": ident.hash(),
        "request": request,
    }
    return ident.method, "/" + ident.endpoint, entry


def api_of(exchanges: Iterable[pb.RecordedExchange]) -> dict[str, dict[str, Any]]:
    """The fixture's ``api`` table; a request whose hash is stored already is dropped."""
    table: dict[str, dict[str, list[dict[str, Any]]]] = {}
    seen: set[str] = set()
    for exchange in exchanges:
        method, endpoint, entry = entry_of(exchange)
        if entry["hash"] in seen:
            continue
        seen.add(entry["hash"])
        table.setdefault(method, {}).setdefault(endpoint, []).append(entry)
    return {
        method: {
            ep: entries[0] if len(entries) == 1 else entries for ep, entries in endpoints.items()
        }
        for method, endpoints in table.items()
    }


def fixture_of(
    exchanges: Iterable[pb.RecordedExchange],
    result: Mapping[str, Any],
    *,
    input_value: Any,
    metadata: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A whole fixture for a finished dry run (its ``result`` as ``corral dryrun`` prints it)."""
    nango: dict[str, Any] = {}
    if metadata:
        nango["getMetadata"] = dict(metadata)
    if result.get("records"):
        nango["batchSave"] = result["records"]
        nango["batchDelete"] = result.get("deleted") or {}
    fixture: dict[str, Any] = {}
    if input_value is not None or result.get("output") is not None:  # an action
        fixture["input"] = input_value
        fixture["output"] = result.get("output")
    fixture["nango"] = nango
    fixture["api"] = api_of(exchanges)
    return fixture

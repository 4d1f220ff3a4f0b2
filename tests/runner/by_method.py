"""Test handlers written per SDK operation, as the runner host's RPC-level callback handlers.

A test's fake orchestrator answers ``(method, args)`` (``batch_save``, ``{"model",
"records"}``, ...) with plain values (``ByMethod.answer``); ``ByMethod`` turns the
RunnerCallbacks request the host hands it back into those arguments, and the value into the
RPC's response message. It is the SDK's own encoding (``runner.sdk._wire``) read backwards, so
a test sees what the function asked for.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from google.protobuf.message import Message

from corral.v1 import callbacks_pb2 as pb
from runner.host._calls import Serialized, parse_request
from runner.host._run_calls import CallbackHandler, RunCalls
from runner.sdk import _wire as _sdk_wire
from runner.sdk._wire import response_type


def method_name(rpc: str) -> str:
    """The SDK operation of an RPC: ``BatchSave`` -> ``batch_save``."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", rpc).lower()


def _loads(data: bytes) -> Any:
    return json.loads(data) if data else None


def _proxy_args(request: pb.ProxyRequest) -> dict[str, Any]:
    args: dict[str, Any] = {
        "method": request.method,
        "endpoint": request.endpoint,
        "headers": {h.name: h.value for h in request.headers},
        "params": _loads(request.params_json),
        "retries": request.retries,
        "retry_on": list(request.retry_on),
        "base_url_override": request.base_url_override,
        "decompress": request.decompress,
        "response_type": request.response_type,
    }
    if request.has_data and request.data_is_json:
        args["data_json"] = _loads(request.data)
    elif request.has_data:
        try:
            args["data_text"] = request.data.decode()
        except UnicodeDecodeError:
            args["data_b64"] = base64.b64encode(request.data).decode()
    return args


def arguments(request: Message) -> dict[str, Any]:
    """The SDK arguments a request carries."""
    if isinstance(request, pb.ProxyRequest):
        return _proxy_args(request)
    if isinstance(request, pb.LogRequest):
        meta = _loads(request.meta_json) or []
        return {"level": request.level, "message": request.message, "meta": meta}
    if isinstance(request, pb.GetConnectionCallRequest):
        return {
            "force_refresh": request.force_refresh,
            "refresh_token": request.refresh_token,
            "refresh_github_app_jwt_token": request.refresh_github_app_jwt_token,
            "provider_config_key_override": request.provider_config_key_override,
            "connection_id_override": request.connection_id_override,
        }
    if isinstance(request, pb.GetIntegrationCallRequest):
        return {"include": list(request.include)}
    if isinstance(request, pb.JsonValue):
        return {"metadata": _loads(request.json)}
    if isinstance(request, pb.SaveCheckpointRequest):
        return {"checkpoint": _loads(request.json)}
    if isinstance(request, pb.RecordBatch):
        return {"model": request.model, "records": _sdk_wire.batch_values(request)}
    if isinstance(request, pb.GetRecordsByIdRequest):
        return {"model": request.model, "ids": list(request.ids)}
    if isinstance(request, pb.ModelRequest):
        return {"model": request.model}
    if isinstance(request, pb.TriggerActionCallRequest):
        return {"name": request.action_name, "input": _loads(request.input_json)}
    return {}


def response(rpc: str, value: Any) -> Message:
    """The response message of ``rpc`` that carries ``value``."""
    kind = response_type(rpc)
    if kind is pb.ProxyResponse:
        reply = dict(value or {})
        return pb.ProxyResponse(
            status=int(reply.get("status") or 0),
            headers=[pb.Header(name=k, value=v) for k, v in reply.get("headers") or []],
            body=bytes(reply.get("body") or b""),
            url=str(reply.get("url") or ""),
            method=str(reply.get("method") or ""),
        )
    data = json.dumps(value).encode() if value is not None else b""
    if kind is pb.JsonValue:
        return pb.JsonValue(json=data)
    if kind is pb.Checkpoint:
        return pb.Checkpoint(json=data)
    if kind is pb.RecordBatchResult:
        found = value if isinstance(value, dict) else {}
        names = ("added", "updated", "deleted", "unchanged")
        return pb.RecordBatchResult(**{n: int(found[n]) for n in names if n in found})
    return kind()


class ByMethod:
    """An RPC-level callback handler whose subclass answers SDK operations by name
    (``answer``)."""

    def call(self, rpc: str, request: Message, deadline: float) -> Message:
        """Asks ``answer`` for the operation's value and returns it as the RPC's response.

        A test's fake store holds no record unchanged: a hashes-first batch (ids and digests,
        no records) is answered with none held, unseen by ``answer``, and the records come
        next in full, as the operation's arguments."""
        if isinstance(request, pb.RecordBatch) and request.ids_json:
            return pb.RecordBatchResult()
        value = self.answer(method_name(rpc), arguments(request), deadline)
        return response(rpc, value)

    def answer(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        """One SDK operation's value; raises CorralError for a typed failure."""
        raise NotImplementedError


class SdkCalls:
    """One run's SDK operations by name, down the path a worker's call takes without the
    socket: the SDK's encoding (``runner.sdk._wire``), the host's checks (``runner.host._calls``)
    and the run's wrappers (``runner.host._run_calls``), then ``handler``; the reply is read as the
    SDK reads it."""

    def __init__(self, handler: CallbackHandler) -> None:
        self.handler = handler
        self._calls = RunCalls(handler)

    def call(self, method: str, args: dict[str, Any], deadline: float) -> Any:
        """The value the SDK operation gives; raises its typed error."""
        values = []
        for rpc, request in _sdk_wire.requests(method, args):
            checked = parse_request(rpc, request.SerializeToString())
            reply = self._calls.call(rpc, checked, deadline)
            if isinstance(reply, Serialized):  # passed through as bytes: read as the worker does
                reply = _sdk_wire.response_type(rpc).FromString(reply.data)
            values.append(_sdk_wire.value(reply))
        return _sdk_wire.combine(values)

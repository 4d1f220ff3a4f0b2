"""The runner side of SDK calls: per-run state kept out of the untrusted worker (checkpoint
versions, the log line cap, ``runner.host._run_calls``), batches split to fit gRPC messages
(``runner.sdk._wire``) and the RPC forwarded with the run token (``runner.host._forward``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from structlog.testing import capture_logs

from corral._certs import dev_certs
from corral._tls import Identity, Tls
from corral.errors import RunFailure, Unavailable
from corral.v1 import callbacks_pb2 as pb
from corral.v1 import callbacks_pb2_grpc
from runner.host import _forward, _run_calls
from runner.host._calls import Serialized, check_response
from runner.host._forward import GrpcCallbackHandler, passed_through
from runner.sdk import _wire as _sdk_wire
from tests.runner.by_method import SdkCalls


class FakeStub:
    """Records each RPC's request; answers like the orchestrator would."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.version = 4

    def __getattr__(self, rpc: str) -> Any:
        def call(request: Any, timeout: float, metadata: Any) -> Any:
            del timeout
            assert metadata == (("x-corral-run-token", "rt_1"),)
            self.requests.append((rpc, request))
            return self._answer(rpc, request)

        return call

    def _answer(self, rpc: str, request: Any) -> Any:
        if rpc in ("GetCheckpoint", "SaveCheckpoint", "ClearCheckpoint"):
            if rpc != "GetCheckpoint":
                self.version += 1
            return pb.Checkpoint(json=b'{"a": 1}', version=self.version)
        if rpc == "BatchSave":
            return pb.RecordBatchResult(added=len(_sdk_wire.batch_values(request)))
        return pb.Empty()


def _handler() -> tuple[SdkCalls, FakeStub]:
    stub = FakeStub()
    return SdkCalls(GrpcCallbackHandler(stub, "rt_1")), stub


DEADLINE = time.monotonic() + 60


def test_a_save_is_made_on_top_of_the_version_the_run_last_saw() -> None:
    handler, stub = _handler()
    handler.call("save_checkpoint", {"checkpoint": {"a": 0}}, DEADLINE)
    assert handler.call("get_checkpoint", {}, DEADLINE) == {"a": 1}
    handler.call("save_checkpoint", {"checkpoint": {"a": 2}}, DEADLINE)
    handler.call("clear_checkpoint", {}, DEADLINE)
    handler.call("save_checkpoint", {"checkpoint": {"a": 3}}, DEADLINE)
    saves = [r for name, r in stub.requests if name == "SaveCheckpoint"]
    assert not saves[0].HasField("expected_version")  # nothing read yet: nothing to protect
    assert saves[1].expected_version == 5  # read at version 5 (after its own first save)
    assert saves[2].expected_version == 7  # the clear made it 7
    assert json.loads(saves[2].json) == {"a": 3}


def test_log_lines_past_the_cap_are_dropped_after_one_notice(monkeypatch: Any) -> None:
    monkeypatch.setattr(_run_calls, "MAX_LOG_LINES", 3)
    handler, stub = _handler()
    for n in range(6):
        handler.call("log", {"level": "info", "message": f"line {n}", "meta": []}, DEADLINE)
    lines = [r for name, r in stub.requests if name == "Log"]
    assert [line.message for line in lines[:3]] == ["line 0", "line 1", "line 2"]
    assert len(lines) == 4
    assert lines[3].level == "warn"
    assert "log limit reached" in lines[3].message


def test_oversized_log_values_are_cut_to_valid_json() -> None:
    handler, stub = _handler()
    handler.call("log", {"message": "m" * 70000, "meta": ["x" * 70000]}, DEADLINE)
    (line,) = [r for name, r in stub.requests if name == "Log"]
    assert len(line.message) == _run_calls.MAX_LOG_BYTES
    assert "cut" in json.loads(line.meta_json)[0]


def test_a_large_batch_goes_in_several_messages(monkeypatch: Any) -> None:
    monkeypatch.setattr(_sdk_wire, "MAX_BATCH_BYTES", 100)
    handler, stub = _handler()
    records = [{"id": str(n), "pad": "x" * 30} for n in range(10)]
    counts = handler.call("batch_save", {"model": "Item", "records": records}, DEADLINE)
    batches = [r for name, r in stub.requests if name == "BatchSave"]
    assert counts["added"] == 10
    assert len(batches) > 3
    assert all(b.ByteSize() <= 100 for b in batches)
    assert [r["id"] for b in batches for r in _sdk_wire.batch_values(b)] == [
        str(n) for n in range(10)
    ]


def test_a_transport_failure_does_not_show_the_function_where_the_orchestrator_is() -> None:
    channel = grpc.insecure_channel("127.0.0.1:1")
    try:
        stub = callbacks_pb2_grpc.RunnerCallbacksStub(channel)
        handler = GrpcCallbackHandler(stub, "rt_1")
        with pytest.raises(Unavailable) as caught:
            handler.call("GetMetadata", pb.Empty(), time.monotonic() + 5)
    finally:
        channel.close()
    assert caught.value.code == "rpc_unavailable"
    assert caught.value.retryable
    assert "127.0.0.1" not in caught.value.message
    assert ":1" not in caught.value.message


class _ProxyOnly(callbacks_pb2_grpc.RunnerCallbacksServicer):
    """Answers Proxy with a large body, and GetMetadata with an object."""

    def Proxy(  # noqa: N802 - the servicer's method names
        self, request: pb.ProxyRequest, context: grpc.ServicerContext
    ) -> pb.ProxyResponse:
        return pb.ProxyResponse(status=200, body=b"b" * (3 << 20), url=request.endpoint)

    def GetMetadata(  # noqa: N802 - the servicer's method names
        self, request: pb.Empty, context: grpc.ServicerContext
    ) -> pb.JsonValue:
        return pb.JsonValue(json=b'{"a": 1}')


@contextmanager
def _serving(servicer: callbacks_pb2_grpc.RunnerCallbacksServicer) -> Iterator[grpc.Channel]:
    """A channel to ``servicer``, served on loopback for the block."""
    server = grpc.server(futures.ThreadPoolExecutor(2))
    callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(None)


def test_a_proxied_response_passes_through_the_runner_as_its_bytes() -> None:
    servicer = _ProxyOnly()  # type: ignore[abstract]  # the other RPCs are not called
    with _serving(servicer) as channel:
        stub = callbacks_pb2_grpc.RunnerCallbacksStub(channel)
        handler = GrpcCallbackHandler(stub, "rt_1", passed_through(channel))
        calls = _run_calls.RunCalls(handler)
        deadline = time.monotonic() + 10
        proxied = calls.call("Proxy", pb.ProxyRequest(endpoint="/x"), deadline)
        other = calls.call("GetMetadata", pb.Empty(), deadline)
    assert isinstance(proxied, Serialized)
    parsed = pb.ProxyResponse.FromString(proxied.data)
    assert (parsed.status, parsed.url, parsed.body) == (200, "/x", b"b" * (3 << 20))
    assert other == pb.JsonValue(json=b'{"a": 1}')  # every other RPC is parsed as before


def test_bytes_are_accepted_only_as_the_response_of_their_own_rpc() -> None:
    with pytest.raises(RunFailure) as caught:
        check_response("GetMetadata", Serialized("Proxy", b""))
    assert caught.value.code == "runner_error"
    assert check_response("Proxy", Serialized("Proxy", b"")) == Serialized("Proxy", b"")


def test_a_callback_api_refusing_the_runners_certificate_is_a_typed_error_and_a_log_line() -> None:
    """A runner whose certificate the callback API's CA did not sign (and which does not trust
    that API's): ``tls_refused``, not retried; the operator gets an error line."""
    ours, theirs = dev_certs(), dev_certs()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    callbacks_pb2_grpc.add_RunnerCallbacksServicer_to_server(_ProxyOnly(), server)  # type: ignore[abstract]
    orchestrator = Tls(
        Identity(ours["orchestrator"].cert, ours["orchestrator"].key), ours["ca"].cert
    )
    port = server.add_secure_port("127.0.0.1:0", orchestrator.server_credentials())
    server.start()
    runner = Tls(Identity(theirs["runner"].cert, theirs["runner"].key), theirs["ca"].cert)
    channel = grpc.secure_channel(f"127.0.0.1:{port}", runner.channel_credentials())
    try:
        handler = GrpcCallbackHandler(callbacks_pb2_grpc.RunnerCallbacksStub(channel), "rt_1")
        with capture_logs() as logs, pytest.raises(Unavailable) as caught:
            handler.call("GetMetadata", pb.Empty(), time.monotonic() + 5)
    finally:
        channel.close()
        server.stop(None)
    assert caught.value.code == "tls_refused"
    assert not caught.value.retryable
    assert str(port) not in caught.value.message  # the function learns no address
    (line,) = [log for log in logs if log["event"] == "callback refused: TLS handshake failed"]
    assert line["log_level"] == "error"


class _Methods:
    """A stub whose methods note whether they were called blocking or as a future."""

    def __init__(self) -> None:
        self.ways: list[tuple[str, str]] = []

    def __getattr__(self, rpc: str) -> Any:
        ways = self.ways

        class Method:
            def __call__(self, request: Any, timeout: float, metadata: Any) -> Any:
                ways.append((rpc, "blocking"))
                return pb.JsonValue(json=b"{}")

            def future(self, request: Any, timeout: float, metadata: Any) -> Any:
                ways.append((rpc, "future"))
                done: futures.Future[Any] = futures.Future()
                done.set_result(pb.JsonValue(json=b"{}"))
                return done

        return Method()


def test_only_calls_that_wait_outside_the_store_are_made_as_futures_that_hang_up_ends() -> None:
    """A gRPC future starts a channel thread whenever none is in flight: the calls answered
    from the store are blocking; the proxy, ``get_connection`` (which may fetch a token) and
    nested runs stay cancellable by ``hang_up``."""
    assert {"Proxy", "TriggerAction", "GetConnection"} == _forward.HUNG_UP_IN_FLIGHT
    stub = _Methods()
    handler = GrpcCallbackHandler(stub, "rt_1")
    deadline = time.monotonic() + 5
    handler.call("GetMetadata", pb.Empty(), deadline)
    handler.call("Proxy", pb.ProxyRequest(endpoint="/x"), deadline)
    handler.call("TriggerAction", pb.TriggerActionCallRequest(action_name="a"), deadline)
    assert stub.ways == [
        ("GetMetadata", "blocking"),
        ("Proxy", "future"),
        ("TriggerAction", "future"),
    ]
    handler.hang_up()
    for rpc, request in (("GetMetadata", pb.Empty()), ("Proxy", pb.ProxyRequest())):
        with pytest.raises(RunFailure) as caught:
            handler.call(rpc, request, deadline)
        assert caught.value.code == "execution_cancelled"


class _SlowProxy(_ProxyOnly):
    """Answers Proxy only once its caller has gone."""

    def __init__(self) -> None:
        self.gone = futures.Future[bool]()

    def Proxy(  # noqa: N802 - the servicer's method names
        self, request: pb.ProxyRequest, context: grpc.ServicerContext
    ) -> pb.ProxyResponse:
        while context.is_active():
            time.sleep(0.01)
        self.gone.set_result(True)
        return pb.ProxyResponse()


def test_hang_up_ends_a_proxied_call_in_flight() -> None:
    servicer = _SlowProxy()  # type: ignore[abstract]  # the other RPCs are not called
    with _serving(servicer) as channel, futures.ThreadPoolExecutor(1) as pool:
        handler = GrpcCallbackHandler(callbacks_pb2_grpc.RunnerCallbacksStub(channel), "rt_1")
        call = pool.submit(handler.call, "Proxy", pb.ProxyRequest(), time.monotonic() + 10)
        time.sleep(0.2)
        handler.hang_up()
        with pytest.raises(RunFailure) as caught:
            call.result(timeout=5)
        assert caught.value.code == "execution_cancelled"
        assert servicer.gone.result(timeout=5)  # the orchestrator saw its caller go

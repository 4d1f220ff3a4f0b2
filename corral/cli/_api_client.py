"""A small client of the Orchestrator API, for the command line and for tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from corral import _grpc_errors
from corral.v1 import orchestrator_pb2_grpc

_OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
]


class Client:
    """Calls Orchestrator RPCs with the secret key; raises CorralError for failures."""

    def __init__(self, server: str, secret_key: str, timeout: float = 3600.0) -> None:
        self._channel = grpc.insecure_channel(server, options=_OPTIONS)
        self._stub = orchestrator_pb2_grpc.OrchestratorStub(self._channel)
        self._metadata = (("authorization", f"Bearer {secret_key}"),)
        self._timeout = timeout

    def call(self, rpc: str, request: Any, timeout: float | None = None) -> Any:
        """Calls ``rpc`` with ``request``.

        Raises:
            CorralError: the server's typed error.
        """
        try:
            return getattr(self._stub, rpc)(
                request, metadata=self._metadata, timeout=timeout or self._timeout
            )
        except grpc.RpcError as exc:
            raise _grpc_errors.from_rpc_error(exc) from None

    def stream(self, rpc: str, request: Any, timeout: float | None = None) -> Iterator[Any]:
        """Calls a server-streaming ``rpc``; yields its messages.

        Raises:
            CorralError: the server's typed error.
        """
        try:
            yield from getattr(self._stub, rpc)(
                request, metadata=self._metadata, timeout=timeout or self._timeout
            )
        except grpc.RpcError as exc:
            raise _grpc_errors.from_rpc_error(exc) from None

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""A small client of the Orchestrator API, for the command line and for tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from corral import _grpc_errors
from corral._tls import Setting, load_ca
from corral.cli._inputs import check_files
from corral.v1 import orchestrator_pb2_grpc

TLS_CA = "CORRAL_TLS_CA (--tls-ca)"

_OPTIONS = [
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_send_message_length", 64 << 20),
]


def read_ca(path: str) -> bytes | None:
    """The CA file of ``--tls-ca`` or ``CORRAL_TLS_CA`` ("": plaintext).

    Raises:
        InvalidRequest: ``invalid_file``, not a regular file; ``invalid_tls``, the file cannot
            be used.
    """
    check_files({TLS_CA: path})
    return load_ca(Setting(path, TLS_CA)) if path else None


class Client:
    """Calls Orchestrator RPCs with the secret key; raises CorralError for failures."""

    def __init__(
        self, server: str, secret_key: str, timeout: float = 3600.0, tls_ca: bytes | None = None
    ) -> None:
        """Args:
        server: the orchestrator's address.
        secret_key: the environment's key.
        timeout: seconds a call may take.
        tls_ca: PEM CA certificate: connect over TLS, trusting the servers it signed (None:
            plaintext).
        """
        self._channel = (
            grpc.insecure_channel(server, options=_OPTIONS)
            if tls_ca is None
            else grpc.secure_channel(server, grpc.ssl_channel_credentials(tls_ca), options=_OPTIONS)
        )
        self._stub = orchestrator_pb2_grpc.OrchestratorStub(self._channel)
        self._metadata = (("authorization", f"Bearer {secret_key}"),)
        self._timeout = timeout

    @property
    def timeout(self) -> float:
        """Seconds a call may take (a call that waits for a run waits this long at most)."""
        return self._timeout

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

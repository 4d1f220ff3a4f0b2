"""Checking, before anything starts, that a process can listen where its settings say."""

from __future__ import annotations

import errno
import socket

from corral.errors import InvalidRequest, Unavailable


def check_listen_address(host: str, port: int, host_setting: str, port_setting: str) -> None:
    """Checks, before anything starts, that ``host:port`` can be listened on.

    Args:
        host: the address or host name.
        port: the port (0: any).
        host_setting, port_setting: the settings they came from, named in the error.

    Raises:
        InvalidRequest: ``invalid_setting``, the host does not resolve or is not an address of
            this machine.
        Unavailable: ``address_in_use``, another process listens on the port.
    """
    expected = "expected an address of this machine, such as 127.0.0.1, or 0.0.0.0 for all"
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise InvalidRequest(
            f"{host_setting}: {host!r} is not an address or a name that resolves ({reason});"
            f" {expected}",
            code="invalid_setting",
        ) from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no obstacle
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Unavailable(
                    f"cannot listen on {host}:{port}: the port is in use ({port_setting}); stop"
                    " the other process or choose another port",
                    code="address_in_use",
                    retryable=False,
                ) from None
            if exc.errno == errno.EACCES:
                raise InvalidRequest(
                    f"{port_setting}: port {port} needs privileges this process lacks;"
                    " expected a port from 1024 up (or 0 for any)",
                    code="invalid_setting",
                ) from None
            raise InvalidRequest(
                f"{host_setting}: cannot listen on {host!r} ({exc.strerror}); {expected}",
                code="invalid_setting",
            ) from None

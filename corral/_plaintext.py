"""Plaintext only on loopback (``plaintext_refused`` otherwise): the check a server without TLS
makes, without the cryptography that ``corral._tls`` reads certificates with."""

from __future__ import annotations

import ipaddress
import socket

from corral.errors import InvalidRequest


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is a loopback address (127.0.0.0/8, ::1)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(bare, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(found) and all(
        ipaddress.ip_address(str(address[4][0]).split("%")[0]).is_loopback for address in found
    )


def check_plaintext(host: str, host_setting: str, tls_settings: str) -> None:
    """Refuses to serve plaintext anywhere but on loopback.

    Args:
        host: the address to listen on.
        host_setting: its setting, named in the error.
        tls_settings: the settings that would turn TLS on, named in the error.

    Raises:
        InvalidRequest: ``plaintext_refused``.
    """
    if not is_loopback(host):
        raise InvalidRequest(
            f"{host_setting}: {host!r} is not a loopback address and TLS is off; plaintext is"
            f" served only on loopback: set {tls_settings}, or listen on 127.0.0.1",
            code="plaintext_refused",
        )

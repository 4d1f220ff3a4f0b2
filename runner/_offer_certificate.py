"""Whether an orchestrator takes this runner's certificate, asked when this runner refused the
orchestrator's.

When a runner's heartbeat fails its TLS handshake because the runner does not trust the
orchestrator's certificate, TLS 1.3 ends there: the orchestrator's gRPC never looks at the
runner's certificate, so it logs nothing. The runner then offers its certificate once more on a
connection of its own that does not check the orchestrator's: the orchestrator's gRPC checks the
runner's certificate and logs its refusal ("Handshake failed"), and the runner learns which side
is wrong. Nothing is sent on that connection but HTTP/2's connection preface (no secret, no
request), and it is closed at once.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
"""HTTP/2's client connection preface and an empty SETTINGS frame."""


@dataclass(frozen=True)
class Verdict:
    """What the orchestrator did with the certificate: ``accepted``, ``refused`` or
    ``unreachable``; ``reason``: what TLS or the socket said."""

    outcome: str
    reason: str = ""


def offer_certificate(target: str, cert_file: str, key_file: str, timeout: float = 3.0) -> Verdict:
    """Connects to ``target`` (host:port) over TLS with the certificate and key in those files,
    without checking the server's certificate, and tells whether the server took ours."""
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return Verdict("unreachable", f"not a host:port address: {target!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only the server's verdict on ours is asked
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        return Verdict("unreachable", f"the certificate or key cannot be read: {exc}")
    try:
        with (
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw,
            context.wrap_socket(raw) as tls,
        ):
            tls.sendall(PREFACE)
            answered = tls.recv(9)  # the server's SETTINGS frame, or its refusal
    except ssl.SSLError as exc:
        return Verdict("refused", exc.reason or str(exc))
    except (ConnectionResetError, BrokenPipeError) as exc:
        return Verdict("refused", f"the connection was closed: {exc}")
    except OSError as exc:
        return Verdict("unreachable", str(exc))
    if not answered:
        return Verdict("refused", "the connection was closed")
    return Verdict("accepted")

"""The checks of setting values that need no settings library: addresses, join secrets, and an
invalid setting as operators read it. ``corral._settings`` (pydantic) and the runner host's
settings (``corral._runner_settings``, without pydantic) both use them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from corral.errors import InvalidRequest

_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


def is_host(text: str) -> bool:
    """``text`` is a host name or an IP address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return _HOST_NAME.fullmatch(text) is not None
    return True


MIN_JOIN_SECRET = 16
"""The shortest join secret accepted (characters)."""


def join_secret(value: str) -> str:
    """A join secret as it travels in a request header: empty, or at least MIN_JOIN_SECRET
    printable ASCII characters without spaces.

    Raises:
        ValueError: what is wrong (the secret itself is not repeated).
    """
    if value and (len(value) < MIN_JOIN_SECRET or not all("!" <= c <= "~" for c in value)):
        raise ValueError(
            f"expected at least {MIN_JOIN_SECRET} printable ASCII characters without spaces"
            " (for example: openssl rand -hex 24)"
        )
    return value


_GRPC_SCHEMES = ("dns:", "unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:")
"""Target name schemes of gRPC, taken as they are."""


def address(value: str) -> str:
    """A gRPC address as operators write it: ``host:port`` (an IPv6 host in brackets), or a
    gRPC target with its scheme (``dns:``, ``unix:``, ...).

    Raises:
        ValueError: what is wrong and what is expected.
    """
    if value.startswith(_GRPC_SCHEMES) and not any(char.isspace() for char in value):
        return value
    host, colon, port = value.rpartition(":")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not port.isdigit() or not 0 < int(port) < 65536 or not is_host(bare):
        raise ValueError("expected host:port, such as 127.0.0.1:7700 (an IPv6 host in brackets)")
    return value


def listen_address(value: str) -> str:
    """An address to listen on as operators write it: ``host:port`` (an IPv6 host in brackets;
    port 0: any).

    Raises:
        ValueError: what is wrong and what is expected.
    """
    host, colon, port = value.rpartition(":")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not port.isdigit() or int(port) > 65535 or not bare or not is_host(bare):
        raise ValueError("expected host:port, such as 127.0.0.1:9464 (an IPv6 host in brackets)")
    return value


def split_address(value: str) -> tuple[str, int]:
    """The host (without brackets) and the port of a ``listen_address``."""
    host, _, port = value.rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


_NAMED = re.compile(r"(?:Value error, )?(?P<field>[a-z_]+): (?P<message>.*)", re.DOTALL)
"""A model-level check's message, ``field: what is wrong``."""


def invalid_setting(problems: Iterable[Mapping[str, Any]], prefix: str) -> InvalidRequest:
    """Settings problems (pydantic's error shape: ``loc``, ``msg``, ``input``) as operators
    read them: the variable, what is wrong, the value given (never a secret's)."""
    lines = []
    for problem in problems:
        loc, message = problem["loc"], str(problem["msg"])
        named = _NAMED.match(message)
        if not loc and named:  # a check across settings names the one to change
            loc, message = (named["field"],), named["message"]
        name = prefix + "_".join(str(part) for part in loc).upper()
        given = problem.get("input")
        secret = "SECRET" in name or "DATABASE_URL" in name  # never repeated in an error
        shown = f" (got {given!r})" if isinstance(given, str | int | float) and not secret else ""
        lines.append(f"{name}: {message}{shown}")
    return InvalidRequest("; ".join(lines), code="invalid_setting")

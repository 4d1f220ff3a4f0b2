""" "Did you mean ...?" for a function, connection or integration the server does not know."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from corral.cli._api_client import Client
from corral.cli._pages import rows
from corral.errors import CorralError
from corral.v1 import orchestrator_pb2 as pb

CONNECTIONS_LOOKED_AT = 2000
"""Connection ids read for a suggestion at most (the newest pages are enough)."""


def _functions(client: Client) -> list[str]:
    return [f.name for f in client.call("ListFunctions", pb.ListFunctionsRequest()).functions]


def _connections(client: Client) -> list[str]:
    found = rows(
        client, "ListConnections", pb.ListConnectionsRequest(), "connections", CONNECTIONS_LOOKED_AT
    )
    return [c.connection_id for c in found]


def _integrations(client: Client) -> list[str]:
    listed = client.call("ListIntegrations", pb.ListIntegrationsRequest()).integrations
    return [i.unique_key for i in listed]


_NAMES: dict[str, Callable[[Client], list[str]]] = {
    "unknown_function": _functions,
    "unknown_connection": _connections,
    "unknown_integration": _integrations,
}
_ASKED = re.compile(r"^no \w+ '([^']*)'|^'([^']*)' is a")


def nearest_name(err: CorralError, client: Client) -> str | None:
    """The known name closest to the one the error says was not found; None when there is none
    close enough, the error is of another kind, or the names cannot be read."""
    names_of = _NAMES.get(err.code)
    asked = _ASKED.match(err.message)
    if names_of is None or asked is None:
        return None
    wanted = asked.group(1) or asked.group(2) or ""
    try:
        known = [n for n in names_of(client) if n != wanted]
    except CorralError:
        return None
    close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.6)
    return close[0] if close else None

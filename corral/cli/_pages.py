"""Listings followed across pages: the API cuts pages by size, the commands show them whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from corral.cli._api_client import Client

MAX_PAGES = 100_000
"""Pages followed at most (a server that keeps returning cursors cannot loop the CLI forever)."""


def pages(client: Client, rpc: str, request: Any) -> Iterator[Any]:
    """The responses of ``rpc`` from ``request``'s cursor on, following ``next_cursor``."""
    for _ in range(MAX_PAGES):
        response = client.call(rpc, request)
        yield response
        if not response.next_cursor or response.next_cursor == request.cursor:
            return
        request.cursor = response.next_cursor


def rows(client: Client, rpc: str, request: Any, field: str, limit: int = 0) -> list[Any]:
    """Up to ``limit`` rows (0: all) of the repeated ``field`` over every page."""
    out: list[Any] = []
    for response in pages(client, rpc, request):
        out.extend(getattr(response, field))
        if limit and len(out) >= limit:
            return out[:limit]
    return out

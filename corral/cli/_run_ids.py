"""Run ids as people type them: a unique prefix is enough (``corral logs 3f2a``)."""

from __future__ import annotations

from typing import Any

from corral.cli._api_client import Client
from corral.cli._pages import pages
from corral.errors import CorralError, InvalidRequest, NotFound
from corral.v1 import orchestrator_pb2 as pb

FULL_LENGTH = 36
"""A run id is a UUID in its 36-character text form."""
SCANNED = 5000
"""Runs looked through, newest first, for a prefix (older runs need more of their id)."""
SHOWN = 5


def find_run(client: Client, given: str) -> Any:
    """The run whose id is ``given`` or starts with it (its ``Run`` message).

    Raises:
        NotFound: ``unknown_run``, no run has that id or prefix (among the newest SCANNED).
        InvalidRequest: ``ambiguous_run_id``, several do (the first few are named).
    """
    try:
        return client.call("GetRun", pb.GetRunRequest(run_id=given))
    except CorralError as err:
        if err.code != "unknown_run" or not given or len(given) >= FULL_LENGTH:
            raise
    matches = []
    seen = 0
    for page in pages(client, "ListRuns", pb.ListRunsRequest(limit=500)):
        for run in page.runs:
            if run.run_id.startswith(given):
                matches.append(run)
        seen += len(page.runs)
        if seen >= SCANNED or len(matches) > SHOWN:
            break
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(
            f"no run has an id starting with {given!r} (looked through the newest {seen})",
            code="unknown_run",
        )
    named = ", ".join(m.run_id for m in matches[:SHOWN]) + (", ..." if len(matches) > SHOWN else "")
    raise InvalidRequest(
        f"{given!r} is the start of several run ids ({named}): give more of it",
        code="ambiguous_run_id",
    )

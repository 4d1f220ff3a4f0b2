"""Budgets per run and per connection, from an environment's ``budgets`` setting.

Every budget is enforced where data is stored (the orchestrator's callbacks and store, the
offline dry run), never in the worker. Past a log budget, lines are dropped and counted and the
run goes on; past any other budget the request is refused with ``ResourceExhausted`` and
nothing of it is kept (a run past a per-run records budget fails).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, NoReturn

from corral.errors import ResourceExhausted

DEFAULTS: Mapping[str, int] = {
    "log_lines_per_run": 10_000,
    "log_bytes_per_run": 16 << 20,
    "log_meta_bytes": 64 << 10,
    "metadata_bytes": 1 << 20,
    "record_bytes": 1 << 20,
    "records_per_run": 1_000_000,
    "record_bytes_per_run": 256 << 20,
    "response_bytes": 64 << 20,
}
"""The defaults of the ``budgets`` environment setting."""

MAX_RESPONSE_BYTES = 64 << 20
"""The largest ``response_bytes`` budget: the most one proxied response may carry, the size the
callback messages between ``serve`` and its runners are made for (:data:`CALLBACK_MESSAGE_BYTES`).
A run waits for each SDK call's answer, so it holds at most one response at a time."""

CALLBACK_MESSAGE_BYTES = MAX_RESPONSE_BYTES + (1 << 20)
"""The largest RunnerCallbacks message: a response of :data:`MAX_RESPONSE_BYTES` with room for
its headers and URL."""

MAX_VARIABLES = 1_000
"""The most variables an environment holds (``SetEnvironmentVariables`` replaces them all)."""

MAX_VARIABLE_NAME = 255
"""The longest variable name, in characters (as every other name of the API)."""

MAX_VARIABLE_BYTES = 32 << 10
"""The largest variable value, in UTF-8 bytes (a PEM key or a JSON service account fits)."""

MAX_VARIABLES_BYTES = 1 << 20
"""All of an environment's variable names and values together, in UTF-8 bytes: as much as
one connection's metadata (``metadata_bytes``), sealed and written in one transaction."""


@dataclass(frozen=True)
class Budgets:
    """The budgets of one environment (see ``DEFAULTS`` for what each one means)."""

    log_lines_per_run: int = DEFAULTS["log_lines_per_run"]
    log_bytes_per_run: int = DEFAULTS["log_bytes_per_run"]
    log_meta_bytes: int = DEFAULTS["log_meta_bytes"]
    metadata_bytes: int = DEFAULTS["metadata_bytes"]
    record_bytes: int = DEFAULTS["record_bytes"]
    records_per_run: int = DEFAULTS["records_per_run"]
    record_bytes_per_run: int = DEFAULTS["record_bytes_per_run"]
    response_bytes: int = DEFAULTS["response_bytes"]


def budgets_for(settings: Mapping[str, Any]) -> Budgets:
    """The budgets of an environment with these settings (absent ones keep the defaults)."""
    return Budgets(**positive_counts(settings.get("budgets"), Budgets))


def positive_counts(given: Any, shape: type[Any]) -> dict[str, int]:
    """The fields of the dataclass ``shape`` that a settings section ``given`` sets to a
    positive integer (what validation let through; anything else keeps the default)."""
    names = {f.name for f in fields(shape)}
    section = given if isinstance(given, Mapping) else {}
    return {
        k: int(v)
        for k, v in section.items()
        if k in names and isinstance(v, int) and not isinstance(v, bool) and v > 0
    }


def json_size(value: Any) -> int:
    """The bytes of ``value`` as compact UTF-8 JSON (what the store keeps)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def check_metadata(value: Any, budgets: Budgets, what: str = "metadata") -> None:
    """Refuses connection metadata (or config) above ``metadata_bytes``.

    Raises:
        ResourceExhausted: resource ``metadata_bytes``.
    """
    size = json_size(value)
    if size > budgets.metadata_bytes:
        raise ResourceExhausted(
            f"{what} of {size} bytes is over the budget of {budgets.metadata_bytes} bytes"
            " per connection",
            resource="metadata_bytes",
            limit=budgets.metadata_bytes,
        )


def check_record(record_id: str, data: bytes, budgets: Budgets) -> None:
    """Refuses one record above ``record_bytes``.

    Raises:
        ResourceExhausted: resource ``record_bytes``.
    """
    if len(data) > budgets.record_bytes:
        raise ResourceExhausted(
            f"record {record_id[:100]!r} is {len(data)} bytes, over the budget of"
            f" {budgets.record_bytes} bytes per record",
            resource="record_bytes",
            limit=budgets.record_bytes,
        )


def check_run_records(
    stored: int, stored_bytes: int, adding: int, adding_bytes: int, budgets: Budgets
) -> None:
    """Refuses a batch that would take a run past ``records_per_run`` or its bytes.

    Raises:
        ResourceExhausted: resource ``records_per_run`` or ``record_bytes_per_run``.
    """
    if stored + adding > budgets.records_per_run:
        raise ResourceExhausted(
            f"saving {adding} more record(s) takes the run past its budget of"
            f" {budgets.records_per_run} records",
            resource="records_per_run",
            limit=budgets.records_per_run,
        )
    if stored_bytes + adding_bytes > budgets.record_bytes_per_run:
        raise ResourceExhausted(
            f"saving {adding_bytes} more bytes of records takes the run past its budget of"
            f" {budgets.record_bytes_per_run} bytes",
            resource="record_bytes_per_run",
            limit=budgets.record_bytes_per_run,
        )


def capped_meta(meta_json: str, budgets: Budgets) -> str:
    """A log line's metadata, or a short note in its place when it is above ``log_meta_bytes``."""
    size = len(meta_json.encode(errors="replace"))
    if size <= budgets.log_meta_bytes:
        return meta_json
    return json.dumps({"meta_dropped_bytes": size, "limit": budgets.log_meta_bytes})


def log_size(message: str, meta_json: str) -> int:
    """The bytes a log line counts against ``log_bytes_per_run``."""
    return len(message.encode(errors="replace")) + len(meta_json.encode(errors="replace"))


class RunMeter:
    """The budgets of one run kept in memory (dry runs and the offline dry run).

    The store keeps the same counts in the run's row for real runs.
    """

    def __init__(self, budgets: Budgets) -> None:
        self.budgets = budgets
        self.log_lines = 0
        self.log_bytes = 0
        self.logs_dropped = 0
        self.records = 0
        self.record_bytes = 0
        self.failure: ResourceExhausted | None = None
        """Set past a per-run records budget: the run has failed, whatever the function does."""

    def admit_log(self, message: str, meta_json: str) -> str | None:
        """The metadata to keep with a log line (capped), or None when the line is dropped.

        Once a line is dropped, every later one is too; each is counted in ``logs_dropped``.
        """
        meta = capped_meta(meta_json, self.budgets)
        size = log_size(message, meta)
        if (
            self.logs_dropped
            or self.log_lines >= self.budgets.log_lines_per_run
            or self.log_bytes + size > self.budgets.log_bytes_per_run
        ):
            self.logs_dropped += 1
            return None
        self.log_lines += 1
        self.log_bytes += size
        return meta

    def charge_records(self, records: list[tuple[str, bytes]], *, count: bool = True) -> None:
        """Charges a batch of records, or raises before any of it counts.

        Raises:
            ResourceExhausted: ``record_bytes``, ``records_per_run`` or ``record_bytes_per_run``
                (the last two, once raised, again on every later call: ``failure``).
        """
        if self.failure is not None:
            raise self.failure
        for record_id, data in records:
            check_record(record_id, data, self.budgets)
        adding = len(records) if count else 0
        adding_bytes = sum(len(data) for _, data in records)
        try:
            check_run_records(self.records, self.record_bytes, adding, adding_bytes, self.budgets)
        except ResourceExhausted as exc:
            self.failure = exc
            raise
        self.records += adding
        self.record_bytes += adding_bytes


def check_variables(variables: Sequence[tuple[str, str]]) -> None:
    """Refuses environment variables past :data:`MAX_VARIABLES`, :data:`MAX_VARIABLE_NAME`,
    :data:`MAX_VARIABLE_BYTES` or :data:`MAX_VARIABLES_BYTES`, before anything is stored.

    Raises:
        ResourceExhausted: resource ``variables``, ``variable_name``, ``variable_bytes`` or
            ``variables_bytes``.
    """
    if len(variables) > MAX_VARIABLES:
        _over(f"{len(variables)} environment variables", "variables", MAX_VARIABLES)
    total = 0
    for name, value in variables:
        if len(name) > MAX_VARIABLE_NAME:
            _over(f"a variable name of {len(name)} characters", "variable_name", MAX_VARIABLE_NAME)
        size = len(value.encode(errors="replace"))
        if size > MAX_VARIABLE_BYTES:
            _over(f"variable {name[:100]!r} of {size} bytes", "variable_bytes", MAX_VARIABLE_BYTES)
        total += size + len(name.encode(errors="replace"))
    if total > MAX_VARIABLES_BYTES:
        _over(f"environment variables of {total} bytes", "variables_bytes", MAX_VARIABLES_BYTES)


def _over(what: str, resource: str, limit: int) -> NoReturn:
    raise ResourceExhausted(f"{what} is over the limit of {limit}", resource=resource, limit=limit)

"""What a deploy changes, said before it happens: functions added, changed and removed, and the
sync schedules that stop (``corral deploy``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from corral.cli._api_client import Client
from corral.cli._pages import rows
from corral.cli._plain import plain
from corral.cli._table import Table
from corral.cli._table import field as cell
from corral.v1 import orchestrator_pb2 as pb

CHANGES = Table(
    "changes",
    [("FUNCTION", cell("function")), ("KIND", cell("kind")), ("CHANGE", cell("change"))],
    empty="nothing deployed",
)


@dataclass
class DeployPlan:
    """The difference between what is deployed and what the request would deploy."""

    integration: str
    kinds: dict[str, str] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stopped: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def between(
        cls,
        integration: str,
        current: Sequence[pb.FunctionInfo],
        deployed: Sequence[pb.FunctionInfo],
        stopped: Sequence[dict[str, str]] = (),
    ) -> DeployPlan:
        """What changed from the ``current`` functions to the ``deployed`` ones; ``stopped``:
        the schedules of the removed syncs."""
        before = {f.name: f for f in current}
        after = {f.name: f for f in deployed}
        plan = cls(integration)
        for name, new in sorted(after.items()):
            plan.kinds[name] = str(plain(new)["kind"])
            old = before.get(name)
            if old is None:
                plan.added.append(name)
            elif _same(old, new):
                plan.unchanged.append(name)
            else:
                plan.changed.append(name)
        for name, old in sorted(before.items()):
            if name not in after:
                plan.kinds[name] = str(plain(old)["kind"])
                plan.removed.append(name)
        gone = {name for name in plan.removed if plan.kinds.get(name) == "sync"}
        plan.stopped = [s for s in stopped if s["sync"] in gone]
        return plan

    @staticmethod
    def question(integration: str, removed: Sequence[str], stopped: Sequence[Any]) -> str:
        """What a person is asked before functions are removed."""
        stops = f"; {len(stopped)} sync schedule(s) stop" if stopped else ""
        return (
            f"Deploying {integration} removes {len(removed)} function(s):"
            f" {', '.join(removed)}{stops}. Go on?"
        )

    def summary(self, deployed: pb.DeployResponse) -> dict[str, Any]:
        """What ``deploy`` prints: the changes, and the functions as deployed."""
        changes = [
            {"function": name, "kind": self.kinds.get(name), "change": change}
            for change, names in (
                ("added", self.added),
                ("changed", self.changed),
                ("unchanged", self.unchanged),
                ("removed", self.removed),
            )
            for name in names
        ]
        return {
            "integration": self.integration,
            "added": self.added,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "schedules_stopped": self.stopped,
            "changes": changes,
            "functions": [plain(f) for f in deployed.functions],
        }

    @staticmethod
    def table() -> Table:
        """The terminal's short form: one line per function and what happened to it."""
        return CHANGES


def _same(old: pb.FunctionInfo, new: pb.FunctionInfo) -> bool:
    return (old.code_hash, old.config_json, old.kind, old.version, old.description) == (
        new.code_hash,
        new.config_json,
        new.kind,
        new.version,
        new.description,
    )


def current_functions(client: Client, integration: str) -> list[pb.FunctionInfo]:
    """The integration's functions as deployed now."""
    listing = pb.ListFunctionsRequest(integration=integration)
    return list(client.call("ListFunctions", listing).functions)


def schedules_of(client: Client, integration: str, syncs: Sequence[str]) -> list[dict[str, str]]:
    """The schedules of these syncs on the integration's connections (none asked for: none)."""
    if not syncs:
        return []
    schedules = client.call("ListSyncSchedules", pb.ListSyncSchedulesRequest()).schedules
    listing = pb.ListConnectionsRequest(integration=integration)
    ours = {c.connection_id for c in rows(client, "ListConnections", listing, "connections")}
    return [
        {"sync": s.sync_name, "connection": s.connection_id, "variant": s.variant}
        for s in schedules
        if s.sync_name in set(syncs) and s.connection_id in ours
    ]


def syncs_of(functions: Sequence[pb.FunctionInfo], names: Sequence[str] | None = None) -> list[str]:
    """The syncs among ``functions`` (among those named ``names``, when given)."""
    return [
        f.name
        for f in functions
        if str(plain(f)["kind"]) == "sync" and (names is None or f.name in names)
    ]

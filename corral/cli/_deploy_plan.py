"""What a deploy changes, said before it happens: functions added, changed and removed, and the
sync schedules that stop (``corral deploy``)."""

from __future__ import annotations

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
    def of(cls, client: Client, request: pb.DeployRequest) -> DeployPlan:
        """Asks the server what ``request`` would deploy (``plan``: nothing is stored) and
        compares it with what is deployed now."""
        asked = pb.DeployRequest()
        asked.CopyFrom(request)
        asked.plan = True
        planned = {f.name: f for f in client.call("Deploy", asked).functions}
        listing = pb.ListFunctionsRequest(integration=request.integration)
        current = {f.name: f for f in client.call("ListFunctions", listing).functions}
        plan = cls(request.integration)
        for name, new in sorted(planned.items()):
            plan.kinds[name] = str(plain(new)["kind"])
            old = current.get(name)
            if old is None:
                plan.added.append(name)
            elif _same(old, new):
                plan.unchanged.append(name)
            else:
                plan.changed.append(name)
        for name, old in sorted(current.items()):
            if name not in planned:
                plan.kinds[name] = str(plain(old)["kind"])
                plan.removed.append(name)
        plan.stopped = _stopped_schedules(client, request.integration, plan)
        return plan

    def question(self) -> str:
        """What a person is asked before functions are removed."""
        stops = f"; {len(self.stopped)} sync schedule(s) stop" if self.stopped else ""
        return (
            f"Deploying {self.integration} removes {len(self.removed)} function(s):"
            f" {', '.join(self.removed)}{stops}. Go on?"
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


def _stopped_schedules(client: Client, integration: str, plan: DeployPlan) -> list[dict[str, str]]:
    """The schedules of the removed syncs, on the integration's connections."""
    gone = {name for name in plan.removed if plan.kinds.get(name) == "sync"}
    if not gone:
        return []
    schedules = client.call("ListSyncSchedules", pb.ListSyncSchedulesRequest()).schedules
    listing = pb.ListConnectionsRequest(integration=integration)
    ours = {c.connection_id for c in rows(client, "ListConnections", listing, "connections")}
    return [
        {"sync": s.sync_name, "connection": s.connection_id, "variant": s.variant}
        for s in schedules
        if s.sync_name in gone and s.connection_id in ours
    ]

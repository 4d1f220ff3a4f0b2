"""The typed context of one run, as the runner host hands it to the worker and its SDK.

The orchestrator sends a ``RunContext`` message with every run (``runner._service`` reads it
into this type); the host sends ``to_wire`` in the worker's ``run`` message, and the worker
reads it back with ``from_wire``. No other setting reaches the worker or function code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOG_LEVELS = ("debug", "info", "warn", "error", "off")


@dataclass(frozen=True)
class RunContext:
    """What the worker and the function's SDK object follow, beyond the function's input."""

    variant: str = "base"
    """The sync variant."""
    log_level: str = "info"
    """The default level of the function's logger (one of ``LOG_LEVELS``)."""
    validate: bool = True
    """False turns off validation against the function's models (records, checkpoints, action
    input and output)."""
    paginate_defaults: Mapping[str, str] = field(default_factory=dict)
    """The provider's pagination settings, merged under each paginate call's own."""
    legacy: Mapping[str, Any] | None = None
    """A legacy script's configuration from the deploy; None: the function defines itself."""
    legacy_by_file: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """For a describe: each legacy script's configuration, by file name."""
    webhook: bool = False
    """Run the sync's ``on_webhook`` handler with the input (the webhook's payload)."""

    def to_wire(self) -> dict[str, Any]:
        """The context as the worker's ``run`` message carries it (JSON)."""
        return {
            "variant": self.variant,
            "log_level": self.log_level,
            "validate": self.validate,
            "paginate_defaults": dict(self.paginate_defaults),
            "legacy": None if self.legacy is None else dict(self.legacy),
            "legacy_by_file": {name: dict(c) for name, c in self.legacy_by_file.items()},
            "webhook": self.webhook,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RunContext:
        """The context of a worker's ``run`` message (what ``to_wire`` wrote)."""
        legacy, by_file = data.get("legacy"), data.get("legacy_by_file")
        defaults = data.get("paginate_defaults")
        level = data.get("log_level")
        return cls(
            variant=str(data.get("variant") or "base"),
            log_level=level if isinstance(level, str) and level in LOG_LEVELS else "info",
            validate=data.get("validate", True) is not False,
            paginate_defaults=dict(defaults) if isinstance(defaults, Mapping) else {},
            legacy=dict(legacy) if isinstance(legacy, Mapping) else None,
            legacy_by_file=dict(by_file) if isinstance(by_file, Mapping) else {},
            webhook=data.get("webhook") is True,
        )

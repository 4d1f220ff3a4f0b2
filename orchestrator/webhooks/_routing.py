"""Provider webhooks: their type and the connections they are for, by the catalogue's rule.

The catalogue's ``webhook`` block of the integration's provider says:

- ``event_type_header`` (a header holds the type, GitHub's ``X-GitHub-Event``) or
  ``event_type_path`` (a dotted path in the payload, Slack's ``event.type``);
- ``routing``: ``by`` ``connection_id`` (the payload's value at ``payload_path`` is the
  connection id), ``metadata`` or ``connection_config`` (the connections whose metadata or
  connection config ``key`` equals that value). Without a rule, every connection of the
  integration gets the webhook, as ``DeliverWebhook`` without a connection id does;
- ``challenge``: a request that only proves the URL is ours (Slack's ``url_verification``):
  its ``type_path`` holds ``type``; it is answered with the payload's ``field`` and runs
  nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.storage._types import Connection

ALL = ""
"""The connection id that means every connection of the integration (``deliver_webhook``)."""


def at_path(payload: Any, path: str) -> Any:
    """The value at a dotted ``path`` of ``payload`` (None when a step is missing)."""
    found = payload
    for part in path.split("."):
        found = found.get(part) if isinstance(found, Mapping) else None
    return found


def _text(value: Any) -> str:
    """A routing value as text (GitHub's installation id is a number; stored ones may be text)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)


def event_type(rule: Mapping[str, Any], headers: Mapping[str, str], payload: Any) -> str:
    """The webhook's type by the catalogue's rule (``""``: none, which every handler takes)."""
    header = str(rule.get("event_type_header") or "").lower()
    if header:
        return headers.get(header, "")
    path = str(rule.get("event_type_path") or "")
    return _text(at_path(payload, path)) if path else ""


def connection_ids(
    rule: Mapping[str, Any], payload: Any, connections: Sequence[Connection]
) -> list[str]:
    """The ids of the connections the webhook is for (``[ALL]`` without a routing rule).

    Args:
        rule: the catalogue's ``webhook`` block.
        payload: the webhook's body.
        connections: the integration's connections.
    """
    routing = rule.get("routing")
    if not isinstance(routing, Mapping):
        return [ALL]
    wanted = _text(at_path(payload, str(routing.get("payload_path") or "")))
    if not wanted:
        return []
    by, key = routing.get("by"), str(routing.get("key") or "")
    if by == "connection_id":
        return [c.connection_id for c in connections if c.connection_id == wanted]
    field = "metadata" if by == "metadata" else "connection_config"
    return [c.connection_id for c in connections if _text(getattr(c, field).get(key)) == wanted]


def challenge(rule: Mapping[str, Any], payload: Any) -> str | None:
    """The answer to a verification request by the catalogue's rule (None: not one)."""
    asked = rule.get("challenge")
    if not isinstance(asked, Mapping) or not isinstance(payload, Mapping):
        return None
    if at_path(payload, str(asked.get("type_path") or "")) != asked.get("type"):
        return None
    return _text(payload.get(str(asked.get("field") or "")))

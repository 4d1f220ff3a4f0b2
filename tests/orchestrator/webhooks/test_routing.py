"""Provider webhooks go to the connections the catalogue's rule names, with their type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from corral import _providers
from orchestrator.storage._types import Connection
from orchestrator.webhooks._routing import ALL, connection_ids, event_type


def _connection(cid: str, config: dict[str, Any], metadata: dict[str, Any]) -> Connection:
    now = datetime.now(UTC)
    return Connection(1, cid, "gh", "github", "NONE", {}, config, metadata, "", now, now)


CONNECTIONS = [
    _connection("a", {"installation_id": "42"}, {"team": "T1"}),
    _connection("b", {"installation_id": 43}, {"team": "T2"}),
    _connection("c", {}, {}),
]


def _rule(by: str, key: str = "", path: str = "id") -> dict[str, Any]:
    return {"routing": {"by": by, "key": key, "payload_path": path}}


def test_by_connection_config_metadata_or_id() -> None:
    github = _providers.provider("github")
    assert github is not None
    assert connection_ids(github.webhook, {"installation": {"id": 42}}, CONNECTIONS) == ["a"]
    assert connection_ids(github.webhook, {"installation": {"id": "43"}}, CONNECTIONS) == ["b"]
    assert connection_ids(_rule("metadata", "team"), {"id": "T2"}, CONNECTIONS) == ["b"]
    assert connection_ids(_rule("connection_id"), {"id": "c"}, CONNECTIONS) == ["c"]


def test_no_value_or_no_match_routes_nowhere() -> None:
    for payload in ({}, {"id": None}, {"id": True}, {"id": {"x": 1}}, [], "text", {"id": "zz"}):
        assert connection_ids(_rule("metadata", "team"), payload, CONNECTIONS) == []


def test_without_a_rule_every_connection_gets_it() -> None:
    assert connection_ids({}, {"id": "a"}, CONNECTIONS) == [ALL]


def test_the_type_from_a_header_or_the_payload() -> None:
    github, slack = _providers.provider("github"), _providers.provider("slack")
    assert github is not None
    assert slack is not None
    assert event_type(github.webhook, {"x-github-event": "push"}, {}) == "push"
    assert event_type(slack.webhook, {}, {"event": {"type": "message"}}) == "message"
    assert event_type(slack.webhook, {}, {"event": "message"}) == ""
    assert event_type({}, {"x-github-event": "push"}, {"type": "x"}) == ""

"""What the API shows of an integration's auth configuration: the known non-secret settings as
they are, every other one as set but hidden, whatever its name."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from orchestrator.api._views import HIDDEN, integration_pb
from orchestrator.storage._types import Integration

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def test_only_known_settings_show_and_any_other_name_is_hidden() -> None:
    config = {
        "header": "X-Api-Key",
        "format": "{api_key}",
        "client_id": "cid",
        "token_url": "https://auth.example/token",
        "client_secret": "s1",
        "password": "s2",
        "token": "s3",
        "pat": "s4",
        "Authorization": "Bearer s5",
    }
    shown = json.loads(
        integration_pb(Integration(1, "k", "p", "", "OAUTH2", config, NOW, NOW)).auth_config_json
    )
    assert shown["header"] == "X-Api-Key"
    assert shown["client_id"] == "cid"
    assert shown["token_url"] == "https://auth.example/token"
    for name in ("client_secret", "password", "token", "pat", "Authorization"):
        assert shown[name] == HIDDEN
    assert not any(f"s{n}" in json.dumps(shown) for n in range(1, 6))

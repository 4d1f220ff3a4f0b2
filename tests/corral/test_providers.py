"""The provider catalogue: its data, and the defaults it gives integrations that set nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from corral import _providers
from orchestrator.proxy._connections import _target
from orchestrator.storage._areas import Connection, Integration

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_the_fixture_providers_and_some_common_ones_are_known() -> None:
    for name in ("github", "auth0-cc", "splitwise", "canva", "box", "trello", "hubspot", "asana"):
        assert _providers.provider(name) is not None, name
    assert _providers.provider("no-such-provider") is None
    assert _providers.names() == sorted(_providers.names())


def test_github_pages_by_link_header_and_retries_its_own_statuses() -> None:
    github = _providers.provider("github")
    assert github is not None
    assert dict(github.paginate) == {
        "type": "link",
        "limit_name_in_request": "per_page",
        "link_rel_in_response_header": "next",
    }
    assert github.retry_status_codes is not None
    assert {401, 403, 429, 500, 599} <= set(github.retry_status_codes)
    assert 404 not in github.retry_status_codes


@pytest.mark.parametrize(
    ("values", "expected"),
    [(["401", 429, "5xx"], (401, 429, *range(500, 600))), ([], ()), ("5xx", ()), (["x"], ())],
)
def test_status_codes(values: Any, expected: tuple[int, ...]) -> None:
    assert _providers.status_codes(values) == expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"subdomain": "acme"}, "https://acme.auth0.com"),
        ({"subdomain": ""}, ""),
        ({}, ""),
        ({"subdomain": {"nested": 1}}, ""),
    ],
)
def test_placeholders_are_filled_from_the_connection_config(
    config: dict[str, Any], expected: str
) -> None:
    assert _providers.fill("https://${connectionConfig.subdomain}.auth0.com", config) == expected


def _rows(
    provider: str, base_url: str = "", auth_config: dict[str, Any] | None = None, **config: Any
) -> tuple[Connection, Integration]:
    integration = Integration(1, "key", provider, base_url, "NONE", auth_config or {}, NOW, NOW)
    connection = Connection(1, "c", "key", provider, "NONE", {}, config, {}, "", NOW, NOW)
    return connection, integration


def test_an_integration_without_settings_gets_the_catalogues() -> None:
    target = _target(*_rows("auth0", subdomain="acme"))
    assert target.base_url == "https://acme.auth0.com"
    assert target.retry_status_codes is None
    github = _target(*_rows("github"))
    assert github.base_url == "https://api.github.com"
    assert github.retry_status_codes is not None
    assert 403 in github.retry_status_codes


def test_the_integrations_own_settings_win() -> None:
    own = _target(*_rows("github", "http://127.0.0.1:9", {"retry_status_codes": [503]}))
    assert own.base_url == "http://127.0.0.1:9"
    assert own.retry_status_codes == (503,)
    assert _target(*_rows("unknown")).base_url == ""

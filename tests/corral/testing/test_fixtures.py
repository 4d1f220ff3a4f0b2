"""Request identities and lookups of the *.test.json format (shared/fixtures/FORMAT.md)."""

from __future__ import annotations

import json
import pathlib

import pytest

from corral.testing import (
    Fixture,
    NoRecordedResponse,
    data_identity,
    identity,
    js_number,
    js_string,
    stringify,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[4] / "shared" / "fixtures"


def test_identity_examples_from_the_format() -> None:
    ident = identity("GET", "/api/v1/groups", {"limit": 1000}, {}, None)
    assert stringify(
        {
            "method": ident.method,
            "endpoint": ident.endpoint,
            "params": [list(p) for p in ident.params],
            "headers": [],
        }
    ) == ('{"method":"get","endpoint":"api/v1/groups","params":[["limit","1000"]],"headers":[]}')


def test_params_replace_query_and_sort_by_key() -> None:
    ident = identity("get", "/x?b=1&a=2&b=3", {"b": "9", "c": [1, 2], "d": None}, {}, None)
    assert ident.params == (("a", "2"), ("b", "9"), ("c", "1,2"), ("d", "null"))


def test_path_normalisation_like_whatwg_url() -> None:
    assert identity("get", "a/./b/../c d", None, {}, None).endpoint == "a/c%20d"
    assert identity("get", "/proxy/x%3Ay#frag", None, {}, None).endpoint == "x%3Ay"
    assert (
        identity("get", "https://api.example.com/v2/items?x=1", None, {}, None).endpoint
        == "v2/items"
    )


def test_headers_filtered_prefix_stripped_case_kept_and_sorted() -> None:
    headers = {
        "Nango-Proxy-X-B": "1",
        "authorization": "secret",
        "Content-Type": "application/json",
        "X-A": 2,
        "x-a": "dup",
    }
    assert identity("get", "/", None, headers, None).headers == (("X-A", "2"), ("X-B", "1"))


def test_data_identity_rules() -> None:
    assert data_identity(None) is None
    assert data_identity("") is None
    assert data_identity(0) is None
    assert data_identity({"b": 1, "a": 1.0}) == '{"b":1,"a":1}'
    assert data_identity(b"\x00\x01") == "AAE="
    long = data_identity("x" * 1001)
    assert long is not None
    assert long.startswith("sha1:")


def test_js_conversions() -> None:
    assert js_number(1.0) == "1"
    assert js_number(1e-7) == "1e-7"
    assert js_number(1.5) == "1.5"
    assert js_string(True) == "true"
    assert js_string([1, None, "a"]) == "1,,a"
    assert js_string({"a": 1}) == "[object Object]"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not beside the repository")
def test_every_recorded_entry_is_found_by_its_own_request() -> None:
    count = 0
    for path in sorted(FIXTURES.glob("*/*.test.json")):
        fixture = Fixture(json.loads(path.read_text()))
        for method, table in fixture.api.items():
            for endpoint, entries in table.items():
                for entry in entries if isinstance(entries, list) else [entries]:
                    request = entry.get("request") or {}
                    found = fixture.lookup(
                        method,
                        endpoint,
                        request.get("params"),
                        request.get("headers") or {},
                        request.get("data"),
                    )
                    assert found is entry, (path, endpoint)
                    count += 1
    assert count >= 10


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures is not beside the repository")
def test_hash_matches_the_recorder_for_unsanitised_entries() -> None:
    content = json.loads((FIXTURES / "auth0-cc" / "organizations.test.json").read_text())
    for entry in content["api"]["get"]["/api/v2/organizations"]:
        request = entry["request"]
        ident = identity(
            "get",
            "/api/v2/organizations",
            request.get("params"),
            request.get("headers") or {},
            None,
        )
        assert ident.hash() == entry["hash"]


def test_no_match_names_method_endpoint_params_and_hash() -> None:
    fixture = Fixture({"api": {"get": {"/a": {"response": {}, "request": {"params": {"x": "1"}}}}}})
    with pytest.raises(NoRecordedResponse) as caught:
        fixture.lookup("get", "/a", {"x": "2"}, {}, None)
    text = str(caught.value)
    assert "GET a" in text
    assert "'x': '2'" in text
    assert "hash" in text


def test_sole_entry_without_request_matches_only_without_params() -> None:
    entry = {"response": {"ok": True}}
    fixture = Fixture({"api": {"get": {"/a": entry}}})
    assert fixture.lookup("get", "a", None, {}, None) is entry
    with pytest.raises(NoRecordedResponse):
        fixture.lookup("get", "a", {"p": 1}, {}, None)

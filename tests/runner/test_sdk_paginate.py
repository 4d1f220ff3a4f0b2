"""nango.paginate in the worker: every option and stop rule of the seed (FORMAT.md section 5),
provider defaults, and the guards against endless paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runner._context import RunContext
from runner.host._host import RunnerHost
from tests.runner.sdk_support import Scripted, error_of, http_reply, run

ACTION = """
from nango import create_action

def run(nango, input):
    seen = []
    def on_page(state):
        seen.append([state['next_page_param'], state['response'].status])
    config = dict(input)
    config['paginate'] = dict(config.get('paginate') or {{}})
    if {with_on_page}:
        config['paginate']['on_page'] = on_page
    pages = [page for page in nango.paginate(config)]
    return {{'pages': pages, 'on_page': seen}}

action = create_action(description='pages', exec=run)
"""

Pages = Callable[[dict[str, Any]], dict[str, Any]]


def _paginate(
    host: RunnerHost,
    config: dict[str, Any],
    answer: Pages,
    *,
    on_page: bool = True,
    defaults: dict[str, Any] | None = None,
) -> tuple[Any, list[dict[str, Any]]]:
    handler = Scripted({"proxy": answer})
    source = ACTION.format(with_on_page=on_page)
    outcome = run(
        host,
        {"p.py": source},
        handler,
        input_value=config,
        context=RunContext(paginate_defaults=defaults or {}),
    )
    requests = handler.args_of("proxy")
    if not outcome.ok:
        return outcome, requests
    return outcome.output, requests


def _by_param(name: str, pages: dict[str | None, Any]) -> Pages:
    return lambda args: http_reply(body=pages[(args.get("params") or {}).get(name)])


def test_cursor_pages_until_the_cursor_is_blank(sdk_host: RunnerHost) -> None:
    pages = {
        None: {"items": [1, 2], "meta": {"next": "c2"}},
        "c2": {"items": [3], "meta": {"next": "  "}},
    }
    config = {
        "endpoint": "/items",
        "params": {"q": "x"},
        "paginate": {
            "type": "cursor",
            "cursor_name_in_request": "cursor",
            "cursor_path_in_response": "meta.next",
            "response_path": "items",
            "limit_name_in_request": "limit",
            "limit": 2,
        },
    }
    output, requests = _paginate(sdk_host, config, _by_param("cursor", pages))
    assert output == {"pages": [[1, 2], [3]], "on_page": [["c2", 200], [None, 200]]}
    assert [r["params"] for r in requests] == [
        {"q": "x", "limit": "2"},
        {"q": "x", "limit": "2", "cursor": "c2"},
    ]


def test_cursor_stops_on_an_empty_page_without_yielding_it(sdk_host: RunnerHost) -> None:
    pages = {None: {"items": [1], "next": 7}, "7": {"items": [], "next": 8}}
    config = {
        "endpoint": "/items",
        "paginate": {
            "type": "cursor",
            "cursor_name_in_request": "cursor",
            "cursor_path_in_response": "next",
            "response_path": "items",
        },
    }
    output, requests = _paginate(sdk_host, config, _by_param("cursor", pages))
    assert output["pages"] == [[1]]
    assert output["on_page"] == [[7, 200]]
    assert len(requests) == 2


def test_paging_values_go_in_the_body_of_a_post_or_when_in_body(sdk_host: RunnerHost) -> None:
    def answer(args: dict[str, Any]) -> dict[str, Any]:
        cursor = (args.get("data_json") or {}).get("cursor")
        return http_reply(body={"items": [cursor or "first"], "next": None if cursor else "c2"})

    paginate = {
        "type": "cursor",
        "cursor_name_in_request": "cursor",
        "cursor_path_in_response": "next",
        "response_path": "items",
        "limit_name_in_request": "limit",
        "limit": 10,
    }
    for config in (
        {"endpoint": "/search", "method": "POST", "data": {"q": 1}, "paginate": paginate},
        {"endpoint": "/search", "data": {"q": 1}, "paginate": paginate | {"in_body": True}},
    ):
        output, requests = _paginate(sdk_host, config, answer)
        assert output["pages"] == [["first"], ["c2"]]
        assert [r["data_json"] for r in requests] == [
            {"q": 1, "limit": 10},
            {"q": 1, "limit": 10, "cursor": "c2"},
        ]
        assert all(r["params"] is None for r in requests)


def test_link_header_is_followed_and_an_empty_last_page_yielded(sdk_host: RunnerHost) -> None:
    def answer(args: dict[str, Any]) -> dict[str, Any]:
        if args["endpoint"] == "/items":
            link = '<https://other.example/items?page=2&per_page=2>; rel="next", <x>; rel="last"'
            return http_reply(body=[1, 2], headers={"link": link})
        return http_reply(body=[])

    config = {
        "endpoint": "/items",
        "params": {"state": "all"},
        "paginate": {
            "type": "link",
            "link_rel_in_response_header": "next",
            "limit_name_in_request": "per_page",
            "limit": 2,
        },
    }
    output, requests = _paginate(sdk_host, config, answer)
    assert output["pages"] == [[1, 2], []]
    assert output["on_page"] == [
        ["https://other.example/items?page=2&per_page=2", 200],
        [None, 200],
    ]
    assert requests[0]["params"] == {"state": "all", "per_page": "2"}
    assert requests[1]["endpoint"] == "/items?page=2&per_page=2"
    assert requests[1]["base_url_override"] == "https://other.example"
    assert requests[1]["params"] is None


def test_link_in_the_body_stops_when_it_repeats(sdk_host: RunnerHost) -> None:
    def answer(args: dict[str, Any]) -> dict[str, Any]:
        return http_reply(body={"data": [args["endpoint"]], "paging": {"next": "/items?p=2"}})

    config = {
        "endpoint": "/items",
        "paginate": {
            "type": "link",
            "link_path_in_response_body": "paging.next",
            "response_path": "data",
        },
    }
    output, requests = _paginate(sdk_host, config, answer, on_page=False)
    assert output["pages"] == [["/items"], ["/items?p=2"]]
    assert len(requests) == 2


def test_a_link_cycle_is_a_pagination_loop(sdk_host: RunnerHost) -> None:
    nxt = {"/a": "/b", "/b": "/a"}

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        return http_reply(body={"next": nxt[args["endpoint"]], "items": [1]})

    config = {"endpoint": "/a", "paginate": {"type": "link", "link_path_in_response_body": "next"}}
    outcome, requests = _paginate(sdk_host, config, answer)
    error = error_of(outcome)
    assert error["type"] == "pagination_loop"
    assert len(requests) == 3


def test_offset_by_response_size_stops_on_a_short_page_before_on_page(
    sdk_host: RunnerHost,
) -> None:
    items = list(range(5))

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        start = int(args["params"]["offset"])
        return http_reply(body={"results": items[start : start + 2]})

    config = {
        "endpoint": "/items",
        "paginate": {
            "type": "offset",
            "offset_name_in_request": "offset",
            "response_path": "results",
            "limit_name_in_request": "limit",
            "limit": 2,
        },
    }
    output, requests = _paginate(sdk_host, config, answer)
    assert output["pages"] == [[0, 1], [2, 3], [4]]
    assert output["on_page"] == [[0, 200], [2, 200]]
    assert [r["params"] for r in requests] == [
        {"limit": "2", "offset": "0"},
        {"limit": "2", "offset": "2"},
        {"limit": "2", "offset": "4"},
    ]


def test_offset_per_page_from_a_start_value_stops_on_an_empty_page(sdk_host: RunnerHost) -> None:
    def answer(args: dict[str, Any]) -> dict[str, Any]:
        page = int(args["params"]["page"])
        return http_reply(body=[page * 10, page * 10 + 1] if page <= 2 else [])

    config = {
        "endpoint": "/items",
        "paginate": {
            "type": "offset",
            "offset_name_in_request": "page",
            "offset_start_value": 1,
            "offset_calculation_method": "per-page",
        },
    }
    output, requests = _paginate(sdk_host, config, answer)
    assert output["pages"] == [[10, 11], [20, 21]]
    assert output["on_page"] == [[1, 200], [2, 200]]
    assert [r["params"]["page"] for r in requests] == ["1", "2", "3"]


def test_provider_defaults_are_merged_under_the_calls_settings(sdk_host: RunnerHost) -> None:
    defaults = {
        "type": "link",
        "limit_name_in_request": "per_page",
        "link_rel_in_response_header": "next",
    }

    def answer(args: dict[str, Any]) -> dict[str, Any]:
        return http_reply(body=[args["params"]])

    output, _ = _paginate(
        sdk_host, {"endpoint": "/repos", "paginate": {"limit": 50}}, answer, defaults=defaults
    )
    assert output["pages"] == [[{"per_page": "50"}]]
    overridden, _ = _paginate(
        sdk_host,
        {"endpoint": "/repos", "paginate": {"limit_name_in_request": "size", "limit": 5}},
        answer,
        defaults=defaults,
    )
    assert overridden["pages"] == [[{"size": "5"}]]


def test_a_cursor_that_never_changes_is_a_pagination_loop(sdk_host: RunnerHost) -> None:
    config = {
        "endpoint": "/items",
        "paginate": {
            "type": "cursor",
            "cursor_name_in_request": "c",
            "cursor_path_in_response": "next",
            "response_path": "items",
        },
    }
    outcome, requests = _paginate(
        sdk_host, config, lambda args: http_reply(body={"items": [1], "next": "same"})
    )
    error = error_of(outcome)
    assert error["type"] == "pagination_loop"
    assert "same" in error["message"]
    assert len(requests) == 4


@pytest.mark.parametrize(
    ("paginate", "message"),
    [
        ({}, "paginate.type must be"),
        ({"type": "pages"}, "paginate.type must be"),
        ({"type": "cursor", "cursor_name_in_request": "c"}, "cursor_path_in_response"),
        ({"type": "link"}, "link_rel_in_response_header"),
        ({"type": "offset"}, "offset_name_in_request"),
        ({"type": "offset", "offset_name_in_request": "o", "limit": "ten"}, "limit must be"),
        ({"type": "link", "link_path_in_response_body": "next", "limit": 10}, "limit_name_in_req"),
        ({"type": "link", "link_path_in_response_body": "next", "lmit": 10}, "paginate.lmit is"),
        ({"type": "cursor", "cursor_name_in_request": 1, "cursor_path_in_response": "n"}, "text"),
        (
            {"type": "offset", "offset_name_in_request": "o", "offset_calculation_method": "x"},
            "offset_calculation_method must be",
        ),
    ],
)
def test_incomplete_settings_are_invalid_pagination_before_any_request(
    sdk_host: RunnerHost, paginate: dict[str, Any], message: str
) -> None:
    outcome, requests = _paginate(
        sdk_host, {"endpoint": "/x", "paginate": paginate}, lambda a: http_reply(body=[])
    )
    error = error_of(outcome)
    assert error["type"] == "invalid_pagination"
    assert message in error["message"]
    assert not requests

"""``nango.paginate``: cursor, link and offset pagination with the seed's stop rules."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from runner._response import Response

Send = Callable[[dict[str, Any]], Response]
MAX_PAGES = 100_000
"""A guard against endless paging: no paginate call fetches more pages than this."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class PaginationError(ValueError):
    """The ``paginate`` settings are incomplete or contradictory."""


def path_get(data: Any, path: str | None) -> Any:
    """Reads ``a.b.c`` from nested dicts and lists; a literal key with dots wins."""
    if not path:
        return data
    if isinstance(data, Mapping) and path in data:
        return data[path]
    current = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def paginate_pages(send: Send, config: Mapping[str, Any]) -> Iterator[Any]:
    """Yields pages of results for the config's ``paginate`` settings."""
    settings = dict(config.get("paginate") or {})
    kind = settings.get("type")
    cfg = {k: v for k, v in config.items() if k != "paginate"}
    method = str(cfg.get("method") or "GET").upper()
    in_body = method in _BODY_METHODS
    if settings.get("limit") is not None and settings.get("limit_name_in_request"):
        _set_param(cfg, settings["limit_name_in_request"], settings["limit"], in_body)
    if kind == "cursor":
        return _cursor(send, cfg, settings, in_body)
    if kind == "link":
        return _link(send, cfg, settings)
    if kind == "offset":
        return _offset(send, cfg, settings, in_body)
    raise PaginationError("paginate.type must be 'cursor', 'link' or 'offset'")


def _set_param(cfg: dict[str, Any], name: str, value: Any, in_body: bool) -> None:
    key = "data" if in_body else "params"
    current = cfg.get(key)
    values = dict(current) if isinstance(current, Mapping) else {}
    values[name] = value if in_body else str(value)
    cfg[key] = values


def _on_page(settings: Mapping[str, Any], next_param: Any, response: Response) -> None:
    callback = settings.get("on_page")
    if callback is not None:
        callback({"next_page_param": next_param, "response": response})


def _cursor(
    send: Send, cfg: dict[str, Any], settings: dict[str, Any], in_body: bool
) -> Iterator[Any]:
    for name in ("cursor_name_in_request", "cursor_path_in_response"):
        if not settings.get(name):
            raise PaginationError(f"cursor pagination needs paginate.{name}")
    for _ in range(MAX_PAGES):
        response = send(dict(cfg))
        page = path_get(response.data, settings.get("response_path"))
        if not page:
            return
        yield page
        cursor = path_get(response.data, settings["cursor_path_in_response"])
        if isinstance(cursor, str):
            cursor = cursor.strip()
        valid = (isinstance(cursor, str) and cursor) or (
            isinstance(cursor, int | float) and not isinstance(cursor, bool)
        )
        _on_page(settings, cursor if valid else None, response)
        if not valid:
            return
        _set_param(cfg, settings["cursor_name_in_request"], cursor, in_body)
    raise PaginationError(f"pagination stopped after {MAX_PAGES} pages")


def _link(send: Send, cfg: dict[str, Any], settings: dict[str, Any]) -> Iterator[Any]:
    rel = settings.get("link_rel_in_response_header")
    body_path = settings.get("link_path_in_response_body")
    if not rel and not body_path:
        raise PaginationError(
            "link pagination needs paginate.link_rel_in_response_header "
            "or paginate.link_path_in_response_body"
        )
    previous = None
    for _ in range(MAX_PAGES):
        response = send(dict(cfg))
        yield path_get(response.data, settings.get("response_path"))
        link = _next_link(response, rel, body_path)
        _on_page(settings, link, response)
        if not link or link == previous:
            return
        previous = link
        _follow(cfg, link)
    raise PaginationError(f"pagination stopped after {MAX_PAGES} pages")


def _next_link(response: Response, rel: str | None, body_path: str | None) -> str | None:
    if rel:
        found = parse_link_header(str(response.headers.get("link", ""))).get(rel)
        if found:
            return found
    if body_path:
        value = path_get(response.data, body_path)
        return value if isinstance(value, str) and value else None
    return None


def _follow(cfg: dict[str, Any], link: str) -> None:
    parsed = urllib.parse.urlsplit(link)
    cfg.pop("params", None)
    if parsed.scheme in ("http", "https"):
        cfg["base_url_override"] = f"{parsed.scheme}://{parsed.netloc}"
        cfg["endpoint"] = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    else:
        cfg["endpoint"] = link


def parse_link_header(header: str) -> dict[str, str]:
    """rel -> URL from an RFC 8288 Link header (nothing for a header over 2,000 characters)."""
    if not header or len(header) > 2000:
        return {}
    out: dict[str, str] = {}
    for part in header.split(","):
        pieces = part.strip().split(";")
        url = pieces[0].strip()
        if not (url.startswith("<") and url.endswith(">")):
            continue
        for attr in pieces[1:]:
            key, _, value = attr.strip().partition("=")
            if key.strip().lower() == "rel":
                for rel in value.strip().strip('"').split():
                    out.setdefault(rel, url[1:-1])
    return out


def _offset(
    send: Send, cfg: dict[str, Any], settings: dict[str, Any], in_body: bool
) -> Iterator[Any]:
    name = settings.get("offset_name_in_request")
    if not name:
        raise PaginationError("offset pagination needs paginate.offset_name_in_request")
    offset = int(settings.get("offset_start_value") or 0)
    limit = settings.get("limit")
    per_page = settings.get("offset_calculation_method") == "per-page"
    for _ in range(MAX_PAGES):
        _set_param(cfg, name, offset, in_body)
        response = send(dict(cfg))
        page = path_get(response.data, settings.get("response_path"))
        if not page:
            return
        yield page
        size = len(page) if hasattr(page, "__len__") else 0
        if limit is not None and size < int(limit):
            return
        _on_page(settings, offset, response)
        offset += 1 if per_page else size
    raise PaginationError(f"pagination stopped after {MAX_PAGES} pages")

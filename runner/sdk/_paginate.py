"""``nango.paginate``: cursor, link and offset pagination with the seed's stop rules.

The rules (FORMAT.md section 5, from the seed platform's ``PaginationService``):

* ``limit`` is sent as ``limit_name_in_request`` from the first request on. Paging values go in
  the body for POST, PUT and PATCH, else in the query (a number in a body, a string in a
  query); ``in_body`` forces one or the other.
* **cursor**: an empty page stops without being yielded; the next cursor is read at
  ``cursor_path_in_response`` (a string is trimmed and an empty one stops; a number is used as
  it is; anything else stops); ``on_page`` is called after the page is yielded.
* **link**: every page is yielded, even an empty one; the next link comes from the ``Link``
  header's ``link_rel_in_response_header``, else from ``link_path_in_response_body``;
  ``on_page`` is called, then paging stops when there is no link or it repeats the previous one.
* **offset**: starts at ``offset_start_value`` (default 0); an empty page stops without being
  yielded; a page shorter than ``limit`` stops before ``on_page``; the offset grows by the
  page's size (``by-response-size``, the default) or by one (``per-page``).

Beyond the seed, two guards against endless paging: a cursor sent
:data:`MAX_REPEATED_CURSOR` times in a row, or a link that leads back to a page already
visited, stops with ``pagination_loop``; no call fetches more than :data:`MAX_PAGES` pages.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from corral.errors import RunFailure
from runner.sdk._response import Response
from runner.sdk._scalars import number, text

Send = Callable[[dict[str, Any]], Response]
MAX_PAGES = 100_000
"""A guard against endless paging: no paginate call fetches more pages than this."""
MAX_REPEATED_CURSOR = 3
"""Pages in a row answered with the cursor that was just sent, before paging stops."""
TYPES = ("cursor", "link", "offset")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class PaginationError(RunFailure):
    """``paginate`` settings that cannot work (``invalid_pagination``), or endless paging
    (``pagination_loop``)."""

    def __init__(self, message: str, code: str = "invalid_pagination") -> None:
        super().__init__(code, message)


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
    """Yields pages of results for the config's ``paginate`` settings.

    Raises:
        PaginationError: settings that are missing or wrong (at once, before any request).
    """
    settings = _read_settings(config.get("paginate"))
    kind = settings.get("type")
    if kind not in TYPES:
        raise PaginationError("paginate.type must be 'cursor', 'link' or 'offset'")
    _require(settings, kind)
    cfg = {k: v for k, v in config.items() if k != "paginate"}
    in_body = _in_body(settings, text(cfg.get("method") or "GET", "method").upper())
    if settings.get("limit") is not None and settings.get("limit_name_in_request"):
        _set_param(cfg, settings["limit_name_in_request"], settings["limit"], in_body)
    if kind == "cursor":
        return _cursor(send, cfg, settings, in_body)
    if kind == "link":
        return _link(send, cfg, settings)
    return _offset(send, cfg, settings, in_body)


NAMES = (
    "limit_name_in_request",
    "response_path",
    "cursor_path_in_response",
    "cursor_name_in_request",
    "link_rel_in_response_header",
    "link_path_in_response_body",
    "offset_name_in_request",
)
"""Settings that name a parameter or a path: text."""
KNOWN = frozenset(
    {"type", "limit", "offset_start_value", "offset_calculation_method", "in_body", "on_page"}
    | set(NAMES)
)
OFFSET_METHODS = ("per-page", "by-response-size")


def _read_settings(raw: Any) -> dict[str, Any]:
    """The settings, their names and scalars read once as exact built-in values
    (``runner.sdk._scalars``): what is checked is what is sent."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PaginationError("paginate must be a dict of settings")
    settings: dict[str, Any] = {}
    for name, value in dict(raw).items():
        if not isinstance(name, str):
            raise PaginationError("paginate's settings are named by strings")
        settings[text(name, "a setting's name")] = _read_setting(value)
    if "in_body" in settings and not isinstance(settings["in_body"], bool | None):
        raise PaginationError("paginate.in_body must be true or false")
    return settings


def _read_setting(value: Any) -> Any:
    if isinstance(value, str):
        return text(value, "a setting")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value, "a setting")
    return value


def _check_known(settings: Mapping[str, Any]) -> None:
    """Every setting is one paginate knows, of the right type (a misspelt one would be ignored
    and page wrongly, so it is refused by name)."""
    unknown = sorted(k for k in settings if k not in KNOWN)
    if unknown:
        raise PaginationError(
            f"paginate.{unknown[0]} is not a pagination setting; they are"
            f" {', '.join(sorted(KNOWN))}"
        )
    for name in NAMES:
        if settings.get(name) is not None and not isinstance(settings[name], str):
            raise PaginationError(f"paginate.{name} must be text")
    method = settings.get("offset_calculation_method")
    if method is not None and method not in OFFSET_METHODS:
        raise PaginationError(
            f"paginate.offset_calculation_method must be {' or '.join(OFFSET_METHODS)}"
        )
    if settings.get("on_page") is not None and not callable(settings["on_page"]):
        raise PaginationError("paginate.on_page must be a function")


def _require(settings: Mapping[str, Any], kind: str) -> None:
    _check_known(settings)
    needed = {
        "cursor": ("cursor_name_in_request", "cursor_path_in_response"),
        "offset": ("offset_name_in_request",),
    }.get(kind, ())
    for name in needed:
        if not settings.get(name):
            raise PaginationError(f"{kind} pagination needs paginate.{name}")
    if kind == "link" and not (
        settings.get("link_rel_in_response_header") or settings.get("link_path_in_response_body")
    ):
        raise PaginationError(
            "link pagination needs paginate.link_rel_in_response_header "
            "or paginate.link_path_in_response_body"
        )
    for name in ("limit", "offset_start_value"):
        if settings.get(name) is not None and not _is_number(settings[name]):
            raise PaginationError(f"paginate.{name} must be a number")
    if settings.get("limit") is not None and not settings.get("limit_name_in_request"):
        raise PaginationError(
            "paginate.limit needs paginate.limit_name_in_request: the name the API reads the"
            " page size by (without it the limit would never be sent)"
        )


def _in_body(settings: Mapping[str, Any], method: str) -> bool:
    forced = settings.get("in_body")
    return forced if isinstance(forced, bool) else method in _BODY_METHODS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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


def _next_cursor(data: Any, path: str) -> str | int | float | None:
    cursor = path_get(data, path)
    if isinstance(cursor, str):
        return cursor.strip() or None
    return cursor if _is_number(cursor) else None


def _cursor(
    send: Send, cfg: dict[str, Any], settings: dict[str, Any], in_body: bool
) -> Iterator[Any]:
    sent: Any = None
    repeats = 0
    for _ in range(MAX_PAGES):
        response = send(dict(cfg))
        page = path_get(response.data, settings.get("response_path"))
        if not page:
            return
        yield page
        cursor = _next_cursor(response.data, settings["cursor_path_in_response"])
        _on_page(settings, cursor, response)
        if cursor is None:
            return
        repeats = repeats + 1 if cursor == sent else 0
        if repeats >= MAX_REPEATED_CURSOR:
            raise PaginationError(
                f"the API answered the cursor {cursor!r} with itself {repeats} times in a row",
                code="pagination_loop",
            )
        sent = cursor
        _set_param(cfg, settings["cursor_name_in_request"], cursor, in_body)
    raise PaginationError(f"pagination stopped after {MAX_PAGES} pages", code="pagination_loop")


def _link(send: Send, cfg: dict[str, Any], settings: dict[str, Any]) -> Iterator[Any]:
    rel = settings.get("link_rel_in_response_header")
    body_path = settings.get("link_path_in_response_body")
    previous = None
    visited: set[str] = set()
    for _ in range(MAX_PAGES):
        response = send(dict(cfg))
        yield path_get(response.data, settings.get("response_path"))
        link = _next_link(response, rel, body_path)
        _on_page(settings, link, response)
        if not link or link == previous:
            return
        if link in visited:
            raise PaginationError(
                f"the next link {link!r} leads back to a page already read",
                code="pagination_loop",
            )
        visited.add(link)
        previous = link
        _follow(cfg, link)
    raise PaginationError(f"pagination stopped after {MAX_PAGES} pages", code="pagination_loop")


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
    name = settings["offset_name_in_request"]
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
    raise PaginationError(f"pagination stopped after {MAX_PAGES} pages", code="pagination_loop")

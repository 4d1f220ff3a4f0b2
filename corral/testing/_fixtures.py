"""Recorded API exchanges in the seeds' ``*.test.json`` format: identities, hashes, lookups.

The rules are those of shared/fixtures/FORMAT.md (sections 3 and 4): a request is identified by
its method, path, sorted query parameters, filtered headers and body; an entry matches by that
identity's sha1 ``hash`` first, then by its stored request fields, then as a sole entry.
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.testing._jsjson import js_string, stringify, utf16_length

FILTER_HEADERS = frozenset(
    {
        "authorization",
        "user-agent",
        "nango-proxy-user-agent",
        "accept-encoding",
        "retries",
        "host",
        "connection-id",
        "provider-config-key",
        "nango-is-sync",
        "nango-is-script",
        "nango-is-dry-run",
        "nango-activity-log-id",
        "content-length",
        "accept",
        "base-url-override",
        "retry-on",
        "forward-headers-on-redirect",
    }
)
_ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)
_PATH_UNSAFE = frozenset(' "<>`{}')
_DATA_LIMIT = 1000


@dataclass(frozen=True)
class Identity:
    """The identity of one request."""

    method: str
    endpoint: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    data: str | None

    def hash(self) -> str:
        """sha1 of the identity's JSON, as the recorder computes it."""
        value: dict[str, Any] = {
            "method": self.method,
            "endpoint": self.endpoint,
            "params": [list(p) for p in self.params],
            "headers": [list(h) for h in self.headers],
        }
        if self.data is not None:
            value["data"] = self.data
        return hashlib.sha1(stringify(value).encode()).hexdigest()  # noqa: S324 - the format's hash


def _encode_path(path: str) -> str:
    out = []
    for char in path.replace("\\", "/"):
        if ord(char) < 0x20 or ord(char) > 0x7E or char in _PATH_UNSAFE:
            out.append(urllib.parse.quote(char, safe=""))
        else:
            out.append(char)
    return "".join(out)


def _resolve_dots(path: str) -> str:
    stack: list[str] = []
    parts = path.split("/")[1:]
    for index, part in enumerate(parts):
        lowered = part.lower()
        last = index == len(parts) - 1
        if lowered in (".", "%2e"):
            if last:
                stack.append("")
        elif lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if stack:
                stack.pop()
            if last:
                stack.append("")
        else:
            stack.append(part)
    return "/" + "/".join(stack)


def _split(endpoint: str) -> tuple[str, list[tuple[str, str]]]:
    url = (
        endpoint
        if _ABSOLUTE.match(endpoint)
        else "https://nango.invalid" + ("" if endpoint.startswith("/") else "/") + endpoint
    )
    parts = urllib.parse.urlsplit(url)
    path = _resolve_dots(_encode_path(parts.path or "/"))
    return path, urllib.parse.parse_qsl(parts.query, keep_blank_values=True)


def _set(entries: list[tuple[str, str]], key: str, value: str) -> list[tuple[str, str]]:
    if not any(k == key for k, _ in entries):
        return [*entries, (key, value)]
    out: list[tuple[str, str]] = []
    for k, v in entries:
        if k != key:
            out.append((k, v))
        elif all(k2 != key for k2, _ in out):
            out.append((k, value))
    return out


def data_identity(data: Any) -> str | None:
    """The body's identity: a string as is, bytes as base64, else JSON; long ones as sha1."""
    if data is None or data is False or data == "" or (data == 0 and not isinstance(data, bool)):
        return None
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray):
        text = base64.b64encode(bytes(data)).decode()
    else:
        text = stringify(data)
    if utf16_length(text) > _DATA_LIMIT:
        return "sha1:" + hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - the format's hash
    return text


def _identity_headers(headers: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for raw, value in headers.items():
        name = re.sub(r"^nango-proxy-", "", str(raw), flags=re.IGNORECASE)
        lowered = name.lower()
        if lowered in seen:
            continue
        seen.add(lowered)
        text = js_string(value)
        if lowered in FILTER_HEADERS or (lowered == "content-type" and _plain_content_type(text)):
            continue
        out.append((name, text))
    return tuple(sorted(out, key=lambda pair: pair[0]))


def _plain_content_type(value: str) -> bool:
    return value in ("application/json", "undefined") or value.startswith(
        "application/x-www-form-urlencoded"
    )


def identity(
    method: str, endpoint: str, params: Any, headers: Mapping[str, Any], data: Any
) -> Identity:
    """The identity of a request as the function configured it."""
    path, entries = _split(endpoint)
    if isinstance(params, str):
        entries += urllib.parse.parse_qsl(params.lstrip("?"), keep_blank_values=True)
    elif isinstance(params, Mapping):
        for key, value in params.items():
            entries = _set(entries, str(key), js_string(value))
    path = path[len("/proxy") :] if path.startswith("/proxy/") else path
    return Identity(
        method=(method or "get").lower(),
        endpoint=path[1:] if path.startswith("/") else path,
        params=tuple(sorted(entries, key=lambda pair: pair[0])),
        headers=_identity_headers(headers),
        data=data_identity(data),
    )


def _normalised_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = str(name).lower()
        text = js_string(value)
        if key in out or (
            key == "content-type" and text.startswith("application/x-www-form-urlencoded")
        ):
            continue
        out[key] = text
    return out


def _fields_match(stored: Mapping[str, Any], ident: Identity) -> bool:
    params = stored.get("params") or {}
    if len(params) != len(ident.params):
        return False
    for key, value in params.items():
        actual = next((v for k, v in ident.params if k == key), None)
        if actual is None or actual != js_string(value):
            return False
    if _normalised_headers(stored.get("headers") or {}) != _normalised_headers(dict(ident.headers)):
        return False
    return "data" not in stored or data_identity(stored["data"]) == ident.data


class NoRecordedResponse(LookupError):
    """No recorded exchange matches a request."""


class Fixture:
    """The parsed content of one ``*.test.json`` file."""

    def __init__(self, content: Mapping[str, Any]) -> None:
        self.content = content
        self.api: Mapping[str, Any] = content.get("api") or {}
        self.nango: Mapping[str, Any] = content.get("nango") or {}

    def entries(self, method: str, endpoint: str) -> Sequence[Mapping[str, Any]]:
        """The recorded exchanges of a method and endpoint (a sole one as a list)."""
        table = self.api.get(method) or {}
        found = table.get(endpoint, table.get("/" + endpoint))
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def lookup(
        self, method: str, endpoint: str, params: Any, headers: Mapping[str, Any], data: Any
    ) -> Mapping[str, Any]:
        """The first recorded exchange that matches the request.

        Raises:
            NoRecordedResponse: with the method, endpoint, parameters and hash it looked for.
        """
        ident = identity(method, endpoint, params, headers, data)
        digest = ident.hash()
        entries = self.entries(ident.method, ident.endpoint)
        for entry in entries:
            if entry.get("hash") == digest:
                return entry
            stored = entry.get("request")
            if isinstance(stored, Mapping) and _fields_match(stored, ident):
                return entry
            if stored is None and len(entries) == 1 and not ident.params:
                return entry
        raise NoRecordedResponse(
            f"No mock found for {ident.method.upper()} {ident.endpoint} with params "
            f"{dict(ident.params)} and hash {digest}; record it with "
            "corral dryrun --save-responses"
        )

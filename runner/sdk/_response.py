"""The response object a proxy call returns to function code, and the error for non-2xx."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import RunFailure


@dataclass(frozen=True)
class Response:
    """An HTTP response, shaped like the seed's (axios) response object.

    Attributes:
        data: the body: parsed JSON when it is JSON (or ``response_type="json"``), ``bytes`` for
            ``response_type="arraybuffer"``, else text; ``""`` for an empty body.
        status: the HTTP status code.
        headers: lower-case header names to values (``set-cookie`` is a list).
        config: the request configuration the function gave.
        request: the method and URL actually requested (without credentials).
    """

    data: Any
    status: int
    headers: Mapping[str, Any]
    config: Mapping[str, Any] = field(default_factory=dict)
    request: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any], config: Mapping[str, Any]) -> Response:
        """Builds the response from the runner's reply to a ``proxy`` call."""
        body = reply.get("body")
        if not isinstance(body, bytes):
            body = b""
        headers = _headers(reply.get("headers") or [])
        data = _decode(body, str(config.get("response_type") or ""), headers)
        return cls(
            data=data,
            status=int(reply.get("status") or 0),
            headers=headers,
            config=dict(config),
            request={"method": reply.get("method", ""), "url": reply.get("url", "")},
        )


class HttpError(Exception):
    """A proxied request answered with a status outside 2xx.

    Attributes:
        response: the full response.
        status: its status code.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(
            f"Request failed with status code {response.status}: "
            f"{response.request.get('method', '')} {response.request.get('url', '')}"
        )
        self.response = response
        self.status = response.status

    def payload(self) -> dict[str, Any]:
        """The error's details for the run result."""
        return {
            "status": self.status,
            "url": self.response.request.get("url", ""),
            "headers": dict(self.response.headers),
            "data": self.response.data if not isinstance(self.response.data, bytes) else "",
        }


class NangoError(RunFailure):
    """An SDK call failed with a typed error (the error types of DESIGN.md).

    Function code may catch it; uncaught, the run fails with the same type and payload. A
    nested ``trigger_action`` raises it with the nested run's error.

    Attributes:
        type: the error type string (``script_network_error``, ``action_script_failure``, ...).
        message: what went wrong.
        payload: JSON-able details (an ActionError's payload, the network error code, ...).
    """

    @property
    def type(self) -> str:
        """The error type string (the same as ``code``)."""
        return self.code


def _headers(pairs: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        key = str(name).lower()
        if key == "set-cookie":
            out.setdefault(key, []).append(value)
        elif key in out:
            out[key] = f"{out[key]}, {value}"
        else:
            out[key] = value
    return out


def _decode(body: bytes, response_type: str, headers: Mapping[str, Any]) -> Any:
    if response_type == "arraybuffer":
        return body
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace")
    if response_type == "text":
        return text
    content_type = str(headers.get("content-type", ""))
    if response_type == "json" or "json" in content_type or text[:1] in '{["':
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text

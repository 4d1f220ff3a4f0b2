"""The provider catalogue (``corral/providers.json``): what corral knows of each API provider.

Per provider: the API's base URL (``${connectionConfig.name}`` placeholders are filled from the
connection's ``connection_config``), its auth mode, its token URL (OAuth2 refresh or client
credentials, a GitHub App's installation tokens; filled like the base URL), the statuses its
requests are retried on (``"5xx"`` for the whole class; replaces the default 401, 429, 5xx)
and its pagination defaults, which ``nango.paginate`` merges under each call's own settings.
Its ``webhook`` block says how the provider's webhooks are verified, typed and routed
(``orchestrator.webhooks``).
An integration's own settings always win over the catalogue's; an unknown provider has none.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_PLACEHOLDER = re.compile(r"\$\{connectionConfig\.([A-Za-z0-9_.]+)\}")


@dataclass(frozen=True)
class Provider:
    """One provider of the catalogue.

    Attributes:
        name: the provider's name (``github``).
        base_url: the API's base URL, maybe with ``${connectionConfig.x}`` placeholders.
        auth_mode: the provider's auth mode (``OAUTH2``, ``API_KEY``, ...).
        token_url: where tokens are refreshed (``OAUTH2``) or fetched (``OAUTH2_CC``, ``APP``),
            maybe with ``${connectionConfig.x}`` placeholders.
        retry_status_codes: the statuses retried instead of 401, 429 and 5xx; None: those.
        paginate: the pagination defaults (the seed's ``paginate`` settings).
        webhook: how its webhooks are verified (``signature``), typed (``event_type_header``
            or ``event_type_path``) and routed (``routing``); empty: not known.
    """

    name: str
    base_url: str = ""
    auth_mode: str = ""
    token_url: str = ""
    retry_status_codes: tuple[int, ...] | None = None
    paginate: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    webhook: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def provider(name: str) -> Provider | None:
    """The catalogue's entry for ``name``, or None."""
    return _catalogue().get(name)


def names() -> list[str]:
    """Every provider of the catalogue, sorted."""
    return sorted(_catalogue())


def fill(template: str, connection_config: Mapping[str, Any]) -> str:
    """``template`` with its ``${connectionConfig.x}`` placeholders filled.

    Returns:
        The filled text, or ``""`` when a placeholder has no value (a URL with a hole in it
        would send requests somewhere unintended).
    """
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found: Any = connection_config
        for part in match.group(1).split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
        if not isinstance(found, str | int) or isinstance(found, bool) or found == "":
            missing = True
            return ""
        return str(found)

    filled = _PLACEHOLDER.sub(value, template)
    return "" if missing else filled


def status_codes(values: Any) -> tuple[int, ...]:
    """Statuses from a list of numbers, numeric strings and classes such as ``"5xx"``."""
    out: list[int] = []
    for item in values if isinstance(values, list | tuple) else ():
        text = str(item).strip().lower()
        if len(text) == 3 and text[0].isdigit() and text[1:] == "xx":
            out += range(int(text[0]) * 100, int(text[0]) * 100 + 100)
        elif text.isdigit():
            out.append(int(text))
    return tuple(dict.fromkeys(out))


@functools.cache
def _catalogue() -> dict[str, Provider]:
    text = importlib.resources.files("corral").joinpath("providers.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)
    return {name: _entry(name, data) for name, data in raw.items() if not name.startswith("_")}


def _entry(name: str, data: Mapping[str, Any]) -> Provider:
    retry = data.get("retry_status_codes")
    return Provider(
        name=name,
        base_url=str(data.get("base_url") or ""),
        auth_mode=str(data.get("auth_mode") or ""),
        token_url=str(data.get("token_url") or ""),
        retry_status_codes=status_codes(retry) if retry is not None else None,
        paginate=MappingProxyType(dict(data.get("paginate") or {})),
        webhook=MappingProxyType(dict(data.get("webhook") or {})),
    )

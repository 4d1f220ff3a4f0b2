"""Text the store cannot keep: the NUL character (U+0000), found, refused or replaced.

PostgreSQL's TEXT refuses the NUL byte and its JSONB the ``\\u0000`` escape; SQLite keeps both.
So that both engines answer alike, corral never stores a NUL (docs/runtime.md, "NUL in
stored text"):

- a name or id holding one (a model, a record id, a connection id...) is refused where it is
  written, with the field's own error for a bad value, and is unknown where it is looked up
  (nothing stored can hold it);
- a JSON value a caller stores (metadata, credentials, a checkpoint, settings...) holding one
  in a key or a string is refused with the field's code (``refuse_nul``);
- what a run produced and must not lose (its log lines, its error, its output) is stored with
  each NUL replaced by U+FFFD, the replacement character (``without_nul``).

Neither engine can bind a lone UTF-16 surrogate (``"\\ud800"``, which is not Unicode: sqlite3
and psycopg raise ``UnicodeEncodeError``) either; JSON read at a boundary never holds one
(``corral._json``), and an id the store is given is checked again (``all_unicode``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from corral.errors import InvalidRequest

NUL = "\x00"
REPLACEMENT = "\ufffd"
"""What a NUL of a run's logs, error or output is stored as."""

_ESCAPED_NUL = "\\u0000"


def holds_nul(value: Any) -> bool:
    """Whether a JSON value (or a text) holds a NUL in any string or object key."""
    if isinstance(value, str):
        return NUL in value
    try:
        # One C pass; the escape appears for every NUL (and, rarely, for a text holding a
        # backslash then "u0000", which the walk below tells apart).
        if _ESCAPED_NUL not in json.dumps(value, ensure_ascii=False, check_circular=False):
            return False
    except (TypeError, ValueError, RecursionError):
        pass
    return _walk_holds_nul(value)


def names_hold_nul(*names: str | None) -> bool:
    """Whether any of these names or ids holds a NUL (so that no stored one can be it)."""
    return any(name is not None and NUL in name for name in names)


def all_unicode(texts: Sequence[str]) -> bool:
    """Whether every text is Unicode a store can bind: no lone surrogate (U+D800 to U+DFFF)."""
    try:
        "\n".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refuse_nul(value: Any, *, what: str, code: str) -> None:
    """Refuses a value to store that holds a NUL.

    Raises:
        InvalidRequest: ``code``, naming ``what`` (never the value).
    """
    if holds_nul(value):
        raise InvalidRequest(
            f"{what} holds the character U+0000 (NUL) in a key or a string, which cannot be"
            " stored; remove it or encode it",
            code=code,
            details={"field": what},
        )


def without_nul(value: Any) -> Any:
    """``value`` (a text or a JSON value) with each NUL of its strings and keys replaced by
    U+FFFD; ``value`` itself when it holds none."""
    if not holds_nul(value):
        return value
    return _replaced(value)


def _replaced(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT)
    if isinstance(value, dict):
        return {_replaced(k): _replaced(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replaced(item) for item in value]
    return value


def _walk_holds_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(k for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False

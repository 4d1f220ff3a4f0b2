"""Read-only views the sandbox hands out instead of a library's own mutable containers.

``ReadOnlyMapping`` stands for a dict a library class or module shares (``model_fields``,
module constants). It is a sandbox object, not a ``mappingproxy``: function code never holds a
mappingproxy (one over a class ``__dict__`` hands out the class's real functions).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn


class ReadOnlyMapping(Mapping[Any, Any]):
    """A read-only view of a dict (reading goes through to the dict; writing is refused)."""

    __slots__ = ("_view_data",)

    _view_data: Mapping[Any, Any]

    def __init__(self, data: Mapping[Any, Any]) -> None:
        object.__setattr__(self, "_view_data", data)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("read-only views cannot be subclassed")

    def __getitem__(self, key: Any) -> Any:
        return self._view_data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._view_data)

    def __len__(self) -> int:
        return len(self._view_data)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("read-only view")

    def __repr__(self) -> str:
        return f"ReadOnlyMapping({dict(self._view_data)!r})"

    def __or__(self, other: Any) -> Any:
        return {**self._view_data, **other} if isinstance(other, Mapping) else NotImplemented

    def copy(self) -> dict[Any, Any]:
        """A plain dict with the same items."""
        return dict(self._view_data)

"""pydantic's descriptor proxy (what ``computed_field`` and the validator decorators return),
with a ``setter`` and ``deleter`` function code may call."""

from __future__ import annotations

from typing import Any

from pydantic._internal import _decorators


class ProxyAttribute:
    """``setter`` or ``deleter`` of pydantic's descriptor proxy (what ``computed_field`` returns),
    for function code: the wrapped property's own, by its fixed name. pydantic's is a
    ``functools.partial`` of a private method whose ``name=`` keyword a caller can replace,
    which makes it a getattr of any name (dunders included) on what the proxy holds."""

    __slots__ = ("_name", "_proxy")

    def __init__(self, proxy: Any, name: str) -> None:
        self._proxy = proxy
        self._name = name

    def __call__(self, func: Any, /) -> Any:
        return self._proxy._call_wrapped_attr(func, name=self._name)


def install_proxy_attributes() -> None:
    """Give every pydantic descriptor proxy made from now on fixed-name ``setter`` and
    ``deleter`` (``ProxyAttribute``), once per process."""
    proxy_class = _decorators.PydanticDescriptorProxy
    original = vars(proxy_class)["__post_init__"]
    if getattr(original, "__corral_fixed__", False):
        return

    def post_init(self: Any) -> None:
        original(self)
        for name in ("setter", "deleter"):
            if name in vars(self):
                setattr(self, name, ProxyAttribute(self, name))

    post_init.__corral_fixed__ = True  # type: ignore[attr-defined]
    proxy_class.__post_init__ = post_init  # type: ignore[method-assign]

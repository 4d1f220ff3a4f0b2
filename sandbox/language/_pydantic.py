"""pydantic as customer code sees it.

Customer models subclass a guarded ``BaseModel``: at class creation (before pydantic collects
fields) it refuses ``model_config`` keys outside the policy and string annotations, however the
class was made. ``model_validate(from_attributes=True)`` is refused (it reads any attribute,
dunders included). Decorators and constrained-type helpers (``conlist``) that take a type as an
argument check it for strings and raw schemas (dicts and mappings). Which
pydantic methods may be called at all is decided by the attribute guard (``pydantic_methods``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, Self

import pydantic

from sandbox.language._annotations import check_annotation
from sandbox.language._errors import deny
from sandbox.language._policy import Policy


def check_config(config: Iterable[str], allowed: frozenset[str]) -> None:
    """Refuse ``model_config`` keys outside ``allowed``.

    Raises:
        SandboxViolation: ``pydantic_config`` naming the refused keys.
    """
    refused = sorted(set(config) - allowed)
    if refused:
        deny(
            "pydantic_config",
            f"model_config key(s) {', '.join(map(repr, refused))} are not allowed in functions; "
            f"allowed keys: {', '.join(sorted(allowed))}",
        )


def _check_model_class(cls: type, allowed: frozenset[str]) -> None:
    namespace = vars(cls)
    check_config(namespace.get("model_config") or {}, allowed)
    for annotation in dict(namespace.get("__annotations__") or {}).values():
        check_annotation(annotation)


def _make_base_model(allowed: frozenset[str]) -> type[pydantic.BaseModel]:
    class BaseModel(pydantic.BaseModel):
        """pydantic's ``BaseModel`` for functions (guarded configuration and annotations)."""

        def __init_subclass__(cls, **kwargs: Any) -> None:
            _check_model_class(cls, allowed)
            super().__init_subclass__(**kwargs)

        @classmethod
        def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
            """Validate ``obj`` (a dict or a model) into an instance of this model."""
            if kwargs.get("from_attributes"):
                deny(
                    "pydantic_from_attributes",
                    "model_validate(from_attributes=True) is not allowed in functions: "
                    "pass a dict (or use model_dump() on another model)",
                )
            return super().model_validate(obj, **kwargs)

        def model_copy(
            self, *, update: Mapping[str, Any] | None = None, deep: bool = False
        ) -> Self:
            """A copy of this model, with the fields in ``update`` (public names only)."""
            if update is not None:
                _check_update(update)
            return super().model_copy(update=update, deep=deep)

    return BaseModel


def _check_update(update: object) -> None:
    """``model_copy``'s ``update`` writes each key into the copy's namespace, unchecked by
    pydantic: a private name there (``__get_pydantic_core_schema__``, a hook pydantic would
    call) is what the attribute guard keeps function code from writing.

    Raises:
        SandboxViolation: ``private_attribute`` for a key that is not a plain public name.
    """
    if type(update) is not dict:
        deny("pydantic_update", "model_copy(update=...) takes a plain dict of field names")
    for key in dict.keys(update):
        if type(key) is not str or key.startswith("_"):
            deny(
                "private_attribute",
                f"model_copy(update=...) may not set {key!r}: names beginning with '_' are "
                "private, and a name must be a plain string",
            )


def _make_config_dict(allowed: frozenset[str]) -> Callable[..., dict[str, Any]]:
    def config_dict(**kwargs: Any) -> dict[str, Any]:
        check_config(kwargs, allowed)
        return dict(kwargs)

    config_dict.__name__ = config_dict.__qualname__ = "ConfigDict"
    config_dict.__doc__ = "Model configuration (only the keys the sandbox policy allows)."
    return config_dict


def _typed(
    func: Callable[..., Any], names: tuple[str, ...], positions: tuple[int, ...] = ()
) -> Callable[..., Any]:
    """``func``, checking the arguments that pydantic treats as types."""

    def checked(*args: Any, **kwargs: Any) -> Any:
        for name in names:
            if name in kwargs:
                check_annotation(kwargs[name])
        for index in positions:
            if index < len(args):
                check_annotation(args[index])
        return func(*args, **kwargs)

    checked.__name__ = checked.__qualname__ = func.__name__
    checked.__doc__ = func.__doc__
    return checked


@lru_cache(maxsize=16)
def pydantic_substitutes(policy: Policy) -> dict[str, object]:
    """The pydantic names that customer code gets in a guarded form, for ``policy``."""
    allowed = policy.pydantic_config_keys
    return {
        "BaseModel": _make_base_model(allowed),
        "ConfigDict": _make_config_dict(allowed),
        "field_validator": _typed(pydantic.field_validator, ("json_schema_input_type",)),
        "field_serializer": _typed(pydantic.field_serializer, ("return_type",)),
        "model_serializer": _typed(pydantic.model_serializer, ("return_type",)),
        "computed_field": _typed(pydantic.computed_field, ("return_type",)),
        "BeforeValidator": _typed(pydantic.BeforeValidator, ("json_schema_input_type",), (1,)),
        "conlist": _typed(pydantic.conlist, ("item_type",), (0,)),
    }

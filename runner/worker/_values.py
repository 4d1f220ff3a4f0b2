"""Values crossing the worker boundary: models and dicts to JSON-able data.

A pydantic model becomes ``model_dump(mode="json", by_alias=True, exclude_unset=True)``: an unset
field is omitted (JavaScript's ``undefined``), a field set to ``None`` is ``null``. Other values
pass through pydantic's JSON conversion (datetimes to ISO strings, tuples to lists, ...).

A batch of records is validated and converted at once where it can be
(:func:`json_values_at_once`): one call into pydantic's core for the whole list instead of two
per record, which was the largest per-record cost in the worker.
"""

from __future__ import annotations

import functools
from typing import Any

import pydantic
import pydantic_core

from corral.errors import RunFailure


def to_json_value(value: Any, *, error_type: str, what: str) -> Any:
    """JSON-able data for a value given by function code.

    Raises:
        RunFailure: ``error_type`` when the value cannot be represented as JSON.
    """
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    try:
        return pydantic_core.to_jsonable_python(value, by_alias=True, exclude_none=False)
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError) as exc:
        raise RunFailure(error_type, f"{what} is not JSON-serialisable: {exc}") from None


def validation_errors(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """A ValidationError's errors as JSON-able data, without the input values' internals."""
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def validate_with(model: Any, value: Any, *, error_type: str, what: str) -> Any:
    """Validates ``value`` against a model class (None: no model); returns the model instance.

    Raises:
        RunFailure: ``error_type`` with the validation errors as payload.
    """
    if model is None or isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise RunFailure(
            error_type, f"{what} does not match its model", payload=validation_errors(exc)
        ) from None


def json_values_at_once(model: Any, values: list[Any]) -> list[Any] | None:
    """What ``to_json_value(validate_with(model, value))`` gives for each value, for the whole
    list in one call of pydantic's core (a list adapter of ``model``, made once per model);
    None when any value fails or the list is not plain dicts, so that the caller's one-by-one
    path raises its error for the first value that fails, as it always has.

    ``model`` None (no model, or validation off) converts the dicts as ``to_json_value`` does.
    """
    if not values or not all(type(value) is dict for value in values):
        return None  # models given as instances dump as their own class: one by one
    try:
        if model is None:
            data: list[Any] = pydantic_core.to_jsonable_python(
                values, by_alias=True, exclude_none=False
            )
            return data
        if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
            return None
        adapter = _list_adapter(model)
        instances = adapter.validate_python(values)
        if not all(type(instance) is model for instance in instances):
            return None  # a validator made something else: dumped as its own class
        dumped: list[Any] = adapter.dump_python(
            instances, mode="json", by_alias=True, exclude_unset=True
        )
        return dumped
    except (ValueError, TypeError):  # ValidationError and PydanticSerializationError too
        return None


@functools.lru_cache(maxsize=64)
def _list_adapter(model: type[pydantic.BaseModel]) -> pydantic.TypeAdapter[list[Any]]:
    return pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]

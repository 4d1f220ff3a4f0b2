"""Values crossing the worker boundary: models and dicts to JSON-able data.

A pydantic model becomes ``model_dump(mode="json", by_alias=True, exclude_unset=True)``: an unset
field is omitted (JavaScript's ``undefined``), a field set to ``None`` is ``null``. Other values
pass through pydantic's JSON conversion (datetimes to ISO strings, tuples to lists, ...).
"""

from __future__ import annotations

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

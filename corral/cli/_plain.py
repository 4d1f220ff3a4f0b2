"""API messages as the commands print them: plain JSON a script can use as it is.

- Every field is there, with its empty value when unset (``[]``, ``{}``, ``""``, ``0``; a message
  field that is not set is ``null``), so a script never has to ask whether a key exists.
- Enums are plain words: ``FUNCTION_KIND_ON_EVENT`` is ``"on_event"``, ``RUN_STATE_FAILED`` is
  ``"failed"``; the unspecified value is ``null``.
- A field that carries JSON text (``output_json``, ``metadata_json``, ...) is printed as the value
  it holds, under its name without ``_json`` (``output``, ``metadata``); text that is not JSON
  stays a string, and an empty one is ``null``.
- 64-bit integers are numbers (protobuf's own JSON form makes them strings); bytes are base64.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

JSON_SUFFIX = "_json"


def plain(message: Message) -> dict[str, Any]:
    """The message as a dict of plain JSON values (see the module's docstring)."""
    out: dict[str, Any] = {}
    fields: list[Any] = list(message.DESCRIPTOR.fields)  # descriptors: protobuf types them loosely
    for field in fields:
        value = getattr(message, field.name)
        carries_json = (
            field.name.endswith(JSON_SUFFIX) and field.type == FieldDescriptor.TYPE_STRING
        )
        if _is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            carries_json = field.name.endswith(JSON_SUFFIX) and (
                value_field.type == FieldDescriptor.TYPE_STRING
            )
            converted: Any = {str(k): _one(value_field, v) for k, v in value.items()}
            if carries_json:
                converted = {k: _parsed(v) for k, v in converted.items()}
        elif field.is_repeated:
            converted = [_one(field, v) for v in value]
            if carries_json:
                converted = [_parsed(v) for v in converted]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
            converted = None
        else:
            converted = _one(field, value)
            if carries_json:
                converted = _parsed(converted)
        out[field.name.removesuffix(JSON_SUFFIX) if carries_json else field.name] = converted
    return out


def _is_map(field: Any) -> bool:
    return bool(
        field.type == FieldDescriptor.TYPE_MESSAGE
        and field.is_repeated
        and field.message_type.GetOptions().map_entry
    )


def _one(field: Any, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return plain(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_word(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    return value


def _parsed(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None if text == "" else text
    try:
        return json.loads(text)
    except ValueError:
        return text


def enum_word(enum: Any, number: int) -> str | None:
    """``RUN_STATE_FAILED`` of ``RunState`` as ``"failed"``; the unspecified value (0) as
    None; a number the descriptor does not know (a newer server) as that number in text."""
    known = enum.values_by_number.get(number)
    if known is None:
        return str(number)
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
    word = known.name.removeprefix(prefix).lower()
    return None if word == "unspecified" else word

"""A batch of records in the worker, all at once: what the SDK sends is what it sent one record
at a time (``runner.worker._values.json_values_at_once``, ``runner.sdk._wire.record_batches``)."""

from __future__ import annotations

import datetime
import math
from typing import Any

import pydantic
import pytest

from corral._json import compact
from runner.sdk._wire import record_batches
from runner.worker._values import json_values_at_once, to_json_value, validate_with


class Tag(pydantic.BaseModel):
    name: str
    weight: float = 1.0


class Item(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(populate_by_name=True)

    id: str | int
    title: str = pydantic.Field(alias="Title")
    note: str | None = None
    at: datetime.datetime | None = None
    tags: list[Tag] = []
    extra: dict[str, Any] = {}


class Special(Item):
    pass


class Other(pydantic.BaseModel):
    id: str
    more: str


class Swapping(pydantic.BaseModel):
    """A model whose validator gives back an instance of another class."""

    id: str

    @pydantic.model_validator(mode="wrap")
    @classmethod
    def swap(cls, value: Any, handler: Any) -> Any:
        made = handler(value)
        return Other(id=made.id, more="x") if made.id == "swap" else made


RECORDS: list[Any] = [
    {"id": "1", "Title": "a"},
    {"id": 2, "title": "b", "note": None},
    {"id": "3", "Title": "c", "at": "2026-12-06T07:00:00Z", "tags": [{"name": "t"}]},
    {"id": "4", "Title": "é ☃", "tags": [{"name": "u", "weight": 2}], "extra": {"k": [1, None]}},
]


def _one_by_one(model: Any, values: list[Any]) -> list[Any]:
    return [
        to_json_value(validate_with(model, v, error_type="e", what="a"), error_type="e", what="a")
        for v in values
    ]


@pytest.mark.parametrize("model", [Item, Tag, None])
def test_a_batch_at_once_is_what_one_record_at_a_time_gives(model: Any) -> None:
    values = RECORDS if model is not Tag else [{"name": "x"}, {"name": "y", "weight": 3}]
    at_once = json_values_at_once(model, values)
    assert at_once is not None
    assert at_once == _one_by_one(model, values)
    assert [compact(v) for v in at_once] == [compact(v) for v in _one_by_one(model, values)]


@pytest.mark.parametrize(
    "values",
    [
        [{"id": "1", "Title": "a"}, {"id": "2"}],  # a record fails its model
        # an instance dumps as its own class
        [{"id": "1", "Title": "a"}, Item.model_validate({"id": "2", "Title": "b"})],
        [{"id": "1", "Title": "a"}, "not a record"],
        [],
    ],
)
def test_a_batch_that_cannot_go_at_once_is_left_to_the_one_by_one_path(values: list[Any]) -> None:
    assert json_values_at_once(Item, values) is None


def test_a_validator_that_makes_another_class_is_left_to_the_one_by_one_path() -> None:
    assert json_values_at_once(Swapping, [{"id": "a"}]) == [{"id": "a"}]
    assert json_values_at_once(Swapping, [{"id": "a"}, {"id": "swap"}]) is None
    special = [{"id": "a", "Title": "t"}]  # a subclass model: its own class, all at once
    assert json_values_at_once(Special, special) == _one_by_one(Special, special)


def test_without_a_model_values_that_are_not_json_are_left_to_the_one_by_one_path() -> None:
    assert json_values_at_once(None, [{"id": "1", "v": object()}]) is None
    assert json_values_at_once(None, [{"id": "1", "at": datetime.date(2026, 1, 2)}]) == [
        {"id": "1", "at": "2026-01-02"}
    ]


def test_a_batch_that_fits_is_one_array_of_the_records_own_encodings() -> None:
    records = [{"id": str(n), "title": f"é {n}", "v": [n, None, True]} for n in range(50)]
    (batch,) = record_batches("Item", records, 1 << 20)
    assert batch.records_json == b"[" + b",".join(compact(r).encode() for r in records) + b"]"


def test_the_whole_array_goes_in_one_message_exactly_when_it_fits() -> None:
    records = [{"id": "1", "t": "x" * 40}, {"id": "2", "t": "y" * 40}]
    whole = compact(records).encode()
    fits = len(whole) - 1 + len(b"Item") + 16
    assert len(record_batches("Item", records, fits)) == 1
    parts = record_batches("Item", records, fits - 1)
    assert [p.records_json for p in parts] == [b"[" + compact(r).encode() + b"]" for r in records]


def test_a_batch_that_is_not_strict_json_raises_as_one_record_did() -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        record_batches("Item", [{"id": "1"}, {"id": "2", "v": math.nan}], 1 << 20)

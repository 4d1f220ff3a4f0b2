"""pydantic's schema builder refuses raw schemas, whatever checks came before it.

These tests call pydantic directly (no compiled customer code, so no earlier check runs): the
guard installed by ``Program.load`` is the line that must hold on its own.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pydantic
import pytest

from sandbox.language._errors import (
    FILE_KEY,
    ResourceLimitExceeded,
    SandboxViolation,
    reset_run_state,
    violations,
)
from sandbox.language._schema_check import MAX_DEPTH, MAX_NODES, check_core_schema
from sandbox.language._schema_guard import install_schema_guard, is_mapping_like

RAW: dict[str, Any] = {
    "type": "union",
    "choices": [{"type": "dataclass", "cls": object, "fields": [], "schema": {"type": "any"}}],
}


@pytest.fixture(autouse=True)
def guard() -> Iterator[None]:
    install_schema_guard()
    install_schema_guard()  # a second install changes nothing
    reset_run_state()
    yield
    reset_run_state()


def _refused(build: typing.Callable[[], object]) -> None:
    with pytest.raises(SandboxViolation) as caught:
        build()
    assert caught.value.rule == "pydantic_raw_schema"
    assert [record["rule"] for record in violations()] == ["pydantic_raw_schema"]


def _dataclass_with(annotation: object) -> type:
    return dataclasses.make_dataclass("Inner", [("value", annotation)])


POSITIONS: dict[str, typing.Callable[[object], object]] = {
    "top level": lambda raw: raw,
    "list": lambda raw: list[raw],  # type: ignore[valid-type]
    "typing.List": lambda raw: typing.List[raw],  # type: ignore[valid-type]  # noqa: UP006
    "dict value": lambda raw: dict[str, raw],  # type: ignore[valid-type]
    "tuple": lambda raw: tuple[int, raw],  # type: ignore[valid-type]
    "Annotated": lambda raw: typing.Annotated[list[raw], pydantic.Field(max_length=3)],  # type: ignore[valid-type]
    "conlist": pydantic.conlist,
    "stdlib dataclass": _dataclass_with,
}


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_type_adapter_refuses_raw_schemas_in_every_position(position: str) -> None:
    _refused(lambda: pydantic.TypeAdapter(POSITIONS[position](RAW)))


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_models_refuse_raw_schemas_in_every_position(position: str) -> None:
    annotation = POSITIONS[position](RAW)
    _refused(lambda: pydantic.create_model("Thing", value=(annotation, ...)))


def test_a_dict_filled_after_any_earlier_check_is_refused() -> None:
    late: dict[str, Any] = {}
    alias = list[late]  # type: ignore[valid-type]
    late.update(RAW)
    _refused(lambda: pydantic.TypeAdapter(alias))


def test_mappings_and_mapping_like_objects_are_refused() -> None:
    class Schema(dict[str, Any]):
        pass

    class Table:
        def keys(self) -> list[str]:
            return ["type"]

        def get(self, key: str, default: object = None) -> object:
            return "any"

    for raw in (Schema(RAW), MappingProxyType(RAW), Table()):
        reset_run_state()
        _refused(lambda raw=raw: pydantic.TypeAdapter(raw))


def test_computed_field_and_serializer_return_types_are_refused() -> None:
    def computed() -> type:
        class Thing(pydantic.BaseModel):
            a: int = 1

            @pydantic.computed_field(return_type=RAW)  # type: ignore[prop-decorator]
            @property
            def doubled(self) -> int:
                return self.a * 2

        return Thing

    _refused(computed)
    reset_run_state()

    def serializer() -> type:
        class Thing(pydantic.BaseModel):
            a: int = 1

            @pydantic.field_serializer("a", return_type=RAW)
            def dump(self, value: int) -> int:
                return value

        return Thing

    _refused(serializer)


def test_types_are_not_mapping_like() -> None:
    for value in (dict, dict[str, int], typing.Dict[str, int], typing.Any, int, MappingProxyType):  # noqa: UP006
        assert not is_mapping_like(value), value
    for value in ({}, MappingProxyType({}), {"type": "any"}):
        assert is_mapping_like(value), value


def test_the_final_check_refuses_what_reads_attributes() -> None:
    bad: list[dict[str, Any]] = [
        {"type": "model-fields", "fields": {}, "from_attributes": True},
        {"type": "model", "cls": object, "schema": {"type": "any"}},
        {"type": "dataclass", "cls": int, "fields": [], "schema": {"type": "any"}},
        {"type": "dataclass", "cls": "x", "fields": [], "schema": {"type": "any"}},
        {"type": "any", "serialization": {"type": "model", "cls": pydantic.BaseModel}},
    ]
    for schema in bad:
        with pytest.raises(SandboxViolation):
            check_core_schema({"type": "list", "items_schema": schema})


def test_a_discriminated_union_reads_only_public_tag_names() -> None:
    def union(discriminator: Any) -> dict[str, Any]:
        choices = {"a": {"type": "any"}}
        return {
            "type": "tagged-union",
            "choices": choices,
            "discriminator": discriminator,
            "from_attributes": True,
        }

    for fine in ("kind", [["kind"], ["alias", 0]]):
        check_core_schema(union(fine))
    for bad in ("__class__", "_x", [["kind"], ["__globals__"]], [], [[]], [[1.5]], None, 3):
        with pytest.raises(SandboxViolation):
            check_core_schema(union(bad))


def test_the_final_check_refuses_computed_fields_of_other_names() -> None:
    class Thing(pydantic.BaseModel):
        a: int = 1

        @pydantic.computed_field  # type: ignore[prop-decorator]
        @property
        def doubled(self) -> int:
            return self.a * 2

    check_core_schema(Thing.__pydantic_core_schema__)
    for name in ("__class__", "a", "_private", "not an identifier", 3):
        field = {"type": "computed-field", "property_name": name, "return_schema": {"type": "any"}}
        inner = {"type": "model-fields", "fields": {}, "computed_fields": [field]}
        with pytest.raises(SandboxViolation):
            check_core_schema({"type": "model", "cls": Thing, "schema": inner})
    with pytest.raises(SandboxViolation):  # a computed field outside any class
        check_core_schema({"type": "computed-field", "property_name": "doubled"})


def test_deep_and_large_schemas_are_resource_errors_not_crashes() -> None:
    deep: dict[str, Any] = {"type": "any"}
    for _ in range(20_000):
        deep = {"type": "list", "items_schema": deep}
    with pytest.raises(ResourceLimitExceeded) as caught:
        check_core_schema(deep)
    assert caught.value.code == "resource_exhausted"
    assert str(MAX_DEPTH) in str(caught.value)
    wide = {"type": "tuple", "items_schema": [{"type": "int"} for _ in range(MAX_NODES + 1)]}
    with pytest.raises(ResourceLimitExceeded):
        check_core_schema(wide)


def test_real_schemas_pass_the_final_check() -> None:
    @pydantic.dataclasses.dataclass
    class Point:
        x: int
        y: int

    class Thing(pydantic.BaseModel):
        points: list[Point] = []
        labels: dict[str, int | None] = {}

    check_core_schema(Thing.__pydantic_core_schema__)
    adapter = pydantic.TypeAdapter(list[Thing])
    assert adapter.validate_python([{"points": [{"x": 1, "y": 2}]}])[0].points[0].y == 2
    assert violations() == []


def _function_hook() -> Any:
    """A schema hook whose code belongs to function code (its globals name a function file)."""
    namespace: dict[str, Any] = {FILE_KEY: "hook.py"}
    exec("def hook(source, handler):\n    return {'type': 'any'}\n", namespace)  # noqa: S102
    return namespace["hook"]


def test_schema_hooks_written_by_functions_are_refused() -> None:
    hook = _function_hook()
    hooked_type = type("Hooked", (), {"__get_pydantic_core_schema__": classmethod(hook)})
    _refused(lambda: pydantic.TypeAdapter(hooked_type))
    reset_run_state()
    metadata = type("Meta", (), {"__get_pydantic_core_schema__": staticmethod(hook)})()
    _refused(lambda: pydantic.TypeAdapter(typing.Annotated[int, metadata]))


def test_schema_hooks_not_of_a_library_class_are_refused() -> None:
    """A hook that is no function's code still returns what the function put in it (a builtin's
    bound method), and one in an instance's own namespace was put there, not defined."""
    table = {int: {"type": "any"}}

    class Carrier:  # a library-like class: its instances take any attribute
        pass

    on_instance = Carrier()
    on_instance.__get_pydantic_core_schema__ = table.get  # type: ignore[attr-defined]
    _refused(lambda: pydantic.TypeAdapter(typing.Annotated[int, on_instance]))
    reset_run_state()
    on_class = type("OnClass", (), {"__get_pydantic_core_schema__": staticmethod(table.get)})
    from sandbox.language._registry import register_class  # noqa: PLC0415

    register_class(on_class)  # a class of the function's, however the hook got onto it
    _refused(lambda: pydantic.TypeAdapter(on_class))
    reset_run_state()
    pydantic.TypeAdapter(typing.Annotated[int, pydantic.Field(gt=0)])  # the library's own hooks
    pydantic.TypeAdapter(pydantic.SecretStr)
    assert violations() == []


def test_the_final_check_takes_only_plain_containers_and_keys() -> None:
    """A subclass could show the check other content than pydantic-core reads (a ``get`` that
    hides ``from_attributes``; a key whose hash is not its text's)."""

    class Hidden(dict):  # type: ignore[type-arg]
        def get(self, key: Any, default: Any = None) -> Any:
            return None if key == "from_attributes" else dict.get(self, key, default)

    class Items(list):  # type: ignore[type-arg]
        pass

    class Key(str):
        __hash__ = str.__hash__

    hidden = Hidden(type="model-fields", fields={}, from_attributes=True)
    for schema in (
        {"type": "list", "items_schema": hidden},
        {"type": "tuple", "items_schema": Items([{"type": "int"}])},
        {Key("type"): "any"},
        {"type": "any", object(): 1},
    ):
        with pytest.raises(SandboxViolation):
            check_core_schema(schema)

    class Kind(enum.StrEnum):
        A = "a"

    tags = {"type": "tagged-union", "discriminator": "kind"}
    for choices in ({Kind.A: {"type": "any"}}, {1: {"type": "any"}}, {"a": {"type": "any"}}):
        check_core_schema(tags | {"choices": choices})


def test_a_name_standing_for_a_string_is_never_evaluated_in_turn() -> None:
    """Whatever the route to it, a forward reference whose name resolves to a string (code of
    the function's) is refused, not evaluated with the real builtins."""
    evaluated: list[str] = []
    namespace = {"Any": "evaluated.append('ran') or int", "evaluated": evaluated}
    with pytest.raises(SandboxViolation) as caught:
        typing.get_type_hints(_annotated("Any"), globalns=namespace)
    assert caught.value.rule == "string_annotation"
    assert evaluated == []
    reset_run_state()
    assert typing.get_type_hints(_annotated("int")) == {"return": int}  # a real type still is


def _annotated(annotation: str) -> Any:
    def function() -> None:
        pass

    function.__annotations__ = {"return": annotation}
    return function


def test_a_library_functions_annotations_resolve_in_its_own_module() -> None:
    """pydantic reads a library function's string annotations with the model's namespace as its
    locals; a class attribute of the model named like one must not stand for it."""

    class Model(pydantic.BaseModel):
        SecretType: typing.ClassVar[str] = "int"  # would make the getter's type int
        x: int = 0
        shown = pydantic.computed_field(pydantic.SecretStr("s").get_secret_value)  # type: ignore[prop-decorator]

    inner: Any = Model.__pydantic_core_schema__
    while "computed_fields" not in inner:
        inner = inner["schema"]
    assert inner["computed_fields"][0]["return_schema"]["type"] != "int"  # pydantic's own TypeVar
    assert violations() == []


def test_a_function_of_the_file_with_string_annotations_is_refused() -> None:
    hook = _function_hook()
    hook.__annotations__ = {"return": "int"}
    from pydantic._internal import _typing_extra  # noqa: PLC0415

    with pytest.raises(SandboxViolation):
        _typing_extra.get_function_type_hints(hook)


@pytest.mark.parametrize(
    "text",
    [
        "(print('ran'), int)[1]",
        "__import__('os')",
        "int.__subclasses__",
        "[x for x in ()]",
        "lambda: int",
        "1 + 2",
        "__builtins__",
    ],
)
def test_typing_evaluates_only_type_expressions(text: str) -> None:
    """Whoever made the forward reference (``Literal[Optional[int] | "..."]`` made one of the
    function's string, past every annotation check), typing evaluates no call or operator."""
    function = _annotated("int")
    function.__annotations__ = {"return": typing.ForwardRef(text)}
    with pytest.raises(SandboxViolation) as caught:
        typing.get_type_hints(function)
    assert caught.value.rule == "string_annotation"


def test_type_expressions_of_libraries_still_evaluate() -> None:
    for text, expected in (
        ("dict[str, int] | None", dict[str, int] | None),
        ("typing.Callable[..., int]", typing.Callable[..., int]),
        ("typing.Literal['a', 1]", typing.Literal["a", 1]),
        ("list[int]", list[int]),
    ):
        function = _annotated(text)
        assert typing.get_type_hints(function, globalns={"typing": typing}) == {"return": expected}

"""The compile-time half of ``pydantic_raw_schema``: literals the source shows in type positions."""

from __future__ import annotations

import ast

import pytest

from corral.errors import CompileError
from sandbox import check_sources, compile_program
from sandbox.language._schema_source import schema_source_violations

REFUSED = [
    'x: {"type": "any"}',
    "x: {int}",
    'x: list[{"type": "any"}]',
    'x: dict[str, {"type": "any"}]',
    'x: tuple[int, {"type": "any"}]',
    'x: int | {"type": "any"}',
    'x: typing.Optional[{"type": "any"}]',
    'x: Annotated[{"type": "any"}, Field(ge=0)]',
    'x: {k: "any" for k in ["type"]}',
    'A = list[{"type": "any"}]',
    'A = conlist({"type": "any"})',
    'A = conlist(item_type={"type": "any"})',
    'A = pydantic.TypeAdapter({"type": "any"})',
    'A = computed_field(return_type={"type": "any"})',
    'A = field_serializer("a", return_type={"type": "any"})',
    'A = BeforeValidator(f, {"type": "any"})',
    'def f(x: {"type": "any"}): pass',
    'def f() -> {"type": "any"}: pass',
]

ALLOWED = [
    "x: dict = {}",
    'x: dict[str, int] = {"a": 1}',
    'x: Annotated[int, {"note": 1}] = 0',
    'x: Literal["a", "b"] = "a"',
    'x: int = Field(0, json_schema_extra={"type": "any"})',
    'y = {"type": "any"}',
    'y = helper(return_type={"type": "any"})',
    'y = BeforeValidator({"not": "a type"})',
    "y = {1, 2}",
]


@pytest.mark.parametrize("line", REFUSED)
def test_a_literal_in_a_type_position_is_refused(line: str) -> None:
    found = schema_source_violations("f.py", ast.parse("\n" + line + "\n"))
    assert [(v.rule, v.file, v.line) for v in found] == [("pydantic_raw_schema", "f.py", 2)]
    assert found[0].column > 0


@pytest.mark.parametrize("line", ALLOWED)
def test_a_literal_elsewhere_is_not_refused(line: str) -> None:
    assert schema_source_violations("f.py", ast.parse(line)) == []


def test_the_compiler_reports_it_with_file_line_and_column() -> None:
    source = (
        'from pydantic import BaseModel\n\n\nclass M(BaseModel):\n    x: list[{"type": "any"}]\n'
    )
    errors = check_sources({"m.py": source})
    assert [(e.rule, e.file, e.line, e.column) for e in errors] == [
        ("pydantic_raw_schema", "m.py", 5, 13)
    ]
    with pytest.raises(CompileError):
        compile_program({"m.py": source}, "m.py")

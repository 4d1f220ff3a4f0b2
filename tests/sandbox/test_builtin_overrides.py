"""A class of the function's that derives from a builtin value type keeps that type's methods;
what libraries make of such classes (enums, flags) still works. And the
containers the sandbox's own checks read in types are plain ones; a module's namespace is never
readable or writable, however it got to function code."""

from __future__ import annotations

import enum
import sys
import typing
from typing import Any

import pytest

from runner.worker._find_definition import SDK_MODULE
from sandbox import compile_program
from sandbox.language._allowlist import check_value
from sandbox.language._annotations import check_annotation, check_subscription
from sandbox.language._errors import SandboxViolation, reset_run_state
from sandbox.language._guards import Guards
from sandbox.language._policy import Policy


@pytest.fixture(autouse=True)
def _fresh() -> typing.Iterator[None]:
    reset_run_state()
    yield
    reset_run_state()


def _load(source: str) -> dict[str, Any]:
    return dict(compile_program({"f.py": source}, "f.py").load(SDK_MODULE))


@pytest.mark.parametrize(
    "body",
    [
        "class T(tuple):\n    def __iter__(self):\n        return iter(())",
        "class D(dict):\n    def items(self):\n        return []",
        "class D(dict):\n    get = dict.pop",
        "class L(list):\n    def __len__(self):\n        return 0",
        "class S(str):\n    def isidentifier(self):\n        return True",
        "class S(str):\n    def __hash__(self):\n        return 1",
        "class N(int):\n    def bit_length(self):\n        return 0",
        "class F(frozenset):\n    def __contains__(self, item):\n        return False",
        "class B(bytes):\n    def decode(self, *args):\n        return ''",
        "class A(tuple):\n    pass\nclass T(A):\n    def count(self, value):\n        return 0",
        "from enum import Enum\nclass E(str, Enum):\n    A = 'a'\n"
        "    def __contains__(self, item):\n        return True",
        "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass K(str):\n    n: int = 0",
        "class A:\n    def get(self, key, default=None):\n        return None\nclass B(A, dict):\n"
        "    pass",
        "class D(dict):\n    pass\nD.get = lambda self, key, default=None: None",
        "class D(dict):\n    pass\nsetattr(D, 'items', lambda self: [])",
        "class A:\n    pass\nclass T(A, tuple):\n    pass\nA.count = lambda self, value: 0",
        "class D(dict):\n    pass\nd = D()\nd.get = lambda key, default=None: None",
        "class S(str):\n    pass\ns = S('x')\nsetattr(s, 'startswith', lambda prefix: False)",
    ],
)
def test_a_class_redefining_a_builtin_types_method_is_refused(body: str) -> None:
    with pytest.raises(SandboxViolation) as caught:
        _load(body)
    assert caught.value.rule == "builtin_override"


def test_library_made_and_plain_subclasses_still_work() -> None:
    namespace = _load(
        "from enum import Enum, IntFlag, StrEnum\n"
        "class Pair(tuple):\n"
        "    def total(self):\n"
        "        return sum(self) * 2\n"
        "class Status(str, Enum):\n"
        "    OPEN = 'open'\n"
        "    def __str__(self):\n"
        "        return self.value\n"
        "class Perm(IntFlag):\n"
        "    R = 1\n"
        "    W = 2\n"
        "class Kind(StrEnum):\n"
        "    A = 'a'\n"
        "class Bag(dict):\n"
        "    def __init__(self, **values):\n"
        "        super().__init__(**values)\n"
        "    def total(self):\n"
        "        return sum(self.values())\n"
        "class Label(str):\n"
        "    def __repr__(self):\n"
        "        return 'Label:' + self\n"
        "class Plain:\n"
        "    pass\n"
        "Plain.count = 0\n"
        "Plain.count += 1\n"
        "bag = Bag(a=1)\n"
        "bag['b'] = 2\n"
        "bag.label = 'mine'\n"
        "del bag['a']\n"
        "result = (Pair((1, 1)).total(), str(Status.OPEN), int(Perm.R | Perm.W), str(Kind.A),\n"
        "          Bag(a=1, b=2).total(), repr(Label('x')), Plain.count, bag.total(), bag.label)\n"
    )
    assert namespace["result"] == (4, "open", 3, "a", 3, "Label:x", 1, 2, "mine")


def test_types_hold_only_plain_lists_and_tuples() -> None:
    class Items(tuple):  # type: ignore[type-arg]  # made outside function code
        pass

    for annotation in (Items((int,)), list[Items((int,))], [Items((int,))]):  # type: ignore[misc]
        with pytest.raises(SandboxViolation):
            check_annotation(annotation)
    with pytest.raises(SandboxViolation):
        check_subscription(list, Items((int,)))
    check_annotation(typing.Callable[[int], str])
    check_annotation(dict[str, list[int]])


def test_a_module_namespace_is_neither_readable_nor_writable() -> None:
    guards = Guards(Policy())
    for namespace in (vars(sys.modules["sandbox.language._guards"]), vars(sys.modules["builtins"])):
        with pytest.raises(SandboxViolation):
            check_value(namespace)
        with pytest.raises(SandboxViolation):
            guards.write(namespace)
    plain = {"__name__": "builtins", "x": 1}  # a dict that only says it is one
    assert check_value(plain) is plain
    assert guards.write(plain) is plain


def test_a_literal_takes_values_only_and_a_forward_reference_is_never_held() -> None:
    """``Literal`` was not walked: ``Literal[Optional[int] | "code"]`` carried a forward
    reference of the function's to pydantic, which typing then evaluated."""
    smuggled = typing.Optional[int] | typing.ForwardRef("print('ran')")  # noqa: UP045 - the attack's form
    for bad in (
        typing.Literal[smuggled],
        typing.Literal[typing.ForwardRef("x")],
        typing.Literal[int],
    ):
        with pytest.raises(SandboxViolation):
            check_annotation(bad)
    with pytest.raises(SandboxViolation):
        check_subscription(typing.Literal, (1, smuggled))
    with pytest.raises(SandboxViolation):
        check_value(typing.ForwardRef("int"))

    class Kind(enum.Enum):
        A = "a"

    check_annotation(typing.Literal["a", b"b", 1, True, None, Kind.A, "c"])


def test_callables_that_call_what_they_hold_are_never_held() -> None:
    """A library's partial of its private method was a getattr of any name once a caller
    replaced its keyword (pydantic's computed-field ``setter``)."""
    import functools  # noqa: PLC0415
    import operator  # noqa: PLC0415

    for held in (
        functools.partial(getattr, "x"),
        functools.partialmethod(getattr),
        operator.attrgetter("real"),
        operator.itemgetter(0),
        operator.methodcaller("upper"),
    ):
        with pytest.raises(SandboxViolation):
            check_value(held)


def test_a_computed_field_with_a_setter_still_works() -> None:
    namespace = _load(
        "from pydantic import BaseModel, computed_field\n"
        "class Box(BaseModel):\n"
        "    width: int = 1\n"
        "    @computed_field\n"
        "    @property\n"
        "    def double(self) -> int:\n"
        "        return self.width * 2\n"
        "    @double.setter\n"
        "    def double(self, value: int) -> None:\n"
        "        self.width = value // 2\n"
        "box = Box()\n"
        "box.double = 10\n"
        "result = (box.width, box.model_dump())\n"
    )
    assert namespace["result"] == (5, {"width": 5, "double": 10})


def test_the_guards_decide_on_what_a_typing_alias_forwards_to() -> None:
    """``Annotated[int, 1].copy_with((obj,))`` reads names it lacks from ``obj``: shared library
    state read through it is a read-only view, as read from ``obj`` itself."""
    import pydantic  # noqa: PLC0415

    from sandbox.language._guards import reached  # noqa: PLC0415

    field = pydantic.Field()
    alias = typing.Annotated[int, 1].copy_with((field,))  # type: ignore[attr-defined]
    assert reached(alias, "metadata_lookup") is field
    assert reached(alias, "copy_with") is alias  # the alias's own
    guards = Guards(Policy())
    through_alias = guards.getattr(alias, "metadata_lookup")
    with pytest.raises(SandboxViolation):
        guards.write(through_alias)

"""A bounded walk of everything function code can reach, through the guards' own routes.

It starts from what function code can name (its builtins, every allowed module, the SDK object,
a model it defines) and follows what the guards let through: attribute reads (``_getattr_``),
subscripts (``_getitem_``), iteration (``_getiter_``) and calls of a few side-effect-free
zero-argument methods and constructors (their results checked as compiled code checks them).
Nothing reached may be a forbidden kind (docs/security.md, "What function code can hold").
"""

from __future__ import annotations

import keyword
import types
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from runner._context import RunContext
from runner.sdk._nango import Nango
from runner.worker._find_definition import SDK_MODULE
from sandbox import compile_program, reset_run_state
from sandbox.language._allowlist import check_value, checked_iter
from sandbox.language._builtins import REFUSED_NAMES, shared_builtins
from sandbox.language._errors import FILE_KEY
from sandbox.language._facades import ModuleFacade
from sandbox.language._guards import Guards
from sandbox.language._policy import Policy
from sandbox.language._registry import is_customer_class

MAX_DEPTH = 4
MAX_NODES = 30_000
MAX_ITEMS = 40


_BUILTIN_NAMES = [
    *sorted(
        name
        for name in shared_builtins(Policy())
        if name.isidentifier()
        and not name.startswith("_")
        and name not in keyword.kwlist
        and name not in REFUSED_NAMES
    ),
    "type",
]
"""Every builtin function code can name, as the sandbox gives them."""

_MODULES = sorted(name for name in Policy().modules if "." not in name)
"""Every allowed top-level module (``urllib.parse`` is imported as ``parse`` below)."""

SOURCE = (
    "import nango as sdk\n"
    + "from nango import create_action\n"
    + "".join(f"import {name}\n" for name in _MODULES)
    + "from urllib import parse\n"
    + "from pydantic import BaseModel, Field\n"
    + "from dataclasses import dataclass, field\n\n\n"
    + "class Row(BaseModel):\n    value: int = Field(default=1, ge=0)\n\n\n"
    + "@dataclass\nclass Point:\n    x: int = field(default=0, metadata={'k': 1})\n\n\n"
    + "def run(nango, input):\n"
    + "    named = {"
    + ", ".join(f"{name!r}: {name}" for name in [*_BUILTIN_NAMES, *_MODULES, "parse"])
    + "}\n"
    + "    named.update(nango=nango, sdk=sdk, Row=Row, row=Row(), Point=Point, point=Point())\n"
    + "    named.update(pattern=re.compile('(?P<a>x)'), match=re.match('x', 'x'))\n"
    + "    named.update(error=ValueError('x'), sha=hashlib.sha256(b'x'))\n"
    + "    return named\n\n\n"
    + 'action = create_action(description="walk", version="1.0.0", exec=run)\n'
)

# Side-effect-free methods and constructors the walk may call with no arguments.
_SAFE_CALLS = frozenset(
    [
        "copy",
        "keys",
        "values",
        "items",
        "model_dump",
        "model_fields_set",
        "errors",
        "isoformat",
        "hexdigest",
        "digest",
        "groups",
        "groupdict",
        "as_tuple",
        "utcoffset",
        "tzname",
        "timetuple",
        "conjugate",
        "adjusted",
        "normalize",
        "is_required",
        "model_copy",
        "Field",
        "Decimal",
        "Context",
        "JSONEncoder",
        "SystemRandom",
        "date_time_now",
    ]
)


def _named() -> dict[str, Any]:
    namespace = compile_program({"walk.py": SOURCE}, "walk.py").load(SDK_MODULE)
    definition: Any = namespace["action"]
    named: dict[str, Any] = definition.exec(Nango(_no_calls, RunContext()), {})
    return named


def _no_calls(method: str, args: Mapping[str, Any]) -> Any:
    raise AssertionError(f"the walk made an SDK call: {method}")


def _forbidden(value: object, nameable: set[int]) -> str | None:
    """What forbidden kind ``value`` is, decided without the allow-list under test."""
    kinds = (
        types.ModuleType,
        types.FrameType,
        types.TracebackType,
        types.CodeType,
        types.CellType,
        types.MappingProxyType,
        types.CoroutineType,
        types.AsyncGeneratorType,
        types.GetSetDescriptorType,
        types.MemberDescriptorType,
    )
    if isinstance(value, kinds):
        return type(value).__name__
    if id(value) in nameable:
        return None
    if isinstance(value, types.GeneratorType) and value.gi_frame is not None:
        return None if FILE_KEY in value.gi_frame.f_globals else "library generator"
    if isinstance(value, types.FunctionType):
        own = FILE_KEY in value.__globals__ or value.__module__.startswith("sandbox.")
        decorator = value.__qualname__.endswith(("<locals>.dec", "<locals>.wrap"))
        return None if own or decorator else f"library function {value.__qualname__}"
    if isinstance(value, types.BuiltinFunctionType) and isinstance(
        value.__self__, types.ModuleType
    ):
        return f"module builtin {value.__name__}"
    if isinstance(value, type) and not (
        is_customer_class(value)
        or value.__module__.startswith("corral_function.")
        or any(is_customer_class(base) for base in value.__mro__)
    ):
        return f"class {value.__module__}.{value.__qualname__}"
    return None


def _children(guards: Guards, value: Any) -> Iterator[tuple[str, Any]]:
    for name in _names(guards, value):
        try:
            child = guards.getattr(value, name)
        except Exception:  # noqa: S112 - refused or failing reads lead nowhere
            continue
        yield name, child
        if callable(child) and name in _SAFE_CALLS:
            try:
                yield f"{name}()", check_value(child())
            except Exception:  # noqa: S112 - a refusal or a call that needs arguments
                continue
    if isinstance(value, (list, tuple, set, frozenset, Mapping)) or type(value).__name__.endswith(
        ("_keys", "_values", "_items")
    ):
        yield from _items(guards, value)


def _names(guards: Guards, value: Any) -> list[str]:
    try:
        return guards.dir(value)
    except Exception:  # objects whose dir() fails have no names to follow
        return []


def _items(guards: Guards, value: Any) -> Iterator[tuple[str, Any]]:
    try:
        for index, item in enumerate(checked_iter(value)):
            if index >= MAX_ITEMS:
                break
            yield f"[{index}]", item
            if isinstance(value, Mapping):
                yield f"[{item!r}]", guards.getitem(value, item)
    except Exception:  # noqa: S110 - a refused item ends the walk of this container
        pass


class _Unchecked(Guards):
    """The guards without the value check: what the walk finds when nothing is checked."""

    def getattr(self, obj: object, name: str, *default: object) -> object:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(obj, name, *default)

    def getitem(self, obj: Any, key: Any) -> object:
        return obj[key]


def _walk(guards: Guards) -> tuple[int, list[str]]:
    named = _named()
    nameable = {id(value) for value in named.values()}
    nameable.update(
        id(guards.getattr(value, name))
        for value in named.values()
        if isinstance(value, ModuleFacade)
        for name in guards.dir(value)
    )
    queue: deque[tuple[str, Any, int]] = deque((name, value, 0) for name, value in named.items())
    seen: set[int] = set()
    found: list[str] = []
    while queue and len(seen) < MAX_NODES:
        path, value, depth = queue.popleft()
        if id(value) in seen:
            continue
        seen.add(id(value))
        kind = _forbidden(value, nameable)
        if kind:
            found.append(f"{path}: {kind}")
        if depth < MAX_DEPTH and type(value) not in (str, bytes, int, float, bool):
            queue.extend(
                (f"{path}.{step}", child, depth + 1) for step, child in _children(guards, value)
            )
    return len(seen), found


def test_nothing_reachable_is_a_forbidden_kind() -> None:
    reset_run_state()
    seen, found = _walk(Guards(Policy()))
    reset_run_state()
    assert seen > 2_000, seen
    assert not found, found[:20]


def test_the_walk_finds_forbidden_kinds_when_values_are_not_checked() -> None:
    reset_run_state()
    _, found = _walk(_Unchecked(Policy()))
    reset_run_state()
    assert any("library function" in entry for entry in found), found[:20]
    assert any("mappingproxy" in entry for entry in found), found[:20]

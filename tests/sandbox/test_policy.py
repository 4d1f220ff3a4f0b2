"""The policy: the allow-lists of DESIGN.md, frozen data, and no way out from what it allows."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import gc
import importlib
import inspect
import sys
import types
import warnings
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox import DEFAULT_POLICY, Policy, reset_run_state
from sandbox.language import _policy as policy_module
from sandbox.language._facades import module_members
from sandbox.language._guards import Guards
from sandbox.language._registry import is_customer_class

DESIGN_MODULES = {
    "pydantic",
    "typing",
    "enum",
    "dataclasses",
    "hashlib",
    "hmac",
    "secrets",
    "base64",
    "uuid",
    "urllib.parse",
    "json",
    "datetime",
    "math",
    "re",
    "decimal",
}


def test_default_policy_allows_exactly_the_design_modules() -> None:
    assert set(DEFAULT_POLICY.modules) == DESIGN_MODULES
    assert DEFAULT_POLICY.sdk_module == "nango"
    assert "nango" in DEFAULT_POLICY.module_names
    assert DEFAULT_POLICY.packages == frozenset({"urllib"})


@pytest.mark.parametrize("module_name", sorted(DESIGN_MODULES))
def test_every_allowed_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in DEFAULT_POLICY.modules[module_name]:
        assert hasattr(module, name), f"{module_name}.{name}"
    assert set(module_members(DEFAULT_POLICY, module_name)) == DEFAULT_POLICY.modules[module_name]


def test_policy_is_frozen_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICY.sdk_module = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        DEFAULT_POLICY.modules["os"] = frozenset()  # type: ignore[index]
    assert Policy() == DEFAULT_POLICY
    assert hash(Policy()) == hash(DEFAULT_POLICY)
    assert Policy().fingerprint == DEFAULT_POLICY.fingerprint


def test_builders_return_new_policies() -> None:
    wider = DEFAULT_POLICY.with_modules({"statistics": ["mean"]})
    assert wider.modules["statistics"] == frozenset({"mean"})
    assert "statistics" not in DEFAULT_POLICY.modules
    assert wider.fingerprint != DEFAULT_POLICY.fingerprint
    assert "json" not in DEFAULT_POLICY.without_modules("json").modules
    assert "secret" in DEFAULT_POLICY.with_blocked_attributes("secret").blocked_attributes
    assert "__eq__" in DEFAULT_POLICY.with_dunder_methods("__eq__").dunder_methods
    with_key = DEFAULT_POLICY.with_pydantic_config_keys("defer_build")
    assert "defer_build" in with_key.pydantic_config_keys
    assert DEFAULT_POLICY.with_sdk_module("sdk").sdk_module == "sdk"
    assert DEFAULT_POLICY.with_limits(max_int_bits=64).max_int_bits == 64
    with pytest.raises(TypeError):
        DEFAULT_POLICY.with_limits(sdk_module=1)


def test_denials_that_matter_are_in_the_defaults() -> None:
    assert {"gi_frame", "f_back", "tb_frame", "cr_frame", "ag_frame", "co_code", "mro"} <= (
        DEFAULT_POLICY.blocked_attributes
    )
    assert not {"__eq__", "__lt__", "__getattr__", "__init_subclass__"} & (
        DEFAULT_POLICY.dunder_methods
    )
    assert not {"from_attributes", "defer_build", "use_attribute_docstrings"} & (
        DEFAULT_POLICY.pydantic_config_keys
    )
    assert "BaseModel.model_validate" not in DEFAULT_POLICY.pydantic_methods
    assert "dataclass" in DEFAULT_POLICY.modules["dataclasses"]
    assert "make_dataclass" not in DEFAULT_POLICY.modules["dataclasses"]
    assert not {"TypeAdapter", "ImportString", "create_model"} & DEFAULT_POLICY.modules["pydantic"]


def test_every_policy_field_has_a_docstring() -> None:
    tree = ast.parse(inspect.getsource(policy_module))
    [policy] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Policy"]
    body = policy.body
    fields = [i for i, node in enumerate(body) if isinstance(node, ast.AnnAssign)]
    assert len(fields) == len(dataclasses.fields(Policy))
    for index in fields:
        following = body[index + 1]
        assert isinstance(following, ast.Expr)
        assert isinstance(following.value, ast.Constant)


# What customer code can reach from the allowed modules, through the attribute guard.

_UNSAFE_BUILTINS = (
    *("eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars"),
    *("getattr", "setattr", "delattr", "input", "breakpoint", "type"),
)
_UNSAFE_IDS = {id(getattr(builtins, name)) for name in _UNSAFE_BUILTINS}
_UNSAFE_MODULES = {"os", "posix", "sys", "subprocess", "importlib", "pickle", "_pickle", "marshal"}
_PROTECTED = (types.ModuleType, types.FrameType, types.CodeType, types.TracebackType)


def _danger(value: Any) -> str | None:
    if isinstance(value, _PROTECTED):
        return "a module, frame, code or traceback object"
    if id(value) in _UNSAFE_IDS:
        return "an unsafe builtin"
    if isinstance(value, type) and issubclass(value, type):
        return "type or a metaclass"
    if isinstance(value, dict) and ("__builtins__" in value or "__import__" in value):
        return "a namespace dict"
    if callable(value) and getattr(value, "__module__", None) in _UNSAFE_MODULES:
        return f"a function of {value.__module__}"
    if value in (str.format, str.format_map):
        return "str.format"
    is_format = getattr(value, "__name__", None) in ("format", "format_map")
    if is_format and isinstance(getattr(value, "__self__", None), str):
        return "str.format"
    return None


def _samples() -> dict[str, Any]:
    """Instances customer code can make with the allowed modules (the walk starts there too)."""
    members = {module: module_members(DEFAULT_POLICY, module) for module in DEFAULT_POLICY.modules}
    pydantic, stdlib_json, datetime = members["pydantic"], members["json"], members["datetime"]

    def check(cls: Any, value: Any) -> Any:
        return value

    base: Any = pydantic["BaseModel"]
    model = type(base)("Sample", (base,), {"__annotations__": {"name": str}, "__module__": "x"})
    try:
        model(name=1)
    except pydantic["ValidationError"] as error:
        validation_error = error
    return {
        "model": model(name="a"),
        "model_class": model,
        "field_info": model.model_fields["name"],
        "validation_error": validation_error,
        "validator_proxy": pydantic["field_validator"]("name")(classmethod(check)),
        "url": pydantic["AnyUrl"]("https://a.b/c?d=1"),
        "secret": pydantic["SecretStr"]("x"),
        "alias_path": pydantic["AliasPath"]("a", 0),
        "encoder": stdlib_json["JSONEncoder"](),
        "decode_error": stdlib_json["JSONDecodeError"]("m", "doc", 0),
        "pattern": members["re"]["compile"]("(a)"),
        "match": members["re"]["match"]("(a)", "a"),
        "hmac": members["hmac"]["new"](b"k", b"m", "sha256"),
        "hash": members["hashlib"]["sha256"](),
        "random": members["secrets"]["SystemRandom"](),
        "uuid": members["uuid"]["uuid4"](),
        "split": members["urllib.parse"]["urlsplit"]("https://a.b/c"),
        "now": datetime["datetime"].now(datetime["timezone"].utc),
        "decimal": members["decimal"]["Decimal"]("1.5"),
        "context": members["decimal"]["getcontext"](),
        "local_context": members["decimal"]["localcontext"](),
        "dataclass_field": members["dataclasses"]["field"](),
        "generator": (x for x in [1]),
        "exception": KeyError("k"),
        "generic": members["typing"]["List"][int],
        "annotated": members["typing"]["Annotated"][int, 1],
    }


def _walk(guards: Guards, depth: int) -> Iterator[tuple[str, Any]]:
    queue: deque[tuple[str, Any, int]] = deque()
    for module_name in DEFAULT_POLICY.modules:
        for name, value in module_members(DEFAULT_POLICY, module_name).items():
            queue.append((f"{module_name}.{name}", value, 0))
    queue.extend((f"sample {name}", value, 0) for name, value in _samples().items())
    seen: set[int] = set()
    while queue:
        path, value, level = queue.popleft()
        if id(value) in seen:
            continue
        seen.add(id(value))
        yield path, value
        if level < depth:
            for name in dir(value):
                child = _read(guards, value, name)
                if child is not _REFUSED:
                    queue.append((f"{path}.{name}", child, level + 1))


_REFUSED = object()


def _read(guards: Guards, value: Any, name: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return guards.getattr(value, name)
    except Exception:
        return _REFUSED


def test_nothing_protected_is_reachable_from_the_allowed_modules() -> None:
    guards = Guards(DEFAULT_POLICY)
    reached = 0
    try:
        for path, value in _walk(guards, depth=6):
            reached += 1
            danger = _danger(value)
            assert danger is None, f"{path} is {danger}"
    finally:
        reset_run_state()
    assert reached > 2000


_MUTABLE = (dict, list, set, bytearray)


def _shared_containers() -> dict[int, str]:
    """Mutable containers that library classes and modules keep for the whole process."""
    found: dict[int, str] = {}
    for obj in gc.get_objects():
        if isinstance(obj, type) and not is_customer_class(obj):
            for name, value in vars(obj).items():
                if isinstance(value, _MUTABLE) and not name.startswith("__"):
                    found[id(value)] = f"{obj.__module__}.{obj.__qualname__}.{name}"
    for module in list(sys.modules.values()):
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if isinstance(value, _MUTABLE) and not (name.startswith("__") and name.endswith("__")):
                found[id(value)] = f"{module.__name__}.{name}"
    return found


def test_no_shared_library_state_is_writable_from_the_allowed_modules() -> None:
    """Nothing customer code reaches is a container the next load would see: a class's table
    read through an instance (``Field().metadata_lookup``) comes back read-only as well."""
    guards = Guards(DEFAULT_POLICY)
    try:
        reached = list(_walk(guards, depth=6))  # first: the samples import what they use
        shared = _shared_containers()
        for path, value in reached:
            if isinstance(value, _MUTABLE):
                assert id(value) not in shared, f"{path} is {shared[id(value)]}, writable"
    finally:
        reset_run_state()

"""The builtins of customer code: a safe subset, guarded stand-ins and refusing stubs.

Not available: ``eval``, ``exec``, ``compile``, ``open``, ``globals``, ``locals``, ``vars``,
``input``, ``breakpoint``, ``help``, ``exit``, ``quit`` and ``memoryview`` (each is a stub that
records a violation when called), ``__import__`` as a name, ``id``, ``ExceptionGroup``,
``SystemExit`` and ``KeyboardInterrupt``. ``getattr``, ``hasattr``, ``setattr``, ``delattr``,
``dir``, ``type`` and ``pow`` are guarded. ``print`` writes to the load's print sink.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NoReturn

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from sandbox.language._allowlist import check_value, register_nameable
from sandbox.language._builtin_overrides import refuse_builtin_overrides
from sandbox.language._errors import deny
from sandbox.language._facades import exposed_classes
from sandbox.language._guards import Guards
from sandbox.language._policy import Policy
from sandbox.language._registry import is_customer_class, register_class
from sandbox.language._types import GuardedType


def _words(text: str) -> list[str]:
    return text.split()


_SAFE_NAMES = _words(
    "abs all any ascii bin bool bytearray bytes callable chr classmethod complex dict divmod "
    "enumerate filter float format frozenset hash hex int isinstance issubclass iter len list map "
    "max min next object oct ord property range repr reversed round set slice sorted staticmethod "
    "str sum super tuple zip None True False Ellipsis NotImplemented"
)

_EXCEPTIONS = _words(
    "ArithmeticError AssertionError AttributeError BaseException BlockingIOError BufferError "
    "BytesWarning ConnectionAbortedError ConnectionError ConnectionRefusedError "
    "ConnectionResetError DeprecationWarning EOFError Exception FileExistsError "
    "FileNotFoundError FloatingPointError FutureWarning GeneratorExit ImportError ImportWarning "
    "IndexError InterruptedError KeyError LookupError MemoryError ModuleNotFoundError NameError "
    "NotImplementedError OSError OverflowError PendingDeprecationWarning PermissionError "
    "RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning StopIteration "
    "SyntaxError SyntaxWarning TimeoutError TypeError UnboundLocalError UnicodeDecodeError "
    "UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning ValueError "
    "Warning ZeroDivisionError"
)

_FORBIDDEN = {
    "open": "functions have no file access",
    "compile": "functions cannot make code",
    "eval": "functions cannot run code from strings",
    "exec": "functions cannot run code from strings",
    "globals": "module namespaces are not accessible",
    "locals": "namespaces are not accessible",
    "vars": "namespaces are not accessible",
    "input": "functions have no terminal",
    "breakpoint": "functions cannot be debugged in the sandbox",
    "help": "functions have no terminal",
    "exit": "return from the function instead",
    "quit": "return from the function instead",
    "memoryview": "raw memory is not accessible",
}

REFUSED_NAMES: frozenset[str] = frozenset(_FORBIDDEN)
"""Builtin names function code cannot use (the compiler refuses them; at run time they raise)."""

SAFE_CLASSES: frozenset[type] = frozenset(
    {type(None)}
    | {
        value
        for name in _SAFE_NAMES + _EXCEPTIONS
        if isinstance(value := getattr(builtins, name), type)
    }
)
"""Builtin classes whose ``type(x)`` customer code receives as the class itself."""


def _forbidden(name: str, reason: str) -> Callable[..., NoReturn]:
    def refused(*args: object, **kwargs: object) -> NoReturn:
        deny("forbidden_builtin", f"{name}() is not available in functions: {reason}")

    refused.__name__ = refused.__qualname__ = name
    return refused


def build_class(func: Callable[[], object], name: str, /, *bases: Any, **kwargs: Any) -> type:
    """``__build_class__`` for class statements: the class is registered as the function's own.

    The class may not be a metaclass, whatever its bases stand for: ``typing.Type`` and
    ``type[X]`` resolve to ``type`` through ``__mro_entries__``, and a metaclass would make
    classes with any special method (``__get_pydantic_core_schema__``, ``__eq__``...) without a
    class statement. Keywords beginning with ``_`` are refused: they reach the private
    parameters of library metaclasses (pydantic's ``__pydantic_generic_metadata__`` makes it
    evaluate strings).
    """
    if "metaclass" in kwargs:
        deny("metaclass", "metaclass= is not allowed in functions")
    private = sorted(key for key in kwargs if key.startswith("_"))
    if private:
        deny(
            "private_name",
            f"class keyword(s) {', '.join(map(repr, private))} are not allowed: "
            "names beginning with '_' are reserved",
        )
    for base in types.resolve_bases(bases):
        if isinstance(base, type) and issubclass(base, type):
            deny("metaclass", f"class {name!r} would be a metaclass: metaclasses are not allowed")
        check_value(base)  # star-args reach here unchecked (``class C(*items)``)
    cls = builtins.__build_class__(func, name, *bases, **kwargs)
    if not isinstance(cls, type) or issubclass(cls, type):
        deny("metaclass", f"class {name!r} is not an ordinary class: {_kind(cls)}")
    refuse_builtin_overrides(cls)
    return register_class(cls)


def _kind(value: object) -> str:
    return "a metaclass" if isinstance(value, type) else f"a {type(value).__name__!r} object"


class PrintSink:
    """Where one load's ``print`` output goes: a callback, within a character budget.

    Args:
        hook: called with each printed text (``end`` included); ``None`` drops the output.
        budget: characters accepted over the whole load; later output is dropped.
    """

    def __init__(self, hook: Callable[[str], object] | None, budget: int) -> None:
        self.hook = hook
        self.remaining = budget

    def write(self, text: str) -> str:
        """Forward ``text`` (cut to the remaining budget) and return what was kept."""
        kept = text[: max(self.remaining, 0)]
        self.remaining -= len(kept)
        if kept and self.hook is not None:
            self.hook(kept)
        return kept


class Printer:
    """RestrictedPython's print collector for one scope: ``print`` and ``printed``."""

    def __init__(self, sink: PrintSink) -> None:
        self._sink = sink
        self._text: list[str] = []

    def _call_print(
        self, *objects: object, sep: str | None = " ", end: str | None = "\n", **_: object
    ) -> None:
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        if not isinstance(sep, str) or not isinstance(end, str):
            raise TypeError("sep and end must be None or a string")
        self._text.append(self._sink.write(sep.join(str(item) for item in objects) + end))

    def __call__(self) -> str:
        return "".join(self._text)


@lru_cache(maxsize=16)
def shared_builtins(policy: Policy) -> Mapping[str, object]:
    """The builtins every load under ``policy`` shares (guards, safe names, stubs)."""
    guards = Guards(policy)
    table: dict[str, object] = {name: getattr(builtins, name) for name in _SAFE_NAMES}
    table.update((name, getattr(builtins, name)) for name in _EXCEPTIONS)
    table.update((name, _forbidden(name, reason)) for name, reason in _FORBIDDEN.items())
    table.update(guards.builtins())
    table.update(
        {
            "getattr": guards.getattr,
            "hasattr": guards.hasattr,
            "setattr": guards.setattr,
            "delattr": guards.delattr,
            "dir": guards.dir,
            "pow": guards.arithmetic.pow,
            "__build_class__": build_class,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
        }
    )
    register_nameable(table.values())
    return MappingProxyType(table)


def make_builtins(
    policy: Policy,
    importer: Callable[..., object],
    sink: PrintSink,
    sdk_classes: frozenset[type] = frozenset(),
) -> dict[str, object]:
    """A fresh builtins mapping for one load.

    Args:
        policy: the sandbox policy.
        importer: the load's ``__import__``.
        sink: where ``print`` output goes.
        sdk_classes: classes of the SDK module, which ``type()`` may hand out.
    """
    table = dict(shared_builtins(policy))
    exposed = SAFE_CLASSES | exposed_classes(policy) | sdk_classes
    table["type"] = GuardedType(lambda cls: cls in exposed or is_customer_class(cls))
    table["__import__"] = importer
    table["_print_"] = lambda _getattr=None: Printer(sink)
    return table

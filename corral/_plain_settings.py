"""Settings read without pydantic, for the runner host, which imports no settings library
(docs/runtime.md, "The runner host's memory"): each setting is declared once, as a typed
descriptor of a ``PlainSettings`` class; values are read as pydantic-settings reads them (the
keyword arguments first, then the environment, whose names are matched in any case, then the
default) and refused with pydantic's messages, so that an invalid setting reads the same as the
orchestrator's (``corral._setting_checks``).
"""

from __future__ import annotations

import math
import os
import pathlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, overload

from corral._setting_checks import invalid_setting
from corral.errors import InvalidRequest

T = TypeVar("T")


class SettingsInvalid(ValueError):
    """Settings that could not be read: each problem as pydantic reports one (``loc``,
    ``msg``, ``input``)."""

    def __init__(self, title: str, prefix: str, problems: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(problems)} invalid settings of {title}")
        self.title = title
        self.prefix = prefix
        self.problems = problems

    def errors(self) -> list[dict[str, Any]]:
        """The problems, in pydantic's shape."""
        return list(self.problems)

    def invalid_request(self) -> InvalidRequest:
        """The problems as operators read them (``invalid_setting``, naming each variable)."""
        return invalid_setting(self.problems, self.prefix)


class Setting(Generic[T]):
    """One setting: its default, its description and how a given value becomes ``T``."""

    def __init__(self, default: T, description: str, check: Callable[[T], T] | None = None) -> None:
        self.default = default
        self.description = description
        self._check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: object, owner: type) -> Setting[T] | T:
        if obj is None:
            return self
        value: T = obj.__dict__[self.name]
        return value

    def read(self, given: object) -> T:
        """The value ``given`` (a string from the environment, or a value) as ``T``.

        Raises:
            ValueError: pydantic's message for it.
        """
        value = self.convert(given)
        if self._check is None:
            return value
        try:
            return self._check(value)
        except ValueError as exc:
            raise ValueError(f"Value error, {exc}") from None

    def convert(self, given: object) -> T:
        """``given`` as ``T`` (the type's own conversion)."""
        raise NotImplementedError


class Text(Setting[str]):
    """A string, taken as it is."""

    def convert(self, given: object) -> str:
        if not isinstance(given, str):
            raise ValueError("Input should be a valid string")
        return given


class Flag(Setting[bool]):
    """A boolean: 1, true, yes, on, t, y or 0, false, no, off, f, n (any case)."""

    _WORDS: ClassVar[dict[str, bool]] = {
        **dict.fromkeys(("1", "true", "yes", "on", "t", "y"), True),
        **dict.fromkeys(("0", "false", "no", "off", "f", "n"), False),
    }

    def convert(self, given: object) -> bool:
        if isinstance(given, bool):
            return given
        if isinstance(given, int) and given in (0, 1):
            return bool(given)
        if isinstance(given, str) and given.lower() in self._WORDS:
            return self._WORDS[given.lower()]
        raise ValueError("Input should be a valid boolean, unable to interpret input")


N = TypeVar("N", bound=float)


class _Ranged(Setting[N]):
    """A number within ``ge`` and ``le``."""

    def __init__(
        self, default: N, description: str, *, ge: N | None = None, le: N | None = None
    ) -> None:
        super().__init__(default, description)
        self._ge: N | None = ge
        self._le: N | None = le

    def convert(self, given: object) -> N:
        value = self.number(given)
        if self._ge is not None and value < self._ge:
            raise ValueError(f"Input should be greater than or equal to {self._ge:g}")
        if self._le is not None and value > self._le:
            raise ValueError(f"Input should be less than or equal to {self._le:g}")
        return value

    def number(self, given: object) -> N:
        """``given`` as the number type, not yet checked against the range."""
        raise NotImplementedError


_INTEGER = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0*)?")


class Integer(_Ranged[int]):
    """An integer within ``ge`` and ``le``."""

    def number(self, given: object) -> int:
        if isinstance(given, int):
            return int(given)
        if isinstance(given, str) and _INTEGER.fullmatch(given.strip()):
            return int(given.strip().partition(".")[0])
        raise ValueError("Input should be a valid integer, unable to parse string as an integer")


class Number(_Ranged[float]):
    """A finite number within ``ge`` and ``le``."""

    def number(self, given: object) -> float:
        try:
            value = float(given) if isinstance(given, str | int | float) else float("x")
        except ValueError:
            raise ValueError(
                "Input should be a valid number, unable to parse string as a number"
            ) from None
        if not math.isfinite(value):
            raise ValueError("Input should be a finite number")
        return value


class OptionalPath(Setting[pathlib.Path | None]):
    """A file's path, or None when not set."""

    def convert(self, given: object) -> pathlib.Path | None:
        if given is None or isinstance(given, pathlib.Path):
            return given
        if isinstance(given, str):
            return pathlib.Path(given)
        raise ValueError("Input should be a valid path")


class PlainSettings:
    """Settings read from keyword arguments and the environment (``env_prefix``), each declared
    once as a ``Setting`` class attribute; ``check`` then looks across settings."""

    env_prefix: ClassVar[str] = "CORRAL_"

    def __init__(self, **given: object) -> None:
        """Reads every setting (unknown keywords are ignored, as pydantic-settings does).

        Raises:
            SettingsInvalid: every setting that could not be read, or the check across them.
        """
        environ = {name.lower(): value for name, value in os.environ.items()}
        problems: list[dict[str, Any]] = []
        for setting in self.settings():
            variable = (self.env_prefix + setting.name).lower()
            if setting.name in given:
                raw: object = given[setting.name]
            elif variable in environ:
                raw = environ[variable]
            else:
                self.__dict__[setting.name] = setting.default
                continue
            try:
                self.__dict__[setting.name] = setting.read(raw)
            except ValueError as exc:
                problems.append({"loc": (setting.name,), "msg": str(exc), "input": raw})
        if not problems:
            try:
                self.check()
            except ValueError as exc:
                problems.append({"loc": (), "msg": f"Value error, {exc}", "input": dict(given)})
        if problems:
            raise SettingsInvalid(type(self).__name__, self.env_prefix, problems)

    @classmethod
    def settings(cls) -> Iterator[Setting[Any]]:
        """Every setting, in the order declared."""
        for owner in reversed(cls.__mro__):
            for value in vars(owner).values():
                if isinstance(value, Setting):
                    yield value

    @classmethod
    def variables(cls) -> dict[str, str]:
        """The environment variable of each setting, by name."""
        return {one.name: cls.env_prefix + one.name.upper() for one in cls.settings()}

    def check(self) -> None:
        """A check across settings (none by default).

        Raises:
            ValueError: ``name: what is wrong``, naming the setting to change.
        """

    def values(self) -> Mapping[str, Any]:
        """Every setting's value, by name."""
        return {one.name: self.__dict__[one.name] for one in self.settings()}

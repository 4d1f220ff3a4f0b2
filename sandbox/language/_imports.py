"""The ``__import__`` of customer code: allowed modules, the SDK module and sibling files.

Every import statement of customer code arrives here (``fromlist`` is ``None`` or a tuple).
C code running on behalf of customer code (``datetime.strptime`` importing ``_strptime``,
pydantic-core loading a validator's module) also calls the ``__import__`` it finds in the
current globals, always with a list ``fromlist``: that import is for the library itself, whose
result it discards, so it goes to the real import system.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.language._errors import deny
from sandbox.language._facades import ModuleFacade, facade_has, facade_names, module_facade
from sandbox.language._policy import Policy

SiblingRunner = Callable[[str], Mapping[str, object]]


class Importer:
    """``__import__`` for one load.

    Args:
        policy: the sandbox policy.
        sdk: the facade of the SDK module.
        siblings: sibling module name → file name, for the integration folder.
        run_sibling: executes a sibling file (once per load) and returns its namespace.
    """

    def __init__(
        self,
        policy: Policy,
        sdk: ModuleFacade,
        siblings: Mapping[str, str],
        run_sibling: SiblingRunner,
    ) -> None:
        self._policy = policy
        self._facades: dict[str, ModuleFacade] = {policy.sdk_module: sdk}
        self._siblings = siblings
        self._run_sibling = run_sibling

    def __call__(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> object:
        """Import as customer code may: see the module docstring."""
        if type(fromlist) is list:
            return builtins.__import__(name, globals, locals, fromlist, level)
        names = tuple(fromlist or ())
        if level:
            return self._relative(name, names, level)
        return self._absolute(name, names)

    def allowed_text(self) -> str:
        """The allowed imports, for error messages."""
        modules = ", ".join(self._policy.module_names)
        return f"{modules}, and sibling files of the integration (from .name import ...)"

    def _absolute(self, name: str, names: tuple[str, ...]) -> ModuleFacade:
        policy = self._policy
        if name not in policy.modules and name not in policy.packages and name != policy.sdk_module:
            deny(
                "import",
                f"import of {name!r} is not allowed in functions; allowed: {self.allowed_text()}",
            )
        facade = self._facade(name)
        for item in names:
            if not facade_has(facade, item):
                deny(
                    "import",
                    f"{item!r} cannot be imported from {name!r} in functions; {name!r} offers: "
                    f"{', '.join(facade_names(facade)) or 'nothing'}",
                )
        if not names and "." in name:
            return self._facade(name.split(".", maxsplit=1)[0])
        return facade

    def _facade(self, name: str) -> ModuleFacade:
        facade = self._facades.get(name)
        if facade is None:
            if name in self._policy.modules:
                facade = module_facade(self._policy, name)
            else:
                facade = ModuleFacade(name, self._children(name))
            self._facades[name] = facade
        return facade

    def _children(self, package: str) -> dict[str, ModuleFacade]:
        prefix = package + "."
        found: dict[str, ModuleFacade] = {}
        for name in (*self._policy.modules, *self._policy.packages):
            child = name[len(prefix) :]
            if name.startswith(prefix) and "." not in child:
                found[child] = self._facade(name)
        return found

    def _relative(self, name: str, names: tuple[str, ...], level: int) -> ModuleFacade:
        if level != 1 or "." in name:
            deny(
                "import",
                "only sibling files of the same integration can be imported relatively "
                "(from .name import ...)",
            )
        if not name:
            return ModuleFacade(".", {item: self._sibling(item) for item in names})
        facade = self._sibling(name)
        for item in names:
            if not facade_has(facade, item):
                raise ImportError(f"cannot import name {item!r} from sibling {name!r}")
        return facade

    def _sibling(self, name: str) -> ModuleFacade:
        file = self._siblings.get(name)
        if file is None:
            known = ", ".join(sorted(self._siblings)) or "none"
            deny(
                "import",
                f"there is no sibling file {name + '.py'!r} in this integration; "
                f"importable siblings: {known}",
            )
        return ModuleFacade(name, self._run_sibling(file))

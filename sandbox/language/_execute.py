"""Running compiled customer code: the only module that calls ``exec``.

Each ``Program.load`` executes the entry module in a fresh namespace with fresh builtins and
fresh module facades; module state is never shared between loads. Sibling files run at most
once per load, when first imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import CodeType, MappingProxyType
from typing import Any

from corral.errors import RunFailure
from sandbox.language._allowlist import MODULE_PREFIX, register_sdk
from sandbox.language._builtins import PrintSink, make_builtins
from sandbox.language._errors import FILE_KEY, deny
from sandbox.language._facades import ModuleFacade, public_mapping
from sandbox.language._imports import Importer
from sandbox.language._policy import Policy
from sandbox.language._schema_guard import install_schema_guard

PRINT_HOOK = "_print"
"""Optional SDK mapping key: a callable that receives each ``print`` output of customer code."""


def sibling_files(files: Mapping[str, str]) -> Mapping[str, str]:
    """Module name → file name for the files that can be imported as siblings."""
    found: dict[str, str] = {}
    for name in files:
        path = PurePosixPath(name)
        stem = path.stem
        if path.suffix == ".py" and stem.isidentifier() and not stem.startswith("_"):
            found[stem] = name
    return MappingProxyType(found)


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled function: its entry file and the sibling files it imports.

    Attributes:
        entry: the entry file name.
        codes: file name → compiled code, for the entry and the siblings it imports.
        policy: the policy it was compiled under (and runs under).
        siblings: module name → file name, for every importable file of the folder.
    """

    entry: str
    codes: Mapping[str, CodeType]
    policy: Policy
    siblings: Mapping[str, str]

    @property
    def files(self) -> frozenset[str]:
        """The names of the files whose code belongs to the program."""
        return frozenset(self.codes)

    def load(self, sdk: Mapping[str, object]) -> Mapping[str, object]:
        """Execute the entry module in a fresh restricted namespace.

        Args:
            sdk: the content of the virtual ``nango`` module (``create_sync``, ``create_action``,
                ``ActionError``, ...). Public names become the module's attributes. An optional
                ``"_print"`` entry, a callable taking a string, receives what customer code
                prints (without it, ``print`` output is dropped).

        Returns:
            The public names of the entry module's namespace (read-only).

        Raises:
            RunFailure: ``sandbox_violation`` for a refused import or access (with file and line).
            Exception: whatever the module body raises.
        """
        return public_mapping(_Load(self, sdk).run(self.entry))


class _Load:
    """The state of one ``Program.load``: namespaces, facades and builtins."""

    def __init__(self, program: Program, sdk: Mapping[str, object]) -> None:
        install_schema_guard()  # before any function code: pydantic never sees a raw schema
        policy = program.policy
        self.program = program
        self.namespaces: dict[str, dict[str, Any]] = {}
        public = public_mapping(sdk)
        register_sdk(public.values())
        sdk_facade = ModuleFacade(policy.sdk_module, public)
        self.importer = Importer(policy, sdk_facade, program.siblings, self.run)
        hook = sdk.get(PRINT_HOOK)
        sink = PrintSink(hook if callable(hook) else None, policy.max_print_chars)
        sdk_classes = frozenset(value for value in sdk.values() if isinstance(value, type))
        self.builtins = make_builtins(policy, self.importer, sink, sdk_classes)

    def run(self, file: str) -> dict[str, Any]:
        """Execute ``file`` once for this load and return its (possibly partial) namespace."""
        namespace = self.namespaces.get(file)
        if namespace is not None:
            return namespace
        code = self.program.codes.get(file)
        if code is None:
            deny("import", f"sibling file {file!r} was not compiled with the program")
        stem = PurePosixPath(file).stem
        namespace = {
            "__builtins__": self.builtins,
            "__name__": MODULE_PREFIX + stem,
            FILE_KEY: file,
        }
        self.namespaces[file] = namespace
        exec(code, namespace)
        return namespace


def locate_error(exc: BaseException, program: Program) -> tuple[str, int]:
    """The file and line where ``exc`` happened in the program's code.

    Returns:
        The innermost traceback frame that belongs to one of the program's files, else the file
        and line a ``RunFailure`` carries, else ``("", 0)``.
    """
    files = program.files
    found = ("", 0)
    traceback = exc.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename in files:
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    if not found[0] and isinstance(exc, RunFailure) and exc.file:
        return exc.file, exc.line
    return found

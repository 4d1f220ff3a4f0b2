"""The sandbox: RestrictedPython policy, allowed modules, and OS containment of workers.

The language layer compiles customer function files under a policy and runs them with guards::

    program = compile_program({"create_issue.py": source}, "create_issue.py")
    reset_run_state()
    namespace = program.load(sdk)            # sdk: the content of the virtual `nango` module
    ...                                      # call the function bound in the namespace
    if violations(): ...                     # fail the run, even if the code caught the error

RestrictedPython is not a security boundary on its own: the worker's process and kernel limits
are the other layers (see DESIGN.md, "Isolation").

Two subpackages, the language layer (``sandbox.language``) and the OS layer (``sandbox.os``):
neither imports the other; this package re-exports the names the runner and the CLI use.

The language layer's names are imported when first used (PEP 562): the runner host uses the OS
layer only, and never imports RestrictedPython (its warm parent imports the language layer
after the fork).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corral._lazy import lazy_exports
from sandbox.os import (
    ALL_LAYERS,
    ContainmentError,
    ContainmentSettings,
    HostSupport,
    WorkerLimits,
    cleanup_cgroup,
    contain_worker,
    prepare,
    probe,
)

if TYPE_CHECKING:
    from sandbox.language import (
        DEFAULT_POLICY,
        NotAProgram,
        Policy,
        Program,
        Violation,
        check_sources,
        compile_program,
        export_codes,
        locate_error,
        program_from_codes,
        reset_run_state,
        set_violation_reporter,
        violations,
    )

__all__ = [
    "ALL_LAYERS",
    "DEFAULT_POLICY",
    "ContainmentError",
    "ContainmentSettings",
    "HostSupport",
    "NotAProgram",
    "Policy",
    "Program",
    "Violation",
    "WorkerLimits",
    "check_sources",
    "cleanup_cgroup",
    "compile_program",
    "contain_worker",
    "export_codes",
    "locate_error",
    "prepare",
    "probe",
    "program_from_codes",
    "reset_run_state",
    "set_violation_reporter",
    "violations",
]


# The language layer's names (every name not imported above), imported on first use.
__getattr__ = lazy_exports(
    __name__, dict.fromkeys(set(__all__) - set(globals()), "sandbox.language")
)

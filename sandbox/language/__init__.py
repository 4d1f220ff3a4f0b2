"""The language layer: customer function files compiled under RestrictedPython and run guarded.

The compiler (``_compile``, ``_transformer``, ``_value_routes``, ``_schema_source``) refuses
what the policy (``_policy``) does not allow and routes every value through the run-time guards
(``_guards``, ``_allowlist``, ``_arith``, ``_format``). Customer code gets guarded builtins,
module facades and stand-ins (``_builtins``, ``_facades``, ``_imports``, ``_stdlib``,
``_pydantic``, ``_types``) instead of the real objects.
"""

from sandbox.language._compile import check_sources, compile_program
from sandbox.language._compiled import NotAProgram, export_codes, program_from_codes
from sandbox.language._errors import (
    SandboxViolation,
    Violation,
    reset_run_state,
    set_violation_reporter,
    violations,
)
from sandbox.language._execute import Program, locate_error
from sandbox.language._policy import DEFAULT_POLICY, Policy

__all__ = [
    "DEFAULT_POLICY",
    "NotAProgram",
    "Policy",
    "Program",
    "SandboxViolation",
    "Violation",
    "check_sources",
    "compile_program",
    "export_codes",
    "locate_error",
    "program_from_codes",
    "reset_run_state",
    "set_violation_reporter",
    "violations",
]

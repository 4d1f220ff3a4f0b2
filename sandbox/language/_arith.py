"""Cheap guards against values too large to build: ``seq * n``, ``a ** b``, ``a << b``.

The compiler routes ``*``, ``**`` and ``<<`` (and their augmented forms) through these checks.
Everything else that allocates (``bytes(n)``, ``str.ljust(n)``, growing lists in a loop) is left
to the process limits of the worker (address space and CPU rlimits).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from sandbox.language._errors import exhausted
from sandbox.language._policy import Policy

_SEQUENCES = (str, bytes, bytearray, list, tuple)

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


class Arithmetic:
    """The arithmetic guards for one policy's limits."""

    def __init__(self, policy: Policy) -> None:
        self.max_repeat = policy.max_repeat_length
        self.max_bits = policy.max_int_bits

    def check_repeat(self, left: Any, right: Any) -> None:
        """Refuse ``left * right`` when it repeats a sequence past the limit."""
        for seq, count in ((left, right), (right, left)):
            if not isinstance(seq, _SEQUENCES) or not isinstance(count, int) or count <= 0:
                continue
            if len(seq) * count > self.max_repeat:
                exhausted(
                    f"repeating a sequence {count} times would exceed {self.max_repeat} items"
                )

    def check_pow(self, base: Any, exponent: Any) -> None:
        """Refuse ``base ** exponent`` when the integer result would exceed the bit limit."""
        if type(base) not in (int, bool) or type(exponent) not in (int, bool):
            return
        if exponent <= 0 or abs(base) <= 1:
            return
        # log2(|base|) >= 1 here, so a huge exponent is refused before any float conversion.
        if exponent > self.max_bits or exponent * math.log2(abs(base)) > self.max_bits:
            exhausted(f"the result of ** would exceed {self.max_bits} bits")

    def check_shift(self, value: Any, shift: Any) -> None:
        """Refuse ``value << shift`` when the result would exceed the bit limit."""
        if not isinstance(value, int) or not isinstance(shift, int) or not value or shift <= 0:
            return
        if value.bit_length() + shift > self.max_bits:
            exhausted(f"the result of << would exceed {self.max_bits} bits")

    def mul(self, left: Any, right: Any) -> Any:
        """``left * right`` in customer code."""
        self.check_repeat(left, right)
        return left * right

    def pow(self, base: Any, exponent: Any, modulus: Any = None) -> Any:
        """``base ** exponent`` and the ``pow()`` builtin in customer code."""
        if modulus is not None:
            return pow(base, exponent, modulus)
        self.check_pow(base, exponent)
        return base**exponent

    def lshift(self, value: Any, shift: Any) -> Any:
        """``value << shift`` in customer code."""
        self.check_shift(value, shift)
        return value << shift

    def inplace(self, op: str, target: Any, value: Any) -> Any:
        """``target op= value`` for a name (RestrictedPython's ``_inplacevar_``)."""
        if op == "*=":
            self.check_repeat(target, value)
        elif op == "**=":
            self.check_pow(target, value)
        elif op == "<<=":
            self.check_shift(target, value)
        return _INPLACE[op](target, value)

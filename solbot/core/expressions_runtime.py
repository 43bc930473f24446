"""Run-time pieces shared by the compiled program and the reference evaluator."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from typing import Final, NoReturn


class Missing(enum.Enum):
    """Type of MISSING: the value of an expression that could not be evaluated."""

    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"

    def __str__(self) -> str:
        return "MISSING"

    def __bool__(self) -> NoReturn:
        # A missing value must be handled explicitly (`is MISSING`); silently reading it as
        # False would turn "cannot evaluate" into "condition is false" and fail open.
        raise TypeError("MISSING has no truth value; test it with `is MISSING`")


MISSING: Final = Missing.MISSING

# Errors an expression may raise on legal input (x / 0, 1e308 ** 2, clamp with lo > hi);
# they make the expression MISSING. Anything else is a bug and propagates.
RUNTIME_ERRORS: Final = (ArithmeticError, ValueError, TypeError)

# name -> (minimum, maximum or None for unbounded) positional arguments
FUNCTION_ARITY: Final[dict[str, tuple[int, int | None]]] = {
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "clamp": (3, 3),
}


def clamp(value: float, low: float, high: float) -> float:
    """Limit `value` to [low, high]; bounds that are not ordered (or NaN) raise ValueError."""
    if not low <= high:
        raise ValueError(f"clamp bounds are not ordered: {low!r} > {high!r}")
    if value < low:
        return low
    if value > high:
        return high
    return value


def power(base: float, exponent: float) -> float:
    """`base ** exponent` in floating point, so nested powers cannot build huge integers."""
    result: float = (base * 1.0) ** exponent
    return result


def is_finite_result(value: object) -> bool:
    """False for a number outside the finite floats (inf, NaN, a huge int): such a result is
    MISSING, so an overflow fails closed instead of reaching order sizing or pricing."""
    if isinstance(value, int | float):
        return LOWEST <= value <= HIGHEST
    return True


LOWEST: Final = -sys.float_info.max
HIGHEST: Final = sys.float_info.max


def finite_comparison(compare: Callable[[float, float], object]) -> Callable[..., object]:
    """`compare`, MISSING when an operand is not a finite number: `inf - inf > 3` (NaN > 3) is
    not False but unknown, so the rule fails closed. MISSING as an operand raises TypeError."""

    def checked(left: float, right: float) -> object:
        if LOWEST <= left <= HIGHEST and LOWEST <= right <= HIGHEST:
            return compare(left, right)
        return MISSING

    return checked

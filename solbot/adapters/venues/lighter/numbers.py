"""Exact conversion between Lighter's decimal strings and integer ticks/lots."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_scaled(value: object, decimals: int) -> int:
    """Decimal string (or number) → integer units of 10^-decimals; finer values are an error."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a decimal number, found {value!r}")
    try:
        number = Decimal(value if isinstance(value, str | int) else repr(value))
    except InvalidOperation:
        raise ValueError(f"expected a decimal number, found {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, found {value!r}")
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} has more than {decimals} decimal places")
    return int(scaled)


def parse_decimal(value: object) -> float:
    """Decimal string (or number) → float, for display-grade values such as mark price."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a decimal number, found {value!r}")
    try:
        return float(value if isinstance(value, str | int | float) else str(value))
    except ValueError:
        raise ValueError(f"expected a decimal number, found {value!r}") from None


def format_scaled(units: int, decimals: int) -> str:
    """Integer units → decimal string with exactly `decimals` places (as Lighter writes them)."""
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    if decimals == 0:
        return sign + digits
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def ms_or_s_to_ns(value: object) -> int:
    """Venue timestamp → ns; old docs show seconds, current data ms, some fields µs."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a timestamp, found {value!r}")
    number = int(float(value))
    if number < 100_000_000_000:  # seconds (before year 5138 in ms terms)
        return number * 1_000_000_000
    if number < 100_000_000_000_000:  # milliseconds
        return number * 1_000_000
    if number < 100_000_000_000_000_000:  # microseconds
        return number * 1_000
    return number

"""Checked reads of fields of JSON records (venue trades, the original bot's fills)."""

from __future__ import annotations

import math
from typing import Any


class FieldError(Exception):
    """A field of one record is missing or malformed; the reader adds file and line."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field_name, message


def kind(value: Any) -> str:
    """A JSON value's kind for messages: null, str, int, dict, ..."""
    return "null" if value is None else type(value).__name__


def number(record: dict[str, Any], name: str) -> float:
    """A finite number, given as a JSON number or a numeric string."""
    if name not in record or record[name] is None:
        raise FieldError(name, "missing")
    value = record[name]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldError(name, f"expected a number, found {kind(value)}")
    try:
        result = float(value)
    except ValueError:
        raise FieldError(name, f"expected a number, found {value!r}") from None
    if not math.isfinite(result):
        raise FieldError(name, f"expected a finite number, found {value!r}")
    return result

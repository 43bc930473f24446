"""Columnar CSV reading with polars; every bad value is reported as file:line:column: field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from solbot.errors import DataError, Problem

INT = "int"
FLOAT = "float"
TEXT = "text"
_DTYPES = {INT: pl.Int64, FLOAT: pl.Float64, TEXT: pl.String}
_EXPECTED = {INT: "an integer", FLOAT: "a number", TEXT: "text"}
_RAW_SEPARATOR = "\x1f"  # a byte that never occurs in these files: each line becomes one field


@dataclass(frozen=True)
class Field:
    """One column a reader needs: name, kind, whether the header must have it, empty allowed."""

    name: str
    kind: str
    required: bool = True
    nullable: bool = False


@dataclass(frozen=True)
class Table:
    """A parsed file: typed columns plus what is needed to point at a line and column."""

    path: Path
    header: tuple[str, ...]
    frame: pl.DataFrame

    @property
    def rows(self) -> int:
        return self.frame.height

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def ints(self, name: str, fill: int = 0) -> np.ndarray:
        """An integer column as int64; empty values become `fill`."""
        column = self.frame.get_column(name).fill_null(fill)
        return column.to_numpy().astype(np.int64, copy=False)

    def floats(self, name: str, fill: float = 0.0) -> np.ndarray:
        """A number column as float64; empty values become `fill`."""
        column = self.frame.get_column(name).fill_null(fill)
        return column.to_numpy().astype(np.float64, copy=False)

    def texts(self, name: str) -> pl.Series:
        return self.frame.get_column(name)

    def problem(self, row: int, name: str, message: str) -> Problem:
        """Problem at data row `row` (0-based) of column `name`; the header is line 1."""
        column = self.header.index(name) + 1 if name in self.header else 1
        return Problem(str(self.path), row + 2, column, name, message)

    def fail(self, row: int, name: str, message: str) -> DataError:
        return DataError(self.problem(row, name, message))

    def check(self, bad: np.ndarray, name: str, message: str) -> None:
        """Raise a DataError at the first row where `bad` is true."""
        if bad.any():
            row = int(np.argmax(bad))
            value = self.frame.get_column(name)[row]
            raise self.fail(row, name, f"{message}, found {value!r}")


# Prices and sizes become int64 ticks and lots through float64: beyond 2^53 units they are no
# longer exact, and far beyond they wrap to nonsense (1e300 became -9223372036854775808 ticks).
MAX_UNITS = 2**53


def positive(
    table: Table,
    name: str,
    *,
    allow_zero: bool = False,
    fill: float = 0.0,
    decimals: int | None = None,
) -> np.ndarray:
    """A number column that must be finite and > 0 (>= 0 with allow_zero); located error if not.

    With `decimals` (the market's tick or lot digits) the value must also fit in int64 units.
    """
    values = table.floats(name, fill)
    bad = ~np.isfinite(values) | ((values < 0) if allow_zero else (values <= 0))
    expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
    table.check(bad, name, f"expected {expected}")
    if decimals is not None:
        limit = MAX_UNITS / 10.0**decimals
        message = (
            f"expected a value below {limit:g} (the market counts in steps of {10.0**-decimals:g})"
        )
        table.check(values >= limit, name, message)
    return values


def one_of(table: Table, name: str, allowed: Sequence[str]) -> pl.Series:
    """A text column, lower-cased and stripped, whose every value must be in `allowed`."""
    values = table.texts(name).str.strip_chars().str.to_lowercase()
    bad = (~values.is_in(list(allowed))).fill_null(True).to_numpy()
    table.check(bad, name, f"expected one of {', '.join(allowed)}")
    return values


def read_table(path: Path, header: Sequence[str], fields: Sequence[Field]) -> Table:
    """Parse `path` (plain or gzip) into typed columns; malformed rows raise a located DataError."""
    header = tuple(header)
    missing = [field.name for field in fields if field.required and field.name not in header]
    if missing:
        message = f"missing column(s) {', '.join(missing)}; found {','.join(header)}"
        raise DataError(Problem(str(path), 1, 1, "header", message))
    wanted = [field for field in fields if field.name in header]
    kinds = {field.name: field.kind for field in wanted}
    schema = {name: _DTYPES[kinds.get(name, TEXT)] for name in header}
    try:
        # all columns are parsed (unused ones as text) so that polars refuses ragged lines
        frame = pl.read_csv(path, has_header=True, schema=schema, raise_if_empty=False)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise _locate(path, header, kinds, error) from None
    table = Table(path, header, frame.select([field.name for field in wanted]))
    for field in wanted:
        if not field.nullable:
            _check_present(table, field.name)
    return table


def _check_present(table: Table, name: str) -> None:
    nulls = table.frame.get_column(name).is_null()
    if nulls.any():
        row = int(nulls.arg_true()[0])
        raise table.fail(row, name, "missing value")


def _locate(
    path: Path, header: tuple[str, ...], kinds: dict[str, str], cause: Exception
) -> DataError:
    """Find the first bad line after polars refused the file (only runs on the error path)."""
    try:
        problem = _ragged_line(path, header) or _bad_value(path, header, kinds)
    except (pl.exceptions.PolarsError, OSError):
        problem = None  # unreadable as text (e.g. a truncated gzip stream): report polars' words
    if problem is None:
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        problem = Problem(str(path), 1, 1, "", f"cannot parse file: {detail}")
    return DataError(problem)


def _ragged_line(path: Path, header: tuple[str, ...]) -> Problem | None:
    lines = pl.read_csv(
        path,
        has_header=False,
        separator=_RAW_SEPARATOR,
        quote_char=None,
        schema={"line": pl.String},
        raise_if_empty=False,
    ).get_column("line")
    counts = lines.str.count_matches(",", literal=True) + 1
    bad = (counts != len(header)) & lines.is_not_null()
    bad[0] = False  # the header itself
    if not bad.any():
        return None
    index = int(bad.arg_true()[0])
    found = int(counts[index])
    column = len(header) + 1 if found > len(header) else found + 1
    message = f"expected {len(header)} fields, found {found}"
    return Problem(str(path), index + 1, column, "", message)


def _bad_value(path: Path, header: tuple[str, ...], kinds: dict[str, str]) -> Problem | None:
    frame = pl.read_csv(path, has_header=True, infer_schema=False, raise_if_empty=False)
    best: tuple[int, int, str, str] | None = None
    for name, kind in kinds.items():
        if kind == TEXT:
            continue
        text = frame.get_column(name)
        parsed = text.str.strip_chars().cast(_DTYPES[kind], strict=False)
        bad = parsed.is_null() & text.is_not_null()
        if not bad.any():
            continue
        row = int(bad.arg_true()[0])
        candidate = (row, header.index(name), name, str(text[row]))
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    if best is None:
        return None
    row, column, name, value = best
    message = f"expected {_EXPECTED[kinds[name]]}, found {value!r}"
    return Problem(str(path), row + 2, column + 1, name, message)

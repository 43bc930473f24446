"""Funding-rate files (`funding_time_ms,funding_time_utc,funding_rate`) for replay funding PnL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from solbot.adapters.data.formats import read_header
from solbot.errors import DataError, Problem

FUNDING_COLUMNS = ("funding_time_ms", "funding_rate")


@dataclass(frozen=True)
class FundingSchedule:
    """Funding settlements in time order: (time ns, rate per settlement)."""

    path: str
    times_ns: tuple[int, ...]
    rates: tuple[float, ...]

    def times_and_rates(self) -> list[tuple[int, float]]:
        return list(zip(self.times_ns, self.rates, strict=True))


def load_funding(path: Path) -> FundingSchedule:
    """Read a funding CSV (plain or gzip); a malformed row is an error naming file, line, column."""
    if not path.is_file():
        raise DataError(Problem(str(path), 1, 1, "", "file not found"))
    header = read_header(path)
    missing = [name for name in FUNDING_COLUMNS if name not in header]
    if missing:
        raise DataError(
            Problem(
                str(path),
                1,
                1,
                missing[0],
                f"not a funding file: expected columns "
                f"{', '.join(FUNDING_COLUMNS)}, found {', '.join(header)}",
            )
        )
    frame = pl.read_csv(path, columns=list(FUNDING_COLUMNS), infer_schema=False)
    times = frame["funding_time_ms"].cast(pl.Int64, strict=False)
    rates = frame["funding_rate"].cast(pl.Float64, strict=False)
    for name, column in (("funding_time_ms", times), ("funding_rate", rates)):
        bad = column.is_null()
        if bad.any():
            row = int(bad.arg_max() or 0)
            raise DataError(
                Problem(
                    str(path),
                    row + 2,
                    header.index(name) + 1,
                    name,
                    f"expected a number, found {frame[name][row]!r}",
                )
            )
    infinite = ~rates.is_finite()
    if infinite.any():
        row = int(infinite.arg_max() or 0)
        raise DataError(
            Problem(
                str(path),
                row + 2,
                header.index("funding_rate") + 1,
                "funding_rate",
                f"expected a finite rate, found {frame['funding_rate'][row]!r}",
            )
        )
    order = times.arg_sort()
    return FundingSchedule(
        str(path),
        tuple(int(ms) * 1_000_000 for ms in times.gather(order).to_list()),
        tuple(float(rate) for rate in rates.gather(order).to_list()),
    )

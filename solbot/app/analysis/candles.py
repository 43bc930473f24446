"""External candles (Binance, Bybit, Hyperliquid 1m/5m CSV) as float arrays in nanoseconds.

The files are read by the same reader as bar-mode replays (`adapters.data.bars`), so a candle file
that `simulate` refuses is refused here too, naming file, line and field. Open times are Unix
milliseconds in the files; they become nanoseconds once, in that reader (`open_time_ms * 1e6`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from solbot.adapters.data.formats import CANDLES, detect_format
from solbot.adapters.data.source import load_file
from solbot.core.model import MarketSpec
from solbot.errors import DataError, Problem, UsageError

MINUTE_NS = 60_000_000_000
_PRICE_DECIMALS = 8
_SPEC = MarketSpec(
    symbol="candles",
    venue="external",
    market_id=0,
    price_decimals=_PRICE_DECIMALS,
    size_decimals=8,
    min_base_amount=0.0,
    min_quote_amount=0.0,
)


@dataclass(frozen=True)
class Candles:
    """Bars of one or more files, in time order; prices as floats, times in ns."""

    paths: tuple[Path, ...]
    bar_ns: int
    open_ns: NDArray[np.int64]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]

    @property
    def span_ns(self) -> tuple[int, int]:
        """First bar's open and last bar's end (exclusive end minus 1 ns)."""
        return int(self.open_ns[0]), int(self.open_ns[-1] + self.bar_ns - 1)

    @property
    def bar_minutes(self) -> float:
        return self.bar_ns / MINUTE_NS

    def one_minute_returns(self) -> NDArray[np.float64]:
        """Close-to-close return of each bar (NaN after a gap or for the first bar), scaled to 1m.

        A bar longer than a minute is scaled by 1/sqrt(minutes) (random-walk scaling), so 5m
        candles give 1-minute-equivalent returns; outputs say so.
        """
        returns = np.full(len(self.close), np.nan)
        if len(self.close) > 1:
            follows = np.diff(self.open_ns) == self.bar_ns
            raw = self.close[1:] / self.close[:-1] - 1.0
            returns[1:] = np.where(follows, raw, np.nan)
        return returns / math.sqrt(self.bar_minutes)


def read_candles(paths: Sequence[Path]) -> Candles:
    """Read candle files of one bar length; bars of different files must not overlap."""
    if not paths:
        raise UsageError("give at least one candle file with --candles")
    loaded = []
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--candles {path}: no such file")
        if detect_format(path) != CANDLES:
            message = "expected a candle file (open_time_ms,open,high,low,close,volume)"
            raise DataError(Problem(str(path), 1, 1, "header", message))
        loaded.append(load_file(path, _SPEC))
    lengths = {int(item.columns["bar_ns"][0]) for item in loaded if item.rows}
    if len(lengths) > 1:
        shown = ", ".join(f"{n // 1_000_000_000} s" for n in sorted(lengths))
        raise UsageError(f"--candles: files of different bar lengths ({shown}); pass one length")
    if not lengths:
        raise DataError(Problem(str(paths[0]), 2, 1, "", "no bars in the candle files"))
    scale = float(10**_PRICE_DECIMALS)
    columns = {
        name: np.concatenate([item.columns[name] for item in loaded])
        for name in ("open_ns", "open", "high", "low", "close")
    }
    order = np.argsort(columns["open_ns"], kind="stable")
    columns = {name: values[order] for name, values in columns.items()}
    bar_ns = lengths.pop()
    clash = np.flatnonzero(np.diff(columns["open_ns"]) < bar_ns)
    if len(clash):
        at = int(columns["open_ns"][clash[0] + 1]) // 1_000_000
        raise UsageError(f"--candles: bars of different files overlap at open_time_ms {at}")
    return Candles(
        paths=tuple(paths),
        bar_ns=bar_ns,
        open_ns=columns["open_ns"],
        **{name: columns[name] / scale for name in ("open", "high", "low", "close")},
    )

"""A parsed input file before it becomes events, and the unit conversions every reader shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from solbot.adapters.data.checks import typical_clock_gap_ns
from solbot.adapters.data.events import EventChunk, book_events, trade_events

UNKNOWN_NS = -1  # exchange time not in the file


@dataclass
class Loaded:
    """One parsed file: validated columns (ticks and lots already), clocks and notes."""

    path: Path
    format: str
    sha256: str
    rows: int
    columns: dict[str, np.ndarray]
    receive_ns: np.ndarray | None  # raw capture clock of each row; None when the file has none
    exchange_ns: np.ndarray | None  # exchange clock of each row, UNKNOWN_NS where missing
    notes: list[str] = field(default_factory=list)
    coarse: bool = False
    span_ns: tuple[int, int] = (0, 0)  # event time span, for files without a receive clock
    recorded_shift_ns: int = 0  # a clock shift already applied inside the file (parquet)
    metadata: dict[str, Any] = field(default_factory=dict)
    _clock_gap: tuple[int | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def receive_span(self) -> tuple[int, int] | None:
        """Earliest and latest raw receive time, if the file has a receive clock."""
        if self.receive_ns is None or len(self.receive_ns) == 0:
            return None
        return int(self.receive_ns.min()), int(self.receive_ns.max())

    def max_clock_gap_ns(self) -> int | None:
        """Exchange-minus-receive gap to correct (positive when the capture clock ran behind).

        A robust estimate (see `typical_clock_gap_ns`), not the extreme: one row with a wrong
        exchange time must not shift the whole replay.
        """
        if self._clock_gap is None:  # asked per file by the clock shift and again by its notes
            self._clock_gap = (self._typical_clock_gap_ns(),)
        return self._clock_gap[0]

    def _typical_clock_gap_ns(self) -> int | None:
        if self.receive_ns is None or self.exchange_ns is None:
            return None
        known = self.exchange_ns != UNKNOWN_NS
        if known.all():  # the usual case: no copies of both clocks
            return typical_clock_gap_ns(self.receive_ns, self.exchange_ns)
        if not known.any():
            return None
        return typical_clock_gap_ns(self.receive_ns[known], self.exchange_ns[known])


def to_units(values: np.ndarray, decimals: int) -> tuple[np.ndarray, int]:
    """Values scaled by 10^decimals and rounded (half to even, like round()); off-grid count."""
    scaled = values * float(10**decimals)
    units = np.rint(scaled)
    # float64 products carry a relative error near 1e-16; anything well above that is off-grid:
    # |scaled - units| > 1e-6 + |scaled| * 1e-12, computed in place (two arrays, not five), and
    # only when some value is off by more than 1e-6 (files on the grid need one pass over it)
    error = np.subtract(scaled, units)
    np.abs(error, out=error)
    if error.size == 0 or error.max() <= 1e-6:  # within the smallest tolerance: none off-grid
        return units.astype(np.int64), 0
    tolerance = np.abs(scaled, out=scaled)
    tolerance *= 1e-12
    tolerance += 1e-6
    off_grid = int(np.count_nonzero(error > tolerance))
    return units.astype(np.int64), off_grid


def off_grid_note(count: int, what: str, decimals: int) -> list[str]:
    """A note when some values were not multiples of the market's tick or lot."""
    if count == 0:
        return []
    step = f"{10.0**-decimals:.{decimals}f}" if decimals > 0 else "1"
    return [f"{count} {what} not multiples of {step}; rounded to the nearest"]


def exchange_or_unknown(values: np.ndarray | None, scale: int, rows: int) -> np.ndarray:
    """Exchange clock in ns from a column filled with UNKNOWN_NS where empty (or no column)."""
    if values is None:
        return np.full(rows, UNKNOWN_NS, np.int64)
    return np.where(values == UNKNOWN_NS, UNKNOWN_NS, values * scale)


def shifted_clocks(loaded: Loaded, shift_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Receive time after the clock fix, and exchange time (receive time where unknown)."""
    if loaded.receive_ns is None or loaded.exchange_ns is None:
        raise ValueError(f"{loaded.path} has no receive clock")
    ts_ns = loaded.receive_ns + shift_ns
    exchange_ns = np.where(loaded.exchange_ns == UNKNOWN_NS, ts_ns, loaded.exchange_ns)
    return ts_ns, exchange_ns


def order_note(receive_ns: np.ndarray) -> list[str]:
    """A note when receive time goes backwards inside a file (the merge sorts it, stably)."""
    backwards = int(np.count_nonzero(np.diff(receive_ns) < 0)) if len(receive_ns) > 1 else 0
    if backwards == 0:
        return []
    return [f"receive time goes backwards at {backwards} rows; events stable-sorted by time"]


def quote_events(loaded: Loaded, shift_ns: int) -> EventChunk:
    """Book events of a parsed quote file (any format), on the shifted receive clock."""
    ts_ns, exchange_ns = shifted_clocks(loaded, shift_ns)
    c = loaded.columns
    return book_events(
        ts_ns, exchange_ns, c["bid_price"], c["bid_size"], c["ask_price"], c["ask_size"]
    )


def trade_file_events(loaded: Loaded, shift_ns: int) -> EventChunk:
    """Trade events of a parsed trade file (any format), on the shifted receive clock."""
    ts_ns, exchange_ns = shifted_clocks(loaded, shift_ns)
    c = loaded.columns
    return trade_events(
        ts_ns, exchange_ns, c["trade_price"], c["trade_size"], c["aggressor"], c["trade_id"]
    )

"""Candles (1m, 5m, ...) replayed in coarse bar mode: each bar becomes a few synthetic ticks."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from solbot.adapters.data.events import KIND_BOOK, KIND_TRADE, EventChunk
from solbot.adapters.data.formats import CANDLES
from solbot.adapters.data.loaded import Loaded, off_grid_note, to_units
from solbot.adapters.data.table import FLOAT, INT, TEXT, Field, Table, positive, read_table
from solbot.core.model import MarketSpec
from solbot.errors import DataError, Problem, UsageError

MS_NS = 1_000_000
_DEFAULT_BAR_NS = 60_000_000_000
_UNIT_NS = {
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
_NAME_INTERVAL = re.compile(r"_(\d+)([smhd])_")
MIN_BAR_TICKS = 4

CANDLE_FIELDS = (
    Field("open_time_ms", INT),
    Field("open_time_utc", TEXT, required=False, nullable=True),
    Field("open", FLOAT),
    Field("high", FLOAT),
    Field("low", FLOAT),
    Field("close", FLOAT),
    Field("volume", FLOAT),
)


def load_candles(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse a candle file; bars must be consistent (low <= open, close <= high) and unique."""
    table = read_table(path, header, CANDLE_FIELDS)
    columns: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for name in ("open", "high", "low", "close"):
        prices = positive(table, name, decimals=market.price_decimals)
        columns[name], off = to_units(prices, market.price_decimals)
        notes += off_grid_note(off, f"{name} prices", market.price_decimals)
    columns["volume"], _ = to_units(
        positive(table, "volume", allow_zero=True, decimals=market.size_decimals),
        market.size_decimals,
    )
    _check_bars(table, columns)
    open_ns = table.ints("open_time_ms") * MS_NS
    table.check(open_ns <= 0, "open_time_ms", "expected a positive epoch time")
    order = np.argsort(open_ns, kind="stable")
    if np.any(order[1:] < order[:-1]):
        notes.append("bars not in time order; sorted")
    open_ns = open_ns[order]
    columns = {name: values[order] for name, values in columns.items()}
    duplicate = np.flatnonzero(np.diff(open_ns) == 0)
    if len(duplicate):
        row = int(order[duplicate[0] + 1])
        raise table.fail(row, "open_time_ms", "a bar with this open time came before")
    bar_ns, note = _bar_length(open_ns, path)
    columns["open_ns"] = open_ns
    columns["bar_ns"] = np.full(len(open_ns), bar_ns, np.int64)
    columns["sequence"] = order.astype(np.int64)
    span = (int(open_ns[0]), int(open_ns[-1] + bar_ns - 1)) if len(open_ns) else (0, 0)
    return Loaded(
        path=path,
        format=CANDLES,
        sha256=sha256,
        rows=table.rows,
        columns=columns,
        receive_ns=None,
        exchange_ns=None,
        notes=notes + note,
        coarse=True,
        span_ns=span,
    )


def coarse_note(bar_ticks: int, spread_bps: float, bar_ns: int) -> str:
    """The caveat every output of a bar-mode run must carry."""
    return (
        f"bar mode is coarse: each {_duration(bar_ns)} bar becomes {bar_ticks} synthetic ticks "
        f"(open, the extreme nearer the open, the other extreme, close) with the book at "
        f"mid ± {spread_bps / 2:g} bps and one trade of volume/{bar_ticks} per tick, a sell at "
        "the bid when the path moves down into the tick (always at the low), a buy at the ask "
        "when it moves up (always at the high); the real intrabar path, spread, depth and queue "
        "are unknown"
    )


class BarExpander:
    """The bars of one or more candle files, expanded into events lazily, a batch at a time.

    The expansion is mirror-symmetric: replacing every price p by 2*p0 - p (high and low swap)
    swaps the path's ups and downs and so every synthetic trade's side (docs/data.md, bar mode).
    """

    def __init__(self, files: Sequence[Loaded], bar_ticks: int, spread_bps: float) -> None:
        if bar_ticks < MIN_BAR_TICKS:
            raise UsageError(f"bar ticks must be at least {MIN_BAR_TICKS}, got {bar_ticks}")
        if not spread_bps >= 0:
            raise UsageError(f"bar spread must be >= 0 bps, got {spread_bps}")
        self.bar_ticks = bar_ticks
        self.spread_bps = spread_bps
        self.bars = _merge_files(files)
        self._weights = _path_weights(bar_ticks)
        self._leg = _tick_legs(bar_ticks)

    def chunks(
        self, chunk_rows: int, start_ns: int | None, end_ns: int | None
    ) -> Iterator[EventChunk]:
        """Events in time order, at most `chunk_rows` per chunk, within [start_ns, end_ns)."""
        open_ns, bar_ns = self.bars["open_ns"], self.bars["bar_ns"]
        first = 0 if start_ns is None else int(np.searchsorted(open_ns + bar_ns, start_ns, "right"))
        stop = len(open_ns) if end_ns is None else int(np.searchsorted(open_ns, end_ns, "left"))
        per_chunk = max(1, chunk_rows // (2 * self.bar_ticks))
        for begin in range(first, stop, per_chunk):
            chunk = self._expand(begin, min(begin + per_chunk, stop))
            if start_ns is not None or end_ns is not None:
                chunk = chunk.take(_inside(chunk.ts_ns, start_ns, end_ns))
            if len(chunk):
                yield chunk

    def _expand(self, begin: int, stop: int) -> EventChunk:
        bars = {name: values[begin:stop] for name, values in self.bars.items()}
        ticks = self.bar_ticks
        anchors = path_anchors(bars)
        path = np.rint(anchors.astype(np.float64) @ self._weights.T).astype(np.int64)
        offsets = np.arange(ticks, dtype=np.int64)
        ts_ns = bars["open_ns"][:, None] + (offsets[None, :] * bars["bar_ns"][:, None]) // ticks
        half = path * (self.spread_bps / 20_000.0)
        bid = np.floor(path - half + 1e-9).astype(np.int64)
        ask = np.maximum(np.ceil(path + half - 1e-9).astype(np.int64), bid + 1)
        volume = bars["volume"][:, None]
        size = volume // ticks + (offsets[None, :] < volume % ticks)
        aggressor = trade_sides(anchors, path, self._leg, bars["open_ns"] // bars["bar_ns"])
        trade_id = bars["sequence"][:, None] * ticks + offsets[None, :] + 1
        return _interleave(ts_ns, bid, ask, size, aggressor, trade_id)


def path_anchors(bars: dict[str, np.ndarray]) -> np.ndarray:
    """(bars x 4) prices the synthetic path visits: open, nearer extreme, other extreme, close.

    The extreme nearer the open comes first. Ties (open exactly mid-range) go first to the
    extreme farther from the close, so the path ends on the close's side; when the close is
    exactly mid-range too, bars with an even number (open time / bar length) dip first and odd
    ones rally first. Every rule but that last one is symmetric under p -> 2*p0 - p.
    """
    open_, high, low, close = bars["open"], bars["high"], bars["low"], bars["close"]
    to_low, to_high = open_ - low, high - open_
    close_high_side = close - low > high - close
    close_low_side = close - low < high - close
    even = (bars["open_ns"] // bars["bar_ns"]) % 2 == 0
    tie_break = np.where(close_high_side | close_low_side, close_high_side, even)
    low_first = np.where(to_low != to_high, to_low < to_high, tie_break)
    second = np.where(low_first, low, high)
    third = np.where(low_first, high, low)
    return np.stack([open_, second, third, close], axis=1)


def trade_sides(
    anchors: np.ndarray, path: np.ndarray, leg: np.ndarray, bar_number: np.ndarray
) -> np.ndarray:
    """Aggressor of each synthetic tick's trade: the direction the path moves into the tick.

    A tick on a falling leg prints a sell (it hits the bid), on a rising leg a buy (it lifts the
    ask); the open takes the direction of the first leg. So the low always prints a sell and the
    high a buy, whatever the bar's direction. A tick on a flat leg (the open at an extreme, the
    close at an extreme) takes the side of the extreme it sits on; a flat bar alternates sides,
    buy first on even bar numbers.
    """
    legs = np.sign(np.diff(anchors, axis=1))[:, leg]
    low, high = anchors.min(axis=1)[:, None], anchors.max(axis=1)[:, None]
    ticks = np.arange(path.shape[1], dtype=np.int64)[None, :]
    alternate = np.where((ticks + bar_number[:, None]) % 2 == 0, 1, -1)
    at_extreme = np.where(path <= low, -1, np.where(path >= high, 1, alternate))
    still = np.where(low == high, alternate, at_extreme)
    sides: np.ndarray = np.where(legs != 0, legs, still).astype(np.int8)
    return sides


def _interleave(
    ts_ns: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    size: np.ndarray,
    aggressor: np.ndarray,
    trade_id: np.ndarray,
) -> EventChunk:
    """Per tick: the book, then its trade (same time); empty trades (no volume) are left out."""
    count = ts_ns.size
    zeros = np.zeros(count, np.int64)
    book_size = np.maximum(size, 1).ravel()
    trade_price = np.where(aggressor > 0, ask, bid).ravel()
    book = {
        "ts_ns": ts_ns.ravel(),
        "exchange_ts_ns": ts_ns.ravel(),
        "kind": np.full(count, KIND_BOOK),
        "bid_price": bid.ravel(),
        "bid_size": book_size,
        "ask_price": ask.ravel(),
        "ask_size": book_size,
        "trade_price": zeros,
        "trade_size": zeros,
        "aggressor": zeros,
        "trade_id": zeros,
    }
    trade = {
        "ts_ns": ts_ns.ravel(),
        "exchange_ts_ns": ts_ns.ravel(),
        "kind": np.full(count, KIND_TRADE),
        "bid_price": zeros,
        "bid_size": zeros,
        "ask_price": zeros,
        "ask_size": zeros,
        "trade_price": trade_price,
        "trade_size": size.ravel(),
        "aggressor": aggressor.ravel(),
        "trade_id": trade_id.ravel(),
    }
    keep = np.stack([np.ones(count, dtype=bool), size.ravel() > 0], axis=1).ravel()
    columns = {name: np.stack([book[name], trade[name]], axis=1).ravel()[keep] for name in book}
    return EventChunk.from_columns(columns)


def _path_weights(bar_ticks: int) -> np.ndarray:
    """(bar_ticks x 4) weights placing the four anchors evenly and interpolating between."""
    anchor_at = np.rint(np.linspace(0, bar_ticks - 1, 4))
    weights = np.empty((bar_ticks, 4))
    for anchor in range(4):
        unit = np.zeros(4)
        unit[anchor] = 1.0
        weights[:, anchor] = np.interp(np.arange(bar_ticks), anchor_at, unit)
    return weights


def _tick_legs(bar_ticks: int) -> np.ndarray:
    """Leg (0: open -> first extreme, 1: between the extremes, 2: -> close) each tick ends."""
    anchor_at = np.rint(np.linspace(0, bar_ticks - 1, 4)).astype(np.int64)
    ticks = np.arange(bar_ticks)
    return np.maximum(np.searchsorted(anchor_at, ticks, "left") - 1, 0).astype(np.int64)


def _inside(ts_ns: np.ndarray, start_ns: int | None, end_ns: int | None) -> np.ndarray:
    keep = np.ones(len(ts_ns), dtype=bool)
    if start_ns is not None:
        keep &= ts_ns >= start_ns
    if end_ns is not None:
        keep &= ts_ns < end_ns
    return keep


def _merge_files(files: Sequence[Loaded]) -> dict[str, np.ndarray]:
    """All bars of all files in time order; bars of different files must not overlap."""
    names = ("open_ns", "bar_ns", "open", "high", "low", "close", "volume", "sequence")
    merged = {name: np.concatenate([f.columns[name] for f in files]) for name in names}
    source = np.concatenate([np.full(f.rows, index) for index, f in enumerate(files)])
    order = np.argsort(merged["open_ns"], kind="stable")
    merged = {name: values[order] for name, values in merged.items()}
    source = source[order]
    overlap = np.flatnonzero(merged["open_ns"][1:] < merged["open_ns"][:-1] + merged["bar_ns"][:-1])
    if len(overlap):
        at = int(overlap[0]) + 1
        clash = files[int(source[at])]
        row = int(merged["sequence"][at])
        message = "this bar overlaps a bar of another candle file; pass each period once"
        raise DataError(Problem(str(clash.path), row + 2, 1, "open_time_ms", message))
    return merged


def _bar_length(open_ns: np.ndarray, path: Path) -> tuple[int, list[str]]:
    """Bar length: the most common gap between bars, else the file name (`_5m_`), else 1m."""
    gaps = np.diff(open_ns)
    if len(gaps):
        values, counts = np.unique(gaps, return_counts=True)
        return int(values[np.argmax(counts)]), []
    found = _NAME_INTERVAL.search(path.name)
    if found:
        return int(found.group(1)) * _UNIT_NS[found.group(2)], []
    return _DEFAULT_BAR_NS, ["one bar and no interval in the file name: assumed 1m bars"]


def _duration(bar_ns: int) -> str:
    for unit in ("d", "h", "m", "s"):
        if bar_ns % _UNIT_NS[unit] == 0:
            return f"{bar_ns // _UNIT_NS[unit]}{unit}"
    return f"{bar_ns / 1e9:g}s"


def _check_bars(table: Table, columns: dict[str, np.ndarray]) -> None:
    high, low = columns["high"], columns["low"]
    for name in ("open", "close", "low"):
        table.check(columns[name] > high, name, "expected a price <= high")
    for name in ("open", "close"):
        table.check(columns[name] < low, name, "expected a price >= low")


def mirror_candles(source: Path, target: Path, pivot: float | None = None) -> float:
    """Write `source`'s candles reflected through `pivot`: every price p becomes 2*p0 - p.

    The default pivot is the middle of the file's range, so the mirror spans the same prices
    (sizes set in USD stay comparable) and stays on the tick grid. High and low swap roles:
    every rising bar becomes a falling one. Times and volumes are kept. Used to check that bar
    mode has no directional bias. Returns the pivot.
    """
    data = source.read_bytes()
    frame = pl.read_csv(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    p0 = pivot
    if p0 is None:
        p0 = (float(frame["high"].max()) + float(frame["low"].min())) / 2  # type: ignore[arg-type]
    mirrored = frame.with_columns(
        ((2 * p0 - pl.col(name)).round(8)).alias(other)
        for name, other in (("open", "open"), ("high", "low"), ("low", "high"), ("close", "close"))
    )
    if len(mirrored) and float(mirrored["low"].min()) <= 0:  # type: ignore[arg-type]
        raise UsageError(f"{source}: mirroring through {p0:g} gives prices <= 0")
    mirrored.write_csv(target)
    return p0

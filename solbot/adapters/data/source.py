"""Open any mix of supported files as one time-ordered event stream (`open_events`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from solbot.adapters.data import bars, binance, depth, tardis
from solbot.adapters.data.events import (
    DataFileInfo,
    EventChunk,
    carries_exchange_time,
    exchange_ordered_concat,
    merge_events,
)
from solbot.adapters.data.formats import (
    BINANCE_BOOKTICKER,
    BINANCE_DEPTH_SNAPSHOT,
    BINANCE_DEPTH_UPDATES,
    BINANCE_TRADES,
    CANDLES,
    SOLBOT_PARQUET,
    TARDIS_QUOTES,
    TARDIS_TRADES,
    detect_format,
    read_header,
    sha256_file,
)
from solbot.adapters.data.loaded import Loaded, quote_events, trade_file_events
from solbot.adapters.data.parquet_io import load_parquet, parquet_events, read_metadata
from solbot.core.model import MarketSpec
from solbot.errors import DataError, Problem, UsageError

DEFAULT_CHUNK_ROWS = 262_144
_Loader = Callable[[Path, tuple[str, ...], str, MarketSpec], Loaded]
_LOADERS: dict[str, _Loader] = {
    BINANCE_BOOKTICKER: binance.load_bookticker,
    BINANCE_TRADES: binance.load_trades,
    BINANCE_DEPTH_SNAPSHOT: depth.load_snapshot,
    BINANCE_DEPTH_UPDATES: depth.load_updates,
    TARDIS_QUOTES: tardis.load_quotes,
    TARDIS_TRADES: tardis.load_trades,
    CANDLES: bars.load_candles,
}
_TICK_EVENTS: dict[str, Callable[[Loaded, int], EventChunk]] = {
    BINANCE_BOOKTICKER: quote_events,
    BINANCE_TRADES: trade_file_events,
    TARDIS_QUOTES: quote_events,
    TARDIS_TRADES: trade_file_events,
}
_DEPTH_SUFFIXES = ("_depth_snapshot", "_depth_updates")


class EventSource:
    """Time-ordered book and trade events of one market, read from one or more files."""

    def __init__(
        self,
        files: tuple[DataFileInfo, ...],
        market: MarketSpec,
        *,
        events: EventChunk | None = None,
        expander: bars.BarExpander | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        bar_heartbeat_ns: int = 0,
    ) -> None:
        self.files = files
        self.market = market
        self.coarse = any(info.coarse for info in files)
        self.start_ns = start_ns
        self.end_ns = end_ns
        self._events = events
        self._expander = expander
        self._bar_heartbeat_ns = bar_heartbeat_ns

    @property
    def notes(self) -> tuple[str, ...]:
        """Every file's notes, each prefixed with the file name."""
        return tuple(
            f"{Path(info.path).name}: {note}" for info in self.files for note in info.notes
        )

    @property
    def expands_bars(self) -> bool:
        """Candles expanded here (bar ticks and spread apply), not events read as they are."""
        return self._expander is not None

    @property
    def feed_heartbeat_ns(self) -> int:
        """How long one event vouches for a live feed: a bar (bar mode), else 0.

        Synthetic ticks stand for a market that traded throughout the bar, so the stale-feed
        rules must not see the spacing between them as silence; a missing bar still does. Bar-mode
        events read back from solbot Parquet carry the bar length they were expanded with.
        """
        if self._expander is None:
            return self._bar_heartbeat_ns
        bar_ns = self._expander.bars["bar_ns"]
        return int(bar_ns.max()) if len(bar_ns) else 0

    def chunks(self, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[EventChunk]:
        """The events in time order, at most `chunk_rows` per chunk (views: do not modify)."""
        if chunk_rows < 1:
            raise UsageError(f"chunk_rows must be at least 1, got {chunk_rows}")
        if self._expander is not None:
            yield from self._expander.chunks(chunk_rows, self.start_ns, self.end_ns)
            return
        window = self._window()
        for start in range(0, len(window), chunk_rows):
            yield window.slice(start, start + chunk_rows)

    def count(self) -> int:
        """Number of events `chunks()` yields."""
        if self._expander is not None:
            return sum(len(chunk) for chunk in self.chunks())
        return len(self._window())

    def _window(self) -> EventChunk:
        events = self._events if self._events is not None else EventChunk.empty()
        start = 0 if self.start_ns is None else np.searchsorted(events.ts_ns, self.start_ns, "left")
        stop = (
            len(events)
            if self.end_ns is None
            else np.searchsorted(events.ts_ns, self.end_ns, "left")
        )
        return events.slice(int(start), int(stop))


DEFAULT_BAR_TICKS = 4  # synthetic ticks per bar (bar mode)
DEFAULT_BAR_SPREAD_BPS = 2.0  # synthetic book spread around the bar's path


def open_events(
    paths: Sequence[Path],
    market: MarketSpec,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    bar_spread_bps: float = DEFAULT_BAR_SPREAD_BPS,
    bar_ticks: int = DEFAULT_BAR_TICKS,
) -> EventSource:
    """Read `paths` (any supported formats of one market) into one event source."""
    if not paths:
        raise UsageError("no data files given")
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise UsageError("the end of the time window must come after its start")
    loaded = [load_file(Path(path), market) for path in paths]
    shifts = clock_shifts(loaded)
    infos = tuple(
        file_info(item, shift, bar_ticks, bar_spread_bps)
        for item, shift in zip(loaded, shifts, strict=True)
    )
    candles = [item for item in loaded if item.format == CANDLES]
    if candles:
        if len(candles) != len(loaded):
            raise DataError("candle files cannot be mixed with tick files in one replay")
        expander = bars.BarExpander(candles, bar_ticks, bar_spread_bps)
        return EventSource(infos, market, expander=expander, start_ns=start_ns, end_ns=end_ns)
    coarse = [item for item in loaded if item.coarse]
    if coarse and len(coarse) != len(loaded):
        raise DataError("bar-mode event files cannot be mixed with tick files in one replay")
    heartbeat = max((int(item.metadata["feed_heartbeat_ns"]) for item in coarse), default=0)
    chunks = _tick_events(loaded, shifts)
    tick_files = all(
        item.format in _TICK_EVENTS or item.format == SOLBOT_PARQUET for item in loaded
    )
    # the files' raw clocks are not needed past here: free them before the merge
    del loaded, candles
    if tick_files and all(carries_exchange_time(chunk) for chunk in chunks):
        # Straight from the files: sorting by receive time first would change nothing, since
        # rows equal in exchange time, receive time and kind keep their input order either way.
        events = exchange_ordered_concat(chunks)
    else:  # depth-derived L1 keeps its update-sequence order
        events = merge_events(chunks)
    return EventSource(
        infos, market, events=events, start_ns=start_ns, end_ns=end_ns, bar_heartbeat_ns=heartbeat
    )


def describe_files(
    paths: Sequence[Path],
    market: MarketSpec | None = None,
    *,
    bar_spread_bps: float = DEFAULT_BAR_SPREAD_BPS,
    bar_ticks: int = DEFAULT_BAR_TICKS,
) -> list[DataFileInfo]:
    """Facts about each file (format, rows, span, clock shift, sha256) without building events."""
    loaded = [load_file(Path(path), market or _neutral_market(Path(path))) for path in paths]
    shifts = clock_shifts(loaded)
    return [
        file_info(item, shift, bar_ticks, bar_spread_bps)
        for item, shift in zip(loaded, shifts, strict=True)
    ]


def load_file(path: Path, market: MarketSpec) -> Loaded:
    """Detect the format of one file, hash it and parse it."""
    fmt = detect_format(path)
    sha256 = sha256_file(path)
    if fmt == SOLBOT_PARQUET:
        return load_parquet(path, sha256, market)
    return _LOADERS[fmt](path, read_header(path), sha256, market)


def clock_shifts(loaded: Sequence[Loaded]) -> list[int]:
    """Per file, the shift that puts its capture clock at or after the exchange clock.

    Files whose receive times overlap come from one capture session (one host clock), so they
    share one shift: the largest exchange-minus-receive gap over the session, or 0 (rows whose
    gap is far from the median are refused by the readers, so one lying row cannot set it).
    """
    spans = sorted(
        (span[0], span[1], index)
        for index, item in enumerate(loaded)
        if (span := item.receive_span()) is not None
    )
    groups: list[list[int]] = []
    group_end = 0
    for start, stop, index in spans:
        if groups and start <= group_end:
            groups[-1].append(index)
            group_end = max(group_end, stop)
        else:
            groups.append([index])
            group_end = stop
    shifts = [0] * len(loaded)
    for group in groups:
        gaps = [gap for index in group if (gap := loaded[index].max_clock_gap_ns()) is not None]
        for index in group:
            shifts[index] = max([0, *gaps])
    return shifts


def file_info(loaded: Loaded, shift_ns: int, bar_ticks: int, bar_spread_bps: float) -> DataFileInfo:
    """The DataFileInfo of a parsed file given its session's clock shift."""
    notes = list(loaded.notes)
    span = loaded.receive_span()
    if span is not None:
        first, last = span[0] + shift_ns, span[1] + shift_ns
        notes += _clock_notes(loaded, shift_ns)
    else:
        first, last = loaded.span_ns
        shift_ns = loaded.recorded_shift_ns
    if loaded.format == CANDLES and loaded.rows:
        bar_ns = int(loaded.columns["bar_ns"][0])
        last = int(loaded.columns["open_ns"][-1]) + (bar_ticks - 1) * bar_ns // bar_ticks
        notes.insert(0, bars.coarse_note(bar_ticks, bar_spread_bps, bar_ns))
    return DataFileInfo(
        path=str(loaded.path),
        format=loaded.format,
        sha256=loaded.sha256,
        rows=loaded.rows,
        first_ts_ns=first,
        last_ts_ns=last,
        clock_shift_ns=shift_ns,
        coarse=loaded.coarse,
        notes=tuple(notes),
    )


def _clock_notes(loaded: Loaded, shift_ns: int) -> list[str]:
    if loaded.max_clock_gap_ns() is None:
        return ["no exchange time in the file: exchange_ts_ns is the receive time"]
    if shift_ns == 0:
        return []
    return [
        f"capture clock ran behind the exchange: receive times shifted by +{shift_ns / 1e9:.6f} s "
        "(the largest exchange-minus-receive gap of this capture session)"
    ]


def _tick_events(loaded: Sequence[Loaded], shifts: Sequence[int]) -> list[EventChunk]:
    chunks: list[EventChunk] = []
    for item, shift in zip(loaded, shifts, strict=True):
        if item.format in _TICK_EVENTS:
            chunks.append(_TICK_EVENTS[item.format](item, shift))
        elif item.format == SOLBOT_PARQUET:
            chunks.append(parquet_events(item))
    chunks.extend(_depth_events(loaded, shifts))
    return chunks


def _depth_events(loaded: Sequence[Loaded], shifts: Sequence[int]) -> list[EventChunk]:
    """L1 events of each snapshot and the updates file that follows it."""
    snapshots = [i for i, item in enumerate(loaded) if item.format == BINANCE_DEPTH_SNAPSHOT]
    updates = [i for i, item in enumerate(loaded) if item.format == BINANCE_DEPTH_UPDATES]
    if len(snapshots) == 1 and len(updates) == 1:
        pairs = {updates[0]: snapshots[0]}
    else:
        by_stem = {_session_stem(loaded[i].path): i for i in snapshots}
        pairs = {i: by_stem.get(_session_stem(loaded[i].path), -1) for i in updates}
    chunks = []
    for update_index, snapshot_index in pairs.items():
        if snapshot_index < 0:
            message = "depth updates need their snapshot file (…_depth_snapshot) among the inputs"
            raise DataError(Problem(str(loaded[update_index].path), 1, 1, "", message))
        shift = shifts[update_index]
        chunks.append(depth.l1_events(loaded[snapshot_index], loaded[update_index], shift))
    for index in set(snapshots) - set(pairs.values()):
        chunks.append(depth.snapshot_events(loaded[index], shifts[index]))
    return chunks


def _session_stem(path: Path) -> str:
    name = path.name
    for suffix in _DEPTH_SUFFIXES:
        if suffix in name:
            return name[: name.index(suffix)]
    return name


def _neutral_market(path: Path) -> MarketSpec:
    """A spec fine enough to describe a file of unknown market (or the one a Parquet file names)."""
    decimals = (8, 8)
    if detect_format(path) == SOLBOT_PARQUET:
        stored = read_metadata(path)["market"]
        decimals = (int(stored["price_decimals"]), int(stored["size_decimals"]))
    return MarketSpec(
        symbol="unknown",
        venue="unknown",
        market_id=0,
        price_decimals=decimals[0],
        size_decimals=decimals[1],
        min_base_amount=0.0,
        min_quote_amount=0.0,
    )

"""`solbot record`: the venue's public book tops and trades, written as a solbot Parquet file.

The file is the same EventChunk format `solbot data convert` writes, so `solbot simulate --data`
and `solbot data info` read it. Rows are written in row groups of `flush_events` events (memory
stays bounded however long the recording runs) to `<out>.partial`; stopping (duration, Ctrl-C,
SIGTERM, or a failure after connecting) writes the footer with the metadata and renames the file
to `<out>`, so `<out>` only ever holds a complete, readable file. Only a hard kill (SIGKILL, power
loss) leaves an unreadable `<out>.partial` behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from solbot import __version__
from solbot.adapters.data.events import (
    DataFileInfo,
    book_events,
    merge_events,
    trade_events,
)
from solbot.adapters.data.parquet_io import FILE_KIND, FILE_VERSION, METADATA_KEY, SCHEMA
from solbot.adapters.venues.lighter.errors import TransportError
from solbot.adapters.venues.lighter.events import LighterEvent
from solbot.adapters.venues.lighter.public_feed import PublicFeed
from solbot.adapters.venues.lighter.ws import WsSettings
from solbot.config.markets import (
    MarketEntry,
    infer_market_from_filename,
    markets_with,
    resolve_market,
)
from solbot.core.model import BookTop, FeedStatus, MarketSpec, MarkPrice, TradePrint
from solbot.errors import RuntimeFailure, UsageError

SOURCE_FORMAT = "lighter-ws"
DEFAULT_FLUSH_EVENTS = 5_000
DEFAULT_CONNECT_TIMEOUT_S = 15.0
_INT64_MAX = 2**63 - 1

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RecordRequest:
    """What to record, from where, to which file, for how long (None = until stopped)."""

    market: str
    out: Path
    rest_url: str
    ws_url: str
    duration_s: float | None = None
    flush_events: int = DEFAULT_FLUSH_EVENTS
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    ws_settings: WsSettings | None = None
    overwrite: bool = False
    markets: Path | None = None  # a markets file adding to or overriding the bundled one


@dataclass(frozen=True)
class RecordSummary:
    """What a finished recording holds; the same facts go into the file's metadata."""

    out: str
    market_key: str
    market_id: int
    book_events: int
    trade_events: int
    first_ts_ns: int
    last_ts_ns: int
    started_ns: int
    ended_ns: int
    stop_reason: str
    row_groups: int
    reconnects: int
    book_invalidations: int
    mark_prices_skipped: int
    trades_without_numeric_id: int
    simulate_command: str

    @property
    def events(self) -> int:
        return self.book_events + self.trade_events

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return asdict(self)


class RecordingFile:
    """Book tops and trades appended to `<out>.partial` in row groups; `finish` names it `out`."""

    def __init__(self, out: Path, flush_events: int) -> None:
        if flush_events < 1:
            raise UsageError(f"flush every N events needs N >= 1, got {flush_events}")
        self.out = out
        self.partial = out.with_name(out.name + ".partial")
        self.flush_events = flush_events
        self._books: list[tuple[int, int, int, int, int, int]] = []
        self._trades: list[tuple[int, int, int, int, int, int]] = []
        self.book_events = 0
        self.trade_events = 0
        self.first_ts_ns = 0
        self.last_ts_ns = 0
        self.row_groups = 0
        self.trades_without_numeric_id = 0
        # store_schema=False: the metadata added at close is then what read_schema returns.
        self._writer = self._guard(
            lambda: pq.ParquetWriter(self.partial, SCHEMA, compression="zstd", store_schema=False)
        )

    def add_book(self, top: BookTop) -> None:
        """Buffer one book-top change."""
        self._books.append(
            (
                top.ts_ns,
                top.exchange_ts_ns,
                top.bid_price,
                top.bid_size,
                top.ask_price,
                top.ask_size,
            )
        )
        self._count(top.ts_ns)

    def add_trade(self, trade: TradePrint) -> None:
        """Buffer one public trade (its id kept when it is a number, else 0)."""
        trade_id = _numeric_id(trade.trade_id)
        if trade_id == 0:
            self.trades_without_numeric_id += 1
        self._trades.append(
            (
                trade.ts_ns,
                trade.exchange_ts_ns,
                trade.price,
                trade.size,
                int(trade.aggressor),
                trade_id,
            )
        )
        self._count(trade.ts_ns)

    @property
    def buffered(self) -> int:
        return len(self._books) + len(self._trades)

    def flush(self) -> None:
        """Write the buffered events as one time-ordered row group."""
        if not self.buffered:
            return
        chunk = merge_events([_book_chunk(self._books), _trade_chunk(self._trades)])
        table = pa.Table.from_pydict(chunk.columns(), schema=SCHEMA)
        self._guard(lambda: self._writer.write_table(table))
        self.book_events += len(self._books)
        self.trade_events += len(self._trades)
        self.row_groups += 1
        self._books.clear()
        self._trades.clear()

    def finish(self, metadata: dict[str, Any]) -> None:
        """Flush, write the footer with `metadata`, and rename the file to its final name."""
        self.flush()
        payload = json.dumps(metadata, sort_keys=True).encode()
        self._guard(lambda: self._writer.add_key_value_metadata({METADATA_KEY: payload}))
        self._guard(self._writer.close)
        self._guard(lambda: os.replace(self.partial, self.out))

    def discard(self) -> None:
        """Close and delete the partial file (nothing worth keeping was recorded)."""
        with contextlib.suppress(OSError, pa.ArrowException):
            self._writer.close()
        self.partial.unlink(missing_ok=True)

    def _count(self, ts_ns: int) -> None:
        if not self.first_ts_ns:
            self.first_ts_ns = ts_ns
        self.last_ts_ns = max(self.last_ts_ns, ts_ns)
        if self.buffered >= self.flush_events:
            self.flush()

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except (OSError, pa.ArrowException) as error:
            raise RuntimeFailure(f"cannot write {self.out}: {error}") from None


def _numeric_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        return 0
    return value if 0 < value <= _INT64_MAX else 0


def _book_chunk(rows: list[tuple[int, int, int, int, int, int]]) -> Any:
    columns = np.array(rows, dtype=np.int64).reshape(-1, 6).T
    return book_events(*columns)


def _trade_chunk(rows: list[tuple[int, int, int, int, int, int]]) -> Any:
    columns = np.array(rows, dtype=np.int64).reshape(-1, 6).T
    return trade_events(*columns)


class _Recorder:
    """Routes feed events into the file and keeps the counters the summary reports."""

    def __init__(self, file: RecordingFile, on_progress: Progress | None) -> None:
        self.file = file
        self.on_progress = on_progress
        self.connected = asyncio.Event()
        self.book_invalidations = 0
        self.mark_prices_skipped = 0
        self._book_valid = False
        self._reported_groups = 0

    async def consume(self, events: AsyncIterator[LighterEvent]) -> None:
        async for event in events:
            if isinstance(event, BookTop):
                self.file.add_book(event)
            elif isinstance(event, TradePrint):
                self.file.add_trade(event)
            elif isinstance(event, FeedStatus):
                self._on_status(event)
            elif isinstance(event, MarkPrice):
                self.mark_prices_skipped += 1  # the event format has no mark column
            self._progress()

    def _on_status(self, status: FeedStatus) -> None:
        if status.connected:
            self.connected.set()
            # Invalid while connected = a gap or bad frame and a resync; drops count as reconnects.
            if self._book_valid and not status.book_valid:
                self.book_invalidations += 1
        self._book_valid = status.quoting_safe

    def _progress(self) -> None:
        if self.on_progress is None or self.file.row_groups == self._reported_groups:
            return
        self._reported_groups = self.file.row_groups
        self.on_progress(
            {
                "book_events": self.file.book_events,
                "trade_events": self.file.trade_events,
                "row_groups": self.file.row_groups,
            }
        )


def simulate_command(out: Path, entry: MarketEntry) -> str:
    """How to replay a recording; names the market when the file name does not."""
    inferred = infer_market_from_filename(out)
    market = (
        "" if inferred is not None and inferred.key == entry.key else f" --data-market {entry.key}"
    )
    return f"solbot simulate --data {out}{market}"


def lighter_entry(market: str, markets: Path | None = None) -> MarketEntry:
    """The markets.yaml entry of a Lighter market (`SOL` or `lighter:SOL`); `markets` adds to or
    overrides the bundled file."""
    entry = resolve_market(market, markets_with([markets]) if markets else None)
    if entry.spec.venue != "lighter":
        raise UsageError(f"--market: {entry.key} is not a Lighter market")
    return entry


def check_venue_spec(entry: MarketEntry, venue_spec: MarketSpec) -> None:
    """Refuse a venue whose tick or lot size differs from markets.yaml (files would not replay)."""
    for what in ("price_decimals", "size_decimals"):
        listed, served = getattr(entry.spec, what), getattr(venue_spec, what)
        if listed != served:
            raise RuntimeFailure(
                f"the venue serves {entry.key} with {what} {served}, but markets.yaml says "
                f"{listed}; update markets.yaml before recording or trading"
            )


async def record(
    request: RecordRequest, stop: asyncio.Event, on_progress: Progress | None = None
) -> RecordSummary:
    """Record until `stop` is set or the duration has passed; return what the file holds."""
    entry = lighter_entry(request.market, request.markets)
    if request.out.exists() and not request.overwrite:
        raise UsageError(f"--out: {request.out} exists; pass --overwrite to replace it")
    file = RecordingFile(request.out, request.flush_events)  # a bad --out fails before any I/O
    feed = PublicFeed(
        request.rest_url, request.ws_url, entry.spec.market_id, ws_settings=request.ws_settings
    )
    try:
        await feed.start()
        check_venue_spec(entry, feed.market)
    except BaseException as error:
        await feed.close()
        file.discard()
        if isinstance(error, TransportError):
            raise RuntimeFailure(f"venue unreachable at {request.rest_url}: {error}") from None
        raise
    recorder = _Recorder(file, on_progress)
    consumer = asyncio.create_task(recorder.consume(feed.events()), name="solbot-record")
    started_ns = time.time_ns()
    try:
        reason = await _run_until_stopped(request, feed, recorder, consumer, stop)
    except BaseException:
        await _stop_feed(feed, consumer)
        if not recorder.connected.is_set():
            file.discard()  # never connected: no file rather than an empty one
            raise
        summary = _summary(request, entry, file, recorder, feed, started_ns, "interrupted")
        with contextlib.suppress(RuntimeFailure):  # the original error is the one to report
            file.finish(_metadata(request, feed.market, entry, summary))
        raise
    consumer_error = await _stop_feed(feed, consumer)
    summary = _summary(request, entry, file, recorder, feed, started_ns, reason)
    file.finish(_metadata(request, feed.market, entry, summary))
    if consumer_error is not None:
        raise RuntimeFailure(
            f"recording stopped by an error after {summary.events} events "
            f"(kept in {request.out}): {consumer_error!r}"
        ) from consumer_error
    return summary


async def _run_until_stopped(
    request: RecordRequest,
    feed: PublicFeed,
    recorder: _Recorder,
    consumer: asyncio.Task[None],
    stop: asyncio.Event,
) -> str:
    """Wait for the connection, then for the duration, a stop request or a failed consumer."""
    stopper = asyncio.create_task(stop.wait())
    connected = asyncio.create_task(recorder.connected.wait())
    try:
        await asyncio.wait(
            {stopper, connected, consumer},
            timeout=request.connect_timeout_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not (recorder.connected.is_set() or stop.is_set() or consumer.done()):
            last_error = feed.ws.last_error if feed.ws is not None else ""
            raise RuntimeFailure(
                f"venue unreachable: no WebSocket session at {request.ws_url} within "
                f"{request.connect_timeout_s:g} s ({last_error or 'no answer'})"
            )
        await asyncio.wait(
            {stopper, consumer}, timeout=request.duration_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (stopper, connected):
            task.cancel()
    if consumer.done():
        return "error"
    return "stopped" if stop.is_set() else "duration"


async def _stop_feed(feed: PublicFeed, consumer: asyncio.Task[None]) -> BaseException | None:
    """Close the feed and let the consumer drain what was already received."""
    await feed.close()
    try:
        await asyncio.wait_for(consumer, 10.0)
    except asyncio.CancelledError:
        return None
    except Exception as error:  # reported after the file is finished: keep what was recorded
        return error
    return None


def _summary(
    request: RecordRequest,
    entry: MarketEntry,
    file: RecordingFile,
    recorder: _Recorder,
    feed: PublicFeed,
    started_ns: int,
    reason: str,
) -> RecordSummary:
    file.flush()
    return RecordSummary(
        out=str(request.out),
        market_key=entry.key,
        market_id=entry.spec.market_id,
        book_events=file.book_events,
        trade_events=file.trade_events,
        first_ts_ns=file.first_ts_ns,
        last_ts_ns=file.last_ts_ns,
        started_ns=started_ns,
        ended_ns=time.time_ns(),
        stop_reason=reason,
        row_groups=file.row_groups,
        reconnects=feed.ws.reconnects if feed.ws is not None else 0,
        book_invalidations=recorder.book_invalidations,
        mark_prices_skipped=recorder.mark_prices_skipped,
        trades_without_numeric_id=file.trades_without_numeric_id,
        simulate_command=simulate_command(file.out, entry),
    )


def _metadata(
    request: RecordRequest, spec: MarketSpec, entry: MarketEntry, summary: RecordSummary
) -> dict[str, Any]:
    """The solbot file metadata (as `write_events` writes it) plus the recording's facts."""
    notes = [f"recorded live from {request.ws_url} (receive time = ts_ns)"]
    if summary.reconnects or summary.book_invalidations:
        notes.append(
            f"{summary.reconnects} reconnects, {summary.book_invalidations} book resyncs: "
            "no book rows while the book was invalid"
        )
    source = DataFileInfo(
        path=request.ws_url,
        format=SOURCE_FORMAT,
        sha256="",
        rows=summary.events,
        first_ts_ns=summary.first_ts_ns,
        last_ts_ns=summary.last_ts_ns,
        clock_shift_ns=0,
        coarse=False,
        notes=tuple(notes),
    )
    return {
        "kind": FILE_KIND,
        "version": FILE_VERSION,
        "solbot_version": __version__,
        "market": {
            "key": entry.key,
            "price_decimals": spec.price_decimals,
            "size_decimals": spec.size_decimals,
        },
        "coarse": False,
        "sources": [source.to_dict()],
        "recording": {
            "source": SOURCE_FORMAT,
            "rest_url": request.rest_url,
            "ws_url": request.ws_url,
            **summary.to_dict(),
        },
    }


def run_record(request: RecordRequest, on_progress: Progress | None = None) -> RecordSummary:
    """Record in a fresh event loop; SIGINT/SIGTERM stop it and finish the file."""
    return asyncio.run(_record_with_signals(request, on_progress))


async def _record_with_signals(
    request: RecordRequest, on_progress: Progress | None
) -> RecordSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []

    def on_signal(number: signal.Signals) -> None:
        stop.set()
        # A second Ctrl-C gets Python's default behaviour (KeyboardInterrupt) back.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(number)

    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, on_signal, number)
            installed.append(number)
    try:
        return await record(request, stop, on_progress)
    finally:
        for number in installed:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)

"""The one driver: market source + venue + clock -> Session, the same in replay, paper and live.

The driver hands every market event to the venue (the simulated exchange matches our orders
against it; the live adapter ignores it) and to the session, passes venue reports (fills, order
updates, positions, feed status) to the session, and mixes clock ticks into the stream so that
anything that depends on time passing happens without market data:

- live and paper: a wall-clock timer ticks at the profile's decision interval (`run_clock`);
- replay: event time; before each event the driver ticks at every moment the session asked to be
  woken (`Session.wake_ns`: a rule timer, a stale-feed threshold, a hedge escalation, a regime
  dwell, the decision interval after a change) and whenever a command in flight reaches the
  simulated exchange. Quiet stretches cost nothing, and a gap in the data behaves as it would live.

Replay feeds one by one only the events that can change more than displayed sizes and the feed
clock (`fast_forward_chunk`); the rest of each chunk is applied in bulk, with the same result as
feeding every event (`replay(..., bulk=False)`, the reference the tests compare with).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from solbot.app.session import Session
from solbot.core.clock import Clock
from solbot.core.model import (
    BookTop,
    FeedStatus,
    Fill,
    FundingPayment,
    OrderUpdate,
    PositionSnapshot,
    TradePrint,
)
from solbot.core.venue import DrivenVenue

NS = 1_000_000_000
NEVER = 2**63 - 1


class SystemClock:
    """Wall time, for live and paper runs (core never reads it)."""

    def now_ns(self) -> int:
        return time.time_ns()


class Driver:
    """Feeds one Session from a market source and a venue behind one protocol."""

    def __init__(
        self, session: Session, venue: DrivenVenue, clock: Clock, feed_heartbeat_ns: int = 0
    ) -> None:
        self.session = session
        self.venue = venue
        self.clock = clock
        self.feed_heartbeat_ns = feed_heartbeat_ns
        self.ticks = 0
        self._last_bid = -1
        self._last_ask = -1

    # ----- market data -----------------------------------------------------------------------

    def book(
        self, ts_ns: int, exchange_ts_ns: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> None:
        """A top of book: the venue sees every one; the session decides only on a price change."""
        venue = self.venue
        venue.advance(ts_ns)
        venue.on_book(ts_ns, exchange_ts_ns, bid, bid_size, ask, ask_size)
        if self.feed_heartbeat_ns:
            self.session.engine.vouch_feed(ts_ns + self.feed_heartbeat_ns)
        if bid != self._last_bid or ask != self._last_ask:
            self._last_bid, self._last_ask = bid, ask
            self.session.on_book(ts_ns, exchange_ts_ns, bid, bid_size, ask, ask_size)
        else:
            self.session.on_book_sizes(ts_ns, bid_size, ask_size)

    def trade(self, ts_ns: int, exchange_ts_ns: int, price: int, size: int, aggressor: int) -> None:
        """A public trade: only the venue's matching needs it."""
        self.venue.advance(ts_ns)
        self.venue.on_trade(ts_ns, exchange_ts_ns, price, size, aggressor)

    def event(self, event: object) -> None:
        """One event of a live source (market data or a venue report) into venue and session."""
        session = self.session
        if isinstance(event, BookTop):
            self.book(
                event.ts_ns,
                event.exchange_ts_ns,
                event.bid_price,
                event.bid_size,
                event.ask_price,
                event.ask_size,
            )
        elif isinstance(event, TradePrint):
            self.trade(
                event.ts_ns, event.exchange_ts_ns, event.price, event.size, int(event.aggressor)
            )
        elif isinstance(event, Fill):
            session.on_fill(event)
        elif isinstance(event, OrderUpdate):
            session.on_order_update(event)
        elif isinstance(event, FundingPayment):
            session.on_funding(event)
        elif isinstance(event, PositionSnapshot):
            session.on_position(event)
        elif isinstance(event, FeedStatus):
            session.on_feed_status(event)

    # ----- time ------------------------------------------------------------------------------

    def wake_ns(self) -> int:
        """The next moment time alone could change something: a session wake or a venue arrival."""
        return min(self.session.wake_ns, self.venue.next_due_ns())

    def tick(self, now_ns: int) -> None:
        """Time passed without market data: deliver what is due, let time-based rules act."""
        self.ticks += 1
        self.venue.advance(now_ns)
        if self.session.stats.first_ts_ns:
            self.session.tick(now_ns)

    def catch_up(self, until_ns: int) -> None:
        """Replay: tick at every wake-up strictly before `until_ns` (the next event's time)."""
        last = -1
        while True:
            wake = self.wake_ns()
            if wake >= until_ns:
                return
            wake = max(wake, last + 1)  # always progress, whatever a component reports
            last = wake
            self.tick(wake)


KIND_BOOK = 0
Row = tuple[int, int, int, int, int, int, int, int, int, int]
WINDOW_ROWS = 2048  # rows whose stop mask is computed at once (recomputed when our orders move)
FAR = 1 << 62  # beyond any price in ticks


class ReplayChunk(NamedTuple):
    """Equal-length int64 columns of replay events in the traded market's ticks and lots."""

    ts_ns: np.ndarray
    exchange_ts_ns: np.ndarray
    kind: np.ndarray
    bid_price: np.ndarray
    bid_size: np.ndarray
    ask_price: np.ndarray
    ask_size: np.ndarray
    trade_price: np.ndarray
    trade_size: np.ndarray
    aggressor: np.ndarray

    def rows(self) -> Iterator[Row]:
        """The events as tuples of Python ints, in column order."""
        return zip(*(column.tolist() for column in self), strict=True)


@runtime_checkable
class FastForwardVenue(Protocol):
    """A venue that says which events can touch our orders, and takes the rest in bulk."""

    def reach(self) -> tuple[int, int, int]: ...

    @property
    def feed_delay_ns(self) -> int: ...

    def fast_forward(self, feed_delay_ns: int, bid_size: int, ask_size: int) -> None: ...


class _Replay:
    """The replay loop's state between events (what `replay` used to keep in locals)."""

    def __init__(
        self,
        driver: Driver,
        funding: Sequence[tuple[int, float]],
        settle: Callable[[int, float], None] | None,
    ) -> None:
        self.driver = driver
        session = driver.session
        venue = driver.venue
        self.settlements = list(funding)
        self.next_funding = self.settlements[0][0] if self.settlements else NEVER
        self.settle = settle
        self.last_bid = self.last_ask = -1
        self.ts = 0
        # The venue's next arrival only moves earlier when the session sends commands (it
        # decided) and later when arrivals are applied (an event at or past it): re-read it
        # only then.
        self.decisions = session.stats.decisions
        self.due = venue.next_due_ns()
        self.wake = min(session.wake_ns, self.due)

    def row(
        self,
        ts: int,
        exchange_ts: int,
        kind: int,
        bid: int,
        bid_size: int,
        ask: int,
        ask_size: int,
        price: int,
        size: int,
        aggressor: int,
    ) -> None:
        """One event through clock ticks, funding, venue and session (Driver.book/trade)."""
        driver = self.driver
        session = driver.session
        venue = driver.venue
        stats = session.stats
        self.ts = ts
        if ts > self.wake:
            driver.catch_up(ts)
            self.decisions = stats.decisions
            self.due = venue.next_due_ns()
        if ts >= self.next_funding:
            settlements = self.settlements
            while settlements and settlements[0][0] <= ts:
                funding_ns, rate = settlements.pop(0)
                if self.settle is not None:
                    self.settle(funding_ns, rate)
            self.next_funding = settlements[0][0] if settlements else NEVER
        venue.advance(ts)
        if kind == KIND_BOOK:
            venue.on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
            engine = session.engine
            if driver.feed_heartbeat_ns:
                engine.vouch_feed(ts + driver.feed_heartbeat_ns)
            if bid != self.last_bid or ask != self.last_ask:
                self.last_bid, self.last_ask = bid, ask
                session.on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
            else:  # Session.on_book_sizes: the feed is alive, no decision can change
                engine.bid_size, engine.ask_size = bid_size, ask_size
                if engine.signals.last_event_ns:
                    engine.signals.last_event_ns = ts
        else:
            venue.on_trade(ts, exchange_ts, price, size, aggressor)
        if stats.decisions != self.decisions or ts >= self.due:
            self.decisions = stats.decisions
            self.due = venue.next_due_ns()
        wake = session.wake_ns
        self.wake = self.due if self.due < wake else wake

    def rows(self, chunk: ReplayChunk) -> None:
        """Every event of a chunk, one at a time (the reference path)."""
        driver = self.driver
        session = driver.session
        stats = session.stats
        engine = session.engine
        signals = engine.signals
        venue = driver.venue
        advance = venue.advance
        on_book_venue = venue.on_book
        on_trade_venue = venue.on_trade
        on_book = session.on_book
        vouch = engine.vouch_feed
        heartbeat = driver.feed_heartbeat_ns
        for row in chunk.rows():
            ts, exchange_ts, kind, bid, bid_size, ask, ask_size, price, size, aggressor = row
            if ts > self.wake or ts >= self.next_funding or ts >= self.due:
                self.row(*row)
                continue
            # Driver.book and Driver.trade, inlined: this loop runs millions of times
            self.ts = ts
            advance(ts)
            if kind == KIND_BOOK:
                on_book_venue(ts, exchange_ts, bid, bid_size, ask, ask_size)
                if heartbeat:
                    vouch(ts + heartbeat)
                if bid != self.last_bid or ask != self.last_ask:
                    self.last_bid, self.last_ask = bid, ask
                    on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
                else:  # Session.on_book_sizes: the feed is alive, no decision can change
                    engine.bid_size, engine.ask_size = bid_size, ask_size
                    if signals.last_event_ns:
                        signals.last_event_ns = ts
            else:
                on_trade_venue(ts, exchange_ts, price, size, aggressor)
            if stats.decisions != self.decisions:
                self.decisions = stats.decisions
                self.due = venue.next_due_ns()
            wake = session.wake_ns
            self.wake = self.due if self.due < wake else wake


def replay(
    driver: Driver,
    chunks: Iterable[ReplayChunk],
    funding: Sequence[tuple[int, float]] = (),
    settle: Callable[[int, float], None] | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    bulk: bool = True,
) -> int:
    """Replay: event time is the clock. Returns the time of the last event (0 if none).

    `chunks` yields columns of (ts, exchange ts, kind, bid, bid size, ask, ask size, trade
    price, trade size, aggressor) in the traded market's ticks and lots.
    Funding settles at its time on whatever inventory is held then (`settle(ts, rate)`).
    With `bulk` (and a venue that can fast-forward), stretches of events that can change
    nothing but sizes and the feed clock are applied at once (`fast_forward_chunk`); the
    result is the same as feeding every event (`bulk=False`, the reference).
    """
    state = _Replay(driver, funding, settle)
    session = driver.session
    venue = driver.venue
    fast = bulk and isinstance(venue, FastForwardVenue)
    done = 0
    for chunk in chunks:
        count = len(chunk.ts_ns)
        if fast and count and _increasing(chunk.ts_ns):
            fast_forward_chunk(state, chunk, venue)  # type: ignore[arg-type]
        else:
            state.rows(chunk)
        done += count
        session.stats.events = done
        if progress is not None:
            progress(done)
    ts = state.ts
    if ts:
        driver.catch_up(ts + 1)
        session.account_time(ts)
    return ts


def _increasing(ts_ns: np.ndarray) -> bool:
    return len(ts_ns) < 2 or bool(np.all(ts_ns[1:] >= ts_ns[:-1]))


class _Columns:
    """Per-chunk arrays of the bulk path: what stops a stretch whatever our orders are, and the
    prices at which an event reaches an order of ours."""

    def __init__(self, chunk: ReplayChunk, last_bid: int, last_ask: int) -> None:
        kind = chunk.kind
        book = kind == KIND_BOOK
        bid, ask = chunk.bid_price, chunk.ask_price
        rows = np.arange(len(kind))
        # Book prices carried forward over trade rows: a book row "changes price" against the
        # book row before it (or the last book row of the previous chunk).
        last_book = np.maximum.accumulate(np.where(book, rows, -1))
        self.last_book = last_book
        previous = np.concatenate(([-1], last_book[:-1]))
        previous_bid = np.where(previous >= 0, bid[previous], last_bid)
        previous_ask = np.where(previous >= 0, ask[previous], last_ask)
        empty_side = (chunk.bid_size == 0) | (chunk.ask_size == 0)
        self.data_stop = book & ((bid != previous_bid) | (ask != previous_ask) | empty_side)
        aggressor = chunk.aggressor
        trade = ~book
        # An event reaches our bid when this price is <= it, our ask when that one is >= it.
        self.low = np.where(book, bid, np.where(trade & (aggressor < 0), chunk.trade_price, FAR))
        self.high = np.where(book, ask, np.where(trade & (aggressor > 0), chunk.trade_price, -1))
        self.exchange = chunk.exchange_ts_ns
        self.ts = chunk.ts_ns
        self.delay = chunk.ts_ns - chunk.exchange_ts_ns
        self.table = np.stack(chunk, axis=1)

    def stops(self, start: int, stop: int, venue: FastForwardVenue) -> list[int]:
        """Rows in [start, stop) the venue (or a price change) must see one by one."""
        our_bid, our_ask, arrival_ns = venue.reach()
        mask = self.data_stop[start:stop].copy()
        mask |= self.low[start:stop] <= our_bid
        mask |= self.high[start:stop] >= our_ask
        if arrival_ns < FAR:
            mask |= self.exchange[start:stop] >= arrival_ns
            delay = np.empty(stop - start, np.int64)  # feed delay before each row
            # the row before `start` may be skipped and not yet applied to the venue
            delay[0] = self.delay[start - 1] if start else venue.feed_delay_ns
            delay[1:] = self.delay[start : stop - 1]
            mask |= self.ts[start:stop] - delay >= arrival_ns
        return (np.flatnonzero(mask) + start).tolist()


def fast_forward_chunk(state: _Replay, chunk: ReplayChunk, venue: FastForwardVenue) -> None:
    """Replay a chunk whose times never decrease, feeding one by one only the events that can
    change more than sizes and the feed clock; the rest are applied in bulk before the next
    event that matters (or at the end of the chunk).

    An event is skipped when it comes before the next wake-up, venue due time and funding;
    it is a book event at unchanged prices with both sides shown, or a trade; and the venue's
    `reach` says it cannot touch our orders. Such an event, fed alone, would only set the
    venue's feed delay and displayed sizes and the engine's sizes and feed clock: the last
    skipped event's values are what a full replay leaves there.
    """
    columns = _Columns(chunk, state.last_bid, state.last_ask)
    ts_list: list[int] = chunk.ts_ns.tolist()
    table = columns.table
    last_book = columns.last_book
    engine = state.driver.session.engine
    signals = engine.signals
    heartbeat = state.driver.feed_heartbeat_ns
    count = len(ts_list)
    applied = 0  # rows before this one are in the venue and engine
    position = 0
    window_end = 0
    stops: list[int] = []
    stop_index = 0
    reach = venue.reach()
    window_rows = WINDOW_ROWS
    while position < count:
        if position >= window_end:
            window_end = min(count, position + window_rows)
            stops = columns.stops(position, window_end, venue)
            stop_index = 0
        while stop_index < len(stops) and stops[stop_index] < position:
            stop_index += 1
        next_stop = stops[stop_index] if stop_index < len(stops) else window_end
        limit = min(state.wake, state.due - 1, state.next_funding - 1)
        if ts_list[next_stop - 1] > limit:
            next_stop = bisect.bisect_right(ts_list, limit, position, next_stop)
        if next_stop >= window_end:
            position = window_end  # nothing in the window matters: skip it all
            continue
        if next_stop > applied:
            _apply_skipped(venue, engine, signals, heartbeat, table, last_book, applied, next_stop)
        state.row(*table[next_stop].tolist())
        applied = position = next_stop + 1
        now = venue.reach()
        if now != reach:
            reach = now
            window_end = position  # our orders or arrivals moved: recompute the stops
    if count > applied:
        _apply_skipped(venue, engine, signals, heartbeat, table, last_book, applied, count)
    state.ts = ts_list[-1]
    last = int(last_book[-1])
    if last >= 0:
        state.last_bid, state.last_ask = int(table[last, 3]), int(table[last, 5])


def _apply_skipped(
    venue: FastForwardVenue,
    engine: Any,
    signals: Any,
    heartbeat: int,
    table: np.ndarray,
    last_book: np.ndarray,
    start: int,
    stop: int,
) -> None:
    """What rows start..stop-1 (none of which matters alone) leave in the venue and engine."""
    last = table[stop - 1]
    book = int(last_book[stop - 1])
    if book < start:
        venue.fast_forward(int(last[0] - last[1]), -1, -1)
        return
    ts, _, _, _, bid_size, _, ask_size, _, _, _ = table[book].tolist()
    venue.fast_forward(int(last[0] - last[1]), bid_size, ask_size)
    engine.bid_size, engine.ask_size = bid_size, ask_size
    if signals.last_event_ns:
        signals.last_event_ns = ts
    if heartbeat:
        engine.vouch_feed(ts + heartbeat)


async def run_clock(
    driver: Driver,
    interval_ns: Callable[[], int],
    stopped: Callable[[], bool],
    after_tick: Callable[[int], None],
) -> None:
    """Live and paper: tick on wall time at the decision interval until stopped."""
    while not stopped():
        await asyncio.sleep(max(interval_ns(), NS // 1000) / NS)
        now_ns = driver.clock.now_ns()
        driver.tick(now_ns)
        after_tick(now_ns)

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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

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


def replay(
    driver: Driver,
    chunks: Iterable[tuple[int, Iterator[Row]]],
    funding: Sequence[tuple[int, float]] = (),
    settle: Callable[[int, float], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Replay: event time is the clock. Returns the time of the last event (0 if none).

    `chunks` yields (row count, rows) with rows as (ts, exchange ts, kind, bid, bid size, ask,
    ask size, trade price, trade size, aggressor) in the traded market's ticks and lots.
    Funding settles at its time on whatever inventory is held then (`settle(ts, rate)`).
    """
    ts = 0
    done = 0
    settlements = list(funding)
    next_funding = settlements[0][0] if settlements else NEVER
    # Driver.book and Driver.trade, inlined: this loop runs millions of times
    session = driver.session
    venue = driver.venue
    stats = session.stats
    engine = session.engine
    signals = engine.signals
    advance = venue.advance
    on_book_venue = venue.on_book
    on_trade_venue = venue.on_trade
    on_book = session.on_book
    vouch = engine.vouch_feed
    heartbeat = driver.feed_heartbeat_ns
    last_bid = last_ask = -1
    # The venue's next arrival only moves earlier when the session sends commands (it decided)
    # and later when arrivals are applied (an event at or past it): re-read it only then.
    decisions = stats.decisions
    due = venue.next_due_ns()
    wake = min(session.wake_ns, due)
    for count, rows in chunks:
        for ts, exchange_ts, kind, bid, bid_size, ask, ask_size, price, size, aggressor in rows:
            if ts > wake:
                driver.catch_up(ts)
                decisions = stats.decisions
                due = venue.next_due_ns()
            if ts >= next_funding:
                while settlements and settlements[0][0] <= ts:
                    funding_ns, rate = settlements.pop(0)
                    if settle is not None:
                        settle(funding_ns, rate)
                next_funding = settlements[0][0] if settlements else NEVER
            advance(ts)
            if kind == KIND_BOOK:
                on_book_venue(ts, exchange_ts, bid, bid_size, ask, ask_size)
                if heartbeat:
                    vouch(ts + heartbeat)
                if bid != last_bid or ask != last_ask:
                    last_bid, last_ask = bid, ask
                    on_book(ts, exchange_ts, bid, bid_size, ask, ask_size)
                else:  # Session.on_book_sizes: the feed is alive, no decision can change
                    engine.bid_size, engine.ask_size = bid_size, ask_size
                    if signals.last_event_ns:
                        signals.last_event_ns = ts
            else:
                on_trade_venue(ts, exchange_ts, price, size, aggressor)
            if stats.decisions != decisions or ts >= due:
                decisions = stats.decisions
                due = venue.next_due_ns()
            wake = session.wake_ns
            if due < wake:
                wake = due
        done += count
        stats.events = done
        if progress is not None:
            progress(done)
    if ts:
        driver.catch_up(ts + 1)
        session.account_time(ts)
    return ts


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

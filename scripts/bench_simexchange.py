"""Throughput of the simulated exchange: 1M synthetic L1/trade events with 2 resting orders.

Prints events/s (best of three runs) of the venue and of a floor (the same loop calling a
do-nothing venue) measured in the same run, and their ratio.
Run: .venv/bin/python scripts/bench_simexchange.py
"""

from __future__ import annotations

import random
import time

from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.core.model import Fill, FundingPayment, MarketSpec, OrderUpdate, PlaceOrder, Side

EVENTS = 1_000_000
ROUNDS = 3  # best of: other processes share the machine
MARKET = MarketSpec("SOL-PERP", "sim", 2, 3, 3, 0.050, 10.0)


class CountingSink:
    def __init__(self) -> None:
        self.updates = 0
        self.fills = 0

    def on_order_update(self, update: OrderUpdate) -> None:
        self.updates += 1

    def on_fill(self, fill: Fill) -> None:
        self.fills += 1

    def on_funding(self, payment: FundingPayment) -> None:
        pass


class NullVenue:
    """Same signatures, no work: the floor of the driving loop itself."""

    def advance(self, now_ns: int) -> None:
        pass

    def on_book(self, ts: int, exchange_ts: int, bp: int, bs: int, ap: int, az: int) -> None:
        pass

    def on_trade(self, ts: int, exchange_ts: int, price: int, size: int, aggressor: int) -> None:
        pass


def synthetic_events(count: int, seed: int = 7) -> list[tuple[int, ...]]:
    """A bounded random walk of L1 quotes around $150 (±0.15) with one trade per four events."""
    rng = random.Random(seed)
    mid, events, ts = 150_000, [], 1_700_000_000_000_000_000
    for _ in range(count):
        ts += rng.randint(100_000, 2_000_000)
        mid += rng.choice((-1, 0, 0, 1))
        mid = min(150_150, max(149_850, mid))
        if rng.random() < 0.25:
            buy = rng.random() < 0.5
            price = mid + 1 if buy else mid - 1
            events.append((1, ts, ts - 20_000_000, price, rng.randint(1, 500), 1 if buy else -1))
        else:
            events.append(
                (0, ts, ts - 20_000_000, mid - 1, rng.randint(1, 900), mid + 1, rng.randint(1, 900))
            )
    return events


def drive(venue: object, events: list[tuple[int, ...]]) -> float:
    """Feed every event as the replay loop does (advance to its receive time, then the event)."""
    advance, on_book, on_trade = venue.advance, venue.on_book, venue.on_trade  # type: ignore[attr-defined]
    started = time.perf_counter()
    for event in events:
        advance(event[1])
        if event[0]:
            on_trade(event[1], event[2], event[3], event[4], event[5])
        else:
            on_book(event[1], event[2], event[3], event[4], event[5], event[6])
    return time.perf_counter() - started


def measure(events: list[tuple[int, ...]], bid: int, ask: int, size: int) -> tuple[float, str]:
    """Best of three: seconds to feed the events with one bid and one ask resting, and outcome."""
    timings = []
    for _ in range(ROUNDS):
        sink = CountingSink()
        venue = SimulatedExchange(MARKET, FillModelSettings(tx_per_minute=1000), sink)
        start = events[0][1] - 1_000_000_000
        orders = [PlaceOrder(1, Side.BID, bid, size), PlaceOrder(2, Side.ASK, ask, size)]
        venue.submit(orders, start)
        timings.append(drive(venue, events))
    return min(timings), f"fills {sink.fills}, resting at end {venue.stats()['resting_orders']}"


def main() -> None:
    events = synthetic_events(EVENTS)
    floor_s = min(drive(NullVenue(), events) for _ in range(ROUNDS))
    print(f"events: {EVENTS:,} synthetic (75% L1 quotes, 25% trades), 2 resting orders")
    print(f"floor (same loop, no-op venue): {EVENTS / floor_s:12,.0f} events/s")
    # Quotes 15 bps out never touch the walk (the common case), quotes near the mid re-measure
    # their queue on most quotes and fill now and then (the slow path).
    cases = (
        ("quotes 15 bps out", 149_775, 150_225, 100),
        ("quotes at the mid ±1", 149_999, 150_001, 10**9),
    )
    for label, bid, ask, size in cases:
        elapsed, outcome = measure(events, bid, ask, size)
        print(
            f"{label:<22} {EVENTS / elapsed:12,.0f} events/s "
            f"({elapsed / floor_s:.2f}x the floor's time; {outcome})"
        )


if __name__ == "__main__":
    main()

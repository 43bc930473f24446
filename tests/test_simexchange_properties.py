"""Simulated exchange properties: fills bounded by orders and trades; same inputs, same outputs."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from simexchange_support import MS, RecordingSink

from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.core.model import (
    CancelOrder,
    MarketSpec,
    OrderStatus,
    PlaceOrder,
    Role,
    Side,
)

MARKET = MarketSpec("SOL-PERP", "sim", 2, 3, 3, 0.001, 0.0)
LATENCY_MS = 20.0
FEED_DELAY_MS = 5


@dataclass(frozen=True)
class Event:
    kind: str  # book | trade | place | cancel | crossing
    a: int = 0
    b: int = 0
    c: int = 0


events_strategy = st.lists(
    st.one_of(
        st.builds(
            Event, st.just("book"), st.integers(95, 104), st.integers(0, 30), st.integers(1, 3)
        ),
        st.builds(
            Event,
            st.just("trade"),
            st.integers(93, 107),
            st.integers(1, 25),
            st.sampled_from([-1, 1]),
        ),
        st.builds(
            Event,
            st.just("place"),
            st.sampled_from([-1, 1]),
            st.integers(93, 107),
            st.integers(1, 12),
        ),
        st.builds(
            Event,
            st.just("crossing"),
            st.sampled_from([-1, 1]),
            st.integers(93, 107),
            st.integers(1, 12),
        ),
        st.builds(Event, st.just("cancel"), st.integers(1, 12)),
    ),
    max_size=80,
)


@dataclass
class Run:
    sink: RecordingSink
    venue: SimulatedExchange
    orders: dict[int, PlaceOrder]
    sent_ms: dict[int, int]
    trades: list[tuple[int, int, int, int]]  # (exchange ms, price, size, aggressor)
    maker_lots_by_trade: list[int]


def replay(events: list[Event], fill_settings: FillModelSettings) -> Run:
    """Feed events 10 ms apart (exchange time 5 ms behind receive time); record what matters."""
    sink = RecordingSink()
    venue = SimulatedExchange(MARKET, fill_settings, sink)
    run = Run(sink, venue, {}, {}, [], [])
    for step, event in enumerate(events):
        now_ms = 10 * (step + 1)
        exchange_ms = now_ms - FEED_DELAY_MS
        venue.advance(exchange_ms * MS)
        if event.kind == "book":
            bid, bid_size, spread = event.a, event.b, event.c
            venue.on_book(now_ms * MS, exchange_ms * MS, bid, bid_size, bid + spread, event.b + 1)
        elif event.kind == "trade":
            fills_before = len(sink.fills)
            venue.on_trade(now_ms * MS, exchange_ms * MS, event.a, event.b, event.c)
            run.trades.append((exchange_ms, event.a, event.b, event.c))
            run.maker_lots_by_trade.append(
                sum(round(f.size * 1000) for f in sink.fills[fills_before:])
            )
        elif event.kind in ("place", "crossing"):
            client_id = len(run.orders) + 1
            order = PlaceOrder(
                client_id, Side(event.a), event.b, event.c, post_only=event.kind == "place"
            )
            run.orders[client_id] = order
            run.sent_ms[client_id] = now_ms
            venue.submit([order], now_ms * MS)
        else:
            venue.submit([CancelOrder(event.a)], now_ms * MS)
    return run


def _eligible_trade_lots(run: Run, client_id: int) -> int:
    order = run.orders[client_id]
    arrival_ms = run.sent_ms[client_id] + LATENCY_MS
    return sum(
        size
        for exchange_ms, price, size, aggressor in run.trades
        if exchange_ms >= arrival_ms
        and aggressor == -int(order.side)
        and int(order.side) * (order.price - price) >= 0
    )


@settings(max_examples=150, deadline=None)
@given(
    events=events_strategy,
    queue_model=st.sampled_from(["risk_averse", "probabilistic"]),
    seed=st.integers(0, 5),
)
def test_fills_never_exceed_the_order_nor_the_eligible_trades(
    events: list[Event], queue_model: str, seed: int
) -> None:
    fill_settings = FillModelSettings(
        queue_model=queue_model,  # type: ignore[arg-type]
        order_latency_ms=LATENCY_MS,
        cancel_latency_ms=LATENCY_MS,
        taker_latency_ms=LATENCY_MS,
        seed=seed,
        tx_per_minute=1000,
    )
    run = replay(events, fill_settings)
    fills = run.sink.fills
    for client_id, order in run.orders.items():
        mine = [f for f in fills if f.client_id == client_id]
        assert sum(round(f.size * 1000) for f in mine) <= order.size
        maker = sum(round(f.size * 1000) for f in mine if f.role is Role.MAKER)
        assert maker <= _eligible_trade_lots(run, client_id)
        for fill in mine:
            if fill.role is Role.MAKER:
                assert round(fill.price * 1000) == order.price
        updates = [u for u in run.sink.updates if u.client_id == client_id]
        finals = [u for u in updates if u.status.is_final]
        assert len(finals) <= 1
        if finals:
            assert updates[-1] is finals[0]  # nothing is reported after the final status
    for (_, _, size, _), used in zip(run.trades, run.maker_lots_by_trade, strict=True):
        assert used <= size
    signed = sum(int(f.side) * round(f.size * 1000) for f in fills)
    assert run.venue.position_lots == signed
    assert len({f.trade_id for f in fills}) == len(fills)


def _random_events(seed: int, count: int) -> list[Event]:
    rng = random.Random(seed)
    kinds = ["book"] * 6 + ["trade"] * 3 + ["place", "crossing", "cancel"]
    events = []
    for _ in range(count):
        kind = rng.choice(kinds)
        if kind == "book":
            events.append(Event(kind, rng.randint(95, 104), rng.randint(0, 30), rng.randint(1, 3)))
        elif kind == "trade":
            events.append(
                Event(kind, rng.randint(93, 107), rng.randint(1, 25), rng.choice([-1, 1]))
            )
        elif kind == "cancel":
            events.append(Event(kind, rng.randint(1, 200)))
        else:
            events.append(
                Event(kind, rng.choice([-1, 1]), rng.randint(93, 107), rng.randint(1, 12))
            )
    return events


def test_same_inputs_and_seed_give_identical_outputs() -> None:
    events = _random_events(11, 3000)
    fill_settings = FillModelSettings(
        queue_model="probabilistic", latency_jitter_ms=30.0, seed=9, tx_per_minute=200
    )
    first = replay(events, fill_settings)
    second = replay(events, fill_settings)
    assert len(first.sink.fills) > 50  # the stream really exercises matching
    assert first.sink.fills == second.sink.fills
    assert first.sink.updates == second.sink.updates
    assert first.venue.stats() == second.venue.stats()
    other_seed = replay(
        events,
        FillModelSettings(
            queue_model="probabilistic", latency_jitter_ms=30.0, seed=10, tx_per_minute=200
        ),
    )
    assert other_seed.sink.updates != first.sink.updates


def test_final_statuses_are_reported_once_per_order() -> None:
    run = replay(_random_events(5, 2000), FillModelSettings(order_latency_ms=LATENCY_MS))
    finals = [u.client_id for u in run.sink.updates if u.status.is_final]
    assert len(finals) == len(set(finals))
    assert OrderStatus.FILLED in {u.status for u in run.sink.updates}

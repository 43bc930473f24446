"""Simulated exchange: latency, order checks, modify, taker execution, fees, tx budget, funding."""

from __future__ import annotations

import pytest
from simexchange_support import MS, SOL, ask, bid, book, make, rest, trade

from solbot.adapters.venues.simulated import FillModelSettings
from solbot.core.model import CancelAll, CancelOrder, ModifyOrder, OrderStatus, Role
from solbot.errors import ConfigError

SELL, BUY = -1, 1
SECOND = 1000  # in ms


# ----------------------------------------------------------------------------- latency


def test_an_order_is_not_live_before_it_reaches_the_engine() -> None:
    venue, sink = make()  # 200 ms order latency
    book(venue, 0, 100, 10, 102, 10)
    venue.submit([bid(1, 101, 5)], 0)
    trade(venue, 210, 101, 3, SELL, exchange_ms=199)  # received late, happened before arrival
    assert sink.updates == []
    assert sink.fills == []
    trade(venue, 230, 101, 3, SELL, exchange_ms=200)
    assert sink.statuses(1) == [OrderStatus.OPEN, OrderStatus.OPEN]
    assert sink.filled_lots(1) == 3


def test_reports_carry_the_receive_time_of_the_event_that_caused_them() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    venue.submit([bid(1, 101, 5)], 0)
    trade(venue, 260, 101, 2, SELL, exchange_ms=210)
    assert sink.updates[0].ts_ns == 260 * MS
    assert sink.fills[0].ts_ns == 260 * MS


def test_an_in_flight_cancel_does_not_protect_the_order() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 101, 5))
    venue.submit([CancelOrder(1)], 5 * SECOND * MS)
    trade(venue, 5199, 101, 2, SELL)
    assert sink.filled_lots(1) == 2
    trade(venue, 5200, 101, 2, SELL)  # the cancel arrived first at 5200
    assert sink.filled_lots(1) == 2
    assert sink.last(1).status is OrderStatus.CANCELED
    assert sink.last(1).remaining == 3
    assert venue.stats()["resting_orders"] == 0


def test_a_cancel_arrives_after_the_cancel_latency_via_advance() -> None:
    venue, sink = make(FillModelSettings(cancel_latency_ms=50.0))
    rest(venue, bid(1, 101, 5))
    venue.submit([CancelOrder(1)], 2 * SECOND * MS)
    venue.advance((2 * SECOND + 49) * MS)
    assert sink.last(1).status is OrderStatus.OPEN
    venue.advance((2 * SECOND + 50) * MS)
    assert sink.last(1).status is OrderStatus.CANCELED


def test_advance_maps_bot_time_to_exchange_time_with_the_feed_delay() -> None:
    venue, sink = make()
    book(venue, 1000, 100, 10, 102, 10, exchange_ms=900)  # the feed is 100 ms behind
    venue.submit([bid(1, 101, 5)], 1000 * MS)  # reaches the engine at exchange time 1200
    venue.advance(1299 * MS)
    assert sink.updates == []
    venue.advance(1300 * MS)
    assert sink.statuses(1) == [OrderStatus.OPEN]
    assert sink.updates[0].ts_ns == 1300 * MS


def test_the_replay_loop_pattern_keeps_in_flight_cancels_fillable() -> None:
    """advance(receive time) before every event, with a constant 50 ms feed delay."""
    venue, sink = make()
    delay = 50

    def event_trade(at_ms: int, size: int) -> None:
        venue.advance(at_ms * MS)
        trade(venue, at_ms, 101, size, SELL, exchange_ms=at_ms - delay)

    venue.advance(0)
    book(venue, 0, 100, 10, 102, 10, exchange_ms=-delay)
    rest(venue, bid(1, 101, 5))
    event_trade(2000, 1)
    venue.submit([CancelOrder(1)], 2000 * MS)  # arrives at exchange time 2200
    event_trade(2249, 1)  # happened at 2199: before the cancel, so it fills
    assert sink.filled_lots(1) == 2
    event_trade(2250, 1)  # happened at 2200: the cancel came first
    assert sink.filled_lots(1) == 2
    assert sink.last(1).status is OrderStatus.CANCELED
    assert sink.last(1).ts_ns == 2250 * MS


def test_a_filled_order_ignores_its_late_cancel() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 101, 5))
    venue.submit([CancelOrder(1)], 2 * SECOND * MS)
    trade(venue, 2100, 101, 9, SELL)
    venue.advance(3 * SECOND * MS)
    assert sink.statuses(1) == [OrderStatus.OPEN, OrderStatus.FILLED]
    assert venue.stats()["unknown_order_commands"] == 1


def test_jitter_is_seeded_and_only_ever_adds_latency() -> None:
    settings = FillModelSettings(latency_jitter_ms=100.0, seed=3)
    arrivals = []
    for _ in range(2):
        venue, sink = make(settings)
        for client_id in range(1, 6):
            venue.submit([bid(client_id, 101, 1)], 0)
        for step in range(0, 400):
            venue.advance(step * MS)
        arrivals.append([(u.client_id, u.ts_ns) for u in sink.updates])
    assert arrivals[0] == arrivals[1]
    assert all(200 * MS <= ts < 300 * MS for _, ts in arrivals[0])
    assert len({ts for _, ts in arrivals[0]}) > 1


# ----------------------------------------------------------------------------- order checks


def test_post_only_crossing_at_arrival_is_rejected() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    venue.submit([bid(1, 101, 5)], 0)  # fine when sent
    book(venue, 100, 99, 10, 101, 10)  # the ask came down to our price before arrival
    book(venue, 300, 99, 10, 101, 10)
    assert sink.statuses(1) == [OrderStatus.REJECTED]
    assert sink.last(1).reason == "canceled-post-only"
    assert sink.fills == []


def test_post_only_crossing_when_sent_but_not_at_arrival_rests() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 101, 10)
    venue.submit([ask(1, 100, 5)], 0)
    book(venue, 100, 99, 10, 101, 10)
    venue.advance(200 * MS)
    assert sink.statuses(1) == [OrderStatus.OPEN]


@pytest.mark.parametrize(
    ("price", "lots", "accepted"),
    [
        (200_000, 49, False),  # 0.049 SOL < 0.050 minimum base
        (200_000, 50, True),  # 0.050 SOL at $200 = $10
        (100_000, 99, False),  # $9.90 < $10 minimum notional
        (100_000, 100, True),
    ],
)
def test_minimum_size_and_notional_are_checked_when_sent(
    price: int, lots: int, accepted: bool
) -> None:
    venue, sink = make(market=SOL)
    venue.submit([bid(1, price, lots)], 0)
    if accepted:
        assert sink.updates == []
        venue.advance(SECOND * MS)
        assert sink.statuses(1) == [OrderStatus.OPEN]
    else:
        assert sink.statuses(1) == [OrderStatus.REJECTED]
        assert sink.last(1).reason == "21706 below minimum"


def test_modify_below_the_minimum_is_refused_and_the_order_stays() -> None:
    venue, sink = make(market=SOL)
    rest(venue, bid(1, 100_000, 100))
    venue.submit([ModifyOrder(1, 100_000, 50)], SECOND * MS)
    assert sink.last(1).status is OrderStatus.OPEN
    assert sink.last(1).reason == "21706 below minimum"
    assert sink.last(1).remaining == 100


def test_duplicate_client_id_is_rejected() -> None:
    venue, sink = make()
    venue.submit([bid(1, 100, 5), bid(1, 99, 5)], 0)
    assert sink.last(1).reason == "21728 duplicate client order index"
    venue.advance(SECOND * MS)
    assert sink.last(1).status is OrderStatus.OPEN


def test_reduce_only_that_would_grow_the_position_is_rejected() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, ask(1, 103, 5, reduce_only=True))  # flat: nothing to reduce
    assert sink.last(1).reason == "canceled-reduce-only"
    assert sink.last(1).status is OrderStatus.REJECTED
    rest(venue, bid(2, 101, 4), at_ms=2000)
    trade(venue, 4000, 101, 4, SELL)
    assert venue.position_lots == 4
    rest(venue, bid(3, 99, 2, reduce_only=True), at_ms=5000)  # a buy grows a long
    assert sink.last(3).status is OrderStatus.REJECTED


def test_reduce_only_larger_than_the_position_is_clipped() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 101, 4))
    trade(venue, 2000, 101, 4, SELL)
    rest(venue, ask(2, 103, 9, reduce_only=True), at_ms=3000)
    assert sink.last(2).status is OrderStatus.OPEN
    assert sink.last(2).remaining == 4
    trade(venue, 5000, 104, 20, BUY)
    assert sink.filled_lots(2) == 4
    assert venue.position_lots == 0


def test_reduce_only_resting_order_never_flips_the_position() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 104, 10)
    rest(venue, bid(1, 101, 4))
    trade(venue, 2000, 101, 4, SELL)  # long 4
    rest(venue, ask(2, 103, 4, reduce_only=True), at_ms=3000)
    rest(venue, ask(3, 102, 3), at_ms=3000)  # a plain ask ahead of it in price
    trade(venue, 5000, 103, 10, BUY)  # 3 to the plain ask, then only 1 left to reduce
    assert (sink.filled_lots(3), sink.filled_lots(2)) == (3, 1)
    assert venue.position_lots == 0
    assert sink.last(2).status is OrderStatus.CANCELED
    assert sink.last(2).reason == "canceled-reduce-only"


# ----------------------------------------------------------------------------- modify, cancel-all


def test_modify_loses_queue_priority() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    trade(venue, 1100, 100, 10, SELL)  # our queue is consumed: next sell fills us
    venue.submit([ModifyOrder(1, 100, 6)], 2 * SECOND * MS)
    trade(venue, 2100, 100, 1, SELL)  # before the modify arrives: the old order fills
    assert sink.filled_lots(1) == 1
    book(venue, 2300, 100, 10, 102, 10)  # modify arrived at 2200: back of the displayed queue
    assert sink.last(1).status is OrderStatus.OPEN
    assert sink.last(1).remaining == 6
    trade(venue, 2400, 100, 10, SELL)
    assert sink.filled_lots(1) == 1
    trade(venue, 2500, 100, 2, SELL)
    assert sink.filled_lots(1) == 3


def test_modify_into_a_crossing_price_cancels_a_post_only_order() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    venue.submit([ModifyOrder(1, 102, 5)], 2 * SECOND * MS)
    venue.advance(3 * SECOND * MS)
    assert sink.last(1).status is OrderStatus.CANCELED
    assert sink.last(1).reason == "canceled-post-only"
    assert venue.stats()["resting_orders"] == 0


def test_cancel_all_cancels_resting_orders_but_not_orders_in_flight() -> None:
    venue, sink = make(FillModelSettings(cancel_latency_ms=10.0))
    rest(venue, bid(1, 100, 5))
    rest(venue, ask(2, 104, 5))
    venue.submit([bid(3, 99, 5), CancelAll("kill")], 5 * SECOND * MS)
    venue.advance((5 * SECOND + 10) * MS)
    assert [sink.last(c).status for c in (1, 2)] == [OrderStatus.CANCELED] * 2
    assert sink.last(1).reason == "kill"
    venue.advance((5 * SECOND + 200) * MS)
    assert sink.last(3).status is OrderStatus.OPEN


# ----------------------------------------------------------------------------- taker execution


def test_ioc_fills_the_top_then_one_impact_price_within_its_limit() -> None:
    venue, sink = make(FillModelSettings(impact_bps_per_l1=2.0, taker_fee_bps=2.8))
    book(venue, 0, 99_990, 10, 100_000, 10)
    venue.submit([bid(1, 100_030, 25, post_only=False, immediate_or_cancel=True)], 0)
    venue.advance(299 * MS)
    assert sink.fills == []  # taker latency 300 ms
    venue.advance(300 * MS)
    # 15 lots beyond a 10-lot top = 1.5 L1 sizes * 2 bps = 3 bps = 30 ticks at 100.000.
    executions = [(f.price, round(f.size * 1000), f.role) for f in sink.fills]
    assert executions == [(100.0, 10, Role.TAKER), (100.03, 15, Role.TAKER)]
    assert sink.fills[1].fee_usd == pytest.approx(100.03 * 0.015 * 2.8e-4)
    assert sink.statuses(1) == [OrderStatus.FILLED]
    assert venue.position_lots == 25


def test_ioc_never_fills_beyond_its_limit_and_cancels_the_rest() -> None:
    venue, sink = make()
    book(venue, 0, 99_990, 10, 100_000, 10)
    venue.submit([bid(1, 100_020, 25, post_only=False, immediate_or_cancel=True)], 0)
    venue.advance(SECOND * MS)
    executions = [(f.price, round(f.size * 1000)) for f in sink.fills]
    assert executions == [(100.0, 10), (100.02, 10)]  # 10 beyond = 1 L1 = 2 bps = the limit
    assert sink.last(1).status is OrderStatus.CANCELED
    assert sink.last(1).remaining == 5


def test_sell_ioc_mirrors_and_rounds_against_us() -> None:
    venue, sink = make()
    book(venue, 0, 100_000, 10, 100_010, 10)
    venue.submit([ask(1, 1, 13, post_only=False, immediate_or_cancel=True)], 0)
    venue.advance(SECOND * MS)
    # 3 beyond = 0.3 L1 * 2 bps = 0.6 bps = 6 ticks below the bid.
    assert [(f.price, round(f.size * 1000)) for f in sink.fills] == [(100.0, 10), (99.994, 3)]


def test_ioc_that_does_not_cross_is_canceled_without_fills() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    venue.submit([bid(1, 101, 5, post_only=False, immediate_or_cancel=True)], 0)
    venue.advance(SECOND * MS)
    assert sink.fills == []
    assert sink.last(1).status is OrderStatus.CANCELED


def test_two_takers_before_the_next_quote_share_the_displayed_top() -> None:
    venue, sink = make()
    book(venue, 0, 99_990, 10, 100_000, 10)
    venue.submit([bid(1, 100_010, 6, post_only=False, immediate_or_cancel=True)], 0)
    venue.submit([bid(2, 100_010, 6, post_only=False, immediate_or_cancel=True)], 0)
    venue.advance(SECOND * MS)
    executions = [(f.client_id, f.price, round(f.size * 1000)) for f in sink.fills]
    # Only 4 lots of the top are left for the second order; 2 beyond = 0.2 L1 * 2 bps = 4 ticks.
    assert executions == [(1, 100.0, 6), (2, 100.0, 4), (2, 100.004, 2)]
    book(venue, 2000, 99_990, 10, 100_000, 10)  # a new quote: the top is whole again
    venue.submit([bid(3, 100_010, 6, post_only=False, immediate_or_cancel=True)], 2 * SECOND * MS)
    venue.advance(3 * SECOND * MS)
    assert [(f.price, round(f.size * 1000)) for f in sink.fills[3:]] == [(100.0, 6)]


def test_a_crossing_limit_order_takes_then_rests_the_rest() -> None:
    venue, sink = make()
    book(venue, 0, 99_990, 10, 100_000, 10)
    venue.submit([bid(1, 100_000, 15, post_only=False)], 0)
    venue.advance(SECOND * MS)
    assert sink.filled_lots(1) == 10
    assert sink.fills[0].role is Role.TAKER
    assert sink.last(1).status is OrderStatus.OPEN
    assert sink.last(1).remaining == 5
    trade(venue, 2000, 100_000, 2, SELL)  # resting at the front of its own level
    assert sink.fills[-1].role is Role.MAKER
    assert sink.filled_lots(1) == 12


# ----------------------------------------------------------------------------- fees


@pytest.mark.parametrize("maker_fee_bps", [0.4, 0.0, -0.5])
def test_maker_fee_is_notional_times_bps_and_negative_is_a_rebate(maker_fee_bps: float) -> None:
    venue, sink = make(FillModelSettings(maker_fee_bps=maker_fee_bps))
    book(venue, 0, 150_000, 10, 150_100, 10)
    rest(venue, bid(1, 150_050, 2_000))
    trade(venue, 2000, 150_050, 2_000, SELL)
    (fill,) = sink.fills
    assert fill.fee_usd == pytest.approx(150.05 * 2.0 * maker_fee_bps / 1e4)
    assert venue.stats()["fees_usd"] == pytest.approx(fill.fee_usd)


# ----------------------------------------------------------------------------- tx budget


def test_commands_beyond_the_budget_are_rejected_at_once() -> None:
    venue, sink = make(FillModelSettings(tx_per_minute=3))
    venue.submit([bid(1, 100, 5), bid(2, 99, 5), CancelAll(), bid(4, 98, 5)], 0)
    assert sink.statuses(4) == [OrderStatus.REJECTED]
    assert sink.last(4).reason == "tx budget exceeded"
    assert venue.tx_rejected == 1
    assert venue.tx_used(0) == 3


def test_the_budget_window_rolls_over_sixty_seconds_of_send_time() -> None:
    venue, sink = make(FillModelSettings(tx_per_minute=2))
    venue.submit([bid(1, 100, 5)], 0)
    venue.submit([bid(2, 100, 5)], 30 * SECOND * MS)
    venue.submit([bid(3, 100, 5)], (60 * SECOND - 1) * MS)
    assert sink.last(3).reason == "tx budget exceeded"
    assert venue.tx_used((60 * SECOND - 1) * MS) == 2
    venue.submit([bid(4, 100, 5)], 60 * SECOND * MS)  # the first tx left the window
    assert all(u.client_id != 4 for u in sink.updates)
    assert venue.tx_used(60 * SECOND * MS) == 2
    assert venue.tx_rejected == 1


def test_a_rejected_cancel_leaves_the_order_live() -> None:
    venue, sink = make(FillModelSettings(tx_per_minute=1))
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 101, 5))
    venue.submit([CancelOrder(1)], 2 * SECOND * MS)
    assert sink.last(1).status is OrderStatus.OPEN
    assert sink.last(1).reason == "tx budget exceeded"
    trade(venue, 3000, 101, 2, SELL)
    assert sink.filled_lots(1) == 2
    assert venue.stats()["resting_orders"] == 1


# ----------------------------------------------------------------------------- funding, ids


@pytest.mark.parametrize(("side", "rate", "expected"), [(1, 1e-4, -0.05), (-1, 1e-4, 0.05)])
def test_funding_longs_pay_positive_rates(side: int, rate: float, expected: float) -> None:
    venue, sink = make()
    book(venue, 0, 100_000, 10_000, 100_010, 10_000)
    order = bid(1, 100_005, 5_000) if side > 0 else ask(1, 100_005, 5_000)
    rest(venue, order)
    trade(venue, 2000, 100_005, 5_000, -side)
    venue.on_funding(3 * SECOND * MS, rate, 100.0)
    (payment,) = sink.funding
    assert payment.position == pytest.approx(5.0 * side)
    assert payment.amount_usd == pytest.approx(expected)
    assert payment.ts_ns == 3 * SECOND * MS


def test_no_funding_when_flat() -> None:
    venue, sink = make()
    venue.on_funding(0, 1e-4, 100.0)
    assert sink.funding == []


def test_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(ConfigError, match="order_latency_ms"):
        FillModelSettings(order_latency_ms=-1.0)
    with pytest.raises(ConfigError, match="tx_per_minute"):
        FillModelSettings(tx_per_minute=0)
    with pytest.raises(ConfigError, match="queue_model"):
        FillModelSettings(queue_model="optimistic")  # type: ignore[arg-type]
    described = FillModelSettings().describe()
    assert described["queue_model"] == "risk_averse"
    assert described["order_latency_ms"] == 200.0
    assert "matching" in described

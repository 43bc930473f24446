"""Simulated exchange: queue position at L1 and how public trades fill our resting orders."""

from __future__ import annotations

import pytest
from simexchange_support import ask, bid, book, make, rest, trade

from solbot.adapters.venues.simulated import FillModelSettings
from solbot.adapters.venues.simulated_orders import probability_ahead
from solbot.core.model import OrderStatus, Role, Side

SELL, BUY = -1, 1


def test_joining_the_best_waits_for_the_displayed_queue_then_fills_partially() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    trade(venue, 1100, 100, 8, SELL)
    assert sink.fills == []  # 10 ahead of us, 8 traded
    trade(venue, 1200, 100, 4, SELL)
    assert sink.filled_lots(1) == 2  # 2 more of the queue, then 2 for us
    assert sink.last(1).status is OrderStatus.OPEN
    assert sink.last(1).remaining == 3
    trade(venue, 1300, 100, 50, SELL)
    assert sink.filled_lots(1) == 5  # never more than the order
    assert sink.last(1).status is OrderStatus.FILLED
    assert venue.position_lots == 5


def test_a_fill_is_a_maker_execution_at_our_price_with_the_mid() -> None:
    venue, sink = make()
    book(venue, 0, 100, 1, 104, 1)
    rest(venue, ask(7, 103, 2))
    trade(venue, 1100, 104, 5, BUY)  # through our ask
    (fill,) = sink.fills
    assert (fill.side, fill.role, fill.client_id, fill.tag) == (Side.ASK, Role.MAKER, 7, "quote")
    assert fill.price == pytest.approx(0.103)
    assert fill.size == pytest.approx(0.002)
    assert fill.mid == pytest.approx(0.102)
    assert fill.trade_id == "sim-1"
    assert venue.position_lots == -2


def test_no_fill_without_a_trade_even_when_the_book_moves_through_our_price() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    book(venue, 1100, 97, 10, 98, 10)  # the market fell through our bid: no print, no fill
    book(venue, 1200, 96, 10, 99, 10)
    trade(venue, 1300, 99, 3, BUY)  # a buyer lifting asks cannot fill a bid
    trade(venue, 1400, 101, 3, SELL)  # a sell above our bid cannot either
    assert sink.fills == []
    trade(venue, 1500, 97, 3, SELL)
    assert sink.filled_lots(1) == 3


def test_cancels_in_the_displayed_size_do_not_advance_us_but_cap_the_queue() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))  # 10 ahead
    book(venue, 1100, 100, 30, 102, 10)  # joiners behind us
    book(venue, 1200, 100, 15, 102, 10)  # 15 canceled: could be behind us, assume so
    trade(venue, 1300, 100, 10, SELL)
    assert sink.fills == []
    trade(venue, 1400, 100, 1, SELL)
    assert sink.filled_lots(1) == 1
    # Now the displayed level drops below what we think is ahead: the queue can't exceed it.
    venue2, sink2 = make()
    book(venue2, 0, 100, 10, 102, 10)
    rest(venue2, bid(1, 100, 5))
    book(venue2, 1100, 100, 4, 102, 10)
    trade(venue2, 1200, 100, 5, SELL)
    assert sink2.filled_lots(1) == 1


def test_a_price_inside_the_spread_joins_at_the_front() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 101, 5))
    trade(venue, 1100, 101, 3, SELL)
    assert sink.filled_lots(1) == 3


def test_a_level_that_empties_leaves_nobody_ahead() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    book(venue, 1100, 99, 10, 102, 10)  # everyone at 100 left (we would now be the best bid)
    book(venue, 1200, 100, 20, 102, 10)  # they come back after us
    trade(venue, 1300, 100, 2, SELL)
    assert sink.filled_lots(1) == 2


def test_behind_the_best_fills_only_through_until_the_level_is_seen() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 99, 5))  # queue unknown
    trade(venue, 1100, 99, 50, SELL)
    assert sink.fills == []
    trade(venue, 1200, 98, 2, SELL)
    assert sink.filled_lots(1) == 2
    book(venue, 1300, 99, 7, 101, 10)  # our level shows at L1: measured as 7 ahead
    trade(venue, 1400, 99, 7, SELL)
    assert sink.filled_lots(1) == 2
    trade(venue, 1500, 99, 1, SELL)
    assert sink.filled_lots(1) == 3


def test_each_trade_lot_is_used_once_across_our_orders_in_price_time_priority() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 105, 10)
    rest(venue, bid(1, 101, 3), at_ms=0)
    rest(venue, bid(2, 102, 4), at_ms=2000)
    rest(venue, bid(3, 101, 3), at_ms=4000)  # same price as 1, later
    trade(venue, 9000, 101, 6, SELL)
    # 102 first (through), then 101 in time order: 4 + 2, order 3 gets nothing.
    assert [sink.filled_lots(c) for c in (1, 2, 3)] == [2, 4, 0]
    trade(venue, 9100, 100, 2, SELL)  # through 101: order 1's last lot, then order 3
    assert [sink.filled_lots(c) for c in (1, 2, 3)] == [3, 4, 1]


def test_the_queue_ahead_is_shared_by_our_orders_at_one_price() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 105, 10)
    rest(venue, bid(1, 100, 3), at_ms=0)  # 10 ahead
    book(venue, 1500, 100, 12, 105, 10)
    rest(venue, bid(2, 100, 3), at_ms=2000)  # 12 ahead (the other 10 + 2 joiners)
    trade(venue, 9000, 100, 14, SELL)
    # 10 others, 3 to order 1, 1 more other (joiner ahead of order 2); order 2 still waits.
    assert [sink.filled_lots(c) for c in (1, 2)] == [3, 0]
    trade(venue, 9100, 100, 2, SELL)
    assert sink.filled_lots(2) == 1


def test_asks_mirror_bids() -> None:
    venue, sink = make()
    book(venue, 0, 98, 10, 100, 10)
    rest(venue, ask(1, 100, 5))
    trade(venue, 1100, 100, 10, BUY)
    assert sink.fills == []
    trade(venue, 1200, 100, 3, BUY)
    assert sink.filled_lots(1) == 3
    trade(venue, 1300, 101, 9, BUY)
    assert sink.filled_lots(1) == 5
    assert venue.position_lots == -5


def test_an_empty_side_leaves_nobody_ahead() -> None:
    venue, sink = make()
    book(venue, 0, 98, 10, 100, 10)
    rest(venue, ask(1, 100, 5))
    book(venue, 1100, 98, 10, 0, 0)
    trade(venue, 1200, 100, 2, BUY)
    assert sink.filled_lots(1) == 2


def test_probabilistic_queue_advances_on_cancels_ahead() -> None:
    settings = FillModelSettings(queue_model="probabilistic", queue_power=2.0)
    venue, sink = make(settings)
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))  # 10 ahead, nobody behind: a decrease is ahead with odds 1
    book(venue, 1100, 100, 6, 102, 10)
    trade(venue, 1200, 100, 7, SELL)
    assert sink.filled_lots(1) == 1


def test_probabilistic_queue_does_not_count_traded_size_twice() -> None:
    settings = FillModelSettings(queue_model="probabilistic")
    venue, sink = make(settings)
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    trade(venue, 1100, 100, 4, SELL)  # 6 ahead now
    book(venue, 1200, 100, 6, 102, 10)  # the level shows the same 4 gone
    trade(venue, 1300, 100, 6, SELL)
    assert sink.fills == []
    trade(venue, 1400, 100, 1, SELL)
    assert sink.filled_lots(1) == 1


def test_risk_averse_ignores_the_same_cancels() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 100, 5))
    book(venue, 1100, 100, 8, 102, 10)
    trade(venue, 1200, 100, 8, SELL)
    assert sink.fills == []


@pytest.mark.parametrize(
    ("ahead", "behind", "power", "expected"),
    [(1, 1, 2.0, 0.5), (3, 1, 2.0, 0.9), (1, 3, 1.0, 0.25), (0, 5, 2.0, 0.0), (5, 0, 2.0, 1.0)],
)
def test_probability_ahead_is_x_to_the_n_over_sum(
    ahead: int, behind: int, power: float, expected: float
) -> None:
    assert probability_ahead(ahead, behind, power) == pytest.approx(expected)


def test_probability_ahead_survives_huge_queues_and_powers() -> None:
    assert probability_ahead(1, 10**12, 50.0) == 0.0
    assert probability_ahead(10**12, 1, 50.0) == pytest.approx(1.0)


def test_a_trade_without_a_known_aggressor_fills_nobody() -> None:
    venue, sink = make()
    book(venue, 0, 100, 10, 102, 10)
    rest(venue, bid(1, 101, 5))
    rest(venue, ask(2, 101, 5), at_ms=2000)
    trade(venue, 4000, 101, 5, 0)
    assert sink.fills == []

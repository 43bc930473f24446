"""FIFO book: hand-computed cases for longs, shorts, flips, partial closes and fees."""

from __future__ import annotations

import pytest

from solbot.core.model import Fill, Role, Side
from solbot.core.pnl import FifoBook, Lot

_counter = iter(range(1_000_000))


def fill(side: Side, price: float, size: float, fee: float = 0.0, role: Role = Role.MAKER) -> Fill:
    n = next(_counter)
    return Fill("test", f"t{n}", n, "SOL", side, price, size, role, fee_usd=fee)


BUY, SELL = Side.BID, Side.ASK


def run(*fills: Fill) -> tuple[FifoBook, list[float]]:
    book = FifoBook("SOL")
    return book, [book.apply(f) for f in fills]


def test_short_lots_close_fifo_not_lifo() -> None:
    # The original matched shorts LIFO and reported +0.5 here.
    book, deltas = run(fill(SELL, 100, 0.1), fill(SELL, 110, 0.1), fill(BUY, 105, 0.1))
    assert book.realized_usd == pytest.approx(-0.5)
    assert deltas == pytest.approx([0.0, 0.0, -0.5])
    assert book.position == pytest.approx(-0.1)
    assert book.lots == (Lot(-0.1, 110, book.lots[0].ts_ns),)


def test_long_lots_close_fifo() -> None:
    book, deltas = run(fill(BUY, 100, 1), fill(BUY, 110, 1), fill(SELL, 105, 1))
    assert deltas[-1] == pytest.approx(5.0)
    assert book.lots[0].price == 110
    assert book.unrealized(120) == pytest.approx(10.0)


def test_partial_close_spans_lots() -> None:
    book, deltas = run(fill(BUY, 100, 1), fill(BUY, 102, 2), fill(SELL, 103, 2))
    # 1 @ 100 -> +3, 1 @ 102 -> +1
    assert deltas[-1] == pytest.approx(4.0)
    assert [(lot.size, lot.price) for lot in book.lots] == [(pytest.approx(1.0), 102)]
    assert book.average_entry_price() == pytest.approx(102)


def test_flip_long_to_short_opens_remainder() -> None:
    book, deltas = run(fill(BUY, 100, 1), fill(SELL, 104, 3))
    assert deltas[-1] == pytest.approx(4.0)
    assert book.position == pytest.approx(-2.0)
    assert [(lot.size, lot.price) for lot in book.lots] == [(pytest.approx(-2.0), 104)]
    assert book.unrealized(101) == pytest.approx(6.0)


def test_flip_short_to_long_then_back() -> None:
    book, deltas = run(fill(SELL, 50, 2), fill(BUY, 48, 3), fill(SELL, 49, 1))
    assert deltas == pytest.approx([0.0, 4.0, 1.0])
    assert book.position == 0.0
    assert book.lots == ()
    assert book.average_entry_price() is None


def test_fees_are_separate_and_apply_returns_net() -> None:
    book, deltas = run(fill(BUY, 100, 1, fee=0.02), fill(SELL, 101, 1, fee=0.03, role=Role.TAKER))
    assert deltas == pytest.approx([-0.02, 0.97])
    assert book.realized_usd == pytest.approx(1.0)
    assert book.fees_usd == pytest.approx(0.05)
    assert book.net_realized_usd == pytest.approx(0.95)
    assert book.cash_flow_usd == pytest.approx(-100 - 0.02 + 101 - 0.03)
    assert (book.maker_fills, book.taker_fills, book.fills) == (1, 1, 2)
    assert book.maker_volume_usd == pytest.approx(100)
    assert book.taker_volume_usd == pytest.approx(101)
    assert book.volume_usd == pytest.approx(201)


def test_flat_after_many_small_closes_has_no_phantom_position() -> None:
    fills = [fill(BUY, 100, 0.1) for _ in range(10)]
    fills.append(fill(SELL, 101, 1.0))
    book, _ = run(*fills)
    assert book.position == 0.0
    assert book.lots == ()
    assert book.realized_usd == pytest.approx(1.0)


def test_funding_is_tracked_outside_cash_flow() -> None:
    book = FifoBook()
    book.apply_funding(-0.25)
    book.apply_funding(0.05)
    assert book.funding_usd == pytest.approx(-0.2)
    assert book.cash_flow_usd == 0.0


def test_totals_is_a_copy() -> None:
    book, _ = run(fill(BUY, 100, 1))
    before = book.totals()
    book.apply(fill(SELL, 101, 1))
    assert before.realized_usd == 0.0
    assert book.totals().realized_usd == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("price", "size", "fee", "market"),
    [(0.0, 1.0, 0.0, "SOL"), (1.0, 0.0, 0.0, "SOL"), (1.0, float("nan"), 0.0, "SOL"),
     (1.0, 1.0, float("inf"), "SOL"), (1.0, 1.0, 0.0, "ETH"), (-5.0, 1.0, 0.0, "SOL")],
)  # fmt: skip
def test_bad_fills_are_refused(price: float, size: float, fee: float, market: str) -> None:
    bad = Fill("test", "x", 0, market, BUY, price, size, Role.MAKER, fee_usd=fee)
    book = FifoBook("SOL")
    with pytest.raises(ValueError):
        book.apply(bad)
    assert book.fills == 0

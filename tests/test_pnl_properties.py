"""Property: FIFO realized + unrealized equals cash flow marked to market, for any fill sequence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from solbot.core.model import Fill, Role, Side
from solbot.core.pnl import FifoBook

# Lighter SOL encodes price and size with 3 decimals; draw in those units so closes can be exact.
fills_strategy = st.lists(
    st.tuples(
        st.sampled_from([Side.BID, Side.ASK]),
        st.integers(min_value=1, max_value=400_000),  # price, ticks of 0.001
        st.integers(min_value=1, max_value=5_000),  # size, lots of 0.001
        st.integers(min_value=0, max_value=300),  # fee rate, millionths
        st.sampled_from([Role.MAKER, Role.TAKER]),
    ),
    max_size=60,
)


def build(raw: list[tuple[Side, int, int, int, Role]]) -> list[Fill]:
    out = []
    for n, (side, price_ticks, size_lots, fee_ppm, role) in enumerate(raw):
        price, size = price_ticks / 1000, size_lots / 1000
        fee = price * size * fee_ppm / 1e6
        out.append(Fill("v", str(n), n, "SOL", side, price, size, role, fee_usd=fee))
    return out


@settings(max_examples=300, deadline=None)
@given(fills_strategy, st.integers(min_value=1, max_value=400_000))
def test_fifo_realized_plus_unrealized_is_cash_flow_mark_to_market(
    raw: list[tuple[Side, int, int, int, Role]], mark_ticks: int
) -> None:
    fills, mark = build(raw), mark_ticks / 1000
    book = FifoBook("SOL")
    deltas = [book.apply(f) for f in fills]
    fifo_view = book.realized_usd - book.fees_usd + book.unrealized(mark)
    cash_view = book.cash_flow_usd + book.position * mark
    scale = 1.0 + sum(f.notional_usd for f in fills) + abs(book.position) * mark
    assert abs(fifo_view - cash_view) <= 1e-9 * scale
    assert abs(sum(deltas) - book.net_realized_usd) <= 1e-9 * scale
    assert abs(book.position - sum(f.signed_size for f in fills)) <= 1e-9 * (1 + len(fills))
    assert abs(book.position - sum(lot.size for lot in book.lots)) <= 1e-9 * (1 + len(fills))


@settings(max_examples=200, deadline=None)
@given(fills_strategy)
def test_lots_are_all_on_one_side(raw: list[tuple[Side, int, int, int, Role]]) -> None:
    book = FifoBook("SOL")
    for f in build(raw):
        book.apply(f)
        signs = {lot.size > 0 for lot in book.lots}
        assert len(signs) <= 1
        assert all(abs(lot.size) > 0 for lot in book.lots)

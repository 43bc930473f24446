"""Frame parsing: trades, fills and attribution, positions, orders, stats, errors."""

from __future__ import annotations

import pytest
from lighter_support import (
    ACCOUNT,
    MS,
    OTHER,
    SOL,
    account_frame,
    book_snapshot,
    book_update,
    levels,
    order,
    position,
    trade,
    trade_frame,
)

from solbot.adapters.venues.lighter.dedupe import RecentIds
from solbot.adapters.venues.lighter.messages import (
    FrameParser,
    map_order_status,
    parse_error_envelope,
)
from solbot.core.model import (
    BookTop,
    FeedStatus,
    Fill,
    MarkPrice,
    OrderStatus,
    OrderUpdate,
    PositionSnapshot,
    Role,
    Side,
    TradePrint,
)

NOW = 1_760_000_001_000 * MS


def parser(cutoff_ns: int | None = None) -> FrameParser:
    return FrameParser(SOL, ACCOUNT, history_cutoff_ns=cutoff_ns)


def of_type(events: list[object], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


# --- public trades -----------------------------------------------------------------------------


def test_trade_prints_deduped_and_snapshot_is_history() -> None:
    p = parser()
    snap = p.parse(trade_frame([trade(1), trade(2)], snapshot=True), NOW)
    assert of_type(snap.events, TradePrint) == []
    first = p.parse(trade_frame([trade(2), trade(3), trade(3)]), NOW)
    again = p.parse(trade_frame([trade(3), trade(4, is_maker_ask=False)]), NOW)
    ids = [e.trade_id for e in of_type(first.events + again.events, TradePrint)]
    assert ids == ["3", "4"] and p.duplicate_trades == 3
    buy, sell = of_type(first.events + again.events, TradePrint)
    assert buy.aggressor is Side.BID and sell.aggressor is Side.ASK  # maker ask ⇒ buyer took
    assert (buy.price, buy.size, buy.exchange_ts_ns) == (150_120, 70, 1_760_000_000_000 * MS)


def test_recent_ids_memory_is_bounded() -> None:
    ids = RecentIds(capacity=3)
    assert [ids.add(str(i)) for i in (1, 2, 3, 1, 4)] == [True, True, True, False, True]
    assert len(ids) == 3 and "1" not in ids and "4" in ids


# --- fills -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ask", "bid", "maker_ask", "side", "role"),
    [
        (ACCOUNT, OTHER, True, Side.ASK, Role.MAKER),
        (ACCOUNT, OTHER, False, Side.ASK, Role.TAKER),
        (OTHER, ACCOUNT, False, Side.BID, Role.MAKER),
        (OTHER, ACCOUNT, True, Side.BID, Role.TAKER),
    ],
)
def test_fill_attribution(ask: int, bid: int, maker_ask: bool, side: Side, role: Role) -> None:
    t = trade(
        10, ask_account=ask, bid_account=bid, is_maker_ask=maker_ask, maker_fee=28, taker_fee=196
    )
    fills = of_type(parser().parse(account_frame(trades=[t]), NOW).events, Fill)
    assert len(fills) == 1
    fill = fills[0]
    assert (fill.side, fill.role, fill.venue, fill.trade_id, fill.market) == (
        side,
        role,
        "lighter",
        "10",
        "SOL",
    )
    assert fill.price == pytest.approx(150.12) and fill.size == pytest.approx(0.07)
    rate = 28 if role is Role.MAKER else 196
    assert fill.fee_usd == pytest.approx(150.12 * 0.07 * rate / 1e6)
    assert fill.client_id == (7001 if side is Side.ASK else 7002)
    assert fill.ts_ns == 1_760_000_000_000 * MS


def test_omitted_fee_is_zero_and_foreign_trades_are_ignored() -> None:
    mine = trade(11, bid_account=ACCOUNT)
    theirs = trade(12)
    fills = of_type(parser().parse(account_frame(trades=[mine, theirs]), NOW).events, Fill)
    assert [f.trade_id for f in fills] == ["11"] and fills[0].fee_usd == 0.0


def test_fill_dedupe_across_frames() -> None:
    p = parser()
    t = trade(20, ask_account=ACCOUNT)
    first = of_type(p.parse(account_frame(trades=[t, t]), NOW).events, Fill)
    second = of_type(p.parse(account_frame(trades=[t]), NOW).events, Fill)
    assert len(first) == 1 and second == []


def test_subscribed_snapshot_trades_are_history_not_new_fills() -> None:
    p = parser()
    old = trade(30, ask_account=ACCOUNT)
    assert of_type(p.parse(account_frame(snapshot=True, trades=[old]), NOW).events, Fill) == []
    # ... and it is not counted later either when the venue re-sends it as an update.
    assert of_type(p.parse(account_frame(trades=[old]), NOW).events, Fill) == []


def test_snapshot_trades_after_session_start_are_missed_fills_counted_once() -> None:
    start_ns = 1_760_000_000_500 * MS
    p = parser(cutoff_ns=start_ns)
    before = trade(40, ask_account=ACCOUNT, ts_ms=1_760_000_000_000)
    after = trade(41, ask_account=ACCOUNT, ts_ms=1_760_000_000_900)
    fills = of_type(p.parse(account_frame(snapshot=True, trades=[before, after]), NOW).events, Fill)
    assert [f.trade_id for f in fills] == ["41"]
    # A reconnect re-sends the same snapshot: nothing is counted twice.
    assert (
        of_type(p.parse(account_frame(snapshot=True, trades=[before, after]), NOW).events, Fill)
        == []
    )


def test_self_trade_gives_one_fill_per_side_with_unique_ids() -> None:
    t = trade(50, ask_account=ACCOUNT, bid_account=ACCOUNT)
    fills = of_type(parser().parse(account_frame(trades=[t]), NOW).events, Fill)
    assert sorted(f.trade_id for f in fills) == ["50:ask", "50:bid"]
    assert sum(f.signed_size for f in fills) == 0


# --- positions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("sign", "size", "expected"), [(1, "1.250", 1.25), (-1, "0.070", -0.07)])
def test_position_is_sign_times_magnitude(sign: int, size: str, expected: float) -> None:
    frame = account_frame(positions={"2": position(sign, size)})
    snaps = of_type(parser().parse(frame, NOW).events, PositionSnapshot)
    assert snaps == [PositionSnapshot("SOL", pytest.approx(expected), NOW, 150.0)]


def test_missing_market_in_positions_object_means_flat() -> None:
    frame = account_frame(positions={"1": position(1, "3.000", market_id=1)})
    snaps = of_type(parser().parse(frame, NOW).events, PositionSnapshot)
    assert [s.size for s in snaps] == [0.0]


def test_trade_only_frame_does_not_touch_inventory() -> None:
    frame = account_frame(trades=[trade(60, ask_account=ACCOUNT)])
    events = parser().parse(frame, NOW).events
    assert of_type(events, PositionSnapshot) == [] and len(of_type(events, Fill)) == 1


def test_fills_come_before_the_absolute_position_of_the_same_frame() -> None:
    frame = account_frame(
        trades=[trade(61, bid_account=ACCOUNT)], positions={"2": position(1, "0.070")}
    )
    kinds = [type(e) for e in parser().parse(frame, NOW).events]
    assert kinds == [Fill, PositionSnapshot]


# --- orders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status", "reason"),
    [
        ("open", OrderStatus.OPEN, ""),
        ("in-progress", OrderStatus.PENDING, ""),
        ("pending", OrderStatus.PENDING, ""),
        ("filled", OrderStatus.FILLED, ""),
        ("canceled", OrderStatus.CANCELED, ""),
        ("canceled-post-only", OrderStatus.CANCELED, "post-only"),
        ("canceled_post_only", OrderStatus.CANCELED, "post-only"),
        ("canceled-margin-not-allowed", OrderStatus.CANCELED, "margin-not-allowed"),
    ],
)
def test_order_status_strings(text: str, status: OrderStatus, reason: str) -> None:
    assert map_order_status(text) == (status, reason)


def test_unknown_order_status_is_an_error() -> None:
    with pytest.raises(ValueError):
        map_order_status("exploded")


def test_orders_become_updates_with_remaining_lots_and_the_venue_price() -> None:
    frame = account_frame(
        orders=[
            order(77, "open", remaining="0.030", price="149.864"),
            order(78, "canceled-post-only"),
        ]
    )
    result = parser().parse(frame, NOW)
    updates = of_type(result.events, OrderUpdate)
    assert updates == [
        OrderUpdate(NOW, 77, OrderStatus.OPEN, 30, "", price=149_864),
        OrderUpdate(NOW, 78, OrderStatus.CANCELED, 70, "post-only", price=150_000),
    ]
    assert [o.order_index for o in result.orders] == [281474976710656] * 2


# --- market data, errors, channels ---------------------------------------------------------------


def test_book_frames_emit_top_then_gap_asks_for_resync() -> None:
    p = parser()
    snap = p.parse(
        book_snapshot(10, levels(("150.000", "1.000")), levels(("150.010", "2.000"))), NOW
    )
    assert [type(e) for e in snap.events] == [FeedStatus, BookTop]
    same = p.parse(book_update(10, 11, levels(("149.000", "1.000")), []), NOW)
    assert same.events == []  # the top did not change
    gap = p.parse(book_update(12, 13, [], []), NOW)
    assert [type(e) for e in gap.events] == [FeedStatus]
    assert not gap.events[0].book_valid and gap.resync_channels == ["order_book/2"]
    assert p.parse(book_update(13, 14, [], []), NOW).resync_channels == []  # asked once


def test_market_stats_single_and_all() -> None:
    stats = {"market_id": 2, "mark_price": "150.118", "index_price": "150.110",
             "current_funding_rate": "0.0012", "funding_timestamp": 1_760_000_400_000}  # fmt: skip
    single = {"channel": "market_stats:2", "type": "update/market_stats", "market_stats": stats}
    every = {"channel": "market_stats:all", "type": "update/market_stats",
             "market_stats": {"1": {**stats, "market_id": 1}, "2": stats}}  # fmt: skip
    for frame in (single, every):
        marks = of_type(parser().parse(frame, NOW).events, MarkPrice)
        assert marks == [MarkPrice("SOL", NOW, 150.118, 150.11, 0.0012, 1_760_000_400_000 * MS)]


def test_ticker_gives_book_top() -> None:
    frame = {"channel": "ticker:2", "type": "update/ticker", "timestamp": 1_760_000_000_000,
             "ticker": {"s": "SOL", "a": {"price": "150.200", "size": "1.000"},
                        "b": {"price": "150.100", "size": "0.500"}}}  # fmt: skip
    (top,) = parser().parse(frame, NOW).events
    assert (top.bid_price, top.bid_size, top.ask_price, top.ask_size) == (150100, 500, 150200, 1000)


def test_other_markets_and_accounts_are_ignored() -> None:
    p = parser()
    other_book = book_snapshot(1, levels(("1.000", "1.000")), [])
    other_book["channel"] = "order_book:1"
    assert p.parse(other_book, NOW).events == []
    other_account = account_frame(positions={})
    other_account["channel"] = "account_all:5"
    assert p.parse(other_account, NOW).events == []


@pytest.mark.parametrize(
    "frame",
    [
        {"error": {"code": 30003, "message": "Already Subscribed to : order_book/2"}},
        {"type": "error", "code": 30003, "message": "Already Subscribed to : order_book/2"},
        {
            "type": "error",
            "data": {"code": 30003, "message": "Already Subscribed to : order_book/2"},
        },
    ],
)
def test_error_envelopes_both_forms(frame: dict) -> None:
    error = parse_error_envelope(frame)
    assert error is not None and error.code == 30003
    result = parser().parse(frame, NOW)
    assert result.errors == [error]
    assert result.resync_channels == ["order_book/2"]  # no snapshot will come: resubscribe

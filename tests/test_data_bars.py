"""Coarse bar mode: candles expanded into synthetic ticks with a configured spread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solbot.adapters.data import KIND_BOOK, KIND_TRADE, EventChunk, open_events
from solbot.adapters.data.bars import mirror_candles
from solbot.core.model import MarketSpec
from solbot.errors import DataError, UsageError

MARKET = MarketSpec("SOL", "lighter", 2, 2, 3, 0.05, 10.0)
HEADER = "open_time_ms,open_time_utc,open,high,low,close,volume"
T0_MS = 1_747_612_800_000
T0 = T0_MS * 1_000_000
MINUTE = 60_000_000_000


def write(tmp_path: Path, rows: list[str], name: str = "candles_1m.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


UP = f"{T0_MS},2025-05-19T00:00:00Z,100.00,101.00,99.00,100.50,10"
DOWN = f"{T0_MS + 60_000},2025-05-19T00:01:00Z,100.50,100.80,99.50,99.60,0.010"


def expand(path: Path, **kwargs: object) -> EventChunk:
    source = open_events([path], MARKET, **kwargs)  # type: ignore[arg-type]
    return EventChunk.concat(list(source.chunks()))


def test_bar_shape_book_then_trade_per_tick(tmp_path: Path) -> None:
    events = expand(write(tmp_path, [UP, DOWN]))
    assert len(events) == 2 * 4 * 2
    assert events.kind.tolist() == [KIND_BOOK, KIND_TRADE] * 8
    quarter = MINUTE // 4
    assert events.ts_ns[::2].tolist() == [T0 + i * quarter for i in range(8)]
    assert np.array_equal(events.ts_ns, events.exchange_ts_ns)


def test_up_bar_dips_first_down_bar_rallies_first(tmp_path: Path) -> None:
    events = expand(write(tmp_path, [UP, DOWN]), bar_spread_bps=0.0)
    books = events.take(events.kind == KIND_BOOK)
    # zero spread: the book is the path itself, one tick wide
    assert books.bid_price.tolist() == [10000, 9900, 10100, 10050, 10050, 10080, 9950, 9960]
    assert (books.ask_price - books.bid_price).tolist() == [1] * 8


def test_book_is_mid_plus_minus_half_the_spread(tmp_path: Path) -> None:
    events = expand(write(tmp_path, [UP]), bar_spread_bps=2.0)
    books = events.take(events.kind == KIND_BOOK)
    # 2 bps around 100.00 is 0.01 each side
    assert (books.bid_price[0], books.ask_price[0]) == (9999, 10001)
    assert np.all(books.ask_price > books.bid_price)


def test_trades_follow_the_path_at_the_touch_and_keep_the_volume(tmp_path: Path) -> None:
    events = expand(write(tmp_path, [UP, DOWN]))
    books = events.take(events.kind == KIND_BOOK)
    trades = events.take(events.kind == KIND_TRADE)
    # UP: open -> low (sell, sell at the low) -> high (buy) -> close (down from the high: sell)
    # DOWN: open -> high (buy, buy at the high) -> low (sell) -> close (up from the low: buy)
    assert trades.aggressor.tolist() == [-1, -1, 1, -1, 1, 1, -1, 1]
    buys = trades.aggressor == 1
    assert np.array_equal(trades.trade_price[buys], books.ask_price[buys])
    assert np.array_equal(trades.trade_price[~buys], books.bid_price[~buys])
    assert trades.trade_size[:4].tolist() == [2500] * 4  # 10 SOL / 4
    assert trades.trade_size[4:].tolist() == [3, 3, 2, 2]  # 10 lots, remainder to the first
    assert trades.trade_id.tolist() == list(range(1, 9))


def bar(minute: int, open_: str, high: str, low: str, close: str, volume: str = "1") -> str:
    return f"{T0_MS + minute * 60_000},x,{open_},{high},{low},{close},{volume}"


def book_path(events: EventChunk) -> list[int]:
    return [int(price) for price in events.take(events.kind == KIND_BOOK).bid_price]


def sides(events: EventChunk) -> list[int]:
    return [int(side) for side in events.take(events.kind == KIND_TRADE).aggressor]


@pytest.mark.parametrize(
    ("row", "path"),
    [
        # the extreme nearer the open comes first, whatever the bar's direction
        (bar(0, "100.00", "100.20", "99.00", "99.10"), [10000, 10020, 9900, 9910]),  # falls
        (bar(0, "100.00", "101.00", "99.80", "100.90"), [10000, 9980, 10100, 10090]),  # rises
        (bar(0, "100.00", "100.20", "99.00", "100.10"), [10000, 10020, 9900, 10010]),
        # open mid-range: first to the extreme farther from the close
        (bar(0, "100.00", "101.00", "99.00", "100.50"), [10000, 9900, 10100, 10050]),
        (bar(0, "100.00", "101.00", "99.00", "99.50"), [10000, 10100, 9900, 9950]),
        # open and close mid-range: even bar numbers dip first, odd ones rally first
        (bar(0, "100.00", "101.00", "99.00", "100.00"), [10000, 9900, 10100, 10000]),
        (bar(1, "100.00", "101.00", "99.00", "100.00"), [10000, 10100, 9900, 10000]),
    ],
)
def test_path_visits_the_extreme_nearer_the_open_first(
    tmp_path: Path, row: str, path: list[int]
) -> None:
    assert book_path(expand(write(tmp_path, [row]), bar_spread_bps=0.0)) == path


@pytest.mark.parametrize(
    "row",
    [
        bar(0, "100.00", "100.20", "99.00", "99.10"),  # falling, rallies first
        bar(0, "100.00", "100.90", "99.90", "99.95"),  # falling, dips first
        bar(0, "100.00", "101.00", "99.80", "100.90"),  # rising, dips first
        bar(0, "100.00", "101.00", "99.00", "100.80"),  # rising, open mid-range
        bar(0, "100.00", "100.00", "99.00", "99.50"),  # opens at its high
        bar(0, "100.00", "101.00", "100.00", "101.00"),  # opens at its low, closes at its high
    ],
)
def test_low_prints_a_sell_at_the_bid_and_high_a_buy_at_the_ask(tmp_path: Path, row: str) -> None:
    """Whatever the bar's direction, our bid can fill at the low and our ask at the high."""
    for ticks in (4, 7):
        events = expand(write(tmp_path, [row]), bar_ticks=ticks)
        books = events.take(events.kind == KIND_BOOK)
        trades = events.take(events.kind == KIND_TRADE)
        low = trades.trade_price == books.bid_price.min()
        high = trades.trade_price == books.ask_price.max()
        assert low.any() and high.any()
        assert set(trades.aggressor[low].tolist()) == {-1}
        assert set(trades.aggressor[high].tolist()) == {1}


def test_trade_sides_follow_the_moves_between_ticks(tmp_path: Path) -> None:
    rises = bar(0, "100.00", "101.00", "99.80", "100.90")  # open, low, high, close
    assert sides(expand(write(tmp_path, [rises]))) == [-1, -1, 1, -1]
    # 7 ticks: anchors at ticks 0, 2, 4, 6; every tick takes the direction of its leg
    assert sides(expand(write(tmp_path, [rises]), bar_ticks=7)) == [-1, -1, -1, 1, 1, -1, -1]
    at_high = bar(0, "100.00", "100.00", "99.00", "99.50")  # open, high (no move), low, close
    assert sides(expand(write(tmp_path, [at_high]))) == [1, 1, -1, 1]
    flat = [bar(0, "100.00", "100.00", "100.00", "100.00"), bar(1, *["100.00"] * 4)]
    assert sides(expand(write(tmp_path, flat))) == [1, -1, 1, -1, -1, 1, -1, 1]


def test_mirrored_bars_give_mirrored_events(tmp_path: Path) -> None:
    """p -> 2*p0 - p swaps bid and ask, and every trade's side (bar mode has no direction)."""
    rows = [
        bar(0, "100.00", "100.20", "99.00", "99.10", "4"),
        bar(1, "99.10", "100.40", "98.90", "100.30", "8"),
        bar(2, "100.30", "101.30", "99.30", "100.80", "2"),
        bar(3, "100.80", "100.80", "100.10", "100.20", "5"),
    ]
    plain = write(tmp_path, rows)
    mirror = tmp_path / "mirror" / plain.name
    mirror.parent.mkdir()
    assert mirror_candles(plain, mirror) == pytest.approx(100.1)  # middle of 98.90 .. 101.30
    for ticks in (4, 5):
        # 3 bps: 1.5 ticks each side at every price here, so both books are path ± 2 ticks
        a = expand(plain, bar_ticks=ticks, bar_spread_bps=3.0)
        b = expand(mirror, bar_ticks=ticks, bar_spread_bps=3.0)
        pivot = 2 * 10010
        book, trade = a.kind == KIND_BOOK, a.kind == KIND_TRADE
        assert np.array_equal(b.kind, a.kind)
        assert np.array_equal(b.bid_price[book], pivot - a.ask_price[book])
        assert np.array_equal(b.ask_price[book], pivot - a.bid_price[book])
        assert np.array_equal(b.trade_price[trade], pivot - a.trade_price[trade])
        assert np.array_equal(b.aggressor[trade], -a.aggressor[trade])
        assert np.array_equal(b.trade_size, a.trade_size)


def test_zero_volume_bar_has_no_trades(tmp_path: Path) -> None:
    quiet = f"{T0_MS},x,100.00,100.00,100.00,100.00,0"
    events = expand(write(tmp_path, [quiet]))
    assert events.kind.tolist() == [KIND_BOOK] * 4
    assert events.bid_size.tolist() == [1] * 4  # a book side is never empty


def test_more_ticks_per_bar_interpolate_between_the_anchors(tmp_path: Path) -> None:
    events = expand(write(tmp_path, [UP]), bar_ticks=7, bar_spread_bps=0.0)
    path = events.take(events.kind == KIND_BOOK).bid_price.tolist()
    assert len(path) == 7
    assert path == [10000, 9950, 9900, 10000, 10100, 10075, 10050]


def test_coarse_everywhere(tmp_path: Path) -> None:
    source = open_events([write(tmp_path, [UP])], MARKET)
    assert source.coarse
    assert source.files[0].coarse
    assert source.files[0].notes[0].startswith("bar mode is coarse: each 1m bar becomes 4")
    assert source.files[0].last_ts_ns == T0 + 3 * MINUTE // 4


def test_window_cuts_inside_bars(tmp_path: Path) -> None:
    path = write(tmp_path, [UP, DOWN])
    events = expand(path, start_ns=T0 + MINUTE // 2, end_ns=T0 + MINUTE + 1)
    assert (
        events.ts_ns.tolist()
        == [T0 + MINUTE // 2] * 2 + [T0 + 3 * MINUTE // 4] * 2 + [T0 + MINUTE] * 2
    )
    source = open_events([path], MARKET, start_ns=T0 + MINUTE // 2)
    assert source.count() == 2 * 2 + 4 * 2


def test_small_chunks_give_the_same_events(tmp_path: Path) -> None:
    path = write(tmp_path, [UP, DOWN])
    whole = expand(path)
    pieces = EventChunk.concat(list(open_events([path], MARKET).chunks(chunk_rows=3)))
    for name, column in whole.columns().items():
        assert np.array_equal(column, getattr(pieces, name)), name


def test_unsorted_bars_are_sorted_and_noted(tmp_path: Path) -> None:
    source = open_events([write(tmp_path, [DOWN, UP])], MARKET)
    events = EventChunk.concat(list(source.chunks()))
    assert events.ts_ns[0] == T0
    assert "bars not in time order; sorted" in source.files[0].notes


@pytest.mark.parametrize(
    ("row", "line", "field"),
    [
        (f"{T0_MS},x,100.00,99.00,98.00,98.50,1", 2, "open"),  # open above high
        (f"{T0_MS},x,100.00,101.00,99.00,98.00,1", 2, "close"),  # close below low
        (f"{T0_MS},x,100.00,101.00,99.00,100.00,-1", 2, "volume"),
    ],
)
def test_inconsistent_bars_are_located(tmp_path: Path, row: str, line: int, field: str) -> None:
    with pytest.raises(DataError) as caught:
        open_events([write(tmp_path, [row])], MARKET)
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (line, field)


def test_duplicate_and_overlapping_bars_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError) as caught:
        open_events([write(tmp_path, [UP, DOWN, UP])], MARKET)
    assert (caught.value.problems[0].line, caught.value.problems[0].field) == (4, "open_time_ms")
    first = write(tmp_path, [UP, DOWN], "a_1m.csv")
    second = write(tmp_path, [DOWN], "b_1m.csv")
    with pytest.raises(DataError, match="overlaps a bar of another candle file"):
        open_events([first, second], MARKET)


def test_bar_mode_arguments_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, [UP])
    with pytest.raises(UsageError):
        open_events([path], MARKET, bar_ticks=3)
    with pytest.raises(UsageError):
        open_events([path], MARKET, bar_spread_bps=-1.0)


def test_candles_do_not_mix_with_ticks(tmp_path: Path) -> None:
    book = tmp_path / "b.csv"
    book.write_text("local_ts_ns,bid_price,bid_qty,ask_price,ask_qty\n1,1,1,2,1\n")
    with pytest.raises(DataError, match="cannot be mixed"):
        open_events([write(tmp_path, [UP]), book], MARKET)

"""Tick readers on small hand-made files: formats, clock fix, aggressor, merge order, units."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from solbot.adapters.data import KIND_BOOK, KIND_TRADE, EventChunk, detect_format, open_events
from solbot.core.model import MarketSpec
from solbot.errors import DataError, UsageError

ETH = MarketSpec("ETHUSDT", "binance-usdm", 0, 2, 3, 0.001, 20.0)
BOOK = "local_ts_ns,update_id,event_time_ms,transaction_time_ms,bid_price,bid_qty,ask_price,ask_qty"
TRADES = "local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker,trade_type"
S = 1_000_000_000


def write(path: Path, header: str, rows: list[str], *, gz: bool = True) -> Path:
    text = "\n".join([header, *rows]) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


def book_row(local_ns: int, event_ms: int, bid: str, ask: str, update_id: int = 1) -> str:
    return f"{local_ns},{update_id},{event_ms},{event_ms},{bid},1.000,{ask},2.500"


def trade_row(local_ns: int, event_ms: int, trade_id: int, maker: str, kind: str = "MARKET") -> str:
    return f"{local_ns},{event_ms},{event_ms},{trade_id},2681.63,0.250,{maker},{kind}"


def all_events(paths: list[Path], **kwargs: object) -> EventChunk:
    source = open_events(paths, ETH, **kwargs)  # type: ignore[arg-type]
    return EventChunk.concat(list(source.chunks()))


FORMAT_HEADERS = {
    "binance_bookticker": BOOK,
    "binance_trades": TRADES,
    "binance_depth_snapshot": "local_ts_ns,last_update_id,event_time_ms,transaction_time_ms,"
    "side,price,qty",
    "binance_depth_updates": "local_ts_ns,event_time_ms,transaction_time_ms,first_update_id,"
    "final_update_id,prev_final_update_id,side,price,qty",
    "tardis_quotes": "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,"
    "bid_amount",
    "tardis_trades": "exchange,symbol,timestamp,local_timestamp,id,side,price,amount",
    "candles": "open_time_ms,open_time_utc,open,high,low,close,volume",
}


@pytest.mark.parametrize(("fmt", "header"), sorted(FORMAT_HEADERS.items()))
@pytest.mark.parametrize("gz", [True, False])
def test_detect_format_from_header(tmp_path: Path, fmt: str, header: str, gz: bool) -> None:
    # the name says nothing and, for gzip, even lies: detection reads magic bytes and header
    path = write(tmp_path / ("data.csv" if gz else "data.csv.gz"), header, [], gz=gz)
    assert detect_format(path) == fmt


def test_detect_format_spot_bookticker_without_exchange_time(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv", "local_ts_ns,update_id,bid_price,bid_qty,ask_price,ask_qty", []
    )
    assert detect_format(path) == "binance_bookticker"


def test_detect_format_unknown_header(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "time,price,amount", ["1,2,3"])
    with pytest.raises(DataError) as caught:
        detect_format(path)
    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.column, problem.field) == (
        str(path),
        1,
        1,
        "header",
    )
    assert "unrecognised header 'time,price,amount'" in problem.message


@pytest.mark.parametrize(("name", "gz"), [("b.csv", True), ("b.csv.gz", False)])
def test_prices_and_sizes_become_ticks_and_lots(tmp_path: Path, name: str, gz: bool) -> None:
    # gzip is recognised by its magic bytes, whatever the file name says
    row = book_row(10 * S, 10_000, "2681.62", "2681.63")
    events = all_events([write(tmp_path / name, BOOK, [row], gz=gz)])
    assert events.kind.tolist() == [KIND_BOOK]
    assert (events.bid_price[0], events.ask_price[0]) == (268162, 268163)
    assert (events.bid_size[0], events.ask_size[0]) == (1000, 2500)
    assert events.trade_price[0] == events.trade_size[0] == events.aggressor[0] == 0


def test_off_grid_prices_are_rounded_and_noted(tmp_path: Path) -> None:
    book = write(tmp_path / "b.csv", BOOK, [book_row(10 * S, 10_000, "2681.625", "2681.64")])
    source = open_events([book], ETH)
    events = next(source.chunks())
    assert events.bid_price[0] == 268162  # half to even, like round()
    assert any("1 bid prices not multiples of 0.01" in note for note in source.files[0].notes)


def test_clock_fix_shifts_a_session_by_its_largest_gap(tmp_path: Path) -> None:
    # the capture clock runs behind: exchange minus receive is +1.2 s at worst (book row 2)
    book = write(
        tmp_path / "b.csv",
        BOOK,
        [book_row(10 * S, 11_000, "1.00", "1.01"), book_row(11 * S, 12_200, "1.00", "1.02")],
    )
    trades = write(tmp_path / "t.csv", TRADES, [trade_row(10 * S + S // 2, 11_400, 7, "0")])
    source = open_events([book, trades], ETH)
    shift = 1_200_000_000
    assert [info.clock_shift_ns for info in source.files] == [shift, shift]
    events = next(source.chunks())
    assert events.ts_ns.tolist() == [10 * S + shift, 10 * S + S // 2 + shift, 11 * S + shift]
    assert events.exchange_ts_ns.tolist() == [11_000 * 10**6, 11_400 * 10**6, 12_200 * 10**6]
    assert np.all(events.ts_ns >= events.exchange_ts_ns)
    assert source.files[0].first_ts_ns == 10 * S + shift
    assert any("shifted by +1.200000 s" in note for note in source.files[1].notes)


def test_clock_fix_is_per_session_and_never_negative(tmp_path: Path) -> None:
    behind = write(tmp_path / "a.csv", BOOK, [book_row(10 * S, 10_500, "1.00", "1.01")])
    # a later session whose capture clock is ahead of the exchange: no shift
    ahead = write(tmp_path / "b.csv", BOOK, [book_row(100 * S, 99_000, "1.00", "1.01")])
    source = open_events([behind, ahead], ETH)
    assert [info.clock_shift_ns for info in source.files] == [500_000_000, 0]


@pytest.mark.parametrize(("maker", "aggressor"), [("1", -1), ("0", 1), ("true", -1), ("False", 1)])
def test_aggressor_sign_from_is_buyer_maker(tmp_path: Path, maker: str, aggressor: int) -> None:
    trades = write(tmp_path / "t.csv", TRADES, [trade_row(10 * S, 9_000, 42, maker)])
    events = all_events([trades])
    assert events.kind.tolist() == [KIND_TRADE]
    assert events.aggressor.tolist() == [aggressor]
    assert (events.trade_price[0], events.trade_size[0], events.trade_id[0]) == (268163, 250, 42)
    assert events.bid_price[0] == events.ask_price[0] == 0


def test_insurance_fund_prints_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [
        trade_row(10 * S, 9_000, 1, "0"),
        trade_row(11 * S, 10_000, 2, "1", "INSURANCE_FUND"),
        trade_row(12 * S, 11_000, 3, "1", ""),
        trade_row(13 * S, 12_000, 4, "1", "ADL"),
    ]
    source = open_events([write(tmp_path / "t.csv", TRADES, rows)], ETH)
    events = next(source.chunks())
    assert events.trade_id.tolist() == [1, 3, 4]
    assert source.files[0].rows == 4
    notes = source.files[0].notes
    assert "skipped 1 INSURANCE_FUND prints (not book trades)" in notes
    assert "kept 1 prints of unusual trade_type 'ADL'" in notes


def test_merge_orders_by_time_book_before_trade_then_file_order(tmp_path: Path) -> None:
    trades = write(
        tmp_path / "t.csv",
        TRADES,
        [trade_row(10 * S, 9_000, 1, "0"), trade_row(12 * S, 9_000, 2, "0")],
    )
    book = write(
        tmp_path / "b.csv",
        BOOK,
        [
            book_row(10 * S, 9_000, "1.00", "1.01", 1),
            book_row(11 * S, 9_000, "1.00", "1.02", 2),
            book_row(11 * S, 9_000, "1.00", "1.03", 3),
        ],
    )
    events = all_events([trades, book])  # trades file first: order must not depend on it
    assert events.ts_ns.tolist() == [10 * S, 10 * S, 11 * S, 11 * S, 12 * S]
    assert events.kind.tolist() == [KIND_BOOK, KIND_TRADE, KIND_BOOK, KIND_BOOK, KIND_TRADE]
    assert events.ask_price[2:4].tolist() == [102, 103]  # equal times keep file order


def test_receive_time_going_backwards_is_sorted_stably_and_noted(tmp_path: Path) -> None:
    rows = [
        book_row(12 * S, 9_000, "1.00", "1.01"),
        book_row(10 * S, 9_000, "1.00", "1.02"),
        book_row(12 * S, 9_000, "1.00", "1.03"),
    ]
    source = open_events([write(tmp_path / "b.csv", BOOK, rows)], ETH)
    events = next(source.chunks())
    assert events.ask_price.tolist() == [102, 101, 103]
    assert any("backwards at 1 rows" in note for note in source.files[0].notes)


def test_time_window_and_chunking(tmp_path: Path) -> None:
    rows = [book_row(t * S, 1_000, "1.00", "1.01") for t in range(10, 20)]
    book = write(tmp_path / "b.csv", BOOK, rows)
    source = open_events([book], ETH, start_ns=12 * S, end_ns=15 * S)
    chunks = list(source.chunks(chunk_rows=2))
    assert [len(chunk) for chunk in chunks] == [2, 1]
    assert EventChunk.concat(chunks).ts_ns.tolist() == [12 * S, 13 * S, 14 * S]
    assert source.count() == 3
    with pytest.raises(UsageError):
        open_events([book], ETH, start_ns=15 * S, end_ns=12 * S)


def test_spot_capture_without_exchange_time(tmp_path: Path) -> None:
    header = "local_ts_ns,update_id,bid_price,bid_qty,ask_price,ask_qty"
    book = write(tmp_path / "b.csv", header, [f"{10 * S},1,150.01,1,150.02,1"])
    spot_trades = write(
        tmp_path / "t.csv", TRADES, [f"{10 * S},,,9,150.02,0.5,false,"]
    )  # spot captures leave event time and trade_type empty here
    source = open_events([book, spot_trades], ETH)
    events = next(source.chunks())
    assert events.exchange_ts_ns.tolist() == events.ts_ns.tolist() == [10 * S, 10 * S]
    assert events.aggressor.tolist() == [0, 1]
    assert source.files[0].clock_shift_ns == 0
    assert any("no exchange time" in note for note in source.files[0].notes)


TARDIS_QUOTES = (
    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
)
TARDIS_TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"


def test_tardis_quotes_and_trades(tmp_path: Path) -> None:
    quotes = write(
        tmp_path / "q.csv.gz",
        TARDIS_QUOTES,
        [
            "binance-futures,ETHUSDT,1000000,1000500,0.84,2681.63,2681.62,0.67",
            "binance-futures,ETHUSDT,2000000,2000400,,,2681.61,1.5",
        ],
    )
    trades = write(
        tmp_path / "t.csv.gz",
        TARDIS_TRADES,
        [
            "binance-futures,ETHUSDT,1500000,1500300,77,buy,2681.63,0.1",
            "binance-futures,ETHUSDT,1600000,1600300,78,sell,2681.62,0.2",
            "binance-futures,ETHUSDT,1700000,1700300,79,unknown,2681.62,0.3",
        ],
    )
    source = open_events([quotes, trades], ETH)
    events = next(source.chunks())
    assert events.ts_ns.tolist() == [
        1_000_500_000,
        1_500_300_000,
        1_600_300_000,
        1_700_300_000,
        2_000_400_000,
    ]
    assert events.exchange_ts_ns[0] == 1_000_000_000
    assert events.aggressor.tolist() == [0, 1, -1, 0, 0]
    assert events.trade_id.tolist() == [0, 77, 78, 79, 0]
    assert (events.ask_price[-1], events.ask_size[-1]) == (0, 0)  # empty ask side
    assert (events.bid_price[-1], events.bid_size[-1]) == (268161, 1500)
    assert [info.format for info in source.files] == ["tardis_quotes", "tardis_trades"]


def test_tardis_trade_ids_that_are_not_numbers_become_a_sequence(tmp_path: Path) -> None:
    trades = write(
        tmp_path / "t.csv",
        TARDIS_TRADES,
        [
            "bitmex,XBTUSD,1500000,1500300,a1-b2,buy,10.5,1",
            "bitmex,XBTUSD,1600000,1600300,c3-d4,sell,10.5,1",
        ],
    )
    source = open_events([trades], ETH)
    assert next(source.chunks()).trade_id.tolist() == [1, 2]
    assert any("row sequence" in note for note in source.files[0].notes)


def test_tardis_file_with_two_symbols_is_refused(tmp_path: Path) -> None:
    trades = write(
        tmp_path / "t.csv",
        TARDIS_TRADES,
        [
            "binance-futures,ETHUSDT,1500000,1500300,1,buy,10.5,1",
            "binance-futures,BTCUSDT,1600000,1600300,2,sell,10.5,1",
        ],
    )
    with pytest.raises(DataError) as caught:
        open_events([trades], ETH)
    problem = caught.value.problems[0]
    assert (problem.line, problem.column, problem.field) == (3, 2, "symbol")

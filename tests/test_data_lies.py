"""Data files that lie: bad clocks, absurd prices, crossed books, bad funding, bad Parquet."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from solbot.adapters.data import open_events
from solbot.adapters.data.checks import typical_clock_gap_ns
from solbot.adapters.data.funding import load_funding
from solbot.cli.main import main
from solbot.core.model import MarketSpec
from solbot.errors import DataError

ETH = MarketSpec("ETHUSDT", "binance-usdm", 0, 2, 3, 0.001, 20.0)
BOOK = "local_ts_ns,update_id,event_time_ms,transaction_time_ms,bid_price,bid_qty,ask_price,ask_qty"
S = 1_000_000_000
T = 1_723_161_256 * S  # receive clock of the capture
YEAR_MS = 365 * 86_400 * 1000


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))
    return path


def book_rows(count: int, *, gap_ms: int = 1200, bid: str = "2600.10", ask: str = "2600.20"):
    """Rows one second apart whose capture clock runs `gap_ms` behind the exchange."""
    return [
        f"{T + i * S},{i},{(T + i * S) // 10**6 + gap_ms},0,{bid},1.0,{ask},1.0"
        for i in range(count)
    ]


def refusal(paths: list[Path]) -> str:
    with pytest.raises(DataError) as caught:
        open_events(paths, ETH)
    return str(caught.value)


def test_one_exchange_time_a_year_off_is_refused_by_row(tmp_path: Path) -> None:
    rows = book_rows(20)
    parts = rows[7].split(",")
    parts[2] = str(int(parts[2]) + YEAR_MS)
    rows[7] = ",".join(parts)
    path = write(tmp_path / "b.csv.gz", BOOK, rows)
    # Before: the whole replay moved by 31,536,001 s with exit 0.
    assert refusal([path]).startswith(f"{path}:9:3: event_time_ms: exchange time +31,536,000")


def test_clock_offset_ignores_a_lying_row() -> None:
    receive = np.arange(1000, dtype=np.int64) * S
    exchange = receive + 1_200_000_000
    exchange[500] += YEAR_MS * 10**6
    assert typical_clock_gap_ns(receive, exchange) == 1_200_000_000


def test_negative_receive_time_is_refused_by_row(tmp_path: Path) -> None:
    rows = book_rows(5)
    rows[3] = "-5" + rows[3][rows[3].index(",") :]
    path = write(tmp_path / "b.csv.gz", BOOK, rows)
    # Before: a 54-year replay with exit 0.
    assert refusal([path]).startswith(f"{path}:5:1: local_ts_ns: expected a positive epoch time")


def test_receive_time_out_of_order_names_the_row_that_jumped(tmp_path: Path) -> None:
    rows = book_rows(6)
    rows[2] = str(T + 3600 * S) + rows[2][rows[2].index(",") :]  # an hour ahead, then back
    path = write(tmp_path / "b.csv.gz", BOOK, rows)
    message = refusal([path])
    assert message.startswith(f"{path}:4:1: local_ts_ns: receive time out of order")


def test_a_price_beyond_the_tick_range_is_refused_by_file_line_column(tmp_path: Path) -> None:
    rows = book_rows(3)
    rows[1] = rows[1].replace("2600.10", "1e300")
    path = write(tmp_path / "b.csv.gz", BOOK, rows)
    # Before: -9223372036854775808 ticks and a numpy warning.
    assert refusal([path]).startswith(f"{path}:3:5: bid_price: expected a value below")


def test_crossed_rows_are_counted_with_the_first_row(tmp_path: Path) -> None:
    rows = book_rows(10)
    rows[4] = rows[4].replace("2600.10", "2600.30")
    rows[6] = rows[6].replace("2600.10", "2600.30")
    path = write(tmp_path / "b.csv.gz", BOOK, rows)
    notes = open_events([path], ETH).files[0].notes
    assert f"2 crossed rows (bid above ask), the first at {path}:6" in notes


def test_a_file_with_bid_and_ask_swapped_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "b.csv.gz", BOOK, book_rows(10, bid="2600.20", ask="2600.10"))
    assert refusal([path]) == (
        f"{path}:2:5: bid_price: bid above ask in 10 of 10 rows: "
        "are the bid and ask columns swapped?"
    )


@pytest.mark.parametrize("rate", ["NaN", "inf", "-inf"])
def test_non_finite_funding_is_refused(tmp_path: Path, rate: str) -> None:
    funding = tmp_path / "funding.csv"
    funding.write_text(f"funding_time_ms,funding_time_utc,funding_rate\n1,x,0.0001\n2,x,{rate}\n")
    with pytest.raises(DataError) as caught:
        load_funding(funding)
    assert str(caught.value).startswith(f"{funding}:3:3: funding_rate: expected a finite rate")


def test_unreadable_parquet_exits_3_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "events.parquet"
    broken.write_bytes(b"PAR1" + b"\0" * 64)
    code = main(["simulate", "--data", str(broken), "--out", str(tmp_path / "out")])
    assert code == 3  # was 2: "cannot tell which market"
    assert str(broken) in capsys.readouterr().err


def test_a_candle_with_a_negative_open_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        "open_time_ms,open_time_utc,open,high,low,close,volume\n"
        "1747612800000,x,170.0,171.0,169.0,170.5,10\n"
        "-60000,x,170.5,171.0,170.0,170.2,10\n"
    )
    with pytest.raises(DataError) as caught:
        open_events([path], ETH)
    assert str(caught.value).startswith(f"{path}:3:1: open_time_ms: expected a positive epoch")

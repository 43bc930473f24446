"""RecordingFile: row groups, final metadata, a readable file on finish and nothing on discard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from solbot.adapters.data import KIND_BOOK, KIND_TRADE, open_events, read_metadata
from solbot.app.record import RecordingFile, simulate_command
from solbot.config.markets import resolve_market
from solbot.core.model import BookTop, Side, TradePrint
from solbot.errors import RuntimeFailure, UsageError

T0 = 1_780_000_000_000_000_000
SOL = resolve_market("lighter:SOL")


def metadata(rows: int) -> dict[str, object]:
    return {
        "kind": "solbot-events",
        "version": 1,
        "market": {"key": "lighter:SOL", "price_decimals": 3, "size_decimals": 3},
        "coarse": False,
        "sources": [],
        "recording": {"source": "lighter-ws", "rows": rows},
    }


def top(offset_ms: int, bid: int = 149_990, ask: int = 150_010) -> BookTop:
    ts = T0 + offset_ms * 1_000_000
    return BookTop(ts, ts - 1_000_000, bid, 1_000, ask, 2_000)


def print_(offset_ms: int, trade_id: str, aggressor: Side = Side.BID) -> TradePrint:
    ts = T0 + offset_ms * 1_000_000
    return TradePrint(ts, ts - 2_000_000, 150_010, 300, aggressor, trade_id)


def test_rows_are_written_in_row_groups_and_read_back_in_time_order(tmp_path: Path) -> None:
    out = tmp_path / "rec.parquet"
    file = RecordingFile(out, flush_events=4)
    for index in range(10):
        file.add_book(top(index * 10, bid=149_990 - index))
        if index % 3 == 0:
            file.add_trade(print_(index * 10 + 5, str(1000 + index), Side.ASK))
    assert file.row_groups == 3  # 14 events, flushed at 4, 8, 12: memory stays bounded
    file.finish(metadata(14))
    assert not file.partial.exists()
    assert pq.ParquetFile(out).metadata.num_row_groups == 4
    assert read_metadata(out)["recording"] == {"source": "lighter-ws", "rows": 14}
    events = next(open_events([out], SOL.spec).chunks())
    assert len(events) == 14 and np.all(np.diff(events.ts_ns) >= 0)
    books, trades = events.kind == KIND_BOOK, events.kind == KIND_TRADE
    assert list(events.bid_price[books]) == [149_990 - i for i in range(10)]
    assert list(events.trade_id[trades]) == [1000, 1003, 1006, 1009]
    assert set(events.aggressor[trades]) == {-1}
    assert list(events.exchange_ts_ns[books][:1]) == [T0 - 1_000_000]


def test_a_book_and_a_trade_at_one_receive_time_replay_in_exchange_order(tmp_path: Path) -> None:
    out = tmp_path / "tie.parquet"
    file = RecordingFile(out, flush_events=100)
    file.add_trade(print_(0, "7"))  # happened 2 ms before it was received, the book 1 ms
    file.add_book(top(0))
    file.finish(metadata(2))
    events = next(open_events([out], SOL.spec).chunks())
    assert list(events.kind) == [KIND_TRADE, KIND_BOOK]


def test_a_book_and_a_trade_at_one_exchange_and_receive_time_keep_book_first(
    tmp_path: Path,
) -> None:
    out = tmp_path / "tie.parquet"
    file = RecordingFile(out, flush_events=100)
    trade = print_(0, "7")
    file.add_trade(TradePrint(trade.ts_ns, trade.ts_ns - 1_000_000, 150_010, 300, Side.BID, "7"))
    file.add_book(top(0))
    file.finish(metadata(2))
    events = next(open_events([out], SOL.spec).chunks())
    assert list(events.kind) == [KIND_BOOK, KIND_TRADE]


def test_non_numeric_trade_ids_are_stored_as_zero_and_counted(tmp_path: Path) -> None:
    file = RecordingFile(tmp_path / "ids.parquet", flush_events=100)
    file.add_trade(print_(0, "abc"))
    file.add_trade(print_(1, "42"))
    assert file.trades_without_numeric_id == 1
    file.finish(metadata(2))
    events = next(open_events([file.out], SOL.spec).chunks())
    assert list(events.trade_id) == [0, 42]


def test_an_empty_recording_is_still_a_valid_file(tmp_path: Path) -> None:
    out = tmp_path / "empty.parquet"
    RecordingFile(out, flush_events=10).finish(metadata(0))
    assert open_events([out], SOL.spec).count() == 0


def test_discard_leaves_nothing(tmp_path: Path) -> None:
    file = RecordingFile(tmp_path / "gone.parquet", flush_events=1)
    file.add_book(top(0))
    assert file.partial.exists()
    file.discard()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_a_runtime_failure(tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailure, match="cannot write"):
        RecordingFile(tmp_path / "no" / "such" / "dir.parquet", flush_events=10)


def test_flush_events_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="N >= 1"):
        RecordingFile(tmp_path / "x.parquet", flush_events=0)


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("lighter_SOL_20260701.parquet", ""),
        ("rec.parquet", " --data-market lighter:SOL"),
    ],
)
def test_the_replay_hint_names_the_market_only_when_the_file_name_does_not(
    name: str, suffix: str
) -> None:
    assert simulate_command(Path(name), SOL) == f"solbot simulate --data {name}{suffix}"

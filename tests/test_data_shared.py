"""Every shared L1 capture and format reads into a sane, sorted stream (skipped without data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solbot.adapters.data import KIND_BOOK, KIND_TRADE, EventChunk, describe_files, open_events
from solbot.config.markets import load_markets, select_market

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FLAT = SHARED / "orderbook_trades" / "flat"
pytestmark = pytest.mark.skipif(not FLAT.is_dir(), reason="../shared/data is not present")

SESSIONS = sorted(
    {path.name.rsplit("_", 1)[0] for path in FLAT.glob("*_bookticker.csv.gz")}
    if FLAT.is_dir()
    else set()
)


def read(paths: list[Path]) -> tuple[EventChunk, list[int]]:
    market = select_market(paths, None)
    source = open_events(paths, market.spec)
    return EventChunk.concat(list(source.chunks())), [info.rows for info in source.files]


@pytest.mark.parametrize("session", SESSIONS)
def test_l1_pair_is_sorted_and_sane(session: str) -> None:
    paths = [FLAT / f"{session}_bookticker.csv.gz", FLAT / f"{session}_trades.csv.gz"]
    events, rows = read(paths)
    assert len(events) == sum(rows)  # no INSURANCE_FUND prints in these captures
    assert np.all(np.diff(events.ts_ns) >= 0)
    assert np.all(events.ts_ns >= events.exchange_ts_ns)  # the clock fix
    book = events.kind == KIND_BOOK
    trade = events.kind == KIND_TRADE
    assert np.all(events.bid_price[book] < events.ask_price[book])
    mid = np.median(events.bid_price[book])
    for prices in (events.bid_price[book], events.trade_price[trade]):
        assert np.all(np.abs(prices / mid - 1) < 0.05)  # minutes of data, no wild prints
    assert np.all(events.trade_size[trade] > 0)
    assert set(np.unique(events.aggressor[trade]).tolist()) == {-1, 1}
    assert len(np.unique(events.trade_id[trade])) == trade.sum()


def test_depth_rebuild_agrees_with_bookticker() -> None:
    session = "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
    spec = load_markets()["binance-usdm:ETHUSDT"].spec
    depth_paths = [
        FLAT / f"{session}_depth_snapshot.csv.gz",
        FLAT / f"{session}_depth_updates.csv.gz",
    ]
    depth = next(open_events(depth_paths, spec).chunks(10**9))
    ticker = next(open_events([FLAT / f"{session}_bookticker.csv.gz"], spec).chunks(10**9))
    assert len(depth) > 5_000
    # compare each rebuilt top with the bookTicker state at the same exchange time
    index = np.searchsorted(ticker.exchange_ts_ns, depth.exchange_ts_ns, "right") - 1
    known = index >= 0
    same = (ticker.bid_price[index] == depth.bid_price) & (
        ticker.ask_price[index] == depth.ask_price
    )
    assert same[known].mean() > 0.98
    assert np.all(depth.bid_price < depth.ask_price)


def test_tardis_sample_reads() -> None:
    folder = SHARED / "orderbook_trades" / "tardis_sample"
    paths = sorted(folder.glob("*.csv.gz"))
    market = select_market(paths, None)
    assert market.key == "binance-usdm:BTCUSDT"
    source = open_events(paths, market.spec)
    events = EventChunk.concat(list(source.chunks()))
    assert len(events) == 9_999 * 2
    assert np.all(np.diff(events.ts_ns) >= 0)


def test_every_candle_file_describes() -> None:
    paths = sorted(SHARED.glob("klines_*/*.csv.gz"))
    infos = describe_files(paths)
    assert len(infos) == len(paths) >= 10
    assert all(info.coarse and info.format == "candles" for info in infos)
    assert all(info.first_ts_ns < info.last_ts_ns for info in infos)

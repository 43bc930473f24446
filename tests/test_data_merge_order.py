"""Reading tick files in exchange order straight from the files gives the order the two-step
merge (sort by receive time, then by exchange time) gave, row for row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solbot.adapters.data import open_events, sample_paths
from solbot.adapters.data.events import COLUMNS, EventChunk, exchange_ordered, merge_events
from solbot.adapters.data.source import _tick_events, clock_shifts, load_file
from solbot.config.markets import resolve_market

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "orderbook_trades" / "flat"
PAIRS = [
    "binance_usdm_BTCUSDT_20240718T2357-20240719T0005",
    "binance_usdm_ETHUSDT_20240718T2357-20240719T0005",
]


def _two_step(paths: list[Path], market_key: str) -> EventChunk:
    market = resolve_market(market_key).spec
    loaded = [load_file(path, market) for path in paths]
    return exchange_ordered(merge_events(_tick_events(loaded, clock_shifts(loaded))))


def _assert_same(paths: list[Path], market_key: str) -> None:
    events = open_events(paths, resolve_market(market_key).spec)
    read = EventChunk.concat(list(events.chunks()))
    expected = _two_step(paths, market_key)
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(read, name), getattr(expected, name), err_msg=name)


def test_the_bundled_capture_reads_in_the_two_step_order() -> None:
    _assert_same(sample_paths(), "binance-usdm:ETHUSDT")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared captures not available")
@pytest.mark.parametrize("pair", PAIRS)
def test_a_shared_capture_reads_in_the_two_step_order(pair: str) -> None:
    paths = [SHARED / f"{pair}_bookticker.csv.gz", SHARED / f"{pair}_trades.csv.gz"]
    _assert_same(paths, f"binance-usdm:{pair.split('_')[2]}")

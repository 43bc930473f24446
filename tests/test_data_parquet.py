"""solbot Parquet: round trip equals the CSV events, provenance metadata, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from solbot.adapters.data import (
    EventChunk,
    detect_format,
    open_events,
    parquet_market_key,
    read_metadata,
    sample_candles_path,
    sample_paths,
    write_parquet,
)
from solbot.config.markets import resolve_market
from solbot.errors import DataError

ETH = resolve_market("binance-usdm:ETHUSDT").spec
SOL = resolve_market("lighter:SOL").spec


def events_of(paths: list[Path], market: object = ETH, **kwargs: object) -> EventChunk:
    source = open_events(paths, market, **kwargs)  # type: ignore[arg-type]
    return EventChunk.concat(list(source.chunks()))


def assert_same(left: EventChunk, right: EventChunk) -> None:
    assert len(left) == len(right)
    for name, column in left.columns().items():
        other = getattr(right, name)
        assert column.dtype == other.dtype, name
        assert np.array_equal(column, other), name


def test_round_trip_equals_the_csv_events(tmp_path: Path) -> None:
    source = open_events(sample_paths(), ETH)
    out = tmp_path / "eth.parquet"
    info = write_parquet(source, out)
    assert info.rows == source.count() == 53_992 + 14_076
    assert (info.format, info.coarse) == ("solbot_parquet", False)
    assert detect_format(out) == "solbot_parquet"
    assert info.clock_shift_ns == source.files[0].clock_shift_ns
    assert_same(events_of(sample_paths()), events_of([out]))
    reread = open_events([out], ETH).files[0]
    assert (reread.rows, reread.sha256, reread.first_ts_ns) == (
        info.rows,
        info.sha256,
        info.first_ts_ns,
    )


def test_metadata_names_market_sources_and_version(tmp_path: Path) -> None:
    out = tmp_path / "eth.parquet"
    write_parquet(open_events(sample_paths(), ETH), out)
    metadata = read_metadata(out)
    assert parquet_market_key(out) == "binance-usdm:ETHUSDT"
    assert metadata["market"]["price_decimals"] == 2
    assert metadata["solbot_version"]
    shas = [item["sha256"] for item in metadata["sources"]]
    assert shas == [info.sha256 for info in open_events(sample_paths(), ETH).files]


def test_window_survives_conversion(tmp_path: Path) -> None:
    start = 1_723_161_300_000_000_000
    end = start + 10_000_000_000
    out = tmp_path / "w.parquet"
    write_parquet(open_events(sample_paths(), ETH, start_ns=start, end_ns=end), out)
    windowed = events_of([out])
    assert windowed.ts_ns.min() >= start and windowed.ts_ns.max() < end
    assert_same(windowed, events_of(sample_paths(), start_ns=start, end_ns=end))


def test_bar_mode_stays_coarse_through_parquet(tmp_path: Path) -> None:
    out = tmp_path / "sol.parquet"
    info = write_parquet(open_events([sample_candles_path()], SOL), out)
    assert info.coarse and info.rows == 1440 * 8
    source = open_events([out], SOL)
    assert source.coarse
    assert any("bar mode is coarse" in note for note in source.files[0].notes)
    assert_same(events_of([sample_candles_path()], SOL), events_of([out], SOL))


def test_parquet_merges_with_csv(tmp_path: Path) -> None:
    book, trades = sample_paths()
    out = tmp_path / "book.parquet"
    write_parquet(open_events([book, trades], ETH), out)
    # re-reading the parquet alone equals the original pair; mixing it with CSV still sorts
    merged = events_of([out, trades])
    assert np.all(np.diff(merged.ts_ns) >= 0)
    assert len(merged) == 53_992 + 2 * 14_076


def test_parquet_for_other_decimals_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "eth.parquet"
    write_parquet(open_events(sample_paths(), ETH, end_ns=1_723_161_260_000_000_000), out)
    with pytest.raises(DataError) as caught:
        open_events([out], SOL)
    problem = caught.value.problems[0]
    assert problem.field == "price_decimals"
    assert "binance-usdm:ETHUSDT" in problem.message


def test_foreign_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(DataError, match="not a solbot event file"):
        open_events([path], ETH)

"""The cheaper set-up of a replay gives exactly what the plain code gave: ordering the files'
events one column at a time, unit conversion in place, the clock gap worked out once per file,
and replay columns handed over without a copy when no rescale is needed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import solbot.adapters.data.loaded as loaded_module
from solbot.adapters.data import open_events, sample_paths
from solbot.adapters.data.events import (
    COLUMN_DTYPES,
    COLUMNS,
    EventChunk,
    exchange_ordered,
    exchange_ordered_concat,
)
from solbot.adapters.data.loaded import to_units
from solbot.adapters.data.source import load_file
from solbot.app.simulate import COLUMNS as REPLAY_COLUMNS
from solbot.app.simulate import PriceMapping
from solbot.config.markets import resolve_market

ETH = resolve_market("binance-usdm:ETHUSDT").spec


def _chunk(rows: list[tuple[int, int, int]], seed: int) -> EventChunk:
    """A chunk with the given (exchange time, receive time, kind) and random other columns."""
    rng = np.random.default_rng(seed)
    columns = {
        name: rng.integers(-(10**12), 10**12, len(rows)).astype(dtype)
        for name, dtype in COLUMN_DTYPES.items()
    }
    columns["exchange_ts_ns"] = np.array([row[0] for row in rows], np.int64)
    columns["ts_ns"] = np.array([row[1] for row in rows], np.int64)
    columns["kind"] = np.array([row[2] for row in rows], np.int8)
    return EventChunk.from_columns(columns)


# few distinct times, so that ties in exchange time, receive time and kind are common
_ROW = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 1))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_ROW, max_size=12), max_size=4), st.integers(0, 2**32 - 1))
def test_ordering_the_files_column_by_column_matches_concatenating_then_ordering(
    files: list[list[tuple[int, int, int]]], seed: int
) -> None:
    chunks = [_chunk(rows, seed + index) for index, rows in enumerate(files)]
    expected = exchange_ordered(EventChunk.concat(chunks))
    got = exchange_ordered_concat(chunks)
    for name in COLUMNS:
        column = getattr(got, name)
        assert column.dtype == COLUMN_DTYPES[name], name
        np.testing.assert_array_equal(column, getattr(expected, name), err_msg=name)


def _to_units_plain(values: np.ndarray, decimals: int) -> tuple[np.ndarray, int]:
    """The conversion as it was written before it worked in place."""
    scaled = values * float(10**decimals)
    units = np.rint(scaled)
    tolerance = 1e-6 + np.abs(scaled) * 1e-12
    off_grid = int(np.count_nonzero(np.abs(scaled - units) > tolerance))
    return units.astype(np.int64), off_grid


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(0, 1e9, allow_nan=False),
            st.integers(0, 10**9).map(lambda n: n / 1000),  # on a 0.001 grid, as files are
        ),
        max_size=40,
    ),
    st.integers(0, 8),
)
def test_unit_conversion_in_place_matches_the_plain_formula(
    values: list[float], decimals: int
) -> None:
    array = np.array(values, np.float64)
    before = array.copy()
    units, off_grid = to_units(array, decimals)
    expected_units, expected_off_grid = _to_units_plain(before, decimals)
    np.testing.assert_array_equal(units, expected_units)
    assert off_grid == expected_off_grid
    np.testing.assert_array_equal(array, before)  # the caller's values are left alone


def test_the_clock_gap_of_a_file_is_worked_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    plain = loaded_module.typical_clock_gap_ns

    def counted(receive_ns: np.ndarray, exchange_ns: np.ndarray) -> int:
        calls.append(len(receive_ns))
        return plain(receive_ns, exchange_ns)

    monkeypatch.setattr(loaded_module, "typical_clock_gap_ns", counted)
    open_events(sample_paths(), ETH)  # clock shift and the file's notes both ask for it
    assert len(calls) == len(sample_paths())
    loaded = load_file(sample_paths()[0], ETH)
    assert loaded.max_clock_gap_ns() == loaded.max_clock_gap_ns()
    assert len(calls) == len(sample_paths()) + 1


def test_replay_columns_without_a_rescale_are_the_event_arrays_themselves() -> None:
    events = open_events(sample_paths(), ETH)
    chunk = next(events.chunks())
    columns = PriceMapping(ETH, ETH, 1.0).columns(chunk)
    for name, column in zip(REPLAY_COLUMNS, columns, strict=True):
        assert column.dtype == np.int64, name
        if COLUMN_DTYPES[name] == np.int64:
            assert np.shares_memory(column, getattr(chunk, name)), name
        np.testing.assert_array_equal(column, getattr(chunk, name), err_msg=name)


def _columns_plain(mapping: PriceMapping, chunk: EventChunk) -> dict[str, np.ndarray]:
    """The rescaled replay columns as they were computed before the conversion worked in place."""
    source, target = mapping.source, mapping.target
    price_scale = mapping.factor * 10.0 ** (target.price_decimals - source.price_decimals)
    size_scale = 10.0 ** (target.size_decimals - source.size_decimals) / mapping.factor
    out: dict[str, np.ndarray] = {}
    for name in REPLAY_COLUMNS:
        column = getattr(chunk, name)
        if name in ("bid_price", "ask_price", "trade_price"):
            column = np.rint(column * price_scale).astype(np.int64)
        elif name in ("bid_size", "ask_size", "trade_size"):
            column = np.maximum(np.rint(column * size_scale), (column > 0).astype(np.int64)).astype(
                np.int64
            )
        else:
            column = column.astype(np.int64)
        out[name] = column
    locked = (
        (out["bid_price"] > 0) & (out["ask_price"] > 0) & (out["ask_price"] <= out["bid_price"])
    )
    out["ask_price"][locked] = out["bid_price"][locked] + 1
    return out


@pytest.mark.parametrize("factor", [0.0559, 1.0, 3.7, 1e-4])
def test_rescaled_replay_columns_match_the_plain_conversion(factor: float) -> None:
    sol = resolve_market("lighter:SOL").spec
    events = open_events(sample_paths(), ETH)
    mapping = PriceMapping(ETH, sol, factor)
    for chunk in events.chunks(chunk_rows=20_000):
        got = mapping.columns(chunk)
        expected = _columns_plain(mapping, chunk)
        for name, column in zip(REPLAY_COLUMNS, got, strict=True):
            assert column.dtype == np.int64, name
            np.testing.assert_array_equal(column, expected[name], err_msg=name)

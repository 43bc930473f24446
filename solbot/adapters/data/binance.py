"""Binance bookTicker and trade captures (USD-M and spot), one row per update or print."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solbot.adapters.data.checks import (
    Ints,
    check_clock_gaps,
    check_receive_clock,
    crossed_note,
)
from solbot.adapters.data.formats import BINANCE_BOOKTICKER, BINANCE_TRADES
from solbot.adapters.data.loaded import (
    UNKNOWN_NS,
    Loaded,
    exchange_or_unknown,
    off_grid_note,
    order_note,
    to_units,
)
from solbot.adapters.data.table import FLOAT, INT, TEXT, Field, Table, one_of, positive, read_table
from solbot.core.model import MarketSpec

MS_NS = 1_000_000
INSURANCE_FUND = "INSURANCE_FUND"
_ORDINARY_TRADE_TYPES = ("MARKET", "")

BOOKTICKER_FIELDS = (
    Field("local_ts_ns", INT),
    Field("event_time_ms", INT, required=False, nullable=True),
    Field("bid_price", FLOAT),
    Field("bid_qty", FLOAT),
    Field("ask_price", FLOAT),
    Field("ask_qty", FLOAT),
)
TRADE_FIELDS = (
    Field("local_ts_ns", INT),
    Field("event_time_ms", INT, required=False, nullable=True),
    Field("trade_id", INT),
    Field("price", FLOAT),
    Field("qty", FLOAT),
    Field("is_buyer_maker", TEXT),
    Field("trade_type", TEXT, required=False, nullable=True),
)


def load_bookticker(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse a bookTicker capture: best bid/ask on every change."""
    table = read_table(path, header, BOOKTICKER_FIELDS)
    notes: list[str] = []
    columns: dict[str, np.ndarray] = {}
    for side in ("bid", "ask"):
        prices = positive(table, f"{side}_price", decimals=market.price_decimals)
        price, off_price = to_units(prices, market.price_decimals)
        sizes = positive(table, f"{side}_qty", allow_zero=True, decimals=market.size_decimals)
        size, off_size = to_units(sizes, market.size_decimals)
        columns[f"{side}_price"], columns[f"{side}_size"] = price, size
        notes += off_grid_note(off_price, f"{side} prices", market.price_decimals)
        notes += off_grid_note(off_size, f"{side} sizes", market.size_decimals)
    notes += crossed_note(table, columns["bid_price"], columns["ask_price"])
    receive, exchange = _checked_clocks(table)
    return Loaded(
        path=path,
        format=BINANCE_BOOKTICKER,
        sha256=sha256,
        rows=table.rows,
        columns=columns,
        receive_ns=receive,
        exchange_ns=exchange,
        notes=notes + order_note(receive),
    )


def load_trades(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse a trade capture; INSURANCE_FUND prints never traded against the book: skipped."""
    table = read_table(path, header, TRADE_FIELDS)
    prices = positive(table, "price", decimals=market.price_decimals)
    price, off_price = to_units(prices, market.price_decimals)
    size, off_size = to_units(
        positive(table, "qty", decimals=market.size_decimals), market.size_decimals
    )
    maker = one_of(table, "is_buyer_maker", ("1", "0", "true", "false"))
    buyer_is_maker = maker.is_in(["1", "true"]).to_numpy()
    # the buyer resting on the book means the seller crossed: the aggressor sold
    aggressor = np.where(buyer_is_maker, -1, 1).astype(np.int8)
    keep, notes = _trade_types(table)
    receive, exchange = _checked_clocks(table)
    columns = {
        "trade_price": price,
        "trade_size": size,
        "aggressor": aggressor,
        "trade_id": table.ints("trade_id"),
    }
    notes += off_grid_note(off_price, "prices", market.price_decimals)
    notes += off_grid_note(off_size, "sizes", market.size_decimals)
    return Loaded(
        path=path,
        format=BINANCE_TRADES,
        sha256=sha256,
        rows=table.rows,
        columns={name: values[keep] for name, values in columns.items()},
        receive_ns=receive[keep],
        exchange_ns=exchange[keep],
        notes=notes + order_note(receive[keep]),
    )


def _checked_clocks(table: Table) -> tuple[Ints, Ints]:
    """The receive clock, refused when it lies (see `checks`), and the exchange clock checked
    against it (UNKNOWN_NS where the file has none)."""
    receive = table.ints("local_ts_ns")
    check_receive_clock(table, "local_ts_ns", receive)
    exchange = _exchange(table)
    check_clock_gaps(table, "event_time_ms", receive, exchange, exchange != UNKNOWN_NS)
    return receive, exchange


def _exchange(table: Table) -> np.ndarray:
    values = table.ints("event_time_ms", UNKNOWN_NS) if table.has("event_time_ms") else None
    return exchange_or_unknown(values, MS_NS, table.rows)


def _trade_types(table: Table) -> tuple[np.ndarray, list[str]]:
    """Rows to keep, and notes on skipped or unusual trade types."""
    if not table.has("trade_type"):
        return np.ones(table.rows, dtype=bool), []
    kinds = table.texts("trade_type").fill_null("").str.strip_chars().str.to_uppercase()
    insurance = kinds.eq(INSURANCE_FUND).to_numpy()
    notes = []
    if insurance.any():
        notes.append(f"skipped {int(insurance.sum())} {INSURANCE_FUND} prints (not book trades)")
    unusual = kinds.filter(~kinds.is_in([*_ORDINARY_TRADE_TYPES, INSURANCE_FUND]))
    for kind, count in sorted(unusual.value_counts().iter_rows()):
        notes.append(f"kept {count} prints of unusual trade_type {kind!r}")
    return ~insurance, notes

"""Tardis.dev CSV quotes and trades (`exchange,symbol,timestamp,local_timestamp,...`, in µs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from solbot.adapters.data.checks import (
    Ints,
    check_clock_gaps,
    check_receive_clock,
    crossed_note,
)
from solbot.adapters.data.formats import TARDIS_QUOTES, TARDIS_TRADES
from solbot.adapters.data.loaded import Loaded, off_grid_note, order_note, to_units
from solbot.adapters.data.table import FLOAT, INT, TEXT, Field, Table, one_of, positive, read_table
from solbot.core.model import MarketSpec

US_NS = 1_000

QUOTE_FIELDS = (
    Field("symbol", TEXT),
    Field("timestamp", INT),
    Field("local_timestamp", INT),
    Field("ask_amount", FLOAT, nullable=True),
    Field("ask_price", FLOAT, nullable=True),
    Field("bid_price", FLOAT, nullable=True),
    Field("bid_amount", FLOAT, nullable=True),
)
TRADE_FIELDS = (
    Field("symbol", TEXT),
    Field("timestamp", INT),
    Field("local_timestamp", INT),
    Field("id", TEXT, nullable=True),
    Field("side", TEXT),
    Field("price", FLOAT),
    Field("amount", FLOAT),
)


def load_quotes(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse Tardis quotes; an empty side (no price) becomes price 0 and size 0."""
    table = read_table(path, header, QUOTE_FIELDS)
    _one_symbol(table)
    notes: list[str] = []
    columns: dict[str, np.ndarray] = {}
    for side in ("bid", "ask"):
        empty = table.texts(f"{side}_price").is_null().to_numpy()
        prices = positive(table, f"{side}_price", fill=1.0, decimals=market.price_decimals)
        sizes = positive(table, f"{side}_amount", allow_zero=True, decimals=market.size_decimals)
        price, off_price = to_units(np.where(empty, 0.0, prices), market.price_decimals)
        size, off_size = to_units(np.where(empty, 0.0, sizes), market.size_decimals)
        columns[f"{side}_price"], columns[f"{side}_size"] = price, size
        notes += off_grid_note(off_price, f"{side} prices", market.price_decimals)
        notes += off_grid_note(off_size, f"{side} sizes", market.size_decimals)
        if empty.any():
            notes.append(f"{int(empty.sum())} quotes with an empty {side} side")
    both = (columns["bid_price"] > 0) & (columns["ask_price"] > 0)
    notes += crossed_note(table, columns["bid_price"], columns["ask_price"], both)
    receive, exchange = _checked_clocks(table)
    return Loaded(
        path=path,
        format=TARDIS_QUOTES,
        sha256=sha256,
        rows=table.rows,
        columns=columns,
        receive_ns=receive,
        exchange_ns=exchange,
        notes=notes + order_note(receive),
    )


def load_trades(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse Tardis trades; `side` is the taker's side (buy, sell or unknown)."""
    table = read_table(path, header, TRADE_FIELDS)
    _one_symbol(table)
    prices = positive(table, "price", decimals=market.price_decimals)
    price, off_price = to_units(prices, market.price_decimals)
    sizes = positive(table, "amount", decimals=market.size_decimals)
    size, off_size = to_units(sizes, market.size_decimals)
    side = one_of(table, "side", ("buy", "sell", "unknown"))
    aggressor = np.select(
        [side.eq("buy").to_numpy(), side.eq("sell").to_numpy()], [1, -1], 0
    ).astype(np.int8)
    trade_id, notes = _trade_ids(table)
    notes += off_grid_note(off_price, "prices", market.price_decimals)
    notes += off_grid_note(off_size, "sizes", market.size_decimals)
    unknown = int(np.count_nonzero(aggressor == 0))
    if unknown:
        notes.append(f"{unknown} trades with unknown taker side (aggressor 0)")
    receive, exchange = _checked_clocks(table)
    return Loaded(
        path=path,
        format=TARDIS_TRADES,
        sha256=sha256,
        rows=table.rows,
        columns={
            "trade_price": price,
            "trade_size": size,
            "aggressor": aggressor,
            "trade_id": trade_id,
        },
        receive_ns=receive,
        exchange_ns=exchange,
        notes=notes + order_note(receive),
    )


def _checked_clocks(table: Table) -> tuple[Ints, Ints]:
    """Receive and exchange clocks in ns, refused when they lie (see `checks`)."""
    receive = table.ints("local_timestamp") * US_NS
    check_receive_clock(table, "local_timestamp", receive)
    exchange = table.ints("timestamp") * US_NS
    check_clock_gaps(table, "timestamp", receive, exchange, np.ones(len(receive), dtype=bool))
    return receive, exchange


def _one_symbol(table: Table) -> None:
    """One file, one instrument: a second symbol would interleave two books into one."""
    symbols = table.texts("symbol")
    if table.rows == 0:
        return
    other = (symbols != symbols[0]).to_numpy()
    table.check(other, "symbol", f"expected every row to be {symbols[0]!r}")


def _trade_ids(table: Table) -> tuple[np.ndarray, list[str]]:
    """Numeric venue ids when every id is an integer, else a per-file sequence 1, 2, ..."""
    ids = table.texts("id").str.strip_chars().cast(pl.Int64, strict=False)
    if ids.null_count() == 0:
        return ids.to_numpy().astype(np.int64), []
    sequence = np.arange(1, table.rows + 1, dtype=np.int64)
    return sequence, ["trade ids are not all integers; using the row sequence 1..n instead"]

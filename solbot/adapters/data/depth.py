"""Binance depth snapshot + diff updates rebuilt into L1 (best bid/ask) events."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from solbot.adapters.data.checks import check_receive_clock
from solbot.adapters.data.events import EventChunk, book_events
from solbot.adapters.data.formats import BINANCE_DEPTH_SNAPSHOT, BINANCE_DEPTH_UPDATES
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
from solbot.errors import DataError, Problem

MS_NS = 1_000_000
BID = 1
ASK = -1

SNAPSHOT_FIELDS = (
    Field("local_ts_ns", INT),
    Field("last_update_id", INT),
    Field("event_time_ms", INT, required=False, nullable=True),
    Field("side", TEXT),
    Field("price", FLOAT),
    Field("qty", FLOAT),
)
UPDATE_FIELDS = (
    Field("local_ts_ns", INT),
    Field("event_time_ms", INT, required=False, nullable=True),
    Field("first_update_id", INT),
    Field("final_update_id", INT),
    Field("prev_final_update_id", INT),
    Field("side", TEXT),
    Field("price", FLOAT),
    Field("qty", FLOAT),
)


def load_snapshot(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse a REST depth snapshot (every level of both sides, one last_update_id)."""
    table = read_table(path, header, SNAPSHOT_FIELDS)
    if table.rows == 0:
        raise DataError(Problem(str(path), 2, 1, "", "empty snapshot: no levels"))
    ids = table.ints("last_update_id")
    table.check(ids != ids[0], "last_update_id", f"expected one snapshot id {ids[0]}")
    loaded = _levels(table, path, BINANCE_DEPTH_SNAPSHOT, sha256, market)
    loaded.metadata["last_update_id"] = int(ids[0])
    return loaded


def load_updates(path: Path, header: tuple[str, ...], sha256: str, market: MarketSpec) -> Loaded:
    """Parse diff-depth updates: one row per changed level, rows of a message share ids."""
    table = read_table(path, header, UPDATE_FIELDS)
    loaded = _levels(table, path, BINANCE_DEPTH_UPDATES, sha256, market)
    for name in ("first_update_id", "final_update_id", "prev_final_update_id"):
        loaded.columns[name] = table.ints(name)
    _check_messages(table, loaded)
    return loaded


def l1_events(snapshot: Loaded, updates: Loaded, shift_ns: int) -> EventChunk:
    """Top of book after the snapshot and each applied update message, when it changed."""
    builder = _Book(snapshot, shift_ns)
    builder.replay(updates)
    return builder.events()


def snapshot_events(snapshot: Loaded, shift_ns: int) -> EventChunk:
    """The one top of book a snapshot without updates gives."""
    return _Book(snapshot, shift_ns).events()


def _levels(table: Table, path: Path, fmt: str, sha256: str, market: MarketSpec) -> Loaded:
    side = one_of(table, "side", ("bid", "ask"))
    prices = positive(table, "price", decimals=market.price_decimals)
    price, off_price = to_units(prices, market.price_decimals)
    sizes = positive(table, "qty", allow_zero=True, decimals=market.size_decimals)
    size, off_size = to_units(sizes, market.size_decimals)
    receive = table.ints("local_ts_ns")
    check_receive_clock(table, "local_ts_ns", receive)
    exchange_ms = table.ints("event_time_ms", UNKNOWN_NS) if table.has("event_time_ms") else None
    notes = off_grid_note(off_price, "prices", market.price_decimals)
    notes += off_grid_note(off_size, "sizes", market.size_decimals)
    return Loaded(
        path=path,
        format=fmt,
        sha256=sha256,
        rows=table.rows,
        columns={
            "side": np.where(side.eq("bid").to_numpy(), BID, ASK).astype(np.int8),
            "price": price,
            "size": size,
        },
        receive_ns=receive,
        exchange_ns=exchange_or_unknown(exchange_ms, MS_NS, table.rows),
        notes=notes + order_note(receive),
        metadata={"header": table.header},
    )


def _check_messages(table: Table, loaded: Loaded) -> None:
    """Rows sharing a final_update_id are one message: they must share its other ids."""
    c = loaded.columns
    same = c["final_update_id"][1:] == c["final_update_id"][:-1]
    for name in ("first_update_id", "prev_final_update_id"):
        differs = np.concatenate([[False], same & (c[name][1:] != c[name][:-1])])
        table.check(differs, name, "expected the same value on every row of one message")


def _problem(updates: Loaded, row: int, name: str, message: str) -> DataError:
    header: tuple[str, ...] = updates.metadata["header"]
    column = header.index(name) + 1 if name in header else 1
    return DataError(Problem(str(updates.path), row + 2, column, name, message))


class _Book:
    """Price levels of both sides, replayed message by message; records every new top."""

    def __init__(self, snapshot: Loaded, shift_ns: int) -> None:
        assert snapshot.receive_ns is not None and snapshot.exchange_ns is not None
        self.shift_ns = shift_ns
        self.last_update_id: int = snapshot.metadata["last_update_id"]
        self.ready_ns = int(snapshot.receive_ns.max())  # the bot has the snapshot from here on
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        c = snapshot.columns
        for side, price, size in zip(
            c["side"].tolist(), c["price"].tolist(), c["size"].tolist(), strict=True
        ):
            if size > 0:
                (self.bids if side == BID else self.asks)[price] = size
        self.best_bid = max(self.bids, default=0)
        self.best_ask = min(self.asks, default=0)
        self.rows: list[tuple[int, int, int, int, int, int]] = []
        self.top: tuple[int, int, int, int] = (0, 0, 0, 0)
        self._record(self.ready_ns, int(snapshot.exchange_ns.max()))

    def replay(self, updates: Loaded) -> None:
        """Apply the update messages that follow the snapshot, checking continuity."""
        assert updates.receive_ns is not None and updates.exchange_ns is not None
        c = updates.columns
        finals = c["final_update_id"]
        if len(finals) == 0:
            return
        starts = np.flatnonzero(np.concatenate([[True], finals[1:] != finals[:-1]])).tolist()
        firsts, prevs = c["first_update_id"].tolist(), c["prev_final_update_id"].tolist()
        final_ids, receive = finals.tolist(), updates.receive_ns.tolist()
        exchange = updates.exchange_ns.tolist()
        sides, prices, sizes = c["side"].tolist(), c["price"].tolist(), c["size"].tolist()
        previous: int | None = None
        for index, start in enumerate(starts):
            stop = starts[index + 1] if index + 1 < len(starts) else len(final_ids)
            if previous is None:
                if final_ids[start] < self.last_update_id:
                    continue  # already inside the snapshot
                self._check_first(updates, start, firsts[start])
            elif prevs[start] != previous:
                message = (
                    f"expected {previous} (the previous message's final_update_id), found "
                    f"{prevs[start]}: depth updates are missing"
                )
                raise _problem(updates, start, "prev_final_update_id", message)
            previous = final_ids[start]
            self._apply(sides[start:stop], prices[start:stop], sizes[start:stop])
            self._record(max(receive[start], self.ready_ns), exchange[start])

    def events(self) -> EventChunk:
        rows = np.array(self.rows, dtype=np.int64).reshape(-1, 6)
        ts_ns = rows[:, 0] + self.shift_ns
        exchange_ns = np.where(rows[:, 1] == UNKNOWN_NS, ts_ns, rows[:, 1])
        return book_events(ts_ns, exchange_ns, rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5])

    def _check_first(self, updates: Loaded, row: int, first_id: int) -> None:
        if first_id > self.last_update_id:
            message = (
                f"first update after the snapshot starts at {first_id}, after the snapshot's "
                f"last_update_id {self.last_update_id}: depth updates are missing"
            )
            raise _problem(updates, row, "first_update_id", message)

    def _apply(self, sides: list[int], prices: list[int], sizes: list[int]) -> None:
        bids, asks = self.bids, self.asks
        rescan_bid = rescan_ask = False
        for side, price, size in zip(sides, prices, sizes, strict=True):
            book = bids if side == BID else asks
            if size == 0:
                book.pop(price, None)
                if side == BID:
                    rescan_bid |= price == self.best_bid
                else:
                    rescan_ask |= price == self.best_ask
                continue
            book[price] = size
            if side == BID and (price > self.best_bid or not self.best_bid):
                self.best_bid, rescan_bid = price, False
            elif side == ASK and (price < self.best_ask or not self.best_ask):
                self.best_ask, rescan_ask = price, False
        if rescan_bid:
            self.best_bid = max(bids, default=0)
        if rescan_ask:
            self.best_ask = min(asks, default=0)

    def _record(self, seen_ns: int, exchange_ns: int) -> None:
        """Keep the top if it changed; times are raw (the shift is added in events())."""
        top = (
            self.best_bid,
            self.bids.get(self.best_bid, 0),
            self.best_ask,
            self.asks.get(self.best_ask, 0),
        )
        if top != self.top or not self.rows:
            self.top = top
            self.rows.append((seen_ns, exchange_ns, *top))

"""FIFO running totals of every fill stream, kept at insert time so a PnL window is a few lookups.

A *stream* is the fills one `metrics window` scope replays through a `FifoBook`, in ledger order
(ts_ns, rowid): the fills of one market and one run (`all_runs = 0`, `run_id`), or of one market
and every run (`all_runs = 1`, `run_id = ''`). Every fill belongs to exactly two streams.

Tables (migration `m004_fill_totals`):
- `fill_checkpoints`: the full FIFO state (running totals and open lots) after a stream's n-th
  fill, written every `CHECKPOINT_FILLS` fills, or later when more lots are open than that, so
  the lots stored stay proportional to the fills (a one-sided book does not store n² lots).
- `fill_streams`: per stream its fill count, first and last time, last rowid, and whether every
  fill of it could be booked (`valid`; a fill a `FifoBook` refuses makes readers fall back to
  replaying every fill, which reports the error as before). While all fills of a market belong
  to one run, its all-runs stream is not booked twice: its row names that run (`same_as`) and
  readers use the run's checkpoints.
- `fill_sync`: the highest fill rowid booked into the streams; a reader that finds newer fills
  (written by something other than `Ledger`) falls back to the full replay.

The state after any fill is then one checkpoint plus at most a checkpoint interval of fills,
replayed with the very `FifoBook` the full replay uses: the floats are bit-for-bit the same.

Writers (`FillTotals.book`) get the fills they just inserted with their rowids. Fills newer than
a stream's last fill (or at the same time: a later rowid sorts after) extend it from the state
kept in memory; an older fill (an import of past trades) drops the stream's checkpoints after it
and re-books the stream from the checkpoint before it.
"""

from __future__ import annotations

import math
import sqlite3
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from solbot.core.pnl import SIZE_EPSILON, BookTotals, FifoBook, Lot

CHECKPOINT_FILLS = 1000
StreamKey = tuple[str, int, str]  # (market, all_runs, run_id)
# What booking a fill needs: rowid, market, run_id, ts_ns, side, price, size, role, fee, mid.
BookRow = tuple[int, str, str | None, int, str, float, float, str, float | None, float | None]

_STATE_COLUMNS = (
    "fills, ts_ns, fill_rowid, position, realized_usd, fees_usd, cash_flow_usd, volume_usd, "
    "maker_volume_usd, taker_volume_usd, maker_fills, taker_fills, mid_fills, lots"
)
_INSERT_CHECKPOINT = (
    f"INSERT OR REPLACE INTO fill_checkpoints (market, all_runs, run_id, {_STATE_COLUMNS}) "
    f"VALUES ({', '.join('?' * 17)})"
)
_UPSERT_STREAM = (
    "INSERT OR REPLACE INTO fill_streams "
    "(market, all_runs, run_id, fills, first_ns, last_ns, last_rowid, valid) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
BOOK_COLUMNS = "rowid, market, run_id, ts_ns, side, price, size, role, fee_usd, mid"


class InvalidFill(ValueError):
    """A stored fill a FifoBook would refuse (the stream is then left to the full replay)."""


def stream_key(market: str, run_id: str | None) -> StreamKey:
    """The stream a report of one market reads: one run, or every run (None)."""
    return (market, 1, "") if run_id is None else (market, 0, run_id)


def stream_where(key: StreamKey) -> tuple[str, list[Any]]:
    """SQL condition (and parameters) selecting a stream's fills."""
    market, all_runs, run_id = key
    if all_runs:
        return "market = ?", [market]
    return "market = ? AND run_id = ?", [market, run_id]


@dataclass(slots=True)
class StreamState:
    """A stream's FIFO state after its last booked fill; lots are mutable [size, price, ts_ns]."""

    fills: int = 0
    ts_ns: int = 0
    fill_rowid: int = 0
    position: float = 0.0
    realized_usd: float = 0.0
    fees_usd: float = 0.0
    cash_flow_usd: float = 0.0
    volume_usd: float = 0.0
    maker_volume_usd: float = 0.0
    taker_volume_usd: float = 0.0
    maker_fills: int = 0
    taker_fills: int = 0
    mid_fills: int = 0
    lots: deque[list[Any]] = field(default_factory=deque)
    first_ns: int | None = None
    checkpointed: int = 0  # fill count of the newest checkpoint
    valid: bool = True

    def row(self) -> tuple[Any, ...]:
        """The checkpoint columns (_STATE_COLUMNS) of this state."""
        return (
            self.fills, self.ts_ns, self.fill_rowid, self.position, self.realized_usd,
            self.fees_usd, self.cash_flow_usd, self.volume_usd, self.maker_volume_usd,
            self.taker_volume_usd, self.maker_fills, self.taker_fills, self.mid_fills,
            pack_lots(self.lots),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> StreamState:
        """A state from checkpoint columns (_STATE_COLUMNS)."""
        state = cls(*row[:13])
        state.lots = deque(unpack_lots(row[13]))
        state.checkpointed = state.fills
        return state

    def book(self, market: str) -> FifoBook:
        """A FifoBook holding exactly this state (funding is not part of a fill stream)."""
        totals = BookTotals(
            position=self.position,
            realized_usd=self.realized_usd,
            fees_usd=self.fees_usd,
            funding_usd=0.0,
            cash_flow_usd=self.cash_flow_usd,
            volume_usd=self.volume_usd,
            maker_volume_usd=self.maker_volume_usd,
            taker_volume_usd=self.taker_volume_usd,
            fills=self.fills,
            maker_fills=self.maker_fills,
            taker_fills=self.taker_fills,
        )
        lots = tuple(Lot(size, price, ts) for size, price, ts in self.lots)
        return FifoBook.restore(market, totals, lots)


def pack_lots(lots: Iterable[Sequence[Any]]) -> bytes:
    """Open lots as bytes: sizes and prices (doubles, exact), then entry times (int64)."""
    items = list(lots)
    numbers = array("d", [x for lot in items for x in (lot[0], lot[1])])
    times = array("q", [lot[2] for lot in items])
    return numbers.tobytes() + times.tobytes()


def unpack_lots(blob: bytes) -> list[list[Any]]:
    """The inverse of pack_lots."""
    count = len(blob) // 24
    numbers, times = array("d"), array("q")
    numbers.frombytes(blob[: 16 * count])
    times.frombytes(blob[16 * count :])
    return [[numbers[2 * i], numbers[2 * i + 1], times[i]] for i in range(count)]


def advance(state: StreamState, rows: Iterable[BookRow]) -> list[tuple[Any, ...]]:
    """Book rows (in stream order) into `state` exactly as FifoBook.apply would; checkpoints due.

    The arithmetic is FifoBook's, operation for operation, so the floats are identical (the
    property tests hold it to that). Raises InvalidFill where FifoBook raises ValueError.
    """
    due: list[tuple[Any, ...]] = []
    lots = state.lots
    position, realized = state.position, state.realized_usd
    fees, cash, volume = state.fees_usd, state.cash_flow_usd, state.volume_usd
    maker_volume, taker_volume = state.maker_volume_usd, state.taker_volume_usd
    fills, maker_fills, taker_fills, mid_fills = (
        state.fills, state.maker_fills, state.taker_fills, state.mid_fills,
    )  # fmt: skip
    copysign, epsilon, infinity = math.copysign, SIZE_EPSILON, math.inf
    every, first_ns = CHECKPOINT_FILLS, state.first_ns
    ts = rowid = 0
    for rowid, _, _, ts, side, price, size, role, fee_value, mid in rows:
        fee = float(fee_value or 0.0)
        if side == "bid":
            sign = 1
        elif side == "ask":
            sign = -1
        else:
            raise InvalidFill(f"fill rowid {rowid}: bad side {side!r}")
        if role != "maker" and role != "taker":
            raise InvalidFill(f"fill rowid {rowid}: bad role {role!r}")
        # What FifoBook refuses: sizes and prices not positive and finite, fees not finite.
        if not (0 < size < infinity and 0 < price < infinity and -infinity < fee < infinity):
            raise InvalidFill(f"fill rowid {rowid}: size, price or fee out of range")
        remaining = size
        gross = 0.0
        while remaining > epsilon and lots and lots[0][0] * sign < 0:
            lot = lots[0]
            lot_size = lot[0]
            lot_abs = abs(lot_size)
            matched = lot_abs if lot_abs < remaining else remaining  # min(), without the call
            gross += matched * (price - lot[1]) * -sign
            remaining -= matched
            left = lot_abs - matched
            if left > epsilon:
                lot[0] = copysign(left, lot_size)
            else:
                lots.popleft()
        if remaining > epsilon:
            lots.append([remaining * sign, price, ts])
        position = position + size * sign if lots else 0.0
        notional = price * size
        realized += gross
        fees += fee
        cash += -(size * sign) * price - fee
        volume += notional
        fills += 1
        if role == "maker":
            maker_volume += notional
            maker_fills += 1
        else:
            taker_volume += notional
            taker_fills += 1
        if mid is not None and mid > 0:
            mid_fills += 1
        if first_ns is None or ts < first_ns:
            first_ns = ts
        if fills - state.checkpointed >= every and fills - state.checkpointed >= len(lots):
            state.position, state.realized_usd, state.fees_usd = position, realized, fees
            state.cash_flow_usd, state.volume_usd = cash, volume
            state.maker_volume_usd, state.taker_volume_usd = maker_volume, taker_volume
            state.fills, state.maker_fills, state.taker_fills = fills, maker_fills, taker_fills
            state.mid_fills, state.ts_ns, state.fill_rowid = mid_fills, ts, rowid
            state.checkpointed = fills
            due.append(state.row())
    state.position, state.realized_usd, state.fees_usd = position, realized, fees
    state.cash_flow_usd, state.volume_usd = cash, volume
    state.maker_volume_usd, state.taker_volume_usd = maker_volume, taker_volume
    if fills != state.fills:
        state.ts_ns, state.fill_rowid = ts, rowid
    state.fills, state.maker_fills, state.taker_fills = fills, maker_fills, taker_fills
    state.mid_fills, state.first_ns = mid_fills, first_ns
    return due


def _sort_key(row: BookRow) -> tuple[int, int]:
    return row[3], row[0]


class FillTotals:
    """Keeps the streams of one ledger connection up to date (the writer's side)."""

    def __init__(self) -> None:
        self._states: dict[StreamKey, StreamState] = {}

    def forget(self) -> None:
        """Drop the states kept in memory (after a rollback, or another writer's changes)."""
        self._states.clear()

    def book(self, conn: sqlite3.Connection, rows: Sequence[BookRow]) -> None:
        """Book freshly inserted fills (any order) into their streams, inside the caller's
        transaction; first any older fill nobody booked (inserted by another program, or by an
        import that stopped before booking), which `fill_sync` would otherwise hide."""
        (synced,) = conn.execute("SELECT fills_rowid FROM fill_sync").fetchone()
        first_new = min((row[0] for row in rows), default=None)
        behind_sql = f"SELECT {BOOK_COLUMNS} FROM fills WHERE rowid > ?"
        if first_new is None:
            missed = conn.execute(behind_sql, (synced,)).fetchall()
        elif synced < first_new - 1:
            missed = conn.execute(behind_sql + " AND rowid < ?", (synced, first_new)).fetchall()
        else:
            missed = []
        if missed:
            rows = [*missed, *rows]
        if not rows:
            return
        by_run: dict[tuple[str, str | None], list[BookRow]] = {}
        for row in rows:
            pair = (row[1], row[2])
            found = by_run.get(pair)
            if found is None:
                by_run[pair] = found = []
            found.append(row)
        by_market: dict[str, list[BookRow]] = {}
        without_run: set[str] = set()
        for (market, run_id), new in by_run.items():
            if run_id is None:  # written by another program: no run scope reads it
                without_run.add(market)
            else:
                self._book_stream(conn, (market, 0, run_id), new)
            by_market[market] = by_market.get(market, []) + new
        for market, new in by_market.items():
            if market in without_run:
                self._invalidate(conn, (market, 1, ""))  # the all-runs window replays
            else:
                self._book_all_runs(conn, market, new)
        newest = max(row[0] for row in rows)
        conn.execute("UPDATE fill_sync SET fills_rowid = MAX(fills_rowid, ?)", (newest,))

    def rebuild_all(self, conn: sqlite3.Connection) -> None:
        """Book every fill of the ledger from scratch (the migration's backfill)."""
        conn.execute("DELETE FROM fill_checkpoints")
        conn.execute("DELETE FROM fill_streams")
        self.forget()
        pairs = conn.execute("SELECT DISTINCT market, run_id FROM fills").fetchall()
        for market, run in sorted((m, r) for m, r in pairs if r is not None):
            self._rebook(conn, (market, 0, run), None)
        without_run = {market for market, run in pairs if run is None}
        for market in sorted({market for market, _ in pairs}):
            if market in without_run:
                self._invalidate(conn, (market, 1, ""))
            else:
                self._book_all_runs(conn, market, None)
        newest = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM fills").fetchone()[0]
        conn.execute("UPDATE fill_sync SET fills_rowid = ?", (newest,))

    def _book_all_runs(
        self, conn: sqlite3.Connection, market: str, new: list[BookRow] | None
    ) -> None:
        """Book the market's all-runs stream, after its run streams are booked.

        While every fill of the market belongs to one run, the all-runs stream is that run's
        stream (`same_as`): same fills, same order, so nothing is booked twice. The first fill
        of a second run books it in full, once."""
        key = (market, 1, "")
        meta = conn.execute(
            "SELECT valid, same_as FROM fill_streams WHERE market = ? AND all_runs = 1", (market,)
        ).fetchone()
        if meta is not None and not meta[0]:
            return  # a fill it cannot book (or one without a run): readers replay
        runs = conn.execute(
            "SELECT run_id FROM fill_streams WHERE market = ? AND all_runs = 0", (market,)
        ).fetchall()
        if len(runs) == 1:
            self._states.pop(key, None)
            conn.execute(
                "INSERT OR REPLACE INTO fill_streams (market, all_runs, run_id, fills, first_ns, "
                "last_ns, last_rowid, valid, same_as) SELECT market, 1, '', fills, first_ns, "
                "last_ns, last_rowid, valid, run_id FROM fill_streams "
                "WHERE market = ? AND all_runs = 0",
                (market,),
            )
            conn.execute(
                "DELETE FROM fill_checkpoints WHERE market = ? AND all_runs = 1", (market,)
            )
            return
        if new is None or meta is None or meta[1] is not None:
            self._rebook(conn, key, None)
        else:
            self._book_stream(conn, key, new)

    def _book_stream(self, conn: sqlite3.Connection, key: StreamKey, new: list[BookRow]) -> None:
        state = self._state(conn, key)
        if state is None:
            return  # an invalid stream stays with the full replay
        new.sort(key=_sort_key)
        if state.fills and new[0][3] < state.ts_ns:
            self._rebook(conn, key, new[0][3])
            return
        try:
            conn.executemany(_INSERT_CHECKPOINT, [(*key, *row) for row in advance(state, new)])
        except InvalidFill:
            self._invalidate(conn, key)
            return
        self._save(conn, key, state)

    def _state(self, conn: sqlite3.Connection, key: StreamKey) -> StreamState | None:
        """The stream's state after its last fill: from memory when no one else wrote since."""
        meta = conn.execute(
            "SELECT fills, last_rowid, valid, first_ns FROM fill_streams "
            "WHERE market = ? AND all_runs = ? AND run_id = ?",
            key,
        ).fetchone()
        if meta is not None and not meta[2]:
            return None
        cached = self._states.get(key)
        if meta is None:
            cached = self._states[key] = StreamState()
            return cached
        if cached is not None and (cached.fills, cached.fill_rowid) == (meta[0], meta[1]):
            return cached
        state = load_state(conn, key, None, inclusive=True, through_rowid=meta[1])
        if state is None:
            return None
        state.first_ns = meta[3]
        self._states[key] = state
        return state

    def _rebook(self, conn: sqlite3.Connection, key: StreamKey, from_ns: int | None) -> None:
        """Re-book a stream from the checkpoint before `from_ns` (None: from its first fill)."""
        ident = "market = ? AND all_runs = ? AND run_id = ?"
        if from_ns is None:
            conn.execute(f"DELETE FROM fill_checkpoints WHERE {ident}", key)
        else:
            conn.execute(
                f"DELETE FROM fill_checkpoints WHERE {ident} AND ts_ns > ?", (*key, from_ns)
            )
        start = conn.execute(
            f"SELECT {_STATE_COLUMNS} FROM fill_checkpoints WHERE {ident} "
            "ORDER BY fills DESC LIMIT 1",
            key,
        ).fetchone()
        state = StreamState() if start is None else StreamState.from_row(start)
        first = conn.execute(
            f"SELECT MIN(ts_ns) FROM fills WHERE {stream_where(key)[0]}", stream_where(key)[1]
        ).fetchone()[0]
        rows = stream_rows(conn, key, state, None, inclusive=True)
        try:
            conn.executemany(_INSERT_CHECKPOINT, [(*key, *row) for row in advance(state, rows)])
        except InvalidFill:
            self._invalidate(conn, key)
            return
        state.first_ns = first
        self._states[key] = state
        self._save(conn, key, state)

    def _save(self, conn: sqlite3.Connection, key: StreamKey, state: StreamState) -> None:
        conn.execute(
            _UPSERT_STREAM,
            (*key, state.fills, state.first_ns, state.ts_ns, state.fill_rowid, 1),
        )

    def _invalidate(self, conn: sqlite3.Connection, key: StreamKey) -> None:
        self._states.pop(key, None)
        ident = "market = ? AND all_runs = ? AND run_id = ?"
        conn.execute(f"DELETE FROM fill_checkpoints WHERE {ident}", key)
        conn.execute(_UPSERT_STREAM, (*key, 0, None, 0, 0, 0))


def stream_rows(
    conn: sqlite3.Connection,
    key: StreamKey,
    after: StreamState,
    bound_ns: int | None,
    *,
    inclusive: bool,
    through_rowid: int | None = None,
) -> list[BookRow]:
    """A stream's fills after the state's last fill, up to bound_ns (< or <=), in stream order.

    With `through_rowid` (and an inclusive bound_ns: the time of that fill) the fills stop at
    that one: fills inserted since at the same time sort after it."""
    where, params = stream_where(key)
    sql = f"SELECT {BOOK_COLUMNS} FROM fills WHERE {where}"
    if after.fills:
        sql += " AND ts_ns >= ? AND NOT (ts_ns = ? AND rowid <= ?)"
        params += [after.ts_ns, after.ts_ns, after.fill_rowid]
    if bound_ns is not None:
        sql += f" AND ts_ns {'<=' if inclusive else '<'} ?"
        params.append(bound_ns)
        if through_rowid is not None:
            sql += " AND NOT (ts_ns = ? AND rowid > ?)"
            params += [bound_ns, through_rowid]
    return conn.execute(sql + " ORDER BY ts_ns, rowid", params).fetchall()


def load_state(
    conn: sqlite3.Connection,
    key: StreamKey,
    bound_ns: int | None,
    *,
    inclusive: bool,
    through_rowid: int | None = None,
) -> StreamState | None:
    """The stream's state after its last fill at (or before, `inclusive=False`) bound_ns.

    `through_rowid`: the state after that fill (the writer's; bound_ns is then ignored).
    None when the stream holds a fill a FifoBook refuses."""
    if through_rowid is not None:
        row = conn.execute("SELECT ts_ns FROM fills WHERE rowid = ?", (through_rowid,)).fetchone()
        bound_ns, inclusive = (None if row is None else int(row[0])), True
    ident = "market = ? AND all_runs = ? AND run_id = ?"
    sql = f"SELECT {_STATE_COLUMNS} FROM fill_checkpoints WHERE {ident}"
    params: list[Any] = list(key)
    if bound_ns is not None:
        sql += f" AND ts_ns {'<=' if inclusive else '<'} ?"
        params.append(bound_ns)
    start = conn.execute(sql + " ORDER BY ts_ns DESC, fills DESC LIMIT 1", params).fetchone()
    state = StreamState() if start is None else StreamState.from_row(start)
    try:
        rows = stream_rows(
            conn, key, state, bound_ns, inclusive=inclusive, through_rowid=through_rowid
        )
        advance(state, rows)
    except InvalidFill:
        return None
    return state

"""The unified event stream: columnar chunks of book (L1) and trade events, and file facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

KIND_BOOK = 0
KIND_TRADE = 1

COLUMN_DTYPES: dict[str, type[np.generic]] = {
    "ts_ns": np.int64,
    "exchange_ts_ns": np.int64,
    "kind": np.int8,
    "bid_price": np.int64,
    "bid_size": np.int64,
    "ask_price": np.int64,
    "ask_size": np.int64,
    "trade_price": np.int64,
    "trade_size": np.int64,
    "aggressor": np.int8,
    "trade_id": np.int64,
}
COLUMNS = tuple(COLUMN_DTYPES)


@dataclass
class EventChunk:
    """Equal-length numpy columns in replay order: by `ts_ns` (stable; book before trade on
    equal time), or by exchange time when every input carries one (`exchange_ordered`).

    `ts_ns` is when the bot would have seen the event (receive time after the clock fix), prices
    are ticks and sizes lots of the source's market. Book rows carry bid/ask, trade rows carry
    trade_price/trade_size/aggressor (+1 buyer lifted the ask, -1 seller hit the bid)/trade_id.
    """

    ts_ns: np.ndarray
    exchange_ts_ns: np.ndarray
    kind: np.ndarray
    bid_price: np.ndarray
    bid_size: np.ndarray
    ask_price: np.ndarray
    ask_size: np.ndarray
    trade_price: np.ndarray
    trade_size: np.ndarray
    aggressor: np.ndarray
    trade_id: np.ndarray

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    def columns(self) -> dict[str, np.ndarray]:
        """The columns by name, in COLUMNS order."""
        return {name: getattr(self, name) for name in COLUMNS}

    def slice(self, start: int, stop: int) -> EventChunk:
        """Rows start..stop as views (no copy)."""
        return EventChunk(**{name: column[start:stop] for name, column in self.columns().items()})

    def take(self, index: np.ndarray) -> EventChunk:
        """Rows at `index` (a permutation or a boolean mask), copied."""
        return EventChunk(**{name: column[index] for name, column in self.columns().items()})

    @staticmethod
    def empty() -> EventChunk:
        return EventChunk(**{name: np.empty(0, dtype) for name, dtype in COLUMN_DTYPES.items()})

    @staticmethod
    def concat(chunks: Sequence[EventChunk]) -> EventChunk:
        """All rows of `chunks` in order."""
        if not chunks:
            return EventChunk.empty()
        if len(chunks) == 1:
            return chunks[0]
        return EventChunk(
            **{name: np.concatenate([getattr(c, name) for c in chunks]) for name in COLUMNS}
        )

    @staticmethod
    def from_columns(columns: dict[str, np.ndarray]) -> EventChunk:
        """Build a chunk from named arrays, casting each to its declared dtype."""
        return EventChunk(
            **{
                name: np.ascontiguousarray(columns[name], dtype=dtype)
                for name, dtype in COLUMN_DTYPES.items()
            }
        )


def book_events(
    ts_ns: np.ndarray,
    exchange_ts_ns: np.ndarray,
    bid_price: np.ndarray,
    bid_size: np.ndarray,
    ask_price: np.ndarray,
    ask_size: np.ndarray,
) -> EventChunk:
    """Book (L1) rows; the trade columns are zero."""
    zeros = np.zeros(len(ts_ns), np.int64)
    return EventChunk.from_columns(
        {
            "ts_ns": ts_ns,
            "exchange_ts_ns": exchange_ts_ns,
            "kind": np.full(len(ts_ns), KIND_BOOK, np.int8),
            "bid_price": bid_price,
            "bid_size": bid_size,
            "ask_price": ask_price,
            "ask_size": ask_size,
            "trade_price": zeros,
            "trade_size": zeros,
            "aggressor": np.zeros(len(ts_ns), np.int8),
            "trade_id": zeros,
        }
    )


def trade_events(
    ts_ns: np.ndarray,
    exchange_ts_ns: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    aggressor: np.ndarray,
    trade_id: np.ndarray,
) -> EventChunk:
    """Trade rows; the book columns are zero."""
    zeros = np.zeros(len(ts_ns), np.int64)
    return EventChunk.from_columns(
        {
            "ts_ns": ts_ns,
            "exchange_ts_ns": exchange_ts_ns,
            "kind": np.full(len(ts_ns), KIND_TRADE, np.int8),
            "bid_price": zeros,
            "bid_size": zeros,
            "ask_price": zeros,
            "ask_size": zeros,
            "trade_price": price,
            "trade_size": size,
            "aggressor": aggressor,
            "trade_id": trade_id,
        }
    )


def sort_events(chunk: EventChunk) -> EventChunk:
    """Stable order by time, book before trade at equal time, else input order."""
    if len(chunk) < 2:
        return chunk
    order = np.lexsort((chunk.kind, chunk.ts_ns))
    if np.all(order[1:] > order[:-1]):
        return chunk
    return chunk.take(order)


def merge_events(chunks: Sequence[EventChunk]) -> EventChunk:
    """One sorted stream from several (each file's rows keep their relative order at ties)."""
    return sort_events(EventChunk.concat(list(chunks)))


def carries_exchange_time(chunk: EventChunk) -> bool:
    """False for files without an exchange clock (their exchange time is the receive time)."""
    return len(chunk) == 0 or bool(np.any(chunk.exchange_ts_ns != chunk.ts_ns))


def exchange_ordered(chunk: EventChunk) -> EventChunk:
    """Events in exchange-time order, receive times made non-decreasing.

    Trades and book updates reach a recorder on different streams: about a fifth of recorded
    trades carry an exchange time earlier than the book update received just before them.
    Applied in receive order, such a trade would meet a book (and our quotes) that did not exist
    when it happened. In exchange order, the replay clock (receive time) may not go back: an
    event received earlier than one it now follows is replayed at that one's receive time.
    Events with equal exchange times keep receive order (then book before trade).
    """
    if len(chunk) < 2:
        return chunk
    order = np.lexsort((chunk.kind, chunk.ts_ns, chunk.exchange_ts_ns))
    ordered = chunk if np.all(order[1:] > order[:-1]) else chunk.take(order)
    columns = ordered.columns()
    columns["ts_ns"] = np.maximum.accumulate(ordered.ts_ns)
    return EventChunk.from_columns(columns)


def out_of_order(ts_ns: np.ndarray) -> int:
    """How many rows arrive earlier than the row before them."""
    return int(np.count_nonzero(np.diff(ts_ns) < 0)) if len(ts_ns) > 1 else 0


@dataclass(frozen=True)
class DataFileInfo:
    """Facts about one input file for trace headers and `solbot data info`."""

    path: str
    format: str
    sha256: str
    rows: int
    first_ts_ns: int
    last_ts_ns: int
    clock_shift_ns: int
    coarse: bool
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain data (JSON-ready)."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["notes"] = list(self.notes)
        return out

    @staticmethod
    def from_dict(data: dict[str, object]) -> DataFileInfo:
        """Inverse of to_dict."""
        notes = data.get("notes", ())
        return DataFileInfo(
            path=str(data["path"]),
            format=str(data["format"]),
            sha256=str(data["sha256"]),
            rows=_int(data["rows"]),
            first_ts_ns=_int(data["first_ts_ns"]),
            last_ts_ns=_int(data["last_ts_ns"]),
            clock_shift_ns=_int(data["clock_shift_ns"]),
            coarse=bool(data["coarse"]),
            notes=tuple(str(note) for note in notes) if isinstance(notes, list | tuple) else (),
        )


def _int(value: object) -> int:
    if isinstance(value, int | float | str):
        return int(value)
    raise ValueError(f"expected an integer, found {value!r}")

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
    return exchange_ordered_concat([chunk])


def exchange_ordered_concat(chunks: Sequence[EventChunk]) -> EventChunk:
    """`exchange_ordered(EventChunk.concat(chunks))`, built one column at a time.

    The same rows in the same order, without a concatenated copy of every column beside the
    ordered one: only the sort keys, the order and one column in flight are held besides the
    result (on a 1 M-event replay: 125 MB of fresh pages touched here instead of 166 MB).
    """
    if sum(len(chunk) for chunk in chunks) < 2:
        return EventChunk.concat(chunks)
    kind = _joined(chunks, "kind")
    ts_ns = _joined(chunks, "ts_ns")
    exchange_ts_ns = _joined(chunks, "exchange_ts_ns")
    order = np.lexsort((kind, ts_ns, exchange_ts_ns))
    in_order = bool(np.all(order[1:] > order[:-1]))
    keys = {"kind": kind, "ts_ns": ts_ns, "exchange_ts_ns": exchange_ts_ns}
    out: dict[str, np.ndarray] = {}
    for name in COLUMNS:
        column = keys.pop(name) if name in keys else _joined(chunks, name)
        out[name] = column if in_order else column[order]
        del column
    out["ts_ns"] = np.maximum.accumulate(out["ts_ns"])
    return EventChunk.from_columns(out)


def _joined(chunks: Sequence[EventChunk], name: str) -> np.ndarray:
    """One column of all chunks end to end (the chunk's own array when there is one)."""
    if len(chunks) == 1:
        return getattr(chunks[0], name)  # type: ignore[no-any-return]
    return np.concatenate([getattr(chunk, name) for chunk in chunks])


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

"""solbot's own event files: the EventChunk columns in Parquet, with provenance metadata."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solbot import __version__
from solbot.adapters.data.events import COLUMN_DTYPES, DataFileInfo, EventChunk
from solbot.adapters.data.formats import SOLBOT_PARQUET, sha256_file
from solbot.adapters.data.loaded import Loaded
from solbot.core.model import MarketSpec
from solbot.errors import DataError, Problem, RuntimeFailure

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported when a Parquet file is read or written, not with this module: a replay
# of CSV captures never needs it and its import costs ~0.1-0.2 s of every `simulate`.

METADATA_KEY = b"solbot"
FILE_KIND = "solbot-events"
FILE_VERSION = 1


@cache
def schema() -> pa.Schema:
    """The Arrow schema of the event columns."""
    import pyarrow as pa

    return pa.schema([(name, pa.from_numpy_dtype(dtype)) for name, dtype in COLUMN_DTYPES.items()])


def __getattr__(name: str) -> Any:
    if name == "SCHEMA":  # `from parquet_io import SCHEMA` keeps working, built on first use
        return schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def market_key(market: MarketSpec) -> str:
    """The markets.yaml key of a spec (`venue:symbol`)."""
    return f"{market.venue}:{market.symbol}"


def write_events(
    chunks: Iterable[EventChunk],
    out: Path,
    market: MarketSpec,
    sources: Iterable[DataFileInfo],
    coarse: bool,
    feed_heartbeat_ns: int = 0,
) -> DataFileInfo:
    """Write events as Parquet (written to a temporary name, then renamed); facts of the result.

    `feed_heartbeat_ns` is how long one event vouches for the feed (a bar, in bar mode): it is
    stored so the file replays with the stale-feed guard seeing what the candles would give.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    sources = tuple(sources)
    metadata = {
        "kind": FILE_KIND,
        "version": FILE_VERSION,
        "solbot_version": __version__,
        "market": {
            "key": market_key(market),
            "price_decimals": market.price_decimals,
            "size_decimals": market.size_decimals,
        },
        "coarse": coarse,
        "feed_heartbeat_ns": feed_heartbeat_ns,
        "sources": [info.to_dict() for info in sources],
    }
    with_metadata = schema().with_metadata({METADATA_KEY: json.dumps(metadata).encode()})
    partial = out.with_name(out.name + ".partial")
    rows, first, last = 0, 0, 0
    try:
        with pq.ParquetWriter(partial, with_metadata, compression="zstd") as writer:
            for chunk in chunks:
                if not len(chunk):
                    continue
                first = int(chunk.ts_ns[0]) if rows == 0 else first
                last = int(chunk.ts_ns[-1])
                rows += len(chunk)
                writer.write_table(pa.Table.from_pydict(chunk.columns(), schema=with_metadata))
        os.replace(partial, out)
    except (OSError, pa.ArrowException) as error:
        raise RuntimeFailure(f"cannot write {out}: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return DataFileInfo(
        path=str(out),
        format=SOLBOT_PARQUET,
        sha256=sha256_file(out),
        rows=rows,
        first_ts_ns=first,
        last_ts_ns=last,
        clock_shift_ns=_applied_shift(sources),
        coarse=coarse,
        notes=_source_notes(sources),
    )


def read_metadata(path: Path) -> dict[str, Any]:
    """The solbot metadata of a Parquet event file (DataError if it is not one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        stored_schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise DataError(
            Problem(str(path), 1, 1, "", f"cannot read Parquet file: {error}")
        ) from None
    raw = (stored_schema.metadata or {}).get(METADATA_KEY)
    try:
        metadata = json.loads(raw) if raw else None
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict) or metadata.get("kind") != FILE_KIND:
        message = (
            "not a solbot event file (no solbot metadata); convert it with `solbot data convert`"
        )
        raise DataError(Problem(str(path), 1, 1, "", message))
    if int(metadata.get("version", 0)) > FILE_VERSION:
        message = f"written by a newer solbot (file version {metadata.get('version')})"
        raise DataError(Problem(str(path), 1, 1, "", message))
    return metadata


def load_parquet(path: Path, sha256: str, market: MarketSpec) -> Loaded:
    """Read an event file written for the same tick and lot sizes as `market`."""
    metadata = read_metadata(path)
    stored = metadata["market"]
    for what in ("price_decimals", "size_decimals"):
        if int(stored[what]) != getattr(market, what):
            message = (
                f"written for {stored['key']} with {what} {stored[what]}, but the market "
                f"{market_key(market)} has {getattr(market, what)}; convert again with --market"
            )
            raise DataError(Problem(str(path), 1, 1, what, message))
    coarse = bool(metadata.get("coarse", False))
    heartbeat = metadata.get("feed_heartbeat_ns")
    if coarse and (isinstance(heartbeat, bool) or not isinstance(heartbeat, int) or heartbeat <= 0):
        message = (
            "a bar-mode file without its bar length (written by an older solbot), so its "
            "synthetic ticks would replay as a stale feed; convert it again from the candles"
        )
        raise DataError(Problem(str(path), 1, 1, "feed_heartbeat_ns", message))
    table = _read_table(path)
    columns = {name: table.column(name).to_numpy() for name in COLUMN_DTYPES}
    sources = tuple(DataFileInfo.from_dict(item) for item in metadata.get("sources", []))
    ts_ns = columns["ts_ns"]
    return Loaded(
        path=path,
        format=SOLBOT_PARQUET,
        sha256=sha256,
        rows=table.num_rows,
        columns=columns,
        receive_ns=None,
        exchange_ns=None,
        notes=list(_source_notes(sources)),
        coarse=coarse,
        span_ns=(int(ts_ns.min()), int(ts_ns.max())) if len(ts_ns) else (0, 0),
        recorded_shift_ns=_applied_shift(sources),
        metadata=metadata,
    )


def parquet_events(loaded: Loaded) -> EventChunk:
    return EventChunk.from_columns(loaded.columns)


def _read_table(path: Path) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise DataError(
            Problem(str(path), 1, 1, "", f"cannot read Parquet file: {error}")
        ) from None
    for index, (name, dtype) in enumerate(COLUMN_DTYPES.items(), start=1):
        if name not in table.column_names:
            raise DataError(Problem(str(path), 1, index, name, "missing column"))
        found = table.schema.field(name).type
        if found != pa.from_numpy_dtype(dtype):
            message = f"expected {pa.from_numpy_dtype(dtype)}, found {found}"
            raise DataError(Problem(str(path), 1, index, name, message))
        if table.column(name).null_count:
            raise DataError(Problem(str(path), 1, index, name, "empty values"))
    return table.select(list(COLUMN_DTYPES))


def _applied_shift(sources: Iterable[DataFileInfo]) -> int:
    return max((info.clock_shift_ns for info in sources), default=0)


def _source_notes(sources: Iterable[DataFileInfo]) -> tuple[str, ...]:
    notes: list[str] = []
    for info in sources:
        name = Path(info.path).name
        notes.append(f"from {name} ({info.format}, sha256 {info.sha256[:12]}…)")
        notes.extend(f"{name}: {note}" for note in info.notes)
    return tuple(notes)

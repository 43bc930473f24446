"""Recognise a data file by its first bytes and header line; hash files for trace headers."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

from solbot.errors import DataError, Problem

BINANCE_BOOKTICKER = "binance_bookticker"
BINANCE_TRADES = "binance_trades"
BINANCE_DEPTH_SNAPSHOT = "binance_depth_snapshot"
BINANCE_DEPTH_UPDATES = "binance_depth_updates"
TARDIS_QUOTES = "tardis_quotes"
TARDIS_TRADES = "tardis_trades"
CANDLES = "candles"
SOLBOT_PARQUET = "solbot_parquet"

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"

# Checked in order: the first format whose columns are all in the header wins, so the more
# specific signatures come first.
SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(columns.split(" ")))
    for name, columns in (
        (
            BINANCE_DEPTH_UPDATES,
            "local_ts_ns first_update_id final_update_id prev_final_update_id side price qty",
        ),
        (BINANCE_DEPTH_SNAPSHOT, "local_ts_ns last_update_id side price qty"),
        (BINANCE_BOOKTICKER, "local_ts_ns bid_price bid_qty ask_price ask_qty"),
        (BINANCE_TRADES, "local_ts_ns trade_id price qty is_buyer_maker"),
        (
            TARDIS_QUOTES,
            "exchange symbol timestamp local_timestamp ask_amount ask_price bid_price bid_amount",
        ),
        (TARDIS_TRADES, "exchange symbol timestamp local_timestamp id side price amount"),
        (CANDLES, "open_time_ms open high low close volume"),
    )
)
_MAX_HEADER_BYTES = 4096


def missing_file(path: Path) -> DataError:
    return DataError(Problem(str(path), 1, 1, "", "file not found"))


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes (whatever its name)."""
    return _first_bytes(path, 2) == GZIP_MAGIC


def read_header(path: Path) -> tuple[str, ...]:
    """Column names on the first line of a CSV file (plain or gzip)."""
    raw = _head(path)
    first = raw.split(b"\n", 1)[0].rstrip(b"\r")
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    return tuple(name.strip() for name in text.split(","))


def detect_format(path: Path) -> str:
    """Name of the file's format, from its magic bytes and header line."""
    if _first_bytes(path, 4) == PARQUET_MAGIC:
        return SOLBOT_PARQUET
    header = read_header(path)
    columns = set(header)
    for name, required in SIGNATURES:
        if required <= columns:
            return name
    known = "; ".join(f"{name} ({','.join(sorted(cols))})" for name, cols in SIGNATURES)
    message = f"unrecognised header '{','.join(header)[:200]}'; expected columns of one of: {known}"
    raise DataError(Problem(str(path), 1, 1, "header", message))


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _first_bytes(path: Path, count: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(count)
    except FileNotFoundError:
        raise missing_file(path) from None
    except IsADirectoryError:
        raise DataError(Problem(str(path), 1, 1, "", "is a directory, expected a file")) from None
    except OSError as error:
        raise DataError(Problem(str(path), 1, 1, "", f"cannot read file: {error}")) from None


def _head(path: Path) -> bytes:
    if not is_gzip(path):
        with path.open("rb") as handle:
            return handle.read(_MAX_HEADER_BYTES)
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(_MAX_HEADER_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        message = f"cannot decompress gzip file: {error}"
        raise DataError(Problem(str(path), 1, 1, "", message)) from None

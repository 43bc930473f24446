"""Tick and bar data readers: every supported file format as one columnar event stream."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from solbot.adapters.data.convert import convert_files, format_time_ns, write_parquet
from solbot.adapters.data.events import KIND_BOOK, KIND_TRADE, DataFileInfo, EventChunk
from solbot.adapters.data.formats import detect_format
from solbot.adapters.data.parquet_io import read_metadata
from solbot.adapters.data.source import EventSource, describe_files, open_events

SAMPLE_L1_NAMES = (
    "binance_usdm_ETHUSDT_20240808T2354-20240808T2359_bookticker.csv.gz",
    "binance_usdm_ETHUSDT_20240808T2354-20240808T2359_trades.csv.gz",
)
SAMPLE_CANDLES_NAME = "binance_usdm_perp_SOLUSDT_1m_20250519.csv.gz"

__all__ = [
    "KIND_BOOK",
    "KIND_TRADE",
    "DataFileInfo",
    "EventChunk",
    "EventSource",
    "convert_files",
    "describe_files",
    "detect_format",
    "format_time_ns",
    "open_events",
    "parquet_market_key",
    "read_metadata",
    "sample_candles_path",
    "sample_paths",
    "write_parquet",
]


def sample_paths() -> list[Path]:
    """The bundled Binance USD-M ETHUSDT bookTicker + trades capture (L1 replay sample)."""
    return [_resource(name) for name in SAMPLE_L1_NAMES]


def sample_candles_path() -> Path:
    """The bundled one-day slice of 1m SOLUSDT perp candles (bar-mode sample)."""
    return _resource(SAMPLE_CANDLES_NAME)


def parquet_market_key(path: Path) -> str:
    """The market key a solbot Parquet file was written for."""
    return str(read_metadata(path)["market"]["key"])


def _resource(name: str) -> Path:
    # solbot is installed from a directory (never a zip), so resources are real files
    return Path(str(files("solbot").joinpath("resources", "sample", name)))

"""Whole-file operations behind `solbot data`: write Parquet, convert, parse time arguments."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from solbot.adapters.data.events import DataFileInfo
from solbot.adapters.data.parquet_io import write_events
from solbot.adapters.data.source import EventSource, open_events
from solbot.core.model import MarketSpec

_DIGITS = re.compile(r"^\d+$")
_UNIX_MS_DIGITS = 13  # 2001-09-09 .. 2286-11-20


def write_parquet(source: EventSource, out: Path) -> DataFileInfo:
    """Write every event of `source` to a solbot Parquet file; facts of the file written."""
    return write_events(source.chunks(), out, source.market, source.files, source.coarse)


def convert_files(
    paths: Sequence[Path],
    out: Path,
    market: MarketSpec,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    bar_spread_bps: float = 2.0,
    bar_ticks: int = 4,
) -> DataFileInfo:
    """Read `paths` as one event stream and write it to `out` as Parquet."""
    source = open_events(
        paths,
        market,
        start_ns=start_ns,
        end_ns=end_ns,
        bar_spread_bps=bar_spread_bps,
        bar_ticks=bar_ticks,
    )
    return write_parquet(source, out)


def format_time_ns(ts_ns: int) -> str:
    """ISO-8601 UTC with milliseconds, for display."""
    moment = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    millis = (ts_ns % 1_000_000_000) // 1_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"

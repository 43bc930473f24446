"""Whole-file operations behind `solbot data`: write Parquet, convert, parse time arguments."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from solbot.adapters.data.events import DataFileInfo, EventChunk
from solbot.adapters.data.parquet_io import write_events
from solbot.adapters.data.source import EventSource, open_events
from solbot.core.model import MarketSpec

Progress = Callable[[int, int | None], None]  # (events done, events in all or None if unknown)

_DIGITS = re.compile(r"^\d+$")
_UNIX_MS_DIGITS = 13  # 2001-09-09 .. 2286-11-20


def write_parquet(source: EventSource, out: Path, progress: Progress | None = None) -> DataFileInfo:
    """Write every event of `source` to a solbot Parquet file; facts of the file written."""
    chunks = source.chunks() if progress is None else _counted(source, progress)
    return write_events(
        chunks, out, source.market, source.files, source.coarse, source.feed_heartbeat_ns
    )


def _counted(source: EventSource, progress: Progress) -> Iterator[EventChunk]:
    # Counting a bar-mode source means expanding it twice: its total stays unknown.
    total = None if source.coarse else source.count()
    done = 0
    progress(done, total)
    for chunk in source.chunks():
        yield chunk
        done += len(chunk)
        progress(done, total)


def convert_files(
    paths: Sequence[Path],
    out: Path,
    market: MarketSpec,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    bar_spread_bps: float = 2.0,
    bar_ticks: int = 4,
    progress: Progress | None = None,
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
    return write_parquet(source, out, progress)


def format_time_ns(ts_ns: int) -> str:
    """ISO-8601 UTC with milliseconds, for display."""
    moment = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    millis = (ts_ns % 1_000_000_000) // 1_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"

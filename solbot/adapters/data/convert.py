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
from solbot.errors import UsageError

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


def parse_time_ns(text: str) -> int:
    """Nanoseconds since the epoch from ISO-8601 (UTC unless it says otherwise) or unix ms."""
    value = text.strip()
    if _DIGITS.match(value):
        if len(value) != _UNIX_MS_DIGITS:
            raise UsageError(
                f"time '{text}' is not unix milliseconds (13 digits, e.g. 1723161300000); "
                "seconds and microseconds are refused rather than guessed"
            )
        return int(value) * 1_000_000
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read time '{text}'; expected ISO-8601 such as 2024-08-08T23:55:00Z "
            "or unix milliseconds such as 1723161300000"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def format_time_ns(ts_ns: int) -> str:
    """ISO-8601 UTC with milliseconds, for display."""
    moment = datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=UTC)
    millis = (ts_ns % 1_000_000_000) // 1_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"

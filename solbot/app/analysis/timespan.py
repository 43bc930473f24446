"""Time spans in nanoseconds, printed as UTC; the one place analysis turns ns into text."""

from __future__ import annotations

from datetime import UTC, datetime

NS_PER_S = 1_000_000_000


def utc(ts_ns: int) -> str:
    """`2025-05-19T00:00:00Z` (seconds precision)."""
    return datetime.fromtimestamp(ts_ns // NS_PER_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def span_text(span: tuple[int, int] | None) -> str:
    return "nothing" if span is None else f"{utc(span[0])} -> {utc(span[1])}"


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]

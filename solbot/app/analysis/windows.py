"""PnL windows of one run from the ledger: FIFO net, unrealized change, volume, fills, markouts.

Never cash flow: net_pnl_usd = FIFO realized - fees + funding (docs/ledger-and-metrics.md), and
total_pnl_usd adds the window's change in unrealized PnL (each window valued with its own lots and
mark, `metrics_compute.compute_buckets`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from solbot.adapters.storage.ledger import Ledger
from solbot.app.metrics import open_existing, resolve_run
from solbot.app.metrics_compute import (
    MARKOUT_HORIZONS_S,
    Markouts,
    PriceHistory,
    RunScope,
    compute_buckets,
    markouts,
)
from solbot.core.model import Fill
from solbot.errors import UsageError

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
MAX_WINDOWS = 2_000_000


@dataclass(frozen=True)
class LedgerWindows:
    """One row per window of `window_s` seconds from the run's first fill to its newest data."""

    db: Path
    scope: RunScope
    market: str | None
    window_s: int
    span_ns: tuple[int, int] | None  # fills and marks of the run
    frame: pl.DataFrame


WINDOW_SCHEMA: dict[str, type[pl.DataType]] = {
    "window_start_ns": pl.Int64,
    "fills": pl.Int64,
    "maker_fills": pl.Int64,
    "taker_fills": pl.Int64,
    "volume_usd": pl.Float64,
    "maker_volume_usd": pl.Float64,
    "taker_volume_usd": pl.Float64,
    "realized_pnl_usd": pl.Float64,
    "fees_usd": pl.Float64,
    "funding_usd": pl.Float64,
    "net_pnl_usd": pl.Float64,
    "unrealized_change_usd": pl.Float64,
    "total_pnl_usd": pl.Float64,
    "inventory_change": pl.Float64,
    "inventory_end": pl.Float64,
    **{f"markout_{h}s_bps": pl.Float64 for h in MARKOUT_HORIZONS_S},
    **{f"markout_{h}s_samples": pl.Int64 for h in MARKOUT_HORIZONS_S},
}


def ledger_windows(
    db: Path, *, run: str, window_s: int, market: str | None = None
) -> LedgerWindows:
    """Read one run's fills, marks and funding and cut them into windows."""
    if window_s < 1:
        raise UsageError(f"--window must be at least 1 second, got {window_s}")
    with open_existing(db) as ledger:
        scope = resolve_run(ledger, run)
        chosen = _market(ledger, market, scope.run_id)
        if chosen is None:
            frame = pl.DataFrame(schema=WINDOW_SCHEMA)
            return LedgerWindows(db, scope, None, window_s, None, frame)
        fills = ledger.fills(market=chosen, run_id=scope.run_id)
        marks = ledger.marks(chosen, run_id=scope.run_id)
        funding = ledger.funding_payments(market=chosen, run_id=scope.run_id)
    span = (scope.first_ns, scope.last_ns)
    known_span = None if span[0] is None or span[1] is None else (int(span[0]), int(span[1]))
    if known_span and (known_span[1] - known_span[0]) // (window_s * NS_PER_S) > MAX_WINDOWS:
        raise UsageError(f"--window {window_s} s gives more than {MAX_WINDOWS} windows")
    rows = compute_buckets(chosen, fills, marks, funding, window_s)
    outs = _markouts_by_window(fills, PriceHistory(marks, fills), window_s)
    frame = pl.DataFrame([_row(row, outs) for row in rows], schema=WINDOW_SCHEMA, orient="row")
    return LedgerWindows(db, scope, chosen, window_s, known_span, frame)


def _row(bucket: dict[str, object], outs: dict[int, Markouts]) -> tuple[object, ...]:
    start_ns = int(bucket["bucket_start_ms"]) * NS_PER_MS  # type: ignore[call-overload]
    realized = float(bucket["realized_pnl_usd"])  # type: ignore[arg-type]
    fees = float(bucket["fees_usd"])  # type: ignore[arg-type]
    funding = float(bucket["funding_usd"])  # type: ignore[arg-type]
    net = realized - fees + funding
    total = bucket["true_pnl_usd"]
    unrealized_change = None if total is None else float(total) - net  # type: ignore[arg-type]
    window_outs = outs.get(start_ns)
    means = window_outs.bps if window_outs else {}
    samples = window_outs.samples if window_outs else {}
    return (
        start_ns,
        bucket["fills"],
        bucket["maker_fills"],
        bucket["taker_fills"],
        bucket["volume_usd"],
        bucket["maker_volume_usd"],
        bucket["taker_volume_usd"],
        realized,
        fees,
        funding,
        net,
        unrealized_change,
        total,
        bucket["base_delta"],
        bucket["inventory_end"],
        *(means.get(str(h)) for h in MARKOUT_HORIZONS_S),
        *(samples.get(str(h), 0) for h in MARKOUT_HORIZONS_S),
    )


def _markouts_by_window(
    fills: list[Fill], prices: PriceHistory, window_s: int
) -> dict[int, Markouts]:
    """Mean signed markout per horizon of each window's fills, keyed by window start (ns)."""
    width = window_s * NS_PER_S
    grouped: dict[int, list[Fill]] = defaultdict(list)
    for fill in fills:
        grouped[fill.ts_ns // width * width].append(fill)
    return {start: markouts(group, prices) for start, group in grouped.items()}


def _market(ledger: Ledger, market: str | None, run_id: str | None) -> str | None:
    if market is not None:
        return market
    markets = ledger.markets(run_id)
    if len(markets) > 1:
        raise UsageError(f"the run holds several markets ({', '.join(markets)}); pass --market")
    return markets[0] if markets else None

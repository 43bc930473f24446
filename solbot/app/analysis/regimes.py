"""`analyze regimes`: a run's FIFO PnL windows sliced by the external market's trend, volatility
and time, with fee what-ifs and correlations (docs/analysis.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from solbot.app.analysis.candles import read_candles
from solbot.app.analysis.correlation import pearson
from solbot.app.analysis.fees import FeeSchedule, with_fee_columns
from solbot.app.analysis.join import TrendThresholds, candle_features, join_windows, tercile_edges
from solbot.app.analysis.timespan import overlaps, span_text
from solbot.app.analysis.windows import NS_PER_S, ledger_windows
from solbot.app.metrics_compute import MARKOUT_HORIZONS_S
from solbot.errors import InvalidInput

SCHEMA_VERSION = 1
PNL_DEFINITION = "FIFO net = realized - fees + funding (never cash flow)"
DIMENSIONS = ("trend", "volatility", "trend_x_vol", "session", "weekday_utc", "hour_utc")
CORRELATE_AGAINST = (
    "return_bps",
    "abs_return_bps",
    "range_bps",
    "vol_1m_bps",
    "inventory_change",
)
CORRELATED = ("net_pnl_usd", "total_pnl_usd")
LABEL_ORDER = {
    "trend": ("down", "flat", "up"),
    "volatility": ("low", "mid", "high", "unknown"),
    "session": ("us_hours", "overnight", "weekend"),
    "weekday_utc": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def label_order(dimension: str, label: str) -> tuple[int, ...] | str:
    """Sort key of a bucket label: the natural order (low < mid < high, Mon < Tue), else text."""
    if dimension == "trend_x_vol":
        trend, _, vol = label.partition("/")
        return (LABEL_ORDER["trend"].index(trend), LABEL_ORDER["volatility"].index(vol))
    order = LABEL_ORDER.get(dimension)
    return (order.index(label),) if order and label in order else label


@dataclass(frozen=True)
class RegimeOptions:
    """What `analyze regimes` reads and how it slices."""

    db: Path
    candles: tuple[Path, ...]
    run: str = "latest"
    market: str | None = None
    window_s: int = 300
    fees: tuple[FeeSchedule, ...] = ()
    trend: TrendThresholds = field(default_factory=TrendThresholds)
    min_candles: int = 3


@dataclass(frozen=True)
class RegimeReport:
    """Everything `analyze regimes` prints; `windows` is the joined per-window table."""

    summary: dict[str, Any]
    buckets: dict[str, list[dict[str, Any]]]
    best_worst: dict[str, dict[str, Any]]
    correlations: dict[str, dict[str, float | None]]
    windows: pl.DataFrame

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "summary": self.summary,
            "buckets": self.buckets,
            "best_worst": self.best_worst,
            "correlations": self.correlations,
        }


def analyze_regimes(options: RegimeOptions) -> RegimeReport:
    """Read the ledger and the candles, join them by window and aggregate every dimension."""
    candles = read_candles(options.candles)
    pnl = ledger_windows(
        options.db, run=options.run, window_s=options.window_s, market=options.market
    )
    if pnl.span_ns is not None and not overlaps(pnl.span_ns, candles.span_ns):
        raise InvalidInput(
            "the ledger and the candles do not overlap: "
            f"ledger run {pnl.scope.run_id or 'all'} spans {span_text(pnl.span_ns)}, "
            f"candles span {span_text(candles.span_ns)} (UTC); pass candles of the run's period"
        )
    if pnl.span_ns is None or pnl.frame.is_empty():
        raise InvalidInput(
            f"{options.db}: run {pnl.scope.describe()} has no fills; nothing to slice"
        )
    window_ns = options.window_s * NS_PER_S
    features = candle_features(candles, window_ns, options.min_candles)
    joined = join_windows(pnl.frame, features, options.trend)
    if joined.is_empty():
        raise InvalidInput(
            f"no {options.window_s} s window of the run holds {options.min_candles} whole "
            f"{candles.bar_minutes:g}m candles (ledger {span_text(pnl.span_ns)}, candles "
            f"{span_text(candles.span_ns)}); use a longer --window or a lower --min-candles"
        )
    joined = with_fee_columns(joined, list(options.fees))
    net_columns = ["net_pnl_usd"] + [s.column for s in options.fees]
    buckets = {dim: bucket_table(joined, dim, net_columns) for dim in DIMENSIONS}
    summary = _summary(options, pnl, candles, joined, net_columns)
    return RegimeReport(
        summary=summary,
        buckets=buckets,
        best_worst={dim: best_and_worst(rows) for dim, rows in buckets.items()},
        correlations=correlations(joined),
        windows=joined,
    )


def bucket_table(
    joined: pl.DataFrame, dimension: str, net_columns: list[str]
) -> list[dict[str, Any]]:
    """One row per label of `dimension`: windows, fills, volume, PnL sums and ratios."""
    table = joined.group_by(dimension).agg(
        pl.len().alias("windows"),
        pl.col("fills").sum(),
        pl.col("volume_usd").sum(),
        pl.col("maker_volume_usd").sum(),
        pl.col("taker_volume_usd").sum(),
        pl.col("fees_usd").sum(),
        *(pl.col(name).sum() for name in net_columns),
        pl.col("total_pnl_usd").sum(),
        pl.col("return_bps").mean().alias("mean_return_bps"),
        pl.col("vol_1m_bps").mean().alias("mean_vol_1m_bps"),
        *_markout_sums(),
    )
    rows = []
    for row in table.iter_rows(named=True):
        net, fills, volume = row["net_pnl_usd"], row["fills"], row["volume_usd"]
        markouts = _markout_means(row)
        rows.append(
            {
                "bucket": row.pop(dimension),
                **row,
                "net_per_window_usd": net / row["windows"],
                "net_per_fill_usd": net / fills if fills else None,
                "net_per_volume_bps": net / volume * 1e4 if volume else None,
                **markouts,
            }
        )
    rows.sort(key=lambda r: label_order(dimension, str(r["bucket"])))
    return rows


def _markout_sums() -> list[pl.Expr]:
    """Per horizon: samples and the sample-weighted sum of the windows' mean markouts."""
    exprs = []
    for h in MARKOUT_HORIZONS_S:
        mean, samples = pl.col(f"markout_{h}s_bps"), pl.col(f"markout_{h}s_samples")
        exprs += [
            samples.sum().alias(f"markout_{h}s_samples"),
            (mean.fill_null(0.0) * samples).sum().alias(f"_markout_{h}s_weighted"),
        ]
    return exprs


def _markout_means(row: dict[str, Any]) -> dict[str, float | None]:
    """Mean markout over the bucket's fills (weighted by each window's samples), per horizon."""
    means: dict[str, float | None] = {}
    for h in MARKOUT_HORIZONS_S:
        weighted, samples = row.pop(f"_markout_{h}s_weighted"), row[f"markout_{h}s_samples"]
        means[f"markout_{h}s_bps"] = weighted / samples if samples else None
    return means


def best_and_worst(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The buckets with the highest and lowest net PnL per window (ties: first label)."""
    if not rows:
        return {"best": None, "worst": None}
    best = max(rows, key=lambda r: r["net_per_window_usd"])
    worst = min(rows, key=lambda r: r["net_per_window_usd"])
    return {
        "best": {"bucket": best["bucket"], "net_per_window_usd": best["net_per_window_usd"]},
        "worst": {"bucket": worst["bucket"], "net_per_window_usd": worst["net_per_window_usd"]},
    }


def correlations(joined: pl.DataFrame) -> dict[str, dict[str, float | None]]:
    """Pearson r of window PnL (net and mark-to-market total) against each market feature."""
    return {
        pnl: {
            against: pearson(joined[pnl].to_list(), joined[against].to_list())
            for against in CORRELATE_AGAINST
        }
        for pnl in CORRELATED
    }


def _summary(
    options: RegimeOptions,
    pnl: Any,
    candles: Any,
    joined: pl.DataFrame,
    net_columns: list[str],
) -> dict[str, Any]:
    edges = tercile_edges(joined["vol_1m_bps"])
    all_net = float(pnl.frame["net_pnl_usd"].sum())
    return {
        "pnl_definition": PNL_DEFINITION,
        "db": str(options.db),
        "run": pnl.scope.run_id,
        "profile": pnl.scope.profile,
        "market": pnl.market,
        "window_s": options.window_s,
        "ledger_span": [pnl.span_ns[0], pnl.span_ns[1]],
        "ledger_span_utc": span_text(pnl.span_ns),
        "candles": [str(p) for p in candles.paths],
        "candle_bar_s": candles.bar_ns // NS_PER_S,
        "candles_span": list(candles.span_ns),
        "candles_span_utc": span_text(candles.span_ns),
        "trend_up_bps": options.trend.up_bps,
        "trend_down_bps": options.trend.down_bps,
        "vol_tercile_edges_bps": list(edges) if edges else None,
        "run_windows": pnl.frame.height,
        "joined_windows": joined.height,
        "run_net_pnl_usd": all_net,
        "joined_net_pnl_usd": float(joined["net_pnl_usd"].sum()),
        "unjoined_net_pnl_usd": all_net - float(joined["net_pnl_usd"].sum()),
        "fills": int(joined["fills"].sum()),
        "volume_usd": float(joined["volume_usd"].sum()),
        "fee_schedules": [
            {
                "label": s.label,
                "maker_bps": s.maker_bps,
                "taker_bps": s.taker_bps,
                "column": s.column,
            }
            for s in options.fees
        ],
        "net_by_fee_schedule_usd": {name: float(joined[name].sum()) for name in net_columns},
    }


def trend_vol_pnl(db: Path, candles: tuple[Path, ...], run: str = "latest") -> dict[str, float]:
    """FIFO net PnL per trend x volatility bucket of a run (for `sweep` and `compare`)."""
    report = analyze_regimes(RegimeOptions(db=db, candles=candles, run=run))
    return {str(row["bucket"]): float(row["net_pnl_usd"]) for row in report.buckets["trend_x_vol"]}


def trend_vol_columns(db: Path, candles: tuple[Path, ...]) -> dict[str, float]:
    """The same, as result-table columns named `bucket_net_usd[<trend x vol>]`."""
    return {f"bucket_net_usd[{name}]": net for name, net in trend_vol_pnl(db, candles).items()}

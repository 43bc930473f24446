"""Join PnL windows with external candles and label each window's market regime and time.

Per window [start, start + W): the candles that lie wholly inside it give
- return_bps: last close / first open - 1, in bps; abs_return_bps its magnitude;
- range_bps: (highest high - lowest low) / first open;
- vol_1m_bps: population stdev of the window's 1-minute close-to-close returns (5m bars are
  scaled to 1-minute equivalents by 1/sqrt(5)).
Trend bucket: up above `up_bps`, down below `down_bps`, else flat. Volatility terciles split at
the 1/3 and 2/3 quantiles of vol_1m_bps over the joined windows. Time buckets use the window's
start: UTC hour, UTC weekday, and a session: weekend (Saturday or Sunday in New York),
us_hours (Monday-Friday 09:30-16:00 New York time, daylight saving included) or overnight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from solbot.app.analysis.candles import Candles

NEW_YORK = "America/New_York"
US_OPEN_MINUTE = 9 * 60 + 30
US_CLOSE_MINUTE = 16 * 60


@dataclass(frozen=True)
class TrendThresholds:
    """A window's return above `up_bps` is an up-trend, below `down_bps` a down-trend."""

    up_bps: float = 10.0
    down_bps: float = -10.0


def candle_features(candles: Candles, window_ns: int, min_candles: int) -> pl.DataFrame:
    """Market features per window start for every window holding >= min_candles whole bars."""
    returns = candles.one_minute_returns()
    frame = pl.DataFrame(
        {
            "open_ns": candles.open_ns,
            "open": candles.open,
            "high": candles.high,
            "low": candles.low,
            "close": candles.close,
            "ret_1m": returns,
        }
    ).with_columns(pl.col("ret_1m").fill_nan(None))
    frame = frame.filter(
        (pl.col("open_ns") // window_ns) == ((pl.col("open_ns") + candles.bar_ns - 1) // window_ns)
    ).with_columns((pl.col("open_ns") // window_ns * window_ns).alias("window_start_ns"))
    grouped = frame.group_by("window_start_ns").agg(
        pl.len().alias("candles"),
        pl.col("open").sort_by("open_ns").first().alias("first_open"),
        pl.col("close").sort_by("open_ns").last().alias("last_close"),
        pl.col("high").max().alias("high"),
        pl.col("low").min().alias("low"),
        pl.col("ret_1m").std(ddof=0).alias("vol_1m"),
    )
    return (
        grouped.filter(pl.col("candles") >= min_candles)
        .select(
            "window_start_ns",
            "candles",
            ((pl.col("last_close") / pl.col("first_open") - 1.0) * 1e4).alias("return_bps"),
            ((pl.col("high") - pl.col("low")) / pl.col("first_open") * 1e4).alias("range_bps"),
            (pl.col("vol_1m") * 1e4).alias("vol_1m_bps"),
        )
        .with_columns(pl.col("return_bps").abs().alias("abs_return_bps"))
        .sort("window_start_ns")
    )


def join_windows(
    windows: pl.DataFrame, features: pl.DataFrame, trend: TrendThresholds
) -> pl.DataFrame:
    """Windows that have candles, with trend, volatility, cross and time labels."""
    joined = windows.join(features, on="window_start_ns", how="inner").sort("window_start_ns")
    joined = joined.with_columns(
        pl.when(pl.col("return_bps") > trend.up_bps)
        .then(pl.lit("up"))
        .when(pl.col("return_bps") < trend.down_bps)
        .then(pl.lit("down"))
        .otherwise(pl.lit("flat"))
        .alias("trend"),
        _tercile_labels(joined["vol_1m_bps"]).alias("volatility"),
    )
    return joined.with_columns(
        pl.concat_str(pl.col("trend"), pl.col("volatility"), separator="/").alias("trend_x_vol"),
        *time_labels(pl.col("window_start_ns")),
    )


def tercile_edges(values: pl.Series) -> tuple[float, float] | None:
    """The 1/3 and 2/3 quantiles (linear interpolation) of the known values, None without any."""
    known = values.drop_nulls().drop_nans().to_numpy()
    if len(known) == 0:
        return None
    low, high = np.quantile(known, [1 / 3, 2 / 3])
    return float(low), float(high)


def _tercile_labels(values: pl.Series) -> pl.Series:
    edges = tercile_edges(values)
    if edges is None:
        return pl.Series(["unknown"] * len(values), dtype=pl.Utf8)
    low, high = edges
    labels = [
        "unknown"
        if value is None or value != value
        else ("low" if value <= low else "mid" if value <= high else "high")
        for value in values.to_list()
    ]
    return pl.Series(labels, dtype=pl.Utf8)


def time_labels(start_ns: pl.Expr) -> list[pl.Expr]:
    """hour (UTC, 00-23), weekday (UTC, Mon-Sun) and session (us_hours / overnight / weekend)."""
    utc = pl.from_epoch(start_ns, time_unit="ns").dt.replace_time_zone("UTC")
    local = utc.dt.convert_time_zone(NEW_YORK)
    minute = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    weekend = local.dt.weekday() >= 6
    us_hours = (minute >= US_OPEN_MINUTE) & (minute < US_CLOSE_MINUTE)
    return [
        utc.dt.strftime("%H").alias("hour_utc"),
        utc.dt.strftime("%a").alias("weekday_utc"),
        pl.when(weekend)
        .then(pl.lit("weekend"))
        .when(us_hours)
        .then(pl.lit("us_hours"))
        .otherwise(pl.lit("overnight"))
        .alias("session"),
    ]

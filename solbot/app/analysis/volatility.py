"""`analyze volatility`: the bot's own vol_ema_bps against external volatility from candles.

Internal: the engine's SignalState fed the run's marks (ledger `marks`) with the profile's signal
settings, so the numbers are the engine's definition (EMA of |vol_sample returns|, half-life).
External, at each candle close, from 1-minute close-to-close returns (5m bars scaled to 1-minute
equivalents by 1/sqrt(5)) over the trailing 15 and 60 minutes: sigma (population stdev) and the
mean |return|. Every measure is held from its sample until the next (time-weighted shares).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from solbot.app.analysis.candles import MINUTE_NS, Candles, read_candles
from solbot.app.analysis.timespan import overlaps, span_text
from solbot.app.metrics import open_existing, resolve_run
from solbot.config.compile import build_catalog, signal_settings
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.core.signals import SignalState
from solbot.errors import InvalidInput, UsageError

SCHEMA_VERSION = 1
INTERNAL = "internal_vol_ema_bps"
EXTERNAL_WINDOWS_MIN = (15, 60)
LOT = 0.001  # signal state's inventory lot; volatility does not depend on it


@dataclass(frozen=True)
class Threshold:
    """One rule's line(s): active from `on` until `off` (hysteresis), in the given direction."""

    rule: str
    on_bps: float
    off_bps: float
    below: bool  # True: active when the measure is low (low-vol pause, defensive regime)


def thresholds(params: dict[str, float]) -> list[Threshold]:
    """The profile's volatility lines (rules/guards.yaml, rules/regime.yaml) that it sets."""
    found = []
    if "vol_low_pause_bps" in params:
        resume = params.get("vol_low_resume_bps", params["vol_low_pause_bps"])
        found.append(Threshold("vol.low_pause", params["vol_low_pause_bps"], resume, True))
    if "regime_vol_threshold_bps" in params:
        line = params["regime_vol_threshold_bps"]
        found.append(Threshold("regime.defensive (vol below line)", line, line, True))
    if "vol_high_clip_bps" in params:
        line = params["vol_high_clip_bps"]
        found.append(Threshold("vol.high_clip", line, line, False))
    if "vol_high_pause_bps" in params:
        resume = params.get("vol_high_resume_bps", params["vol_high_pause_bps"])
        found.append(Threshold("vol.high_pause", params["vol_high_pause_bps"], resume, False))
    return found


def internal_series(
    marks: Sequence[tuple[int, float]], state: SignalState
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """(ts_ns, vol_ema_bps) after each mark once vol_ema_bps is ready (the engine's value)."""
    times: list[int] = []
    values: list[float] = []
    for ts_ns, mid in marks:
        state.on_book(ts_ns, ts_ns, mid, mid)
        value = state.get("vol_ema_bps")
        if value is not None:
            times.append(ts_ns)
            values.append(value)
    return np.asarray(times, np.int64), np.asarray(values, np.float64)


def external_series(candles: Candles) -> pl.DataFrame:
    """Per candle close: sigma and mean |1m return| over the trailing 15 and 60 minutes (bps)."""
    returns = pl.Series("ret", candles.one_minute_returns() * 1e4).fill_nan(None)
    frame = pl.DataFrame({"ts_ns": candles.open_ns + candles.bar_ns, "ret": returns})
    columns = []
    for minutes in EXTERNAL_WINDOWS_MIN:
        bars = max(2, round(minutes * MINUTE_NS / candles.bar_ns))
        columns += [
            pl.col("ret")
            .rolling_std(bars, min_samples=bars, ddof=0)
            .alias(f"sigma_{minutes}m_bps"),
            pl.col("ret")
            .abs()
            .rolling_mean(bars, min_samples=bars)
            .alias(f"mean_abs_{minutes}m_bps"),
        ]
    return frame.with_columns(columns).drop("ret")


def active_share(
    times: NDArray[np.int64], values: NDArray[np.float64], span_ns: tuple[int, int], line: Threshold
) -> float | None:
    """Share of the run's span the rule is active, each sample held until the next one.

    Samples before the span carry the rule's state in (the last one holds at the span's start);
    time before a measure's first sample counts as inactive (the engine's warm-up)."""
    start, end = span_ns
    if len(times) == 0 or end <= start:
        return None
    edges = np.clip(np.append(times, end), start, end)
    durations = np.diff(edges)
    active = _hysteresis(values, line)
    return float(durations[active].sum()) / float(end - start)


def _hysteresis(values: NDArray[np.float64], line: Threshold) -> NDArray[np.bool_]:
    """Active flags: a low line enters at 0 < v <= on and leaves at v >= off; a high line enters
    at v >= on and leaves at v <= off (the rules' when/until; timers are not modelled)."""
    active = np.zeros(len(values), dtype=bool)
    on = False
    for i, value in enumerate(values.tolist()):
        if line.below:
            on = value < line.off_bps if on else 0.0 < value <= line.on_bps
        else:
            on = value > line.off_bps if on else value >= line.on_bps
        active[i] = on
    return active


@dataclass(frozen=True)
class VolatilityReport:
    summary: dict[str, Any]
    measures: dict[str, dict[str, Any]]
    rules: list[dict[str, Any]]
    series: pl.DataFrame  # side by side at each candle close inside the run

    def to_json(self, series_rows: int | None = None) -> dict[str, Any]:
        frame = self.series if series_rows is None else downsample(self.series, series_rows)
        return {
            "schema": SCHEMA_VERSION,
            "summary": self.summary,
            "measures": self.measures,
            "rules": self.rules,
            "series": frame.to_dicts(),
        }


def during(external: pl.DataFrame, span_ns: tuple[int, int]) -> pl.DataFrame:
    """Samples inside the span, plus the last one before it (it holds at the span's start)."""
    before = external.filter(pl.col("ts_ns") <= span_ns[0]).tail(1)
    inside = external.filter((pl.col("ts_ns") > span_ns[0]) & (pl.col("ts_ns") <= span_ns[1]))
    return pl.concat([before, inside])


def downsample(frame: pl.DataFrame, rows: int) -> pl.DataFrame:
    """At most `rows` evenly spaced rows (first and last kept)."""
    if frame.height <= rows or rows < 2:
        return frame
    picks = np.unique(np.linspace(0, frame.height - 1, rows).round().astype(np.int64))
    chosen: pl.DataFrame = frame[picks.tolist()]
    return chosen


def analyze_volatility(
    db: Path,
    candles_paths: Sequence[Path],
    *,
    run: str = "latest",
    market: str | None = None,
    profile: str | None = None,
    config_dir: Path | None = None,
) -> VolatilityReport:
    """Internal vs external volatility over one run, and each threshold's active share."""
    candles = read_candles(candles_paths)
    with open_existing(db) as ledger:
        scope = resolve_run(ledger, run)
        markets = [market] if market else ledger.markets(scope.run_id)
        if len(markets) != 1:
            raise UsageError("the run holds several markets; pass --market")
        marks = ledger.marks(markets[0], run_id=scope.run_id)
    name = profile or scope.profile
    if not name:
        raise UsageError("the run records no profile; pass --profile")
    if len(marks) < 2:
        raise InvalidInput(f"{db}: run {scope.describe()} has fewer than 2 marks")
    run_span = (marks[0][0], marks[-1][0])
    if not overlaps(run_span, candles.span_ns):
        raise InvalidInput(
            "the ledger and the candles do not overlap: "
            f"ledger run {scope.run_id or 'all'} marks span {span_text(run_span)}, "
            f"candles span {span_text(candles.span_ns)} (UTC); pass candles of the run's period"
        )
    resolved = resolve_profile(name, ConfigDir.find(config_dir))
    settings = signal_settings(resolved.profile)
    state = SignalState(build_catalog(resolved.profile), settings, LOT)
    times, internal = internal_series(marks, state)
    external = during(external_series(candles), run_span)
    series = _side_by_side(times, internal, external)
    lines = thresholds(dict(resolved.profile.params))
    measures = _measures(times, internal, external)
    rules = _rule_shares(lines, times, internal, external, run_span)
    summary = {
        "db": str(db),
        "run": scope.run_id,
        "profile": name,
        "market": markets[0],
        "marks": len(marks),
        "run_span_utc": span_text(run_span),
        "candles": [str(p) for p in candles.paths],
        "candle_bar_s": candles.bar_ns // 1_000_000_000,
        "candles_span_utc": span_text(candles.span_ns),
        "internal_definition": (
            f"vol_ema_bps: EMA (half-life {settings.vol_halflife_s:g} s) of "
            f"|{settings.vol_sample_s:g} s returns| of the run's marks, the engine's SignalState"
        ),
        "external_definition": (
            "1-minute close-to-close returns of the candles"
            + (f" (scaled by 1/sqrt({candles.bar_minutes:g}))" if candles.bar_minutes != 1 else "")
            + ": sigma and mean |return| over the trailing 15 and 60 minutes"
        ),
    }
    return VolatilityReport(summary, measures, rules, series)


def _side_by_side(
    times: NDArray[np.int64], internal: NDArray[np.float64], external: pl.DataFrame
) -> pl.DataFrame:
    inside = pl.DataFrame({"ts_ns": times, INTERNAL: internal})
    joined: pl.DataFrame = external.sort("ts_ns").join_asof(
        inside.sort("ts_ns"), on="ts_ns", strategy="backward"
    )
    return joined


def _measures(
    times: NDArray[np.int64], internal: NDArray[np.float64], external: pl.DataFrame
) -> dict[str, dict[str, Any]]:
    result = {INTERNAL: _stats(internal)}
    for column in external.columns[1:]:
        result[column] = _stats(external[column].drop_nulls().to_numpy())
    return result


def _stats(values: NDArray[np.float64]) -> dict[str, Any]:
    if len(values) == 0:
        return {"samples": 0, "mean": None, "median": None, "p10": None, "p90": None}
    p10, median, p90 = np.quantile(values, [0.1, 0.5, 0.9])
    return {
        "samples": len(values),
        "mean": float(values.mean()),
        "median": float(median),
        "p10": float(p10),
        "p90": float(p90),
    }


def _rule_shares(
    lines: list[Threshold],
    times: NDArray[np.int64],
    internal: NDArray[np.float64],
    external: pl.DataFrame,
    span_ns: tuple[int, int],
) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        shares = {INTERNAL: active_share(times, internal, span_ns, line)}
        for column in external.columns[1:]:
            known = external.select("ts_ns", column).drop_nulls()
            shares[column] = active_share(
                known["ts_ns"].to_numpy(), known[column].to_numpy(), span_ns, line
            )
        rows.append(
            {
                "rule": line.rule,
                "on_bps": line.on_bps,
                "off_bps": line.off_bps,
                "active_when": "below" if line.below else "above",
                "active_share": shares,
            }
        )
    return rows

"""`analyze outcome`: the shipped profiles side by side on the same data and fill model.

Per dataset (a candle file, or the tick files of one capture) every profile is replayed with
`simulate`'s engine and fill model; its ledger is cut into windows (`analysis.windows`) and the
windows are labelled by the market's trend and volatility tercile with `analyze regimes`'
bucketing (`analysis.join`, `analysis.regimes.bucket_table`). The labels are computed once per
dataset from the market, so every profile is judged in the same buckets:
- candle files: the candles themselves (windows of max(5 min, 3 bars));
- tick files: 10-second bars of the run's recorded mid (1 s marks), 60 s windows.

Totals (fills, volume, net) come from every window of the run; buckets, days (UTC) and
the drawdown of the cumulative net from the labelled windows (those with whole bars).
Net PnL is FIFO (realized - fees + funding, never cash flow), re-priced at each fee schedule
(`analysis.fees`: the recorded fees swapped for maker/taker bps on the run's maker and taker
volume). Latency and tx budget stay those of the profile's tier.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from solbot.app.analysis.candles import Candles, read_candles
from solbot.app.analysis.fees import FeeSchedule, with_fee_columns
from solbot.app.analysis.join import TrendThresholds, candle_features, join_windows
from solbot.app.analysis.regimes import bucket_table
from solbot.app.analysis.windows import NS_PER_S, ledger_windows
from solbot.errors import InvalidInput, UsageError

SCHEMA_VERSION = 1
DAY_NS = 86_400 * NS_PER_S
TICK_BAR_NS = 10 * NS_PER_S
TICK_WINDOW_S = 60
CANDLE_MIN_WINDOW_S = 300
MIN_CANDLES = 3
DEFAULT_PROFILES = ("naive", "defensive", "aggressive")
# Tokens that name the stream of a capture, not the capture: files equal but for them are one.
_STREAM_TOKENS = frozenset(
    {"bookticker", "trades", "quotes", "depth", "snapshot", "updates", "l1", "book"}
)
_SUFFIXES = re.compile(r"(\.(csv|jsonl|json|parquet|txt))?(\.gz)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Dataset:
    """One replay: a candle file, or the tick files of one capture."""

    name: str
    paths: tuple[Path, ...]
    coarse: bool


@dataclass(frozen=True)
class OutcomeOptions:
    datasets: tuple[Dataset, ...]
    profiles: tuple[str, ...] = DEFAULT_PROFILES
    baseline: str = "naive"
    fees: tuple[FeeSchedule, ...] = ()
    judge_fee: int = -1  # index into fees: the schedule of worst bucket, cut, days and drawdown
    config_dir: Path | None = None
    data_market: str | None = None
    seed: int = 0
    start_ns: int | None = None
    end_ns: int | None = None
    window_s: int | None = None
    trend: TrendThresholds = field(default_factory=TrendThresholds)
    work_dir: Path | None = None


@dataclass(frozen=True)
class ProfileOutcome:
    """The numbers of one profile on one dataset (or overall)."""

    profile: str
    fills: int
    volume_usd: float
    net_usd: dict[str, float]  # fee schedule label -> FIFO net
    net_per_volume_bps: dict[str, float | None]
    days: int
    days_nonnegative_share: dict[str, float | None]
    max_drawdown_usd: dict[str, float]
    buckets: list[dict[str, Any]]  # trend x volatility rows of analyze regimes' bucket_table
    baseline_worst_cut: float | None  # share of the baseline's loss cut in its worst bucket

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class DatasetOutcome:
    name: str
    paths: tuple[str, ...]
    mode: str  # "bar (coarse)" or "tick"
    window_s: int
    span_ns: tuple[int, int]
    vol_tercile_edges_bps: tuple[float, float] | None
    baseline_worst: dict[str, Any] | None  # bucket and the baseline's net there
    profiles: list[ProfileOutcome]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "paths": list(self.paths),
            "mode": self.mode,
            "window_s": self.window_s,
            "span_ns": list(self.span_ns),
            "vol_tercile_edges_bps": self.vol_tercile_edges_bps,
            "baseline_worst": self.baseline_worst,
            "profiles": [p.to_json() for p in self.profiles],
        }


@dataclass(frozen=True)
class OutcomeReport:
    fees: tuple[FeeSchedule, ...]
    judge: FeeSchedule
    baseline: str
    datasets: list[DatasetOutcome]
    overall: DatasetOutcome

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "pnl_definition": "FIFO net = realized - fees + funding (never cash flow)",
            "fee_schedules": [
                {"label": s.label, "maker_bps": s.maker_bps, "taker_bps": s.taker_bps}
                for s in self.fees
            ],
            "judged_at": self.judge.label,
            "baseline": self.baseline,
            "datasets": [d.to_json() for d in self.datasets],
            "overall": self.overall.to_json(),
        }


Progress = Callable[[str], None]


def group_datasets(paths: Sequence[Path]) -> tuple[Dataset, ...]:
    """Candle files one by one; tick files equal in name but for the stream token together."""
    from solbot.adapters.data.formats import CANDLES, detect_format

    datasets: list[Dataset] = []
    ticks: dict[tuple[Path, str], list[Path]] = {}
    for path in paths:
        if not path.is_file():
            raise UsageError(f"--data {path}: no such file")
        if detect_format(path) == CANDLES:
            datasets.append(Dataset(_stem(path), (path,), coarse=True))
        else:
            ticks.setdefault((path.parent, capture_key(path)), []).append(path)
    for (_, key), members in ticks.items():
        datasets.append(Dataset(key, tuple(members), coarse=False))
    names = [d.name for d in datasets]
    return tuple(
        d if names.count(d.name) == 1 else Dataset(f"{d.name}#{i}", d.paths, d.coarse)
        for i, d in enumerate(datasets)
    )


def capture_key(path: Path) -> str:
    """The file name without extension and without stream tokens (bookticker, trades, ...)."""
    tokens = re.split(r"([_\-.])", _stem(path))
    kept: list[str] = []
    for token in tokens:
        if token.lower() in _STREAM_TOKENS:
            if kept and kept[-1] in "_-.":
                kept.pop()
            continue
        kept.append(token)
    return "".join(kept).strip("_-.") or _stem(path)


def _stem(path: Path) -> str:
    return _SUFFIXES.sub("", path.name)


def analyze_outcome(options: OutcomeOptions, progress: Progress | None = None) -> OutcomeReport:
    """Replay every profile on every dataset and compare them bucket by bucket."""
    if not options.datasets:
        raise UsageError("give at least one data file with --data")
    if not options.fees:
        raise UsageError("give at least one fee schedule with --fees")
    judge = options.fees[options.judge_fee]
    profiles = _ordered_profiles(options)
    with tempfile.TemporaryDirectory(prefix="solbot-outcome-") as scratch:
        work = options.work_dir or Path(scratch)
        per_dataset = []
        frames: dict[str, list[pl.DataFrame]] = {p: [] for p in profiles}
        labelled: dict[str, list[pl.DataFrame]] = {p: [] for p in profiles}
        for index, dataset in enumerate(options.datasets):
            outcome, runs = _dataset_outcome(
                options, dataset, profiles, judge, work / f"{index:03d}", progress
            )
            per_dataset.append(outcome)
            for profile, (frame, joined) in runs.items():
                frames[profile].append(frame)
                labelled[profile].append(joined)
    overall_frames = {p: pl.concat(frames[p], how="vertical_relaxed") for p in profiles}
    overall_joined = {p: pl.concat(labelled[p], how="vertical_relaxed") for p in profiles}
    overall = _compare(
        "overall",
        tuple(str(p) for d in options.datasets for p in d.paths),
        "mixed" if len({d.coarse for d in options.datasets}) > 1 else per_dataset[0].mode,
        per_dataset[0].window_s if len(per_dataset) == 1 else 0,
        (min(d.span_ns[0] for d in per_dataset), max(d.span_ns[1] for d in per_dataset)),
        None,
        options,
        judge,
        overall_frames,
        overall_joined,
    )
    return OutcomeReport(options.fees, judge, options.baseline, per_dataset, overall)


def _ordered_profiles(options: OutcomeOptions) -> tuple[str, ...]:
    if not options.profiles:
        raise UsageError("--profiles: give at least one profile")
    if options.baseline in options.profiles:
        rest = tuple(p for p in options.profiles if p != options.baseline)
        return (options.baseline, *rest)
    return (options.baseline, *options.profiles)


def _dataset_outcome(
    options: OutcomeOptions,
    dataset: Dataset,
    profiles: tuple[str, ...],
    judge: FeeSchedule,
    work: Path,
    progress: Progress | None,
) -> tuple[DatasetOutcome, dict[str, tuple[pl.DataFrame, pl.DataFrame]]]:
    from solbot.app.simulate import SimulationRequest, run_simulation

    windows: dict[str, pl.DataFrame] = {}
    candles: Candles | None = None
    window_s = options.window_s
    for profile in profiles:
        if progress is not None:
            progress(f"{dataset.name}: {profile}")
        out_dir = work / profile
        result = run_simulation(
            SimulationRequest(
                profile=profile,
                data=dataset.paths,
                config_dir=options.config_dir,
                data_market=options.data_market,
                start_ns=options.start_ns,
                end_ns=options.end_ns,
                out_dir=out_dir,
                seed=options.seed,
            )
        )
        market = result.session.market_key
        if candles is None:
            candles = (
                read_candles(list(dataset.paths))
                if dataset.coarse
                else candles_from_marks(result.db_path, market, dataset)
            )
            if window_s is None:
                window_s = (
                    max(CANDLE_MIN_WINDOW_S, MIN_CANDLES * candles.bar_ns // NS_PER_S)
                    if dataset.coarse
                    else TICK_WINDOW_S
                )
        assert window_s is not None  # set with the candles, on the first profile
        pnl = ledger_windows(result.db_path, run="latest", window_s=window_s, market=market)
        windows[profile] = pnl.frame
    assert candles is not None and window_s is not None
    features = candle_features(candles, window_s * NS_PER_S, MIN_CANDLES)
    if options.start_ns is not None or options.end_ns is not None:
        features = _inside(features, options.start_ns, options.end_ns, window_s)
    if features.is_empty():
        raise InvalidInput(
            f"{dataset.name}: no {window_s} s window holds {MIN_CANDLES} whole bars; "
            "the data is too short for trend and volatility buckets (use a lower --window)"
        )
    labels = join_windows(features.select("window_start_ns"), features, options.trend)
    from solbot.app.analysis.join import tercile_edges

    edges = tercile_edges(features["vol_1m_bps"])
    frames = {p: with_fee_columns(f, list(options.fees)) for p, f in windows.items()}
    joined = {p: _label(labels, f, options.fees) for p, f in frames.items()}
    span = (int(candles.span_ns[0]), int(candles.span_ns[1]))
    outcome = _compare(
        dataset.name,
        tuple(str(p) for p in dataset.paths),
        "bar (coarse)" if dataset.coarse else "tick",
        window_s,
        span,
        edges,
        options,
        judge,
        frames,
        joined,
    )
    return outcome, {p: (frames[p], joined[p]) for p in profiles}


def _inside(features: pl.DataFrame, start: int | None, end: int | None, window_s: int) -> Any:
    width = window_s * NS_PER_S
    keep = pl.lit(True)
    if start is not None:
        keep = keep & (pl.col("window_start_ns") >= start)
    if end is not None:
        keep = keep & (pl.col("window_start_ns") + width <= end)
    return features.filter(keep)


def candles_from_marks(db: Path, market: str, dataset: Dataset) -> Candles:
    """10-second bars (open/high/low/close) of the run's 1 s mid samples, for tick data."""
    from solbot.app.metrics import open_existing

    with open_existing(db) as ledger:
        marks = ledger.marks(market)
    if len(marks) < 2:
        raise InvalidInput(f"{dataset.name}: too few book updates to measure the market")
    frame = (
        pl.DataFrame({"ts_ns": [m[0] for m in marks], "mid": [m[1] for m in marks]})
        .with_columns((pl.col("ts_ns") // TICK_BAR_NS * TICK_BAR_NS).alias("open_ns"))
        .group_by("open_ns")
        .agg(
            pl.col("mid").sort_by("ts_ns").first().alias("open"),
            pl.col("mid").max().alias("high"),
            pl.col("mid").min().alias("low"),
            pl.col("mid").sort_by("ts_ns").last().alias("close"),
        )
        .sort("open_ns")
    )
    return Candles(
        paths=dataset.paths,
        bar_ns=TICK_BAR_NS,
        open_ns=frame["open_ns"].to_numpy().astype(np.int64),
        open=frame["open"].to_numpy().astype(np.float64),
        high=frame["high"].to_numpy().astype(np.float64),
        low=frame["low"].to_numpy().astype(np.float64),
        close=frame["close"].to_numpy().astype(np.float64),
    )


def _label(labels: pl.DataFrame, frame: pl.DataFrame, fees: Sequence[FeeSchedule]) -> Any:
    """Every labelled window with the profile's PnL there (zero where it had none)."""
    pnl_columns = [c for c in frame.columns if c not in labels.columns or c == "window_start_ns"]
    joined = labels.join(frame.select(pnl_columns), on="window_start_ns", how="left")
    zero = [
        c
        for c in pnl_columns
        if c != "window_start_ns" and not (c.startswith("markout_") and c.endswith("_bps"))
    ]
    return joined.with_columns(pl.col(c).fill_null(0) for c in zero)


def _compare(
    name: str,
    paths: tuple[str, ...],
    mode: str,
    window_s: int,
    span: tuple[int, int],
    edges: tuple[float, float] | None,
    options: OutcomeOptions,
    judge: FeeSchedule,
    frames: dict[str, pl.DataFrame],
    joined: dict[str, pl.DataFrame],
) -> DatasetOutcome:
    columns = [s.column for s in options.fees]
    buckets = {
        p: bucket_table(j, "trend_x_vol", ["net_pnl_usd", *columns]) for p, j in joined.items()
    }
    worst = worst_bucket(buckets[options.baseline], judge.column)
    outcomes = [
        _profile_outcome(p, frames[p], joined[p], buckets[p], options.fees, judge, worst)
        for p in frames
    ]
    return DatasetOutcome(name, paths, mode, window_s, span, edges, worst, outcomes)


def worst_bucket(rows: list[dict[str, Any]], column: str) -> dict[str, Any] | None:
    """The bucket where the baseline lost most (lowest net sum); None when it lost nowhere."""
    losing = [r for r in rows if r[column] < 0]
    if not losing:
        return None
    worst = min(losing, key=lambda r: r[column])
    return {"bucket": worst["bucket"], "net_usd": worst[column], "windows": worst["windows"]}


def loss_cut(baseline_net: float, net: float) -> float:
    """Share of the baseline's loss avoided: 1 = no loss left, 0 = the same, < 0 = worse."""
    return (net - baseline_net) / -baseline_net


def _profile_outcome(
    profile: str,
    frame: pl.DataFrame,
    labelled: pl.DataFrame,
    buckets: list[dict[str, Any]],
    fees: Sequence[FeeSchedule],
    judge: FeeSchedule,
    worst: dict[str, Any] | None,
) -> ProfileOutcome:
    volume = float(frame["volume_usd"].sum()) if frame.height else 0.0
    net = {s.label: float(frame[s.column].sum()) if frame.height else 0.0 for s in fees}
    cut = None
    if worst is not None:
        mine = next((r[judge.column] for r in buckets if r["bucket"] == worst["bucket"]), 0.0)
        cut = loss_cut(worst["net_usd"], mine)
    day_nets = {s.label: daily_nets(labelled, s.column) for s in fees}
    days = len(next(iter(day_nets.values()))) if day_nets else 0
    return ProfileOutcome(
        profile=profile,
        fills=int(frame["fills"].sum()) if frame.height else 0,
        volume_usd=volume,
        net_usd=net,
        net_per_volume_bps={k: v / volume * 1e4 if volume else None for k, v in net.items()},
        days=days,
        days_nonnegative_share={
            k: (sum(1 for v in values if v >= 0) / len(values)) if values else None
            for k, values in day_nets.items()
        },
        max_drawdown_usd={s.label: max_drawdown(labelled, s.column) for s in fees},
        buckets=buckets,
        baseline_worst_cut=cut,
    )


def daily_nets(frame: pl.DataFrame, column: str) -> list[float]:
    """Net per UTC day of the labelled windows (days without fills count, at zero)."""
    if frame.is_empty():
        return []
    days = frame.group_by(pl.col("window_start_ns") // DAY_NS).agg(pl.col(column).sum())
    return [float(v) for v in days[column].to_list()]


def max_drawdown(frame: pl.DataFrame, column: str) -> float:
    """Largest fall of the cumulative net from its running peak (peak starts at 0), >= 0."""
    if frame.is_empty():
        return 0.0
    cumulative = np.cumsum(frame.sort("window_start_ns")[column].to_numpy())
    peak = np.maximum.accumulate(np.maximum(cumulative, 0.0))
    return float(np.max(peak - cumulative))

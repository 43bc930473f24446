#!/usr/bin/env python3
"""Issue 10 target 2: bar mode end to end on a year of 1-minute SOL candles, every shipped profile.

The year is made of the shared Binance SOLUSDT 1-minute windows (spot 2021-2025, then USD-M perp)
laid end to end on one continuous minute grid starting 2024-01-01; each window is rescaled so it
opens at the previous window's close (relative moves kept, no jump between windows). It is written
as one gzip CSV and replayed by `python -m solbot simulate --profile P --data YEAR.csv.gz` as a
fresh process per profile. Synthetic events are the `events` of solbot's own summary.
Usage: python scripts/bench_bars.py [--bars 525600] [--profiles defensive,aggressive,...]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path

import polars as pl
from benchlib import (
    DEFAULT_SHARED,
    ROOT,
    data_folder,
    load_note,
    rate,
    run_measured,
    solbot_command,
    write_csv_gz,
)

TARGET_EVENTS_PER_S = 1_000_000
MINUTE_MS = 60_000
YEAR_START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WINDOWS = ("binance_spot_SOLUSDT_1m_*.csv.gz", "binance_usdm_perp_SOLUSDT_1m_*.csv.gz")
PRICES = ("open", "high", "low", "close")


def year_of_candles(shared: Path, bars: int) -> pl.DataFrame:
    """`bars` consecutive 1-minute candles from the shared windows, chained and re-timed."""
    folder = data_folder(shared, "klines_1m")
    paths = [path for pattern in WINDOWS for path in sorted(folder.glob(pattern))]
    if not paths:
        raise SystemExit(f"shared candles not found under {folder}")
    parts: list[pl.DataFrame] = []
    total, previous_close = 0, None
    while total < bars:
        for path in paths:
            window = pl.read_csv(path, schema_overrides={name: pl.Float64 for name in PRICES})
            if previous_close is not None:
                factor = previous_close / window["open"][0]
                window = window.with_columns([(pl.col(name) * factor).round(2) for name in PRICES])
            previous_close = window["close"][-1]
            parts.append(window.select(["open", "high", "low", "close", "volume"]))
            total += window.height
            if total >= bars:
                break
    candles = pl.concat(parts).head(bars)
    times = pl.int_range(0, bars, eager=True, dtype=pl.Int64) * MINUTE_MS + YEAR_START_MS
    utc = pl.from_epoch(times, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return candles.with_columns(open_time_ms=times, open_time_utc=utc).select(
        ["open_time_ms", "open_time_utc", *PRICES, "volume"]
    )


def child_cpu_s() -> float:
    """User + system CPU seconds of this script's finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_decision_us(in_loop_s: float, decisions: int) -> float:
    """The replay loop's time per decision: nearly every synthetic tick decides in bar mode."""
    return in_loop_s / decisions * 1e6 if decisions else 0.0


def shipped_profiles() -> list[str]:
    """Every profile file shipped in the checkout's profiles/ folder."""
    return sorted(path.stem for path in (ROOT / "profiles").glob("*.yaml"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=525_600, help="1-minute bars (a year: 525,600)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--profiles", help="comma-separated (default: every shipped profile)")
    args = parser.parse_args()
    profiles = args.profiles.split(",") if args.profiles else shipped_profiles()
    with tempfile.TemporaryDirectory(prefix="bench-bars-") as scratch:
        folder = Path(scratch)
        candles = year_of_candles(args.shared, args.bars)
        path = write_csv_gz(candles, folder / "binance_spot_SOLUSDT_1m_bench-year.csv.gz")
        print(
            f"data: {candles.height:,} 1-minute SOL candles "
            f"({candles.height / 525_600:.2f} years), "
            "shared Binance windows chained end to end (bar mode is coarse)"
        )
        print(f"{'profile':<12}{'synthetic events':>18}{'events/s':>12}{'wall s':>9}"
              f"{'in-loop s':>11}{'cpu s':>8}{'peak MB':>9}{'fills':>8}{'decisions':>11}"
              f"{'us/decision':>13}{'ratio to 1 M/s':>16}")  # fmt: skip
        for profile in profiles:
            out = folder / f"run-{profile}"
            before = child_cpu_s()
            measured = run_measured(
                solbot_command(
                    "simulate",
                    "--profile",
                    profile,
                    "--data",
                    str(path),
                    "--out",
                    str(out),
                    "--json",
                )
            )
            if measured.returncode != 0:
                print(
                    f"{profile:<12}failed ({measured.returncode}): {measured.stderr.strip()[-300:]}"
                )
                continue
            cpu_s = child_cpu_s() - before  # the whole process: less disturbed by a busy box
            summary = json.loads(measured.stdout)
            events_per_s = rate(summary["events"], measured.wall_s)
            print(
                f"{profile:<12}{summary['events']:>18,}{events_per_s:>12,.0f}{measured.wall_s:>9.1f}"
                f"{summary['wall_s']:>11.1f}{cpu_s:>8.1f}{measured.peak_rss_mb:>9,.0f}{summary['fills']:>8,}"
                f"{summary['decisions']:>11,}"
                f"{per_decision_us(summary['wall_s'], summary['decisions']):>13.0f}"
                f"{events_per_s / TARGET_EVENTS_PER_S:>16.3f}"
            )
    print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Issue 10 target 4: a sweep of 8 parameter points on 2 workers is >= 1.8x faster than on 1.

Runs the same 8-point grid (quoting.spread_bps) of `solbot sweep` with 1 worker (in process) and
with 2 worker processes (and, with --ray, on a local Ray instance), checks that the result tables
are identical and prints the wall times and the speed-up. Data: the first --days days of the
shared SOLUSDT 1-minute candles of January 2023 (bar mode, ~1.3 s of replay per point per day),
else the bundled sample (points of ~0.2 s: pool start-up then dominates; say so when quoting).
Usage: .venv/bin/python scripts/bench_sweep.py [--shared ../shared/data] [--days 2] [--ray]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from solbot.adapters.data import sample_paths
from solbot.app.simulate import SimulationRequest
from solbot.app.sweep import (
    SUMMARY_FIGURES,
    Executor,
    SweepPlan,
    grid_points,
    parse_grid,
    process_executor,
    ray_executor,
    run_sweep,
    serial_executor,
)
from solbot.core.objective import compile_objective

CANDLES = "klines_1m/binance_spot_SOLUSDT_1m_20230101-20230128.csv.gz"
START_NS = 1_672_531_200_000_000_000  # 2023-01-01T00:00Z
DAY_NS = 86_400 * 1_000_000_000
GRID = "quoting.spread_bps=6,7,8,9,10,11,12,13"
TARGET = 1.8


def base_request(shared: Path, days: float) -> SimulationRequest:
    candles = shared / CANDLES
    if not candles.is_file():
        return SimulationRequest("defensive", tuple(sample_paths()))
    end_ns = START_NS + int(days * DAY_NS)
    return SimulationRequest("defensive", (candles,), start_ns=START_NS, end_ns=end_ns)


def timed(base: SimulationRequest, executor: Executor, out: Path) -> tuple[float, bytes]:
    plan = SweepPlan(
        base=base,
        points=tuple(grid_points([parse_grid(GRID)])),
        objective=compile_objective("net_pnl_usd", SUMMARY_FIGURES),
        out_dir=out,
    )
    started = time.perf_counter()
    report = run_sweep(plan, executor)
    elapsed = time.perf_counter() - started
    assert not report.interrupted and len(report.rows) == 8
    return elapsed, (out / "results.csv").read_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--ray", action="store_true", help="also time a local Ray instance")
    parser.add_argument("--repeat", type=int, default=1, help="best of N timings per mode")
    parser.add_argument("--days", type=float, default=2.0, help="days of candles per point")
    args = parser.parse_args()
    base = base_request(args.shared, args.days)
    modes: list[tuple[str, Executor]] = [
        ("1 worker", serial_executor),
        ("2 workers", process_executor(2)),
    ]
    if args.ray:
        modes.append(("ray (local, 2 CPUs)", ray_executor("auto", 2)))
    window = "" if base.end_ns is None else f" (first {args.days:g} days)"
    names = ", ".join(path.name for path in base.data)
    print(f"data: {names}{window}; grid {GRID} (8 points)")
    print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
    times: dict[str, float] = {}
    tables: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.repeat):
            for name, executor in modes:
                out = Path(scratch) / f"{round_}-{name.split()[0]}"
                elapsed, table = timed(base, executor, out)
                times[name] = min(times.get(name, elapsed), elapsed)
                tables[name] = table
    for name, elapsed in times.items():
        print(f"{name:>20}: {elapsed:6.2f} s (best of {args.repeat})")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the cores skews the ratio)")
    identical = len(set(tables.values())) == 1
    print(f"tables identical across modes: {identical}")
    ratio = times["1 worker"] / times["2 workers"]
    verdict = "meets" if ratio >= TARGET else "MISSES"
    print(f"speed-up 2 workers / 1 worker: {ratio:.2f}x (target >= {TARGET}x: {verdict})")
    return 0 if identical else 1  # a missed speed target is a measurement, not a failure


if __name__ == "__main__":
    sys.exit(main())

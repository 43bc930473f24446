#!/usr/bin/env python3
"""Issue 10 target 4: 8 parameter points on 2 workers vs 1 worker (target >= 1.8x faster).

solbot has no sweep command yet, so a sweep is 8 `python -m solbot simulate` processes run through
a pool of N workers (each worker starts the next simulate when its previous one exits): the
shipped profiles x 2 fill-model seeds (probabilistic queue) on the same L1 data (the shared
Binance ETHUSDT 2024-08-08 capture, copies shifted in time up to --events). Each point writes its
own summary, trace and ledger. The script checks that both pool sizes gave the same trace hashes,
and prints the CPU the simulates used: "cores busy" below the worker count means the processes
waited for CPUs other jobs held (the speed-up then measures the machine's load, not solbot).
Usage: python scripts/bench_sweep.py [--events 200000] [--points 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_bars import shipped_profiles
from benchlib import (
    DEFAULT_SHARED,
    L1_MARKET,
    Measured,
    l1_copies,
    load_note,
    run_measured,
    solbot_command,
)
from benchlib import write_l1_files as write_files

TARGET_SPEEDUP = 1.8


def points(count: int) -> list[tuple[str, int]]:
    """(profile, seed) pairs: every shipped profile, then the next seed, until `count`."""
    profiles = shipped_profiles()
    return [(profiles[index % len(profiles)], index // len(profiles)) for index in range(count)]


def one_point(point: tuple[str, int], paths: list[Path], out: Path) -> Measured:
    """One simulate as its own process."""
    profile, seed = point
    data = [argument for path in paths for argument in ("--data", str(path))]
    command = solbot_command(
        "simulate", "--profile", profile, *data, "--data-market", L1_MARKET,
        "--queue-model", "probabilistic", "--seed", str(seed),
        "--out", str(out / f"{profile}-{seed}"), "--json",
    )  # fmt: skip
    return run_measured(command)


def sweep(
    grid: list[tuple[str, int]], paths: list[Path], out: Path, workers: int
) -> tuple[float, float, list[Measured]]:
    """Wall time and the children's CPU seconds of the whole sweep on `workers` processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(lambda point: one_point(point, paths, out), grid))
    wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    failed = [run for run in runs if run.returncode != 0]
    if failed:
        raise SystemExit(f"a simulate failed ({failed[0].returncode}):\n{failed[0].stderr}")
    return wall_s, cpu_s, runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args()
    grid = points(args.points)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as scratch:
        folder = Path(scratch)
        data = l1_copies(args.shared, args.events)
        paths = write_files(data, folder / "data")
        print(
            f"data: {data.events:,} L1 events ({data.copies} copies shifted in time); "
            f"{len(grid)} points: {', '.join(f'{p}/seed {s}' for p, s in grid)}; "
            f"{os.cpu_count()} CPUs"
        )
        serial_s, serial_cpu_s, serial = sweep(grid, paths, folder / "one", 1)
        parallel_s, parallel_cpu_s, parallel = sweep(grid, paths, folder / "many", args.workers)
    hashes = [json.loads(run.stdout)["trace_sha256"] for run in serial]
    same = hashes == [json.loads(run.stdout)["trace_sha256"] for run in parallel]
    peak = max(run.peak_rss_mb for run in parallel)
    speedup = serial_s / parallel_s
    print(
        f"1 worker:  {serial_s:7.2f} s  ({serial_s / len(grid):.2f} s per point; "
        f"CPU {serial_cpu_s:.1f} s, {serial_cpu_s / serial_s:.2f} cores busy)"
    )
    print(
        f"{args.workers} workers: {parallel_s:7.2f} s  (CPU {parallel_cpu_s:.1f} s, "
        f"{parallel_cpu_s / parallel_s:.2f} cores busy; peak RSS per simulate {peak:,.0f} MB)"
    )
    print(f"trace hashes identical across pool sizes: {same}")
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "MISSES"
    print(f"speed-up {speedup:.2f}x  target >= {TARGET_SPEEDUP}x: {verdict}")
    print(load_note())
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Wall time of `solbot --help` (a fresh interpreter each run): median and best of N runs.

    python scripts/bench_startup.py [--runs 10] [-- ARGS...]

Runs `python -m solbot ARGS` (default `--help`) with this interpreter, output discarded."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def time_runs(args: list[str], runs: int) -> list[float]:
    """Seconds per run of `python -m solbot ARGS`."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "solbot", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("args", nargs="*", default=["--help"])
    options = parser.parse_args()
    time_runs(options.args, 1)  # warm the file cache
    python = []
    for _ in range(options.runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        python.append(time.perf_counter() - started)
    times = time_runs(options.args, options.runs)
    print(
        f"solbot {' '.join(options.args)}: median {statistics.median(times):.3f} s, "
        f"best {min(times):.3f} s over {options.runs} runs "
        f"(bare python -c pass: median {statistics.median(python):.3f} s)"
    )


if __name__ == "__main__":
    main()

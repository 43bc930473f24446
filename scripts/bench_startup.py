#!/usr/bin/env python3
"""Start-up of the CLI (issue 8; issue 10 target 6): a fresh interpreter per run, median and best.

    python scripts/bench_startup.py [--runs 10] [ARGS...]

Without ARGS: `solbot --help` (target <= 0.3 s) and `solbot rules check` (target <= 1 s); with
ARGS, `python -m solbot ARGS` alone. Each runs --runs times after one run that warms the file
cache; the floor is a bare `python -c pass` measured in the same run, so the ratio says how much
of the start-up is solbot's own imports and work. Peak RSS is the largest over the runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys

from benchlib import Measured, load_note, run_measured, solbot_command

TARGETS_S = {"--help": 0.3, "rules check": 1.0}


def timed_runs(command: list[str], runs: int) -> tuple[float, float, float]:
    """Median and best wall seconds and the largest peak RSS (MB) over `runs` runs."""
    measured: list[Measured] = []
    for _ in range(runs):
        run = run_measured(command)
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited {run.returncode}:\n{run.stderr}")
        measured.append(run)
    walls = [run.wall_s for run in measured]
    return statistics.median(walls), min(walls), max(run.peak_rss_mb for run in measured)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("args", nargs="*", help="one solbot command line (default: the targets)")
    options = parser.parse_args()
    commands = {" ".join(options.args): None} if options.args else dict(TARGETS_S)
    timed_runs(solbot_command(*next(iter(commands)).split()), 1)  # warm the file cache
    floor_s, floor_best_s, floor_mb = timed_runs([sys.executable, "-c", "pass"], options.runs)
    print(
        f"floor: python -c pass        median {floor_s:6.3f} s  best {floor_best_s:6.3f} s  "
        f"(peak RSS {floor_mb:,.0f} MB)"
    )
    for name, target_s in commands.items():
        median_s, best_s, peak_mb = timed_runs(solbot_command(*name.split()), options.runs)
        line = (
            f"solbot {name:<22}median {median_s:6.3f} s  best {best_s:6.3f} s  "
            f"(peak RSS {peak_mb:,.0f} MB)  {median_s / floor_s:5.1f}x the floor"
        )
        if target_s is not None:
            verdict = "meets" if median_s <= target_s else "MISSES"
            line += f"  target <= {target_s} s: {verdict}"
        print(line)
    if importlib.util.find_spec("pandas") is not None:
        # sqlite-utils imports pandas at import time whenever it is installed (hftbacktest's
        # plotting dependencies pull it into a venv with the bench extra).
        pandas_s, _, _ = timed_runs([sys.executable, "-c", "import pandas"], options.runs)
        print(
            f"note: pandas is installed, and sqlite-utils imports it when solbot opens a ledger: "
            f"python -c 'import pandas' takes {pandas_s:.3f} s"
        )
    print(f"{options.runs} runs each; {load_note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check that two checkouts give the same results: same trace, summary and ledger rows.

Runs `python -m solbot simulate` from each checkout (each on its own PYTHONPATH) on the same
inputs and compares: the decompressed trace bytes, `summary.json` without wall time, rates and
paths, and every ledger table's rows without run id, start time and migration time. Prints each
simulate's CPU seconds too (old, new, ratio). Exit status 1 when anything differs.
Usage: python scripts/compare_runs.py OLD_ROOT NEW_ROOT [--year FILE] [--l1 DIR] [CASE ...]
(export the old tree with `git archive COMMIT | tar -x -C DIR`; `--year` is a bench_bars year
file, `--l1` a folder of bench_anchors' bookticker and trades files; cases without their input
are skipped).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[1] / "solbot" / "resources" / "sample"
L1_SAMPLE = "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
L1_MARKET = "binance-usdm:ETHUSDT"
PROFILES = ("aggressive", "base", "defensive", "naive")
VOLATILE = {"wall_s", "events_per_s", "out_dir", "db"}  # differ between any two runs
VOLATILE_COLUMNS = {"run_id", "applied_at", "started_ns"}


def cases(year: Path | None, l1: Path | None) -> dict[str, list[str]]:
    """Case name -> simulate arguments (without --out)."""
    found: dict[str, list[str]] = {}
    if year is not None:
        for profile in PROFILES:
            found[f"bars-{profile}"] = ["--profile", profile, "--data", str(year)]
    day = SAMPLE / "binance_usdm_perp_SOLUSDT_1m_20250519.csv.gz"
    found["candle-day"] = ["--profile", "defensive", "--data", str(day)]
    found["l1-sample"] = [
        "--profile", "defensive",
        "--data", str(SAMPLE / f"{L1_SAMPLE}_bookticker.csv.gz"),
        "--data", str(SAMPLE / f"{L1_SAMPLE}_trades.csv.gz"),
        "--data-market", L1_MARKET,
    ]  # fmt: skip
    if l1 is not None:
        data = [arg for path in sorted(l1.glob("*.csv.gz")) for arg in ("--data", str(path))]
        found["l1-set"] = ["--profile", "defensive", *data, "--data-market", L1_MARKET]
    return found


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def simulate(root: Path, arguments: list[str], out: Path) -> float:
    """Run the checkout's simulate; its CPU seconds."""
    before = children_cpu_s()
    done = subprocess.run(
        [sys.executable, "-m", "solbot", "simulate", *arguments, "--out", str(out), "--json"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"simulate in {root} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return children_cpu_s() - before


def digests(out: Path) -> dict[str, str]:
    """Hashes of the run's results: trace content, summary and ledger rows."""
    trace = hashlib.sha256(gzip.decompress((out / "trace.jsonl.gz").read_bytes())).hexdigest()
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    kept = {
        key: value
        for key, value in summary.items()
        if key not in VOLATILE and not (isinstance(value, str) and str(out) in value)
    }
    ledger = hashlib.sha256()
    with sqlite3.connect(out / "ledger.db") as db:
        tables = [
            row[0]
            for row in db.execute("select name from sqlite_master where type='table' order by name")
        ]
        run_ids = run_ids_in(db, tables)
        for table in tables:
            columns = [
                row[1] for row in db.execute(f"pragma table_info([{table}])")
                if row[1] not in VOLATILE_COLUMNS
            ]  # fmt: skip
            selected = ",".join(f"[{column}]" for column in columns)
            for row in db.execute(f"select {selected} from [{table}] order by rowid"):
                kept_row = tuple("RUN" if value in run_ids else value for value in row)
                ledger.update(repr((table, kept_row)).encode().replace(str(out).encode(), b"OUT"))
    text = json.dumps(kept, sort_keys=True).encode()
    return {
        "trace": trace,
        "summary": hashlib.sha256(text).hexdigest(),
        "ledger": ledger.hexdigest(),
    }


def run_ids_in(db: sqlite3.Connection, tables: list[str]) -> set[str]:
    """Every run id the ledger holds: other columns refer to them (`fill_streams.same_as`)."""
    found: set[str] = set()
    for table in tables:
        columns = [row[1] for row in db.execute(f"pragma table_info([{table}])")]
        if "run_id" in columns:
            found.update(
                row[0] for row in db.execute(f"select distinct run_id from [{table}]") if row[0]
            )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--year", type=Path, help="a bench_bars year file (1-minute candles)")
    parser.add_argument("--l1", type=Path, help="a folder of L1 bookticker and trades files")
    parser.add_argument("cases", nargs="*", help="default: every case with its input")
    args = parser.parse_args()
    available = cases(args.year, args.l1)
    unknown = sorted(set(args.cases) - set(available))
    if unknown:
        print(f"unknown or unavailable case: {', '.join(unknown)}", file=sys.stderr)
        return 2
    same = True
    with tempfile.TemporaryDirectory(prefix="compare-runs-") as scratch:
        for name in args.cases or list(available):
            outs = Path(scratch) / name / "old", Path(scratch) / name / "new"
            old_cpu = simulate(args.old.resolve(), available[name], outs[0])
            new_cpu = simulate(args.new.resolve(), available[name], outs[1])
            old, new = digests(outs[0]), digests(outs[1])
            verdicts = " ".join(
                f"{key} {'same' if old[key] == new[key] else 'DIFFERS'}" for key in old
            )
            same &= old == new
            print(
                f"{name:<16}{verdicts}  CPU s {old_cpu:.2f} -> {new_cpu:.2f} "
                f"({new_cpu / old_cpu:.3f})",
                flush=True,
            )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(("all the same" if same else "DIFFERENCES"), f"(load average {load})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

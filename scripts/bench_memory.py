#!/usr/bin/env python3
"""A long `simulate` replay end to end (ledger, trace, report) with its peak memory.

The data are a shared Binance L1 capture (bookticker + trades) repeated as copies shifted in
time (scripts/bench_simulate.py's Repeated source) until --events is reached, replayed through
`run_simulation` exactly as `solbot simulate --report` does. Prints the peak RSS of the process
(resource.getrusage), the trace, ledger and report sizes and the wall time.
Usage: PYTHONPATH=. .venv/bin/python scripts/bench_memory.py [--events 10000000] [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_simulate import PAIRS, Repeated

import solbot.app.simulate as simulate_module
from solbot.adapters.data import EventChunk, open_events
from solbot.app.report import write_report
from solbot.app.simulate import SimulationRequest, run_simulation
from solbot.config.markets import resolve_market


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RepeatedSource(Repeated):
    """Repeated, plus what run_simulation asks of an event source."""

    feed_heartbeat_ns = 0

    def chunks(self, chunk_rows: int = 262_144) -> Any:  # type: ignore[override]
        return super().chunks(chunk_rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--profile", default="defensive")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: a temp dir)")
    args = parser.parse_args()
    folder = args.shared / "orderbook_trades" / "flat"
    paths = [folder / f"{PAIRS[0]}_bookticker.csv.gz", folder / f"{PAIRS[0]}_trades.csv.gz"]
    if not all(path.exists() for path in paths):
        print(f"shared data not found under {folder}", file=sys.stderr)
        return 2
    source_market = resolve_market("binance-usdm:ETHUSDT").spec
    events = open_events(paths, source_market)
    chunk = EventChunk.concat(list(events.chunks()))
    copies = -(-args.events // len(chunk))
    source = RepeatedSource(chunk, copies, events.files)
    print(f"data: {PAIRS[0]} ({len(chunk):,} events) x {copies} = {source.count():,} events")
    print(f"peak RSS after loading the capture: {peak_rss_mb():.0f} MB")
    simulate_module.open_events = lambda *_args, **_kwargs: source  # type: ignore[assignment]
    out = args.out or Path(tempfile.mkdtemp(prefix="solbot-bench-memory-"))
    marks = [2_000_000 * step for step in range(1, 6)]

    def progress(done: int, total: int) -> None:
        while marks and done >= marks[0]:
            print(f"  {marks.pop(0):>11,} events: peak RSS {peak_rss_mb():.0f} MB", flush=True)

    started = time.perf_counter()
    result = run_simulation(
        SimulationRequest(
            profile=args.profile,
            data=tuple(paths),
            data_market="binance-usdm:ETHUSDT",
            market="lighter:SOL",
            out_dir=out,
        ),
        progress,
    )
    replay_s = time.perf_counter() - started
    report = write_report(result)
    total_s = time.perf_counter() - started
    summary = result.summary
    print(
        f"replayed {summary['events']:,} events, {summary['decisions']:,} decisions, "
        f"{summary['fills']:,} fills in {replay_s:.0f} s (with report {total_s:.0f} s)"
    )
    for label, path in (
        ("trace", result.trace_path),
        ("ledger", result.db_path),
        ("report", report),
    ):
        print(f"{label}: {path.stat().st_size / 1e6:.1f} MB ({path})")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Replay >= 1M events with the shipped `defensive` profile and compare with a floor loop.

The data are the shared Binance L1 captures (bookticker + trades), concatenated as copies
shifted in time so the stream is long enough; without the shared folder (a fresh clone), the
bundled sample, which is the same ETHUSDT 2024-08-08 capture. The floor loop reads the same
chunks, converts them to Python lists and iterates every row doing nothing: the cost no replay
can avoid.
Usage: .venv/bin/python scripts/bench_simulate.py [--events 1000000] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import load_note

from solbot.adapters.data import EventChunk, open_events, sample_paths
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.driver import Driver, replay
from solbot.app.session import Session
from solbot.app.simulate import PriceMapping
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import resolve_market
from solbot.core.clock import ReplayClock

PAIRS = (
    "binance_usdm_ETHUSDT_20240808T2354-20240808T2359",
    "binance_usdm_ETHUSDT_20240718T2357-20240719T0005",
)


class Repeated:
    """An event source made of copies of one capture, each shifted past the previous copy."""

    def __init__(self, chunk: EventChunk, copies: int, files: tuple) -> None:
        self.chunk = chunk
        self.copies = copies
        self.files = files
        self.coarse = False
        self.span = int(chunk.ts_ns[-1] - chunk.ts_ns[0]) + 1_000_000_000

    def count(self) -> int:
        return len(self.chunk) * self.copies

    def chunks(self, chunk_rows: int = 262_144):
        for copy in range(self.copies):
            shift = np.int64(copy * self.span)
            for start in range(0, len(self.chunk), chunk_rows):
                part = self.chunk.slice(start, start + chunk_rows)
                columns = part.columns()
                columns["ts_ns"] = columns["ts_ns"] + shift
                columns["exchange_ts_ns"] = columns["exchange_ts_ns"] + shift
                yield EventChunk.from_columns(columns)


def floor_loop(source: Repeated, mapping: PriceMapping) -> int:
    """Read, convert and iterate every event exactly as the replay does, doing nothing with it."""
    count = 0
    for chunk in source.chunks():
        for row in mapping.columns(chunk).rows():
            count += 1 if row else 0
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--profile", default="defensive")
    args = parser.parse_args()
    folder = args.shared / "orderbook_trades" / "flat"
    pair = PAIRS[0]
    paths = [folder / f"{pair}_bookticker.csv.gz", folder / f"{pair}_trades.csv.gz"]
    if not all(path.exists() for path in paths):
        paths = sample_paths()
        print(f"shared data not found under {folder}: using the bundled sample", file=sys.stderr)
    source_market = resolve_market("binance-usdm:ETHUSDT").spec
    events = open_events(paths, source_market)
    chunk = EventChunk.concat(list(events.chunks()))
    copies = -(-args.events // len(chunk))
    repeated = Repeated(chunk, copies, events.files)
    target_entry = resolve_market("lighter:SOL")
    target = target_entry.spec_for_tier("standard")
    mapping = PriceMapping.build(events, source_market, target, None)
    print(
        f"data: {pair} ({len(chunk):,} events) x {copies} copies shifted in time "
        f"= {repeated.count():,} events"
    )

    started = time.perf_counter()
    floor_count = floor_loop(repeated, mapping)
    floor_s = time.perf_counter() - started

    resolved = resolve_profile(args.profile, ConfigDir.find())
    policy = compile_policy(resolved, target)
    tier = target_entry.tiers["standard"]
    settings = FillModelSettings(
        order_latency_ms=tier.order_latency_ms,
        cancel_latency_ms=tier.cancel_latency_ms,
        taker_latency_ms=tier.taker_latency_ms,
        tx_per_minute=tier.tx_per_minute,
    )
    runs = {}
    for bulk in (False, True):
        session = Session(policy, market_key=target_entry.key)
        venue = SimulatedExchange(target, settings, session)
        session.attach(venue)
        started = time.perf_counter()
        driver = Driver(session, venue, ReplayClock())
        replay(driver, (mapping.columns(chunk) for chunk in repeated.chunks()), bulk=bulk)
        runs[bulk] = (time.perf_counter() - started, session, venue.stats())
    rows_s, rows_session, rows_venue = runs[False]
    replay_s, session, venue_stats = runs[True]
    if venue_stats != rows_venue or session.stats.decisions != rows_session.stats.decisions:
        raise SystemExit("the bulk replay and the event-by-event replay differ")

    floor_rate = floor_count / floor_s
    replay_rate = repeated.count() / replay_s
    rows_rate = repeated.count() / rows_s
    print(f"floor loop (read + iterate):  {floor_rate:>12,.0f} events/s  ({floor_s:.2f} s)")
    print(f"replay event by event:        {rows_rate:>12,.0f} events/s  ({rows_s:.2f} s)")
    print(f"simulate --profile {args.profile}: {replay_rate:>12,.0f} events/s  ({replay_s:.2f} s)")
    print(f"replay / floor ratio:         {replay_rate / floor_rate:.3f}")
    print(f"bulk / event-by-event ratio:  {replay_rate / rows_rate:.3f}")
    print(
        f"decisions: {session.stats.decisions:,}  fills: {session.stats.fills}  "
        f"commands: {session.stats.commands:,}"
    )
    print(load_note())
    target_rate = 300_000
    verdict = "meets" if replay_rate >= target_rate else "MISSES"
    print(f"target >= {target_rate:,} events/s end to end: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

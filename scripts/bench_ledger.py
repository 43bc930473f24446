#!/usr/bin/env python3
"""Issue 10 target 5: the ledger at scale, against floors that only read or write the same rows.

Writes a Lighter /api/v1/trades JSON file of --fills of our trades (deterministic random walk,
maker and taker, buys and sells), then measures
  import:  `python -m solbot metrics import-json FILE --db NEW` as a process (target >= 100 k
           fills/s) and `solbot.app.metrics.import_trades` in-process; floor: json.load of the
           file + plain sqlite3 executemany of the same rows in one transaction;
  window:  `python -m solbot metrics window --json` over that ledger as a process (target
           <= 0.3 s), and `window_report` in-process; floor: sqlite3 `SELECT * FROM fills`;
           then the last 24 h (a window starting mid-history) the same two ways.
Usage: python scripts/bench_ledger.py [--fills 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from benchlib import load_note, rate, run_measured, solbot_command

from solbot.app.metrics import import_trades, window_report

US = 42
START_MS = 1_735_689_600_000  # 2025-01-01
IMPORT_TARGET_FILLS_PER_S = 100_000
WINDOW_TARGET_S = 0.3


def write_trades(path: Path, fills: int, seed: int = 10) -> None:
    """`fills` of our trades on market 2, one every 250 ms, price a bounded random walk."""
    generator = random.Random(seed)
    price = 150.0
    trades = []
    for index in range(fills):
        price = min(max(price + generator.choice((-0.01, 0.0, 0.01)), 100.0), 200.0)
        we_sell = generator.random() < 0.5
        trades.append(
            {
                "trade_id": 10_000_000 + index,
                "market_id": 2,
                "type": "trade",
                "price": f"{price:.3f}",
                "size": f"{generator.randint(1, 50) / 100:.3f}",
                "ask_account_id": US if we_sell else 7,
                "bid_account_id": 8 if we_sell else US,
                "is_maker_ask": generator.random() < 0.7,
                "maker_fee": 0,
                "taker_fee": 196,
                "timestamp": START_MS + index * 250,
            }
        )
    path.write_text(json.dumps({"trades": trades}, separators=(",", ":")))


def floor_import(source: Path, db: Path) -> float:
    """Seconds to parse the file and insert its rows with bare sqlite3 (no checks, no FIFO)."""
    started = time.perf_counter()
    trades = json.loads(source.read_text())["trades"]
    rows = [
        (
            t["trade_id"],
            t["timestamp"],
            t["price"],
            t["size"],
            t["ask_account_id"],
            t["is_maker_ask"],
        )
        for t in trades
    ]
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE fills (trade_id, ts, price, size, ask, maker_ask)")
    with connection:
        connection.executemany("INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?)", rows)
    connection.close()
    return time.perf_counter() - started


def floor_window(db: Path) -> float:
    """Seconds to read every fill row of the ledger with bare sqlite3."""
    started = time.perf_counter()
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = connection.execute("SELECT * FROM fills").fetchall()
    connection.close()
    assert rows
    return time.perf_counter() - started


def timed(action) -> float:  # type: ignore[no-untyped-def]
    """Seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fills", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as scratch:
        folder = Path(scratch)
        source = folder / "trades.json"
        write_trades(source, args.fills)
        size_mb = source.stat().st_size / 1e6
        print(f"data: {args.fills:,} of our fills in a Lighter trades JSON ({size_mb:,.0f} MB)")
        floor_s = floor_import(source, folder / "floor.db")
        db = folder / "ledger.db"
        command = solbot_command(
            "metrics", "import-json", str(source), "--account-index", str(US), "--db", str(db)
        )
        process = run_measured(command)
        if process.returncode != 0:
            raise SystemExit(f"import-json failed ({process.returncode}):\n{process.stderr}")
        in_process_s = timed(lambda: import_trades(folder / "again.db", source, account_index=US))
        report_import(args.fills, floor_s, process.wall_s, in_process_s, process.peak_rss_mb)
        floor_s = floor_window(db)
        process = run_measured(solbot_command("metrics", "window", "--json", "--db", str(db)))
        if process.returncode != 0:
            raise SystemExit(f"metrics window failed ({process.returncode}):\n{process.stderr}")
        in_process_s = timed(lambda: window_report(db))
        report_window(args.fills, floor_s, process.wall_s, in_process_s, process.peak_rss_mb)
        # A window that starts mid-history needs the FIFO state at its start as well.
        middle = solbot_command("metrics", "window", "--hours", "24", "--json", "--db", str(db))
        process = run_measured(middle)
        if process.returncode != 0:
            raise SystemExit(f"metrics window failed ({process.returncode}):\n{process.stderr}")
        in_process_s = timed(lambda: window_report(db, hours=24))
        print(
            f"metrics window --hours 24 --json (process): {process.wall_s:.3f} s; "
            f"in-process {in_process_s:.3f} s"
        )
    print(load_note())
    return 0


def report_import(fills: int, floor_s: float, process_s: float, app_s: float, peak: float) -> None:
    """Rates of the import, its floor and the target."""
    print(f"floor (json.load + sqlite3 executemany):   {rate(fills, floor_s):>10,.0f} fills/s")
    print(
        f"metrics import-json (process):             {rate(fills, process_s):>10,.0f} fills/s "
        f"({process_s:.2f} s, peak RSS {peak:,.0f} MB)"
    )
    print(f"import_trades (in-process, no start-up):   {rate(fills, app_s):>10,.0f} fills/s")
    verdict = "meets" if rate(fills, process_s) >= IMPORT_TARGET_FILLS_PER_S else "MISSES"
    print(
        f"import / floor: {floor_s / process_s:.3f}  "
        f"target >= {IMPORT_TARGET_FILLS_PER_S:,} fills/s: {verdict}"
    )


def report_window(fills: int, floor_s: float, process_s: float, app_s: float, peak: float) -> None:
    """Seconds of the all-time window, its floor and the target."""
    print(f"floor (sqlite3 SELECT * FROM fills, {fills:,} rows): {floor_s:.3f} s")
    print(f"metrics window --json (process): {process_s:.3f} s (peak RSS {peak:,.0f} MB)")
    print(f"window_report (in-process, no start-up): {app_s:.3f} s")
    verdict = "meets" if process_s <= WINDOW_TARGET_S else "MISSES"
    print(
        f"window / floor: {process_s / floor_s:.2f}  target <= {WINDOW_TARGET_S} s: {verdict} "
        f"(in-process {'meets' if app_s <= WINDOW_TARGET_S else 'MISSES'})"
    )


if __name__ == "__main__":
    sys.exit(main())

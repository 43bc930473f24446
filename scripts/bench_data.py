"""Read throughput of `open_events(...).chunks()` on the largest shared bookTicker+trades pair.

Prints events/s (best of three; the first, cold run too) of: the full reader (format detection,
sha256, polars parse, validation, clock fix, merge, chunking), the same events re-read from
solbot Parquet, and a floor measured in the same run: polars parsing the two CSV files with no
validation or merge. Without the shared data folder (a fresh clone) it reads the bundled sample
pair instead. Run: .venv/bin/python scripts/bench_data.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from solbot.adapters.data import open_events, sample_paths, write_parquet
from solbot.config.markets import select_market

FLAT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "orderbook_trades" / "flat"
ROUNDS = 3


def largest_pair() -> list[Path]:
    books = sorted(FLAT.glob("*_bookticker.csv.gz"))
    if not books:
        print(f"no captures under {FLAT}: using the bundled sample", file=sys.stderr)
        return sample_paths()

    def pair(book: Path) -> list[Path]:
        return [book, book.with_name(book.name.replace("_bookticker", "_trades"))]

    return max((pair(book) for book in books), key=lambda p: sum(f.stat().st_size for f in p))


def timed(work: Callable[[], int]) -> tuple[int, float, float]:
    """Events, cold seconds and best seconds over ROUNDS runs."""
    times, events = [], 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        events = work()
        times.append(time.perf_counter() - start)
    return events, times[0], min(times)


def main() -> None:
    paths = largest_pair()
    spec = select_market(paths, None).spec

    def reader() -> int:
        return sum(len(chunk) for chunk in open_events(paths, spec).chunks())

    def floor() -> int:
        return sum(pl.read_csv(path).height for path in paths)

    with tempfile.TemporaryDirectory() as folder:
        parquet = Path(folder) / "events.parquet"
        write_parquet(open_events(paths, spec), parquet)

        def parquet_reader() -> int:
            return sum(len(chunk) for chunk in open_events([parquet], spec).chunks())

        results = {
            "open_events(csv.gz).chunks()": timed(reader),
            "open_events(parquet).chunks()": timed(parquet_reader),
            "floor: polars.read_csv only": timed(floor),
        }
    print(f"files: {', '.join(path.name for path in paths)}")
    floor_best = results["floor: polars.read_csv only"][2]
    for name, (events, cold, best) in results.items():
        print(
            f"{name:<32} {events:>8,} events  best {events / best:>12,.0f} ev/s  "
            f"cold {events / cold:>12,.0f} ev/s  speed vs floor {floor_best / best:5.2f}x"
        )


if __name__ == "__main__":
    main()

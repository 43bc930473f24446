"""Helpers of the issue-10 benchmarks: data copies shifted in time, measured child processes.

Not a solbot module: the benchmark scripts import it from their own folder (`scripts/`).
"""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared" / "data"
BUNDLED_SAMPLE = ROOT / "solbot" / "resources" / "sample"
L1_PAIR = "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
L1_MARKET = "binance-usdm:ETHUSDT"
BOOK_TIME_COLUMNS = ("event_time_ms", "transaction_time_ms")
TRADE_TIME_COLUMNS = ("event_time_ms", "trade_time_ms")


@dataclass(frozen=True)
class Measured:
    """One child process: its wall time from spawn to exit, peak RSS, exit code and output."""

    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float = 0.0  # user + system CPU of the child (steadier than wall on a loaded box)


def run_measured(command: list[str], cwd: Path | None = None) -> Measured:
    """Run a command to completion, sampling its peak RSS (VmHWM) every 10 ms while it runs.

    Not getrusage/wait4: Linux carries a parent's peak RSS over fork and exec into the child's
    ru_maxrss, so a child of a big benchmark process would report the parent's peak. VmHWM belongs
    to the child's own address space; only growth in its last ~10 ms can be missed.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        peak_kib = 0
        status = Path(f"/proc/{child.pid}/status")
        while child.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(status))
            time.sleep(0.01)
        wall_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return Measured(wall_s, peak_kib / 1024, child.returncode, stdout, stderr, cpu_s)


def _high_water_kib(status: Path) -> int:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass  # the child exited between poll() and the read
    return 0


def solbot_command(*arguments: str) -> list[str]:
    """The CLI as a user runs it: a fresh interpreter, `python -m solbot ...`."""
    return [sys.executable, "-m", "solbot", *arguments]


@dataclass(frozen=True)
class L1Copies:
    """Bookticker and trades frames of one capture repeated `copies` times, shifted in time."""

    book: pl.DataFrame
    trades: pl.DataFrame
    copies: int
    source_events: int

    @property
    def events(self) -> int:
        """Rows solbot reads as events: book rows and ordinary (MARKET) trade prints."""
        return (
            self.book.height + self.trades.filter(pl.col("trade_type") != "INSURANCE_FUND").height
        )


def data_folder(shared: Path, part: str) -> Path:
    """`shared/part`, else the bundled sample (the same ETHUSDT pair, a day of SOL candles)."""
    folder = shared / part
    if folder.is_dir():
        return folder
    print(f"{folder} not found: using the bundled sample {BUNDLED_SAMPLE}", file=sys.stderr)
    return BUNDLED_SAMPLE


def read_l1_capture(shared: Path, pair: str = L1_PAIR) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both files of a capture as text columns (values are written back untouched)."""
    folder = data_folder(shared, "orderbook_trades/flat")
    paths = [folder / f"{pair}_bookticker.csv.gz", folder / f"{pair}_trades.csv.gz"]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise SystemExit(f"shared data not found: {', '.join(missing)}")
    book, trades = (pl.read_csv(path, infer_schema=False) for path in paths)
    return book, trades


def l1_copies(shared: Path, events: int, pair: str = L1_PAIR) -> L1Copies:
    """At least `events` rows: whole copies shifted past each other, or a prefix of one copy."""
    book, trades = read_l1_capture(shared, pair)
    one = L1Copies(book, trades, 1, 0).events
    if events < one:
        return _prefix(book, trades, events, one)
    copies = -(-events // one)
    start = min(_int(book, "local_ts_ns").min(), _int(trades, "local_ts_ns").min())  # type: ignore[type-var]
    end = max(_int(book, "local_ts_ns").max(), _int(trades, "local_ts_ns").max())  # type: ignore[type-var]
    span_ms = (int(end) - int(start)) // 1_000_000 + 1_000  # type: ignore[call-overload]
    id_span = int(_int(trades, "trade_id").max() - _int(trades, "trade_id").min()) + 1  # type: ignore[operator]
    books = [_shift(book, copy * span_ms, BOOK_TIME_COLUMNS) for copy in range(copies)]
    trade_parts = [
        _shift(trades, copy * span_ms, TRADE_TIME_COLUMNS, copy * id_span) for copy in range(copies)
    ]
    return L1Copies(pl.concat(books), pl.concat(trade_parts), copies, one)


def _prefix(book: pl.DataFrame, trades: pl.DataFrame, events: int, one: int) -> L1Copies:
    times = pl.concat([_int(book, "local_ts_ns"), _int(trades, "local_ts_ns")]).sort()
    cutoff = times[max(events, 1) - 1]
    keep = pl.col("local_ts_ns").cast(pl.Int64) <= cutoff
    return L1Copies(book.filter(keep), trades.filter(keep), 1, one)


def _int(frame: pl.DataFrame, column: str) -> pl.Series:
    return frame[column].cast(pl.Int64)


def _shift(
    frame: pl.DataFrame, shift_ms: int, ms_columns: tuple[str, ...], id_shift: int = 0
) -> pl.DataFrame:
    if shift_ms == 0:
        return frame
    updates = [
        (pl.col("local_ts_ns").cast(pl.Int64) + shift_ms * 1_000_000).cast(pl.String),
        *[(pl.col(name).cast(pl.Int64) + shift_ms).cast(pl.String) for name in ms_columns],
    ]
    if id_shift:
        updates.append((pl.col("trade_id").cast(pl.Int64) + id_shift).cast(pl.String))
    return frame.with_columns(updates)


def write_csv_gz(frame: pl.DataFrame, path: Path) -> Path:
    """The shared captures' own format: gzip-compressed CSV with a header.

    No name or time in the gzip header, so the same rows give the same bytes (and sha256) in
    every run; solbot's trace header still names the file's path, which is a fresh temp folder.
    """
    with path.open("wb") as raw, gzip.GzipFile("", "wb", 1, raw, mtime=0) as out:
        frame.write_csv(out)
    return path


def write_l1_files(data: L1Copies, folder: Path, pair: str = L1_PAIR) -> list[Path]:
    """Two files solbot reads as one stream (named like the shared captures)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_csv_gz(data.book, folder / f"{pair}-x{data.copies}_bookticker.csv.gz"),
        write_csv_gz(data.trades, folder / f"{pair}-x{data.copies}_trades.csv.gz"),
    ]


def rate(events: int, seconds: float) -> float:
    """Events per second, 0 for an empty run."""
    return events / seconds if seconds > 0 else 0.0


def load_note() -> str:
    """The machine's load, printed with every figure: the box is shared and ratios move with it."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"

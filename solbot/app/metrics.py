"""`solbot metrics`: PnL windows, totals, bucket exports, trade imports and resets of the ledger.

Windows end at the newest fill or mark in the ledger (not the wall clock) unless `until` is given,
so a report on yesterday's database reads the same today. Every report reads one run (`latest`
by default, the run recorded last) unless `run="all"` asks for every run, in which case FIFO lots
may be closed across runs and the report says so. Reading commands open the ledger read-only.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from solbot.adapters.storage.fill_totals import StreamState
from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.original_fills import read_original_fills
from solbot.adapters.storage.trade_import import read_lighter_trades
from solbot.app.ledger_location import DB_ENV, LATEST_RUN
from solbot.app.ledger_location import DEFAULT_DB as DEFAULT_DB  # re-exported
from solbot.app.metrics_compute import (
    BUCKET_COLUMNS,
    MARK_TOLERANCE_NS,
    MARKOUT_HORIZONS_S,
    Markouts,
    PriceHistory,
    RunScope,
    WindowEnds,
    WindowReport,
    assemble_window,
    compute_buckets,
    compute_window,
    data_span,
    markouts,
    no_markouts,
    unrealized_at,
)
from solbot.core.pnl import FifoBook
from solbot.core.times import parse_time_ns
from solbot.errors import RuntimeFailure, UsageError

DUMP_RECENT_HOURS = 6
IMPORT_BATCH_FILLS = 5_000
MAX_BUCKETS = 2_000_000
_INT_COLUMNS = {"bucket_start_ms", "window_seconds", "fills", "maker_fills", "taker_fills"}
_TEXT_COLUMNS = {"market", "mark_source"}
_NS_PER_S = 1_000_000_000


LATEST = LATEST_RUN
ALL = "all"


def open_existing(db: Path | str) -> Ledger:
    """Open a ledger that must already exist, read-only (reading commands never write)."""
    if not Path(db).is_file():
        raise RuntimeFailure(f"no ledger at {db} (pass --db or set {DB_ENV})")
    return Ledger(db, read_only=True)


def resolve_run(ledger: Ledger, run: str) -> RunScope:
    """`latest` (the run recorded last), `all`, or one run id; a ledger without runs reads all."""
    runs = ledger.runs()
    if run == ALL or (run == LATEST and not runs):
        first, last = ledger.run_span(None)
        return RunScope(None, None, None, first, last, len(runs), fifo_spans_runs=len(runs) > 1)
    chosen = ledger.latest_run_id() if run == LATEST else run
    row = next((r for r in runs if r["run_id"] == chosen), None)
    if row is None:
        known = ", ".join(r["run_id"] for r in runs[-5:]) or "none"
        raise UsageError(f"--run {run}: no such run in {ledger.path} (newest: {known})")
    first, last = ledger.run_span(row["run_id"])
    return RunScope(row["run_id"], row["kind"], row["profile"], first, last)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One line of `metrics runs`."""

    run_id: str
    kind: str
    profile: str
    started_ns: int
    first_ns: int | None
    last_ns: int | None
    fills: int
    net_pnl_usd: float


def list_runs(db: Path | str) -> list[RunSummary]:
    """Every run in the ledger, in the order recorded, with its fills and net PnL (FIFO)."""
    with open_existing(db) as ledger:
        return [_run_summary(ledger, row) for row in ledger.runs()]


def _run_summary(ledger: Ledger, row: dict[str, Any]) -> RunSummary:
    run_id = row["run_id"]
    funding = ledger.funding_payments(run_id=run_id)
    net = sum(p.amount_usd for p in funding)
    first, last = ledger.run_span(run_id)
    ends = _run_ends(ledger, run_id)
    if ends is not None:  # the running totals: same sums in the same order as the replay below
        for state in ends:
            net += state.realized_usd - state.fees_usd
        count = sum(state.fills for state in ends)
        return RunSummary(
            run_id, row["kind"], row["profile"], row["started_ns"], first, last, count, net
        )
    fills = ledger.fills(run_id=run_id)
    for market in sorted({f.market for f in fills}):
        book = FifoBook(market)
        for fill in fills:
            if fill.market == market:
                book.apply(fill)
        totals = book.totals()
        net += totals.realized_usd - totals.fees_usd
    return RunSummary(
        run_id, row["kind"], row["profile"], row["started_ns"], first, last, len(fills), net
    )


def _run_ends(ledger: Ledger, run_id: str) -> list[StreamState] | None:
    """The FIFO state after the last fill of each market of one run (markets sorted); None when
    the running totals cannot answer."""
    markets = ledger.fill_markets(run_id)
    if markets is None:
        return None
    ends = [ledger.fill_state(market, run_id, None, inclusive=True) for market in markets]
    return None if any(state is None for state in ends) else [s for s in ends if s is not None]


def window_report(
    db: Path | str,
    *,
    hours: float | None = None,
    seconds: float | None = None,
    since: str | None = None,
    until: str | None = None,
    market: str | None = None,
    run: str = LATEST,
) -> WindowReport:
    """PnL over the last hours/seconds, or since a time, ending at the newest data or `until`."""
    options = (("--hours", hours), ("--seconds", seconds), ("--since", since))
    given = [name for name, value in options if value is not None]
    if len(given) > 1:
        raise UsageError(f"give one of --hours, --seconds, --since (got {', '.join(given)})")
    duration_ns = _duration_ns(hours, seconds)
    since_ns = parse_time_ns(since, "--since") if since is not None else None
    until_ns = parse_time_ns(until, "--until") if until is not None else None
    with open_existing(db) as ledger:
        scope = resolve_run(ledger, run)
        return _window(ledger, scope, market, duration_ns, since_ns, until_ns)


def dump_report(
    db: Path | str, *, market: str | None = None, run: str = LATEST
) -> dict[str, WindowReport]:
    """All-time totals and the last 6 h of one run (or all), both ending at its newest data."""
    recent_ns = DUMP_RECENT_HOURS * 3600 * _NS_PER_S
    with open_existing(db) as ledger:
        scope = resolve_run(ledger, run)
        return {
            "total": _window(ledger, scope, market, None, None, None),
            "last_6h": _window(ledger, scope, market, recent_ns, None, None),
        }


def _duration_ns(hours: float | None, seconds: float | None) -> int | None:
    for name, value, scale in (("--hours", hours, 3600), ("--seconds", seconds, 1)):
        if value is not None:
            if not (math.isfinite(value) and value > 0):
                raise UsageError(f"{name} must be a positive number, got {value}")
            return round(value * scale * _NS_PER_S)
    return None


def _window(
    ledger: Ledger,
    scope: RunScope,
    market: str | None,
    duration_ns: int | None,
    since_ns: int | None,
    until_ns: int | None,
) -> WindowReport:
    run = scope.run_id
    chosen = _resolve_market(ledger, market, run)
    newest = ledger.newest_ts_ns(chosen, run) if chosen else None
    end_ns = until_ns if until_ns is not None else newest
    if chosen is None or end_ns is None:
        return dataclasses.replace(_empty_report(chosen, since_ns, end_ns), run=scope)
    start_ns = end_ns - duration_ns if duration_ns is not None else since_ns
    report = _window_from_totals(ledger, chosen, run, start_ns, end_ns)
    if report is None:
        report = replay_window(ledger, chosen, run, start_ns, end_ns)
    return dataclasses.replace(report, run=scope)


def replay_window(
    ledger: Ledger, market: str, run: str | None, start_ns: int | None, end_ns: int
) -> WindowReport:
    """The window by replaying every fill of the scope up to end_ns through a FifoBook.

    What every report did before the running totals, and still does when they cannot answer
    (a read-only ledger from an older solbot, a stored fill a FifoBook refuses)."""
    fills = ledger.fills(until_ns=end_ns, market=market, run_id=run)
    funding = ledger.funding_payments(since_ns=start_ns, until_ns=end_ns, market=market, run_id=run)
    marks = _marks_for(ledger, market, start_ns, end_ns, run)
    return compute_window(market, fills, marks, funding, start_ns, end_ns)


def _window_from_totals(
    ledger: Ledger, market: str, run: str | None, start_ns: int | None, end_ns: int
) -> WindowReport | None:
    """The window from the running totals at its two ends (None: they cannot answer).

    Same numbers as `replay_window`: the FIFO states at both ends are the very states the
    replay reaches. Markouts still read the window's fills, unless no price path can give one
    (no mark near the window and no fill with a recorded mid)."""
    if not ledger.totals_current():
        return None
    before = StreamState()
    if start_ns is not None:  # fills before the window (and, like the replay, not after its end)
        found = ledger.fill_state(market, run, min(start_ns, end_ns + 1), inclusive=False)
        if found is None:
            return None
        before = found
    after = ledger.fill_state(market, run, end_ns, inclusive=True)
    if after is None:
        return None
    start_book, end_book = before.book(market), after.book(market)
    unrealized_start: float | None = 0.0
    if start_ns is not None:
        start_price = _price_at(ledger, market, run, start_ns - 1, (start_ns, end_ns))
        unrealized_start = unrealized_at(start_book, start_price)[0]
    unrealized_end, mark = unrealized_at(
        end_book, _price_at(ledger, market, run, end_ns, (start_ns, end_ns))
    )
    funding = ledger.funding_payments(since_ns=start_ns, until_ns=end_ns, market=market, run_id=run)
    return assemble_window(
        WindowEnds(market, start_ns, end_ns, after.first_ns if after.fills else None),
        (start_book.totals(), unrealized_start),
        (end_book.totals(), unrealized_end, mark),
        funding,
        _window_markouts(ledger, market, run, (start_ns, end_ns), (before, after)),
    )


def _window_markouts(
    ledger: Ledger,
    market: str,
    run: str | None,
    window: tuple[int | None, int],
    states: tuple[StreamState, StreamState],
) -> Markouts:
    """Markouts of the window's fills; without reading them when nothing can price them."""
    start_ns, end_ns = window
    before, after = states
    if after.fills == before.fills:
        return no_markouts()
    path_from = 0 if start_ns is None else start_ns - MARK_TOLERANCE_NS
    path_to = end_ns + max(MARKOUT_HORIZONS_S) * _NS_PER_S + MARK_TOLERANCE_NS
    if after.mid_fills == 0 and not ledger.has_marks(market, path_from, path_to, run):
        return no_markouts()
    path_fills = ledger.fills(since_ns=path_from, until_ns=end_ns, market=market, run_id=run)
    first = 0 if start_ns is None else bisect.bisect_left([f.ts_ns for f in path_fills], start_ns)
    inside = path_fills[first:]
    marks = _marks_for(ledger, market, start_ns, end_ns, run)
    return markouts(inside, PriceHistory(marks, path_fills))


def _price_at(
    ledger: Ledger, market: str, run: str | None, ts_ns: int, window: tuple[int | None, int]
) -> tuple[float, str] | None:
    """`PriceHistory.at` by two indexed lookups: the newest mark, unless a fill is newer.

    Sees what the replay's PriceHistory holds: fills up to the window's end, marks up to the
    end of its markouts, and the newest mark before the window."""
    start_ns, end_ns = window
    marks_until = end_ns + max(MARKOUT_HORIZONS_S) * _NS_PER_S + MARK_TOLERANCE_NS
    mark = ledger.last_mark(market, min(ts_ns, marks_until), run)
    if start_ns is not None and (mark is None or mark[0] < start_ns - MARK_TOLERANCE_NS):
        opening = ledger.last_mark(market, start_ns - MARK_TOLERANCE_NS - 1, run)  # _marks_for
        mark = opening if opening is not None and opening[0] <= ts_ns else None
    fill = ledger.last_fill_price(market, min(ts_ns, end_ns), run)
    if fill is None or (mark is not None and mark[0] >= fill[0]):
        return None if mark is None else (mark[1], "mark")
    _, mid, price = fill
    return (mid, "fill_mid") if mid is not None else (price, "fill_price")


def _marks_for(
    ledger: Ledger, market: str, start_ns: int | None, end_ns: int, run: str | None
) -> list[tuple[int, float]]:
    """Marks that value the opening lots, the closing lots and the markouts of the window."""
    until = end_ns + max(MARKOUT_HORIZONS_S) * _NS_PER_S + MARK_TOLERANCE_NS
    if start_ns is None:
        return ledger.marks(market, until_ns=until, run_id=run)
    since = start_ns - MARK_TOLERANCE_NS
    opening = ledger.last_mark(market, since - 1, run)
    inside = ledger.marks(market, since_ns=since, until_ns=until, run_id=run)
    return ([opening] if opening else []) + inside


def _resolve_market(ledger: Ledger, market: str | None, run: str | None = None) -> str | None:
    if market is not None:
        return market
    markets = ledger.markets(run)
    if len(markets) > 1:
        raise UsageError(f"the ledger holds several markets ({', '.join(markets)}); pass --market")
    return markets[0] if markets else None


def _empty_report(market: str | None, start_ns: int | None, end_ns: int | None) -> WindowReport:
    return WindowReport(
        market=market,
        window_start_ns=start_ns,
        window_end_ns=end_ns,
        markouts_bps={str(h): None for h in MARKOUT_HORIZONS_S},
        markout_samples={str(h): 0 for h in MARKOUT_HORIZONS_S},
    )


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Bucket rows written to `path`, or rendered as CSV `text` when no path was given."""

    rows: int
    path: Path | None
    text: str | None
    run: RunScope | None = None


def _bucket_schema() -> dict[str, Any]:
    import polars as pl  # only exports need it: importing it costs every command ~0.1 s

    return {
        name: pl.Int64 if name in _INT_COLUMNS else pl.Utf8 if name in _TEXT_COLUMNS else pl.Float64
        for name in BUCKET_COLUMNS
    }


def export_buckets(
    db: Path | str,
    *,
    window_s: int,
    market: str | None = None,
    file_format: str = "csv",
    out: Path | None = None,
    run: str = LATEST,
) -> ExportResult:
    """PnL slices per bucket of `window_s` seconds, as CSV or Parquet."""
    if window_s < 1:
        raise UsageError(f"--window must be at least 1 second, got {window_s}")
    if file_format not in ("csv", "parquet"):
        raise UsageError(f"--format must be csv or parquet, got {file_format!r}")
    if file_format == "parquet" and out is None:
        raise UsageError("--format parquet needs --out FILE")
    scope, rows = bucket_rows(db, window_s=window_s, market=market, run=run)
    import polars as pl

    frame = pl.DataFrame(rows, schema=_bucket_schema())
    if out is None:
        return ExportResult(len(rows), None, frame.write_csv(), scope)
    try:
        if file_format == "csv":
            frame.write_csv(out)
        else:
            frame.write_parquet(out)
    except OSError as error:
        raise RuntimeFailure(f"cannot write {out}: {error}") from error
    return ExportResult(len(rows), out, None, scope)


def bucket_rows(
    db: Path | str, *, window_s: int, market: str | None = None, run: str = LATEST
) -> tuple[RunScope, list[dict[str, Any]]]:
    """The run's PnL slices per bucket of `window_s` seconds (BUCKET_COLUMNS), oldest first."""
    with open_existing(db) as ledger:
        scope = resolve_run(ledger, run)
        chosen = _resolve_market(ledger, market, scope.run_id)
        rows = _bucket_rows(ledger, chosen, window_s, scope.run_id) if chosen else []
    return scope, rows


def _bucket_rows(
    ledger: Ledger, market: str, window_s: int, run: str | None
) -> list[dict[str, Any]]:
    fills = ledger.fills(market=market, run_id=run)
    if not fills:
        return []
    marks = ledger.marks(market, run_id=run)
    funding = ledger.funding_payments(market=market, run_id=run)
    first_ns, last_ns = data_span(fills, marks, funding)
    if (last_ns - first_ns) // (window_s * _NS_PER_S) > MAX_BUCKETS:
        raise UsageError(
            f"--window {window_s} s gives more than {MAX_BUCKETS} buckets over this ledger; "
            "use a wider window"
        )
    return compute_buckets(market, fills, marks, funding, window_s)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import of a Lighter trades file did."""

    path: Path
    trades: int
    ours: int
    inserted: int
    duplicates: int
    not_ours: int
    other_market: int
    self_trades: int


def import_trades(
    db: Path | str,
    file: Path | str,
    *,
    account_index: int,
    venue: str = "lighter",
    market: str = "SOL",
    market_id: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportSummary:
    """Import our fills from a Lighter /api/v1/trades JSON file; idempotent.

    Fills are written in batches of IMPORT_BATCH_FILLS (`progress(written, ours)` after each),
    all in one transaction: an import that stops (error, interrupt, crash) stores nothing, and
    running it again stores everything."""
    file = Path(file)
    with _collector_paused():
        parsed = read_lighter_trades(
            file, account_index=account_index, venue=venue, market=market, market_id=market_id
        )
        fills = parsed.rows
        inserted = duplicates = 0
        with Ledger(db) as ledger, ledger.import_transaction(len(fills)):
            for start in range(0, len(fills), IMPORT_BATCH_FILLS):
                batch = fills[start : start + IMPORT_BATCH_FILLS]
                added, repeated = ledger.record_fill_rows(batch)
                inserted, duplicates = inserted + added, duplicates + repeated
                if progress is not None:
                    progress(start + added + repeated, len(fills))
    return ImportSummary(
        path=file,
        trades=parsed.total,
        ours=len(parsed.rows),
        inserted=inserted,
        duplicates=duplicates,
        not_ours=parsed.not_ours,
        other_market=parsed.other_market,
        self_trades=parsed.self_trades,
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector (as it was before, after): an import builds millions of
    acyclic dicts and tuples, and the full collections they trigger found nothing to free and
    cost ~3 % of a 1 M-fill import's CPU."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


ORIGINAL_RUN = "original"


@dataclass(frozen=True, slots=True)
class OriginalImportSummary:
    """What an import of the original bot's fills.jsonl did."""

    path: Path
    run_id: str
    lines: int
    fills: int
    inserted: int
    duplicates: int
    repeated_in_file: int
    other_market: int
    side_fixed: int


def import_original_fills(
    db: Path | str,
    file: Path | str,
    *,
    venue: str = "lighter",
    market: str = "SOL",
    market_id: int = 2,
) -> OriginalImportSummary:
    """Book the original bot's FillEvent lines into run `original`; idempotent.

    Fills are keyed by (venue, trade_id) like every import, so running it again, or importing the
    same trades later from the venue (`import-json`, `fetch-trades`), adds nothing twice."""
    file = Path(file)
    parsed = read_original_fills(file, venue=venue, market=market, market_id=market_id)
    with Ledger(db) as ledger:
        if parsed.fills:
            meta = {"imported_from": str(file), "bot": "original (lighter-bot)"}
            started = parsed.fills[0].ts_ns
            ledger.ensure_run(ORIGINAL_RUN, "run", started, "original", meta)
        inserted, duplicates = ledger.record_fills(parsed.fills, run_id=ORIGINAL_RUN)
    return OriginalImportSummary(
        path=file,
        run_id=ORIGINAL_RUN,
        lines=parsed.lines,
        fills=len(parsed.fills),
        inserted=inserted,
        duplicates=duplicates,
        repeated_in_file=parsed.repeated,
        other_market=parsed.other_market,
        side_fixed=parsed.side_fixed,
    )


def reset_ledger(db: Path | str, *, confirm: bool) -> Path:
    """Archive the ledger file to `<db>.<UTC timestamp>.bak` and start an empty one."""
    db = Path(db)
    if not confirm:
        raise UsageError(f"reset archives {db} and starts an empty ledger; add --confirm to do it")
    open_existing(db).close()  # refuses a file that is not a solbot ledger
    with Ledger(db) as ledger:
        ledger.checkpoint()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = _free_path(db.with_name(f"{db.name}.{stamp}.bak"))
    try:
        db.rename(archive)
        for suffix in ("-wal", "-shm"):
            side = db.with_name(db.name + suffix)
            if side.exists():
                # SQLite looks for "<file>-wal", so the archive stays complete and readable.
                side.rename(archive.with_name(archive.name + suffix))
    except OSError as error:
        raise RuntimeFailure(f"cannot archive {db}: {error}") from error
    Ledger(db).close()
    return archive


def _free_path(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate

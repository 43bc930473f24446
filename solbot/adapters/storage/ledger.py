"""The SQLite ledger: fills, orders, decisions, marks, funding, kill latches and runs.

Durability (a constructor argument, `Durability`):
- `durable` (live trading, imports): fills, funding payments, latches and runs are written in their
  own transaction the moment they are recorded (money or safety state); orders, decisions and
  marks are buffered and written together every `batch_size` rows and on `flush()`/`close()`, so
  a crash loses at most that unflushed batch and never a fill. WAL with `synchronous=FULL`.
- `fast` (simulations, which can be run again): fills and funding join the open batch too, one
  commit per `batch_size` rows, `synchronous=OFF`. A crash loses the unflushed batch; a replay
  never waits for the disk per fill.

Every fill, mark, order, decision and funding payment carries its run (`run_id`). Fills recorded
without a run (imports, backfills) belong to the newest live run started at or before their time.

Fills are keyed by (venue, trade_id): re-recording a fill is ignored and reported as a duplicate,
within one batch, across batches and across runs.

`read_only=True` opens the file with SQLite's `mode=ro`: nothing is created, migrated or switched
to WAL, and a file that is not a solbot ledger is refused (DataError, exit 3).
"""

from __future__ import annotations

import bisect
import json
import json.encoder
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import Enum, StrEnum
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from solbot.adapters.storage.fill_totals import (
    BOOK_COLUMNS,
    BookRow,
    FillTotals,
    StreamState,
    load_state,
    stream_key,
    stream_where,
)
from solbot.adapters.storage.migrations import migrations
from solbot.core.model import Fill, FundingPayment, OrderStatus, OrderTag, Role, Side
from solbot.core.seed import SeedFills
from solbot.errors import DataError, Problem, RuntimeFailure, SchemaVersionError


def _make_dumps() -> Callable[[Any], str]:
    """`json.dumps` with its default options, without building a new C encoder on every call
    (as `json.dumps` does): same text. No circular-reference check: decision rows are trees."""
    make = getattr(json.encoder, "c_make_encoder", None)  # typeshed does not declare it
    if make is None:  # pragma: no cover - CPython has the C accelerator
        return json.dumps
    default = json.JSONEncoder().default
    # markers, default, encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan
    chunks = make(
        None, default, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    join = "".join

    def dumps(value: Any) -> str:
        return join(chunks(value, 0))

    return dumps


_dumps = _make_dumps()

RUN_KINDS = ("simulate", "run")
REQUESTS_KEPT_NS = 5 * 60 * 1_000_000_000  # venue requests: a rolling minute is all that counts


class Durability(StrEnum):
    """How hard the ledger works to survive a crash or power cut (see the module docstring)."""

    DURABLE = "durable"
    FAST = "fast"


_FILL_COLUMNS = (
    "venue, trade_id, market, ts_ns, side, price, size, role, fee_usd, client_id, tag, mid, "
    "source, run_id"
)
_INSERT_FILL = f"INSERT OR IGNORE INTO fills ({_FILL_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_LIVE_RUNS = "SELECT started_ns, run_id FROM runs WHERE kind = 'run' ORDER BY started_ns, run_id"
_UPSERT_ORDER = (
    "INSERT INTO orders (run_id, client_id, market, side, price, size, tag, status, reason, "
    "created_ns, updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, client_id) DO UPDATE SET market = excluded.market, "
    "side = excluded.side, price = excluded.price, size = excluded.size, tag = excluded.tag, "
    "status = excluded.status, reason = excluded.reason, updated_ns = excluded.updated_ns"
)
_INSERT_DECISION = (
    "INSERT INTO decisions (run_id, ts_ns, state, active_rules, regime, reasons) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_MARK = "INSERT OR REPLACE INTO marks (run_id, market, ts_ns, mid) VALUES (?, ?, ?, ?)"
_INSERT_FUNDING = (
    "INSERT OR IGNORE INTO funding "
    "(venue, market, ts_ns, rate, position, mark, amount_usd, run_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# The 13 columns of a fill as importers hand them over (FILL_COLUMNS order, without run_id).
FillRow = tuple[
    str, str, str, int, str, float, float, str, float, int | None, str, float | None, str
]
_TOTALS_MIGRATION = "m004_fill_totals"
IMPORT_REINDEX_FILLS = 50_000  # imports this big (and as big as the ledger) rebuild indexes
IMPORT_CACHE_KIB = 256 * 1024  # page cache of an import's transaction (used as it fills)
_LEDGER_TABLES = ("fills", "orders", "decisions", "marks", "funding", "latches", "runs")


class Ledger:
    """The single source of PnL truth for simulated and live trading alike."""

    def __init__(
        self,
        path: Path | str,
        *,
        batch_size: int = 500,
        durability: Durability | str = Durability.DURABLE,
        read_only: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.path = str(path)
        self.batch_size = batch_size
        self.durability = Durability(durability)
        self.read_only = read_only
        self.run_id: str | None = None
        self._orders: list[tuple[Any, ...]] = []
        self._decisions: list[tuple[Any, ...]] = []
        self._marks: list[tuple[Any, ...]] = []
        self._unsynced = 0  # fast mode: fills and funding written in the open, uncommitted batch
        self._unbooked: list[BookRow] = []  # fast mode: fills of that batch, booked at commit
        self._deferred: list[BookRow] | None = None  # inside import_transaction()
        self._totals = FillTotals()
        self.has_totals = True  # False: a read-only ledger from before fill_totals (full replay)
        self._closed = False
        with self._storage_errors():
            self._db = Database(self._connect(), execute_plugins=False)
        try:
            with self._storage_errors():
                self._open()
        except BaseException:
            self._db.close()
            raise

    @property
    def durable(self) -> bool:
        """True when every fill is committed (and synced) as it is recorded."""
        return self.durability is Durability.DURABLE

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            return sqlite3.connect(self.path)
        if not Path(self.path).is_file():
            raise RuntimeFailure(f"no ledger at {self.path}")
        uri = Path(self.path).resolve().as_uri() + "?mode=ro"
        return sqlite3.connect(uri, uri=True)

    # -- life cycle -----------------------------------------------------------------------------

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def flush(self) -> None:
        """Write every buffered order, decision and mark and commit the open batch."""
        if self.read_only:
            return
        if self._orders or self._decisions or self._marks:
            with self._storage_errors(), self._db.atomic():
                conn = self._db.conn
                conn.executemany(_UPSERT_ORDER, self._orders)
                conn.executemany(_INSERT_DECISION, self._decisions)
                conn.executemany(_INSERT_MARK, self._marks)
            self._orders.clear()
            self._decisions.clear()
            self._marks.clear()
        self._commit_batch()

    def _commit_batch(self) -> None:
        """Book and commit the fills and funding that fast mode left in the open transaction."""
        if self._db.conn.in_transaction:
            with self._storage_errors(), self._totals_kept():
                if self._unbooked:
                    self._totals.book(self._db.conn, self._unbooked)
                    self._unbooked.clear()
                self._db.conn.execute("COMMIT")
        self._unsynced = 0

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._db.close()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (before archiving or copying it)."""
        self.flush()
        with self._storage_errors():
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- runs -----------------------------------------------------------------------------------

    def start_run(
        self,
        kind: str,
        profile: str,
        profile_sha256: str,
        ruleset_sha256: str,
        meta: dict[str, Any],
        *,
        started_ns: int | None = None,
    ) -> str:
        """Record a new run and make it the default run_id of later records; return its id."""
        if kind not in RUN_KINDS:
            raise ValueError(f"run kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
        # Simulations pass event time here so their run ids are reproducible.
        started = time.time_ns() if started_ns is None else started_ns
        meta_json = json.dumps(meta, sort_keys=True, default=str)
        self.flush()
        with self._storage_errors(), self._db.atomic():
            run_id = self._free_run_id(f"{kind}-{started}")
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, kind, started, profile, profile_sha256, ruleset_sha256, meta_json),
            )
        self.run_id = run_id
        return run_id

    def ensure_run(
        self, run_id: str, kind: str, started_ns: int, profile: str, meta: dict[str, Any]
    ) -> bool:
        """Record a run under a fixed id unless it exists (imports); True when it was added.

        Unlike `start_run` it does not become the default run of later records."""
        if kind not in RUN_KINDS:
            raise ValueError(f"run kind must be one of {', '.join(RUN_KINDS)}, got {kind!r}")
        self.flush()
        with self._storage_errors(), self._db.atomic():
            if self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                return False
            meta_json = json.dumps(meta, sort_keys=True, default=str)
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, kind, started_ns, profile, "", "", meta_json),
            )
        return True

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run in the order they were recorded, with `meta` decoded."""
        self.flush()
        with self._storage_errors():
            rows = list(self._db.query("SELECT * FROM runs ORDER BY rowid"))
        for row in rows:
            row["meta"] = json.loads(row["meta"]) if row["meta"] else {}
        return rows

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run by id (with `meta` decoded), None when there is no such run."""
        return next((row for row in self.runs() if row["run_id"] == run_id), None)

    def latest_run_id(self) -> str | None:
        """The run recorded last (not the one with the newest data time), None without runs."""
        with self._storage_errors():
            row = self._db.conn.execute(
                "SELECT run_id FROM runs ORDER BY rowid DESC LIMIT 1"
            ).fetchone()
        return None if row is None else str(row[0])

    def run_span(self, run_id: str | None) -> tuple[int | None, int | None]:
        """(first, last) time of the fills and marks of one run (or of all with None)."""
        self.flush()
        where, params = _where(None, None, None, run_id)
        first: list[int] = []
        last: list[int] = []
        with self._storage_errors():
            for table in ("fills", "marks"):
                sql = f"SELECT MIN(ts_ns), MAX(ts_ns) FROM {table}{where}"
                low, high = self._db.conn.execute(sql, params).fetchone()
                if low is not None:
                    first.append(int(low))
                    last.append(int(high))
        return (min(first) if first else None), (max(last) if last else None)

    # -- fills and funding (written at once) ----------------------------------------------------

    def record_fill(self, fill: Fill, run_id: str | None = None) -> bool:
        """Store one fill now; False when (venue, trade_id) was already stored."""
        inserted, _ = self.record_fills([fill], run_id)
        return inserted == 1

    def record_fills(self, fills: Iterable[Fill], run_id: str | None = None) -> tuple[int, int]:
        """Store fills in one transaction; return (inserted, duplicates)."""
        return self.record_fill_rows([_fill_row(fill) for fill in fills], run_id)

    def record_fill_rows(
        self, rows: Sequence[FillRow], run_id: str | None = None
    ) -> tuple[int, int]:
        """Store fills given as rows of FILL_COLUMNS (importers skip building `Fill`s).

        A fill without a run belongs to the newest live run started at or before its time."""
        self._check_open()
        if not rows:
            return 0, 0
        run = run_id if run_id is not None else self.run_id
        with self._storage_errors():
            live = [] if run is not None else self._db.conn.execute(_LIVE_RUNS).fetchall()
        if run is not None or not live:
            same = "" if run is None else run  # no live run at all: every fill's run is ''
            full = [(*row, same) for row in rows]
        else:
            starts = [started for started, _ in live]
            full = [(*row, _live_run_at(live, starts, row[3])) for row in rows]
        # executemany's rowcount sums the rows each statement changed, so repeats inside
        # this very batch are counted as duplicates too.
        inserted = self._write_fills(full)
        return inserted, len(rows) - inserted

    def _write_fills(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert fills and book them into the running totals (fill_totals.py)."""
        conn = self._db.conn
        if self.durable:
            with self._storage_errors(), self._db.atomic(), self._totals_kept():
                base = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM fills").fetchone()[0]
                changed = _insert_fills(conn, rows)
                if self._deferred is None:
                    self._totals.book(conn, self._inserted(base, rows, changed))
                else:
                    self._deferred.extend(self._inserted(base, rows, changed))
            return changed
        with self._storage_errors(), self._totals_kept():
            if not conn.in_transaction:
                conn.execute("BEGIN")
            base = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM fills").fetchone()[0]
            changed = _insert_fills(conn, rows)
            self._unbooked.extend(self._inserted(base, rows, changed))
        self._unsynced += len(rows)
        self._maybe_flush()
        return changed

    def _inserted(self, base: int, rows: list[tuple[Any, ...]], changed: int) -> list[BookRow]:
        """What booking needs of the fills just inserted after rowid `base`."""
        if changed == len(rows):  # no duplicate: rowids were handed out in order
            return [
                (base + i, r[2], r[13], r[3], r[4], r[5], r[6], r[7], r[8], r[11])
                for i, r in enumerate(rows, start=1)
            ]
        sql = f"SELECT {BOOK_COLUMNS} FROM fills WHERE rowid > ? ORDER BY rowid"
        return self._db.conn.execute(sql, (base,)).fetchall()

    @contextmanager
    def import_transaction(self, fills: int = 0) -> Iterator[None]:
        """Write everything recorded inside in one transaction, fills booked into the running
        totals once at its end (imports).

        A crash or an error inside leaves the ledger exactly as it was before (an import of
        trades older than the ledger's newest would also re-book each stream once per batch
        otherwise). The page cache is raised for it (IMPORT_CACHE_KIB): a transaction bigger
        than the cache spills pages to the WAL mid-way, which doubled the insert time.

        `fills`: how many fills the import brings. When that is at least IMPORT_REINDEX_FILLS
        and as many as the ledger holds, the fills table's secondary indexes are dropped inside
        the transaction and created again before booking (one sorted build is cheaper than
        keeping them up to date row by row: ~20 % of the insert); a crash restores them with
        the rest."""
        self._check_open()
        self.flush()
        conn = self._db.conn
        with self._storage_errors():
            (cache,) = conn.execute("PRAGMA cache_size").fetchone()
            conn.execute(f"PRAGMA cache_size = {-IMPORT_CACHE_KIB}")
        self._deferred = []
        try:
            with self._storage_errors(), self._db.atomic(), self._totals_kept():
                indexes = self._drop_fill_indexes(fills)
                yield
                for sql in indexes:
                    conn.execute(sql)
                self._totals.book(conn, self._deferred)
        finally:
            self._deferred = None
            with self._storage_errors():
                conn.execute(f"PRAGMA cache_size = {int(cache)}")

    def _drop_fill_indexes(self, fills: int) -> list[str]:
        """Drop the fills table's own indexes for a big import; the SQL to create them again."""
        conn = self._db.conn
        if fills < IMPORT_REINDEX_FILLS:
            return []
        (stored,) = conn.execute("SELECT COUNT(*) FROM fills").fetchone()
        if fills < stored:
            return []
        found = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'fills' "
            "AND sql IS NOT NULL ORDER BY rowid"
        ).fetchall()
        for name, _ in found:
            conn.execute(f'DROP INDEX "{name}"')
        return [str(sql) for _, sql in found]

    @contextmanager
    def _totals_kept(self) -> Iterator[None]:
        """Forget the in-memory stream states when the transaction that booked into them fails."""
        try:
            yield
        except BaseException:
            self._totals.forget()
            self._unbooked.clear()
            raise

    def record_funding(self, payment: FundingPayment, run_id: str | None = None) -> bool:
        """Store one funding payment; False when (venue, market, ts_ns) was already stored."""
        p = payment
        run = run_id if run_id is not None else (self.run_id or "")
        row = (p.venue, p.market, p.ts_ns, p.rate, p.position, p.mark, p.amount_usd, run)
        return self._write(_INSERT_FUNDING, [row]) == 1

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Insert funding rows: committed now when durable, in the open batch when fast."""
        self._check_open()
        if self.durable:
            with self._storage_errors(), self._db.atomic():
                return int(self._db.conn.executemany(sql, rows).rowcount)
        with self._storage_errors():
            if not self._db.conn.in_transaction:
                self._db.conn.execute("BEGIN")
            changed = int(self._db.conn.executemany(sql, rows).rowcount)
        self._unsynced += len(rows)
        self._maybe_flush()
        return changed

    # -- buffered records -----------------------------------------------------------------------

    def record_order(
        self,
        client_id: int,
        *,
        market: str,
        side: Side,
        price: float,
        size: float,
        tag: str | OrderTag,
        status: str | OrderStatus,
        ts_ns: int,
        reason: str = "",
        run_id: str | None = None,
    ) -> None:
        """Buffer an order's latest state; the first record of a client_id sets created_ns."""
        self._check_open()
        run = run_id if run_id is not None else (self.run_id or "")
        row = (run, client_id, market, side.label, price, size, _text(tag), _text(status), reason)
        self._orders.append((*row, ts_ns, ts_ns))
        self._maybe_flush()

    def record_decision(
        self,
        ts_ns: int,
        state: str,
        active_rules: Sequence[str],
        regime: str,
        reasons: Sequence[str] | Mapping[str, str],
        run_id: str | None = None,
    ) -> None:
        """Buffer one decision summary row (rules and reasons stored as JSON)."""
        self._check_open()
        run = run_id if run_id is not None else self.run_id
        rules_json = _dumps(list(active_rules))
        reasons_json = _dumps(reasons if isinstance(reasons, Mapping) else list(reasons))
        self._decisions.append((run, ts_ns, state, rules_json, regime, reasons_json))
        self._maybe_flush()

    def record_mark(self, market: str, ts_ns: int, mid: float) -> None:
        """Buffer one mid-price sample (the session loop samples about once a second)."""
        self._check_open()
        self._marks.append((self.run_id or "", market, ts_ns, mid))
        self._maybe_flush()

    # -- kill latches (written at once) ---------------------------------------------------------

    def latch(self, rule_id: str, ts_ns: int, reason: str) -> None:
        """Latch a kill rule; a rule already latched and unacknowledged keeps its first latch."""
        self.flush()
        with self._storage_errors(), self._db.atomic():
            if rule_id in self._open_latches():
                return
            self._db.execute(
                "INSERT INTO latches (rule_id, latched_ns, reason) VALUES (?, ?, ?)",
                (rule_id, ts_ns, reason),
            )

    def latched(self) -> list[str]:
        """Rule ids latched and not yet acknowledged, oldest latch first."""
        with self._storage_errors():
            return self._open_latches()

    def acknowledge(self, rule_id: str, ts_ns: int) -> bool:
        """Acknowledge a latched rule; False when it was not latched."""
        self.flush()
        with self._storage_errors(), self._db.atomic():
            cursor = self._db.execute(
                "UPDATE latches SET acknowledged_ns = ? "
                "WHERE rule_id = ? AND acknowledged_ns IS NULL",
                (ts_ns, rule_id),
            )
            return cursor.rowcount > 0

    # -- queries --------------------------------------------------------------------------------

    def fills(
        self,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        market: str | None = None,
        run_id: str | None = None,
    ) -> list[Fill]:
        """Fills with since_ns <= ts_ns <= until_ns (both optional), of one run or all, in order."""
        where, params = _where(since_ns, until_ns, market, run_id)
        sql = f"SELECT {_FILL_COLUMNS} FROM fills{where} ORDER BY ts_ns, rowid"
        with self._storage_errors():
            return [_row_fill(row) for row in self._db.conn.execute(sql, params)]

    def fills_for_seed(self, market: str, since_ns: int, venue_family: str) -> SeedFills:
        """The fills a new session needs to rebuild its FIFO lots and realized windows.

        Spans every run on purpose: loss limits are per account, market and UTC day, not per run.
        `venue_family` is the account: "lighter" matches venue "lighter" (live and imported
        fills), "paper" matches "paper-<run>" of every paper run; paper fills never seed live.
        Returns the position just before `since_ns`, the newest fills on its side that make it
        up (FIFO keeps those open), and every fill from `since_ns` on.
        """
        self.flush()
        scope = "market = ? AND (venue = ? OR substr(venue, 1, ?) = ?)"
        args: list[Any] = [market, venue_family, len(venue_family) + 1, venue_family + "-"]
        nano_lots = (  # integer sum: exact, where summing float sizes drifts
            "SELECT COALESCE(SUM(CASE side WHEN 'bid' THEN 1 ELSE -1 END "
            f"* CAST(ROUND(size * 1e9) AS INTEGER)), 0) FROM fills WHERE {scope} AND ts_ns < ?"
        )
        columns = f"SELECT {_FILL_COLUMNS} FROM fills WHERE {scope}"
        with self._storage_errors():
            conn = self._db.conn
            (position_nano,) = conn.execute(nano_lots, [*args, since_ns]).fetchone()
            opening = self._opening_fills(columns, args, since_ns, int(position_nano))
            recent_sql = f"{columns} AND ts_ns >= ? ORDER BY ts_ns, rowid"
            recent = tuple(_row_fill(row) for row in conn.execute(recent_sql, [*args, since_ns]))
        return SeedFills(since_ns, position_nano / 1e9, opening, recent)

    def _opening_fills(
        self, columns: str, args: list[Any], since_ns: int, position_nano: int
    ) -> tuple[Fill, ...]:
        """Newest fills on the position's side before since_ns until they cover it, oldest first."""
        if position_nano == 0:
            return ()
        side = "bid" if position_nano > 0 else "ask"
        sql = f"{columns} AND ts_ns < ? AND side = ? ORDER BY ts_ns DESC, rowid DESC"
        found: list[Fill] = []
        covered = 0
        for row in self._db.conn.execute(sql, [*args, since_ns, side]):
            fill = _row_fill(row)
            found.append(fill)
            covered += round(fill.size * 1e9)
            if covered >= abs(position_nano):
                break
        return tuple(reversed(found))

    def marks(
        self,
        market: str,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        run_id: str | None = None,
    ) -> list[tuple[int, float]]:
        """(ts_ns, mid) samples of one market with since_ns <= ts_ns <= until_ns, in time order."""
        self.flush()
        where, params = _where(since_ns, until_ns, market, run_id)
        sql = f"SELECT ts_ns, mid FROM marks{where} ORDER BY ts_ns, rowid"
        with self._storage_errors():
            return [(int(ts), float(mid)) for ts, mid in self._db.conn.execute(sql, params)]

    def last_mark(
        self, market: str, at_or_before_ns: int, run_id: str | None = None
    ) -> tuple[int, float] | None:
        """The newest (ts_ns, mid) of one market at or before a time, None when there is none."""
        self.flush()
        where, params = _where(None, at_or_before_ns, market, run_id)
        sql = f"SELECT ts_ns, mid FROM marks{where} ORDER BY ts_ns DESC, rowid DESC"
        with self._storage_errors():
            row = self._db.conn.execute(sql, params).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def funding_payments(
        self,
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        market: str | None = None,
        run_id: str | None = None,
    ) -> list[FundingPayment]:
        """Funding payments with since_ns <= ts_ns <= until_ns, in time order."""
        where, params = _where(since_ns, until_ns, market, run_id)
        sql = (
            "SELECT venue, ts_ns, market, rate, position, mark, amount_usd "
            f"FROM funding{where} ORDER BY ts_ns, rowid"
        )
        with self._storage_errors():
            return [FundingPayment(*row) for row in self._db.conn.execute(sql, params)]

    def markets(self, run_id: str | None = None) -> list[str]:
        """Markets that have fills, marks or funding (of one run, or of all), sorted."""
        self.flush()
        where, params = _where(None, None, None, run_id)
        tables = ["marks", "funding"]
        found: set[str] = set()
        with self._storage_errors():
            fill_markets = self.fill_markets(run_id)  # without reading every fill
            if fill_markets is None:
                tables.append("fills")
            else:
                found.update(fill_markets)
            sql = " UNION ".join(f"SELECT market FROM {t}{where}" for t in tables)
            found.update(row[0] for row in self._db.conn.execute(sql, params * len(tables)))
        return sorted(found)

    # -- running totals (fill_totals.py) --------------------------------------------------------

    def totals_current(self) -> bool:
        """True when the running totals cover every fill (else reports replay every fill)."""
        if not self.has_totals:
            return False
        self.flush()
        with self._storage_errors():
            (synced,) = self._db.conn.execute("SELECT fills_rowid FROM fill_sync").fetchone()
            (newest,) = self._db.conn.execute(
                "SELECT COALESCE(MAX(rowid), 0) FROM fills"
            ).fetchone()
        return int(synced) >= int(newest)

    def fill_state(
        self, market: str, run_id: str | None, bound_ns: int | None, *, inclusive: bool
    ) -> StreamState | None:
        """FIFO state of one market's fills (of one run, or of all with None) up to bound_ns
        (<= when inclusive, else <); None when the totals cannot answer (see fill_totals)."""
        key = stream_key(market, run_id)
        with self._storage_errors():
            meta = self._db.conn.execute(
                "SELECT valid, first_ns, same_as FROM fill_streams "
                "WHERE market = ? AND all_runs = ? AND run_id = ?",
                key,
            ).fetchone()
            if meta is None:
                return StreamState()  # no fill of this market in that scope
            if not meta[0]:
                return None
            if meta[2] is not None:  # every fill of the market is of that run: its stream
                key = (market, 0, str(meta[2]))
            state = load_state(self._db.conn, key, bound_ns, inclusive=inclusive)
        if state is not None:
            state.first_ns = meta[1]
        return state

    def fill_markets(self, run_id: str | None) -> list[str] | None:
        """Markets with fills of one run (or of any, None), sorted, from the running totals;
        None when they cannot answer (see totals_current)."""
        if not self.totals_current():
            return None
        scope = "all_runs = 1" if run_id is None else "all_runs = 0 AND run_id = ?"
        sql = f"SELECT market FROM fill_streams WHERE {scope} AND (fills > 0 OR valid = 0)"
        with self._storage_errors():
            rows = self._db.conn.execute(sql, [] if run_id is None else [run_id]).fetchall()
        return sorted(row[0] for row in rows)

    def last_fill_price(
        self, market: str, at_or_before_ns: int, run_id: str | None = None
    ) -> tuple[int, float | None, float] | None:
        """(ts_ns, mid, price) of the newest fill at or before a time, None when there is none."""
        where, params = stream_where(stream_key(market, run_id))
        sql = (
            f"SELECT ts_ns, mid, price FROM fills WHERE {where} AND ts_ns <= ? "
            "ORDER BY ts_ns DESC, rowid DESC LIMIT 1"
        )
        with self._storage_errors():
            row = self._db.conn.execute(sql, [*params, at_or_before_ns]).fetchone()
        if row is None:
            return None
        return int(row[0]), (None if row[1] is None else float(row[1])), float(row[2])

    def has_marks(self, market: str, since_ns: int, until_ns: int, run_id: str | None) -> bool:
        """True when a mark of the market (and run) lies in [since_ns, until_ns]."""
        self.flush()
        where, params = _where(since_ns, until_ns, market, run_id)
        with self._storage_errors():
            row = self._db.conn.execute(f"SELECT 1 FROM marks{where} LIMIT 1", params).fetchone()
        return row is not None

    def record_request(self, account_index: int, at_ns: int) -> None:
        """A request reached the venue for this account (committed at once: a crash keeps it)."""
        self._check_open()
        horizon = at_ns - REQUESTS_KEPT_NS
        with self._storage_errors(), self._db.atomic():
            conn = self._db.conn
            conn.execute(
                "INSERT INTO venue_requests (account_index, at_ns) VALUES (?, ?)",
                (account_index, at_ns),
            )
            conn.execute("DELETE FROM venue_requests WHERE at_ns < ?", (horizon,))

    def requests_since(self, account_index: int, since_ns: int) -> list[int]:
        """Times of this account's requests at or after `since_ns`, oldest first."""
        sql = (
            "SELECT at_ns FROM venue_requests WHERE account_index = ? AND at_ns >= ? ORDER BY at_ns"
        )
        with self._storage_errors():
            rows = self._db.conn.execute(sql, (account_index, since_ns)).fetchall()
        return [int(row[0]) for row in rows]

    def newest_fill_ns(self, venue: str, market: str) -> int | None:
        """Time of the newest fill booked from `venue` on `market`, None when there is none."""
        self.flush()
        sql = "SELECT MAX(ts_ns) FROM fills WHERE venue = ? AND market = ?"
        with self._storage_errors():
            (value,) = self._db.conn.execute(sql, (venue, market)).fetchone()
        return None if value is None else int(value)

    def newest_ts_ns(self, market: str | None = None, run_id: str | None = None) -> int | None:
        """Time of the newest fill or mark (of one market/run, or of all), None when none."""
        self.flush()
        where, params = _where(None, None, market, run_id)
        newest: list[int] = []
        with self._storage_errors():
            for table in ("fills", "marks"):
                sql = f"SELECT MAX(ts_ns) FROM {table}{where}"
                (value,) = self._db.conn.execute(sql, params).fetchone()
                if value is not None:
                    newest.append(int(value))
        return max(newest) if newest else None

    def count(self, table: str) -> int:
        """Number of rows in one ledger table (flushes first)."""
        if table not in _LEDGER_TABLES:
            raise ValueError(f"unknown ledger table {table!r}")
        self.flush()
        with self._storage_errors():
            return int(self._db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    # -- internals ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        # Without this a record after close() would sit in the buffer and be lost silently.
        if self._closed:
            raise RuntimeFailure(f"ledger {self.path} is closed")

    def _maybe_flush(self) -> None:
        buffered = len(self._orders) + len(self._decisions) + len(self._marks) + self._unsynced
        if buffered >= self.batch_size:
            self.flush()

    def _open_latches(self) -> list[str]:
        sql = (
            "SELECT rule_id FROM latches WHERE acknowledged_ns IS NULL "
            "GROUP BY rule_id ORDER BY MIN(latched_ns), rule_id"
        )
        return [row[0] for row in self._db.conn.execute(sql)]

    def _free_run_id(self, base: str) -> str:
        run_id, n = base, 1
        while self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            n += 1
            run_id = f"{base}-{n}"
        return run_id

    def _open(self) -> None:
        self._db.execute("PRAGMA busy_timeout = 5000")
        if self.read_only:
            self._check_is_ledger()
            return
        if self.path != ":memory:":
            self._db.enable_wal()
            # FULL: a committed fill survives power loss. OFF (fast, for replays that write
            # thousands of fills) leaves syncing to the OS: a crash may lose the open batch.
            self._db.execute(f"PRAGMA synchronous = {'FULL' if self.durable else 'OFF'}")
        self._migrate()

    def _check_is_ledger(self) -> None:
        """Refuse (exit 3) a file that is not a solbot ledger; migrate an older one first."""
        try:
            applied = migrations.applied(self._db)
        except sqlite3.DatabaseError as error:
            raise DataError(
                Problem(self.path, 1, 1, "ledger", f"not a solbot ledger: {error}")
            ) from error
        tables = set(self._db.table_names())
        missing = [t for t in _LEDGER_TABLES if t not in tables]
        if not applied or missing:
            found = ", ".join(sorted(tables)) or "no tables"
            raise DataError(
                Problem(self.path, 1, 1, "ledger", f"not a solbot ledger (found {found})")
            )
        known = {m.name for m in migrations.pending(Database(memory=True))}
        if any(m.name not in known for m in applied):
            self._migrate()  # raises SchemaVersionError for a ledger from a newer solbot
        pending = [m.name for m in migrations.pending(self._db)]
        if pending:
            # A ledger written by an older solbot: bring it up to date once, then read it.
            self._db.close()
            try:
                Ledger(self.path).close()
            except RuntimeFailure:
                if pending != [_TOTALS_MIGRATION]:
                    raise
                # Only the running totals are missing and the file cannot be written (a
                # read-only file or folder): read it as it is; windows replay every fill.
                self.has_totals = False
            self._db = Database(self._connect(), execute_plugins=False)

    def _migrate(self) -> None:
        known = {m.name for m in migrations.pending(Database(memory=True))}
        unknown = [m.name for m in migrations.applied(self._db) if m.name not in known]
        if unknown:
            raise SchemaVersionError(
                Problem(
                    self.path, 1, 1, "schema",
                    f"ledger has migrations this solbot does not know ({', '.join(unknown)}); "
                    "it was written by a newer solbot — upgrade solbot to read it",
                )
            )  # fmt: skip
        migrations.apply(self._db)

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """Turn SQLite failures into RuntimeFailure (exit 1) naming the ledger file."""
        try:
            yield
        except sqlite3.Error as error:
            raise RuntimeFailure(f"ledger {self.path}: {error}") from error


# Columns a batch of fills often shares (venue, market, mid, source, run_id): written into the
# statement as literals rather than bound for every row, which cost ~16 % of an import's insert.
_SHARED_FILL_COLUMNS = (0, 2, 11, 12, 13)
_FILL_COLUMN_NAMES = [name.strip() for name in _FILL_COLUMNS.split(",")]


def _insert_fills(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
    """INSERT OR IGNORE fill rows (FILL_COLUMNS and run_id); the number of rows inserted."""
    literals: dict[int, str] = {}
    for index in _SHARED_FILL_COLUMNS:
        values = {row[index] for row in rows}
        if len(values) == 1:
            literal = _sql_literal(values.pop())
            if literal is not None:
                literals[index] = literal
    if not literals:
        return int(conn.executemany(_INSERT_FILL, rows).rowcount)
    bound = [i for i in range(len(_FILL_COLUMN_NAMES)) if i not in literals]
    values_sql = ", ".join(literals.get(i, "?") for i in range(len(_FILL_COLUMN_NAMES)))
    sql = f"INSERT OR IGNORE INTO fills ({_FILL_COLUMNS}) VALUES ({values_sql})"
    params = [tuple(row[i] for i in bound) for row in rows] if len(bound) < 2 else None
    if params is None:
        pick = itemgetter(*bound)
        params = list(map(pick, rows))
    return int(conn.executemany(sql, params).rowcount)


def _sql_literal(value: Any) -> str | None:
    """`value` as an SQL literal (None and text only; None when it cannot be one)."""
    if value is None:
        return "NULL"
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _live_run_at(live: list[tuple[int, str]], starts: list[int], ts_ns: int) -> str:
    """The newest live run started at or before ts_ns (latest run id on a tie), else ''."""
    index = bisect.bisect_right(starts, ts_ns)
    return str(live[index - 1][1]) if index else ""


def _fill_row(fill: Fill) -> FillRow:
    return (
        fill.venue,
        fill.trade_id,
        fill.market,
        fill.ts_ns,
        fill.side.label,
        fill.price,
        fill.size,
        fill.role.value,
        fill.fee_usd,
        fill.client_id,
        fill.tag,
        fill.mid,
        fill.source,
    )


_SIDES = {"bid": Side.BID, "ask": Side.ASK}


def _text(value: str | Enum) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _row_fill(row: Sequence[Any]) -> Fill:
    venue, trade_id, market, ts_ns, side, price, size, role, fee, client_id, tag, mid, source = row[
        :13
    ]
    if side not in _SIDES or role not in ("maker", "taker"):
        raise RuntimeFailure(f"ledger fill {venue}/{trade_id}: bad side {side!r} or role {role!r}")
    return Fill(
        venue=venue,
        trade_id=trade_id,
        ts_ns=int(ts_ns),
        market=market,
        side=_SIDES[side],
        price=float(price),
        size=float(size),
        role=Role(role),
        fee_usd=float(fee or 0.0),
        client_id=None if client_id is None else int(client_id),
        tag=tag or "",
        mid=None if mid is None else float(mid),
        source=source or "",
    )


def _where(
    since_ns: int | None, until_ns: int | None, market: str | None, run_id: str | None = None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("ts_ns >= ?", since_ns),
        ("ts_ns <= ?", until_ns),
        ("market = ?", market),
        ("run_id = ?", run_id),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

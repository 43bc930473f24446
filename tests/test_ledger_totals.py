"""Running FIFO totals (fill_totals.py): the stored states give exactly what replaying every fill
gives, whatever wrote the fills, in whatever order, and windows read them instead of every fill."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from solbot.adapters.storage import fill_totals
from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.migrations import migrations
from solbot.app import metrics
from solbot.app.metrics import import_original_fills, import_trades, window_report
from solbot.core.model import Fill, FundingPayment, Role, Side
from solbot.core.pnl import FifoBook
from solbot.errors import RuntimeFailure

S = 1_000_000_000
T0 = 1_700_000_000 * S
MARKETS = ("SOL", "ETH")


@contextmanager
def small_checkpoints(every: int = 2) -> Iterator[None]:
    """Checkpoints every few fills, so short ledgers cross many of them."""
    with mock.patch.object(fill_totals, "CHECKPOINT_FILLS", every):
        yield


def replayed(ledger: Ledger, market: str, run: str | None, until: int | None) -> FifoBook:
    """The old computation: every fill of the scope through one FifoBook."""
    book = FifoBook(market)
    for fill in ledger.fills(until_ns=until, market=market, run_id=run):
        book.apply(fill)
    return book


def assert_state_is_replay(ledger: Ledger, market: str, run: str | None, until: int | None) -> None:
    state = ledger.fill_state(market, run, until, inclusive=True)
    assert state is not None
    book, expected = state.book(market), replayed(ledger, market, run, until)
    assert book.totals() == expected.totals()
    assert book.lots == expected.lots


def assert_every_stream_is_replay(db: Path) -> None:
    with Ledger(db, read_only=True) as ledger:
        assert ledger.totals_current()
        runs = [None, "", *(row["run_id"] for row in ledger.runs())]
        for market in ledger.markets():
            for run in runs:
                assert_state_is_replay(ledger, market, run, None)


# -- the property: new == old on random ledgers ----------------------------------------------


@dataclass(frozen=True)
class Plan:
    durable: bool
    runs: list[tuple[str, int]]  # (kind, started second)
    fills: list[tuple[int, str, int, int, float, float, bool, float, float | None, int | None]]
    chunks: list[int]
    marks: list[tuple[str, int, float]]
    funding: list[tuple[str, int, float]]
    windows: list[tuple[int | None, int, str, int | None]]  # start s, end s, market, run index


SIZES = (0.05, 0.1, 0.15, 0.2, 0.3, 0.1 + 0.2, 1.0)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    runs = draw(
        st.lists(st.tuples(st.sampled_from(("run", "simulate")), st.integers(0, 200)), max_size=3)
    )
    count = draw(st.integers(0, 40))
    fills = [
        (
            n,
            draw(st.sampled_from(MARKETS)),
            draw(st.integers(0, 300)),  # second: many share one, arrive in any order
            draw(st.sampled_from((1, -1))),
            draw(st.sampled_from(SIZES)),  # partial closes, exact closes and flips
            draw(st.sampled_from((99.5, 100.0, 100.25, 101.0, 102.5))),
            draw(st.booleans()),
            draw(st.sampled_from((0.0, 0.01, -0.002))),
            draw(st.sampled_from((None, None, 100.1, 101.3))),
            draw(st.none() | st.integers(0, max(len(runs) - 1, 0))) if runs else None,
        )
        for n in range(count)
    ]
    marks = draw(
        st.lists(
            st.tuples(st.sampled_from(MARKETS), st.integers(0, 360), st.floats(99, 103)),
            max_size=12,
        )
    )
    funding = draw(
        st.lists(
            st.tuples(st.sampled_from(MARKETS), st.integers(0, 300), st.floats(-1, 1)), max_size=3
        )
    )
    windows = draw(
        st.lists(
            st.tuples(
                st.none() | st.integers(-10, 320),
                st.integers(-10, 400),
                st.sampled_from(MARKETS),
                st.none() | st.integers(-1, 3),
            ),
            min_size=1,
            max_size=6,
        )
    )
    chunks = draw(st.lists(st.integers(1, 7), min_size=1, max_size=8))
    return Plan(draw(st.booleans()), runs, fills, chunks, marks, funding, windows)


def write_plan(db: Path, plan: Plan) -> list[str]:
    """Write the plan's fills in chunks (some twice), interleaved with run starts and marks."""
    durability = "durable" if plan.durable else "fast"
    run_ids: list[str] = []
    with Ledger(db, durability=durability, batch_size=5) as ledger:
        for kind, second in plan.runs:
            run_ids.append(ledger.start_run(kind, "p", "", "", {}, started_ns=T0 + second * S))
        ledger.run_id = None
        fills = [
            (
                Fill("lighter", str(n), T0 + second * S, market, Side(side), price, size,
                     Role.MAKER if maker else Role.TAKER, fee_usd=fee, mid=mid),
                None if run is None else run_ids[run],
            )
            for n, market, second, side, size, price, maker, fee, mid, run in plan.fills
        ]  # fmt: skip
        position, turn = 0, 0
        while position < len(fills):
            size = plan.chunks[turn % len(plan.chunks)]
            chunk = fills[position : position + size]
            for run in {run for _, run in chunk}:
                ledger.record_fills([f for f, r in chunk if r == run], run_id=run)
            if turn % 3 == 2:  # a repeat of what is already stored changes nothing
                ledger.record_fills([f for f, r in chunk if r is None])
            position, turn = position + size, turn + 1
        for market, second, mid in plan.marks:
            ledger.record_mark(market, T0 + second * S, mid)
        for market, second, amount in plan.funding:
            payment = FundingPayment("lighter", T0 + second * S, market, 1e-4, 1.0, 100, amount)
            ledger.record_funding(payment)
    return run_ids


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # fmt: skip
@given(plans())
def test_windows_from_running_totals_equal_the_full_replay(plan: Plan) -> None:
    with tempfile.TemporaryDirectory() as folder, small_checkpoints():
        db = Path(folder) / "ledger.db"
        run_ids = write_plan(db, plan)
        assert_every_stream_is_replay(db)
        with Ledger(db, read_only=True) as ledger:
            for start, end, market, run_index in plan.windows:
                run = (
                    None
                    if run_index is None
                    else ("" if run_index < 0 or run_index >= len(run_ids) else run_ids[run_index])
                )
                start_ns = None if start is None else T0 + start * S
                end_ns = T0 + end * S
                new = metrics._window_from_totals(ledger, market, run, start_ns, end_ns)
                old = metrics.replay_window(ledger, market, run, start_ns, end_ns)
                assert new == old
            for row in ledger.runs():  # `metrics runs`: net PnL and fills per run
                summary = metrics._run_summary(ledger, row)
                with mock.patch.object(metrics, "_run_ends", lambda *args: None):
                    assert summary == metrics._run_summary(ledger, row)


# -- every writer keeps the totals -------------------------------------------------------------


def fill(n: int, second: float, side: Side, size: float, price: float = 100.0) -> Fill:
    return Fill("lighter", str(n), T0 + round(second * S), "SOL", side, price, size, Role.MAKER)


def test_live_session_ledger_books_each_durable_fill(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    with small_checkpoints(), Ledger(db) as ledger:
        ledger.start_run("run", "p", "", "", {}, started_ns=T0)
        for n in range(9):
            side = Side.BID if n % 3 else Side.ASK
            assert ledger.record_fill(fill(n, n, side, 0.1 + n / 100, 100 + n))
            assert_state_is_replay(ledger, "SOL", ledger.run_id, None)
    assert_every_stream_is_replay(db)


def test_replay_fast_ledger_books_at_each_commit(tmp_path: Path) -> None:
    db = tmp_path / "sim.db"
    with small_checkpoints(), Ledger(db, durability="fast", batch_size=4) as ledger:
        ledger.start_run("simulate", "p", "", "", {}, started_ns=T0)
        for n in range(11):
            ledger.record_fill(fill(n, n, Side.ASK if n % 2 else Side.BID, 0.2 + n / 50))
    assert_every_stream_is_replay(db)


def test_simulate_writes_a_ledger_whose_totals_match_the_replay(tmp_path: Path) -> None:
    import gzip

    from solbot.adapters.data import sample_candles_path
    from solbot.app.simulate import SimulationRequest, run_simulation

    candles = tmp_path / "binance_usdm_perp_SOLUSDT_1m_20250519.csv"
    candles.write_bytes(gzip.decompress(sample_candles_path().read_bytes()))
    request = SimulationRequest(profile="naive", data=(candles,), out_dir=tmp_path / "out")
    result = run_simulation(request)
    with Ledger(result.db_path, read_only=True) as ledger:
        assert ledger.count("fills") > 0
    assert_every_stream_is_replay(result.db_path)


def lighter_trades(count: int, first_id: int = 1) -> list[dict[str, object]]:
    return [
        {
            "trade_id": first_id + n, "market_id": 2, "type": "trade",
            "price": f"{100 + n % 7:.3f}", "size": f"{0.1 + n % 3 / 10:.3f}",
            "ask_account_id": 42 if n % 2 else 7, "bid_account_id": 8 if n % 2 else 42,
            "is_maker_ask": n % 3 == 0, "taker_fee": 196, "maker_fee": 28,
            "timestamp": T0 // 1_000_000 + (first_id + n) * 1000,
        }
        for n in range(count)
    ]  # fmt: skip


def test_import_json_books_its_fills_and_an_older_import_rebooks(tmp_path: Path) -> None:
    db = tmp_path / "imported.db"
    newer, older = tmp_path / "newer.json", tmp_path / "older.json"
    newer.write_text(json.dumps(lighter_trades(12, first_id=100)))
    older.write_text(json.dumps({"trades": lighter_trades(12, first_id=1)}))
    with small_checkpoints():
        import_trades(db, newer, account_index=42)
        assert_every_stream_is_replay(db)
        import_trades(db, older, account_index=42)  # older fills sort before every stored one
        assert_every_stream_is_replay(db)
        summary = import_trades(db, older, account_index=42)
    assert (summary.inserted, summary.duplicates) == (0, 12)
    assert_every_stream_is_replay(db)


def test_import_original_books_run_original(tmp_path: Path) -> None:
    db = tmp_path / "original.db"
    fixture = Path(__file__).parent / "fixtures" / "original" / "fills.jsonl"
    with small_checkpoints():
        import_original_fills(db, fixture)
    assert_every_stream_is_replay(db)
    with Ledger(db, read_only=True) as ledger:
        state = ledger.fill_state("SOL", "original", None, inclusive=True)
    assert state is not None and state.fills == 9


# -- old ledgers -------------------------------------------------------------------------------


def ledger_before_totals(path: Path) -> None:
    """A ledger as the solbot before fill_totals wrote it (migrations up to m004), with fills."""
    db = Database(path)
    migrations.apply(db, stop_before="m004_fill_totals")
    columns = "venue, trade_id, market, ts_ns, side, price, size, role, fee_usd, run_id"
    rows = [
        ("lighter", str(n), "SOL", T0 + n * S, "bid" if n % 3 else "ask", 100.0 + n, 0.25,
         "maker", 0.01, "")
        for n in range(10)
    ]  # fmt: skip
    db.conn.executemany(f"INSERT INTO fills ({columns}) VALUES ({', '.join('?' * 10)})", rows)
    db.conn.commit()
    db.close()


def test_migration_backfills_the_totals_of_an_existing_ledger(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    ledger_before_totals(db)
    expected = window_report(db, seconds=4)  # read-only: migrates once, then reads
    assert_every_stream_is_replay(db)
    with Ledger(db, read_only=True) as ledger:
        assert ledger.has_totals
        replayed_report = metrics.replay_window(ledger, "SOL", None, T0 + 5 * S, T0 + 9 * S)
    assert dataclasses.replace(expected, run=None) == replayed_report


def test_read_only_ledger_that_cannot_be_migrated_falls_back_to_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "old.db"
    ledger_before_totals(db)
    real_open = Ledger._open

    def cannot_write(self: Ledger) -> None:
        if not self.read_only:  # what a read-only file or folder does to the migration
            raise RuntimeFailure(f"ledger {self.path}: attempt to write a readonly database")
        real_open(self)

    monkeypatch.setattr(Ledger, "_open", cannot_write)
    report = window_report(db, seconds=4)
    with Ledger(db, read_only=True) as ledger:
        assert not ledger.has_totals and not ledger.totals_current()
        replayed_report = metrics.replay_window(ledger, "SOL", None, T0 + 5 * S, T0 + 9 * S)
    assert dataclasses.replace(report, run=None) == replayed_report
    assert report.fills == 5


def test_fills_written_behind_the_ledgers_back_make_windows_replay(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.record_fills([fill(n, n, Side.BID, 0.1) for n in range(3)])
    connection = sqlite3.connect(db)
    with connection:
        connection.execute(
            "INSERT INTO fills (venue, trade_id, market, ts_ns, side, price, size, role, run_id) "
            "VALUES ('lighter', 'x', 'SOL', ?, 'ask', 101.0, 0.3, 'taker', '')",
            (T0 + 5 * S,),
        )
    connection.close()
    with Ledger(db, read_only=True) as ledger:
        assert not ledger.totals_current()
    report = window_report(db)
    assert (report.fills, report.inventory) == (4, 0.0)


def test_a_window_reads_a_checkpoint_not_every_fill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.db"
    with small_checkpoints(5), Ledger(db, durability="fast") as ledger:
        ledger.record_fills(
            [fill(n, n, Side.BID if n % 2 else Side.ASK, 0.25, 100 + n % 3) for n in range(200)]
        )
    read: list[int] = []
    real_rows = fill_totals.stream_rows

    def counted(*args: object, **kwargs: object) -> list[fill_totals.BookRow]:
        rows = real_rows(*args, **kwargs)  # type: ignore[arg-type]
        read.append(len(rows))
        return rows

    monkeypatch.setattr(fill_totals, "stream_rows", counted)
    monkeypatch.setattr(Ledger, "fills", lambda *a, **k: pytest.fail("read every fill"))
    report = window_report(db, seconds=50.5)
    assert report.fills == 51
    assert sum(read) <= 10  # two checkpoints plus at most the fills since each


def test_the_next_write_books_fills_nobody_booked(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.record_fills([fill(n, n, Side.BID, 0.1) for n in range(3)])
    connection = sqlite3.connect(db)
    with connection:  # another program (or an import that stopped before booking)
        connection.execute(
            "INSERT INTO fills (venue, trade_id, market, ts_ns, side, price, size, role, run_id) "
            "VALUES ('lighter', 'x', 'SOL', ?, 'ask', 101.0, 0.25, 'taker', '')",
            (T0 + 5 * S,),
        )
    connection.close()
    with Ledger(db) as ledger:
        ledger.record_fill(fill(9, 9, Side.ASK, 0.05))
        assert ledger.totals_current()
    assert_every_stream_is_replay(db)
    assert window_report(db).fills == 5


def test_an_import_older_than_the_ledger_rebooks_each_stream_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ledger.db"
    newer, older = tmp_path / "newer.json", tmp_path / "older.json"
    newer.write_text(json.dumps(lighter_trades(30, first_id=1000)))
    older.write_text(json.dumps(lighter_trades(40, first_id=1)))
    rebooked: list[fill_totals.StreamKey] = []
    real_rebook = fill_totals.FillTotals._rebook

    def counted(self: fill_totals.FillTotals, conn: sqlite3.Connection, key: fill_totals.StreamKey,
                from_ns: int | None) -> None:  # fmt: skip
        rebooked.append(key)
        real_rebook(self, conn, key, from_ns)

    monkeypatch.setattr(metrics, "IMPORT_BATCH_FILLS", 4)
    monkeypatch.setattr(fill_totals.FillTotals, "_rebook", counted)
    with small_checkpoints():
        import_trades(db, newer, account_index=42)
        assert rebooked == []
        import_trades(db, older, account_index=42)  # 5 batches, all before the stored fills
    assert rebooked == [("SOL", 0, "")]  # the all-runs stream is that run's (one run)
    assert_every_stream_is_replay(db)


def test_all_runs_stream_is_booked_once_a_second_run_trades(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with small_checkpoints(), Ledger(db) as ledger:
        first = ledger.start_run("run", "p", "", "", {}, started_ns=T0)
        ledger.record_fills([fill(n, n, Side.BID if n % 3 else Side.ASK, 0.3) for n in range(9)])
        conn = ledger._db.conn
        count = "SELECT COUNT(*) FROM fill_checkpoints WHERE all_runs = ?"
        assert conn.execute(count, (1,)).fetchone()[0] == 0  # one run: its stream serves both
        assert conn.execute(count, (0,)).fetchone()[0] > 0
        assert_state_is_replay(ledger, "SOL", None, None)
        ledger.start_run("run", "p", "", "", {}, started_ns=T0 + 20 * S)
        ledger.record_fills([fill(n, n, Side.ASK, 0.2, 103.0) for n in range(20, 26)])
        assert conn.execute(count, (1,)).fetchone()[0] > 0
        for run in (None, first, ledger.run_id):
            assert_state_is_replay(ledger, "SOL", run, None)
    assert_every_stream_is_replay(db)


def test_fills_without_a_run_from_another_program_leave_all_runs_windows_to_the_replay(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.start_run("run", "p", "", "", {}, started_ns=T0)
        ledger.record_fills([fill(n, n, Side.BID, 0.1) for n in range(3)])
    connection = sqlite3.connect(db)
    with connection:  # run_id NULL: no run scope reads it, every-run windows do
        connection.execute(
            "INSERT INTO fills (venue, trade_id, market, ts_ns, side, price, size, role) "
            "VALUES ('lighter', 'x', 'SOL', ?, 'ask', 101.0, 0.25, 'taker')",
            (T0 + 5 * S,),
        )
    connection.close()
    with Ledger(db) as ledger:
        ledger.record_fill(fill(9, 9, Side.ASK, 0.05))
        run = ledger.latest_run_id()
        assert ledger.totals_current()
        assert ledger.fill_state("SOL", None, None, inclusive=True) is None  # replays
        assert_state_is_replay(ledger, "SOL", run, None)
    assert window_report(db, run="all").fills == 5
    assert window_report(db).fills == 4

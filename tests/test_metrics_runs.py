"""One truth per run: two sessions in one ledger are reported apart unless `--run all` asks."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.migrations import migrations
from solbot.app.metrics import dump_report, export_buckets, list_runs, window_report
from solbot.cli.main import main
from solbot.core.model import Fill, FundingPayment, Role, Side
from solbot.errors import UsageError

S = 1_000_000_000
T0 = 1_700_000_000 * S


def fill(n: int, t_s: int, side: Side, price: float) -> Fill:
    return Fill("paper", str(n), T0 + t_s * S, "SOL", side, price, 1.0, Role.MAKER)


def two_paper_runs(path: Path) -> tuple[str, str]:
    """Run 1 ends long 1 @ 100; run 2 sells 1 @ 90 and buys 1 @ 92 (its own round trip)."""
    with Ledger(path) as ledger:
        first = ledger.start_run("run", "naive", "p1", "r1", {}, started_ns=T0)
        ledger.record_fills([fill(1, 1, Side.BID, 100.0)])
        ledger.record_mark("SOL", T0 + 2 * S, 100.0)
        second = ledger.start_run("run", "defensive", "p2", "r2", {}, started_ns=T0 + 100 * S)
        ledger.record_fills([fill(2, 101, Side.ASK, 90.0), fill(3, 102, Side.BID, 92.0)])
        ledger.record_mark("SOL", T0 + 103 * S, 92.0)
    return first, second


def test_window_reads_the_latest_run_only_by_default(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    _, second = two_paper_runs(db)
    report = window_report(db)
    # FIFO within run 2: sell 1 @ 90 opens a short, buy 1 @ 92 closes it: -2, flat.
    assert report.realized_pnl_usd == pytest.approx(-2.0)
    assert report.inventory == pytest.approx(0.0)
    assert report.fills == 2
    assert report.run is not None
    assert (report.run.run_id, report.run.profile) == (second, "defensive")
    assert (report.run.first_ns, report.run.last_ns) == (T0 + 101 * S, T0 + 103 * S)
    assert not report.run.fifo_spans_runs


def test_run_by_id_and_all_which_says_fifo_spans_runs(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    first, _ = two_paper_runs(db)
    one = window_report(db, run=first)
    assert (one.fills, one.realized_pnl_usd, one.inventory) == (1, 0.0, 1.0)
    assert one.run is not None and one.run.profile == "naive"
    everything = window_report(db, run="all")
    # Across runs the sell @ 90 closes run 1's long @ 100: -10, then long again @ 92.
    assert everything.realized_pnl_usd == pytest.approx(-10.0)
    assert everything.inventory == pytest.approx(1.0)
    assert everything.run is not None and everything.run.fifo_spans_runs
    with pytest.raises(UsageError, match="no such run"):
        window_report(db, run="run-42")


def test_dump_and_export_are_per_run(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    first, _ = two_paper_runs(db)
    assert dump_report(db)["total"].fills == 2
    assert dump_report(db, run=first)["total"].fills == 1
    latest = export_buckets(db, window_s=60)
    assert latest.text is not None and latest.rows == 1
    assert export_buckets(db, window_s=60, run="all").rows == 3  # with an empty one between


def test_metrics_runs_lists_each_run_with_fills_and_net(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ledger.db"
    first, second = two_paper_runs(db)
    summaries = list_runs(db)
    assert [(s.run_id, s.profile, s.fills) for s in summaries] == [
        (first, "naive", 1),
        (second, "defensive", 2),
    ]
    assert [s.net_pnl_usd for s in summaries] == [pytest.approx(0.0), pytest.approx(-2.0)]
    assert main(["metrics", "runs", "--json", "--db", str(db)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["run_id"] for row in listed] == [first, second]
    assert main(["metrics", "window", "--run", "all", "--db", str(db)]) == 0
    assert "FIFO spans runs" in capsys.readouterr().out


def test_marks_and_funding_carry_their_run(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        ledger.start_run("simulate", "a", "", "", {}, started_ns=T0)
        ledger.record_mark("SOL", T0, 100.0)
        ledger.start_run("simulate", "b", "", "", {}, started_ns=T0)
        ledger.record_mark("SOL", T0, 200.0)  # same data replayed again: both marks are kept
        ledger.record_funding(FundingPayment("sim", T0, "SOL", 1e-4, 1.0, 200.0, -0.02))
        runs = [row["run_id"] for row in ledger.runs()]
        assert [mid for _, mid in ledger.marks("SOL", run_id=runs[0])] == [100.0]
        assert [mid for _, mid in ledger.marks("SOL", run_id=runs[1])] == [200.0]
        assert ledger.funding_payments(run_id=runs[0]) == []
        assert len(ledger.funding_payments(run_id=runs[1])) == 1


def _old_ledger(path: Path) -> None:
    """A ledger as solbot wrote it before runs were on every row (only m001 applied)."""
    db = Database(path)
    migrations.apply(db, stop_before="m002_run_everywhere")
    db["runs"].insert_all(
        [
            {"run_id": "run-a", "kind": "run", "started_ns": T0, "profile": "x"},
            {"run_id": "simulate-b", "kind": "simulate", "started_ns": T0 + 50 * S},
        ]
    )
    db["fills"].insert_all(
        [
            {"venue": "lighter", "trade_id": "1", "market": "SOL", "ts_ns": T0 + 60 * S,
             "side": "bid", "price": 100.0, "size": 1.0, "role": "maker", "run_id": None},
            {"venue": "lighter", "trade_id": "0", "market": "SOL", "ts_ns": T0 - S,
             "side": "bid", "price": 100.0, "size": 1.0, "role": "maker", "run_id": None},
        ]
    )  # fmt: skip
    db["marks"].insert_all(
        [
            {"market": "SOL", "ts_ns": T0 + S, "mid": 1.0},
            {"market": "SOL", "ts_ns": T0 + 60 * S, "mid": 2.0},
        ]
    )
    db.close()


def test_migration_attributes_old_rows_to_runs(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _old_ledger(db)
    Ledger(db).close()
    conn = sqlite3.connect(db)
    fills = dict(conn.execute("SELECT trade_id, run_id FROM fills").fetchall())
    marks = dict(conn.execute("SELECT mid, run_id FROM marks").fetchall())
    conn.close()
    # Imported fills go to the newest live run started by their time; before any: unattributed.
    assert fills == {"1": "run-a", "0": ""}
    # Marks go to the newest run of any kind started by their time.
    assert marks == {1.0: "run-a", 2.0: "simulate-b"}


def test_backfilled_fill_belongs_to_the_live_run_that_was_trading(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        live = ledger.start_run("run", "p", "", "", {}, started_ns=T0)
        ledger.start_run("simulate", "p", "", "", {}, started_ns=T0 + 10 * S)
    with Ledger(db) as ledger:  # like `fetch-trades` / `metrics import-json`: no run given
        ledger.record_fills([Fill("lighter", "9", T0 + 20 * S, "SOL", Side.BID, 1, 1, Role.MAKER)])
        assert [f.trade_id for f in ledger.fills(run_id=live)] == ["9"]


def test_reading_commands_do_not_touch_a_file_that_is_not_a_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    before = (other.read_bytes(), os.stat(other).st_mtime_ns)
    for command in (["window"], ["dump"], ["export"], ["runs"]):
        assert main(["metrics", *command, "--db", str(other)]) == 3
        assert str(other) in capsys.readouterr().err
    assert (other.read_bytes(), os.stat(other).st_mtime_ns) == before
    assert not (tmp_path / "other.db-wal").exists()
    conn = sqlite3.connect(other)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    conn.close()
    assert (tables, mode) == (["notes"], "delete")


def test_reading_a_ledger_leaves_it_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    two_paper_runs(db)
    before = (db.read_bytes(), os.stat(db).st_mtime_ns)
    window_report(db)
    list_runs(db)
    assert (db.read_bytes(), os.stat(db).st_mtime_ns) == before


def test_reading_an_older_ledger_brings_it_up_to_date_once(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _old_ledger(db)
    report = window_report(db, run="all")  # read-only open: migrates, then reads with mode=ro
    assert report.fills == 2
    assert [r.run_id for r in list_runs(db)] == ["run-a", "simulate-b"]

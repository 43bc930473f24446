"""`metrics import-json`: side and role attribution, fees, timestamps, idempotence, bad files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from solbot.adapters.storage import ledger as ledger_module
from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trade_import import read_lighter_trades
from solbot.app.metrics import import_trades, window_report
from solbot.core.model import Role, Side
from solbot.errors import DataError

US = 42
MS = 1_700_000_000_000


def trade(trade_id: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "trade_id": trade_id, "market_id": 2, "type": "trade", "price": "150.000",
        "size": "0.100", "ask_account_id": 7, "bid_account_id": 8, "is_maker_ask": True,
        "timestamp": MS + trade_id,
    }  # fmt: skip
    base.update(fields)
    return base


TRADES = [
    # We sold and the maker was the ask: we were maker, maker fee 28 ppm.
    trade(1, ask_account_id=US, maker_fee=28, taker_fee=196, ask_client_id=5),
    # We bought into a resting ask: taker; size as base_amount, timestamp in seconds.
    trade(2, bid_account_id=US, price="151.000", size=None, base_amount="0.200",
          taker_fee=196, timestamp=1_700_000_002),
    # We bought and the maker was the bid: maker; fees omitted = 0.
    trade(3, bid_account_id=US, is_maker_ask=False),
    # We sold into a resting bid: taker.
    trade(4, ask_account_id=US, is_maker_ask=False, taker_fee=196, type="liquidation"),
    trade(5),  # someone else's trade
]  # fmt: skip


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2))
    return path


def test_side_role_fee_and_time_attribution(tmp_path: Path) -> None:
    source = write(tmp_path / "trades.json", {"trades": TRADES})
    parsed = read_lighter_trades(source, account_index=US)
    assert (parsed.total, parsed.not_ours, len(parsed.fills)) == (5, 1, 4)
    # Fills come out in execution order (trade 2's timestamp, in seconds, is the latest).
    assert [f.trade_id for f in parsed.fills] == ["1", "3", "4", "2"]
    one, two, three, four = sorted(parsed.fills, key=lambda f: f.trade_id)
    assert [(f.side, f.role) for f in (one, two, three, four)] == [
        (Side.ASK, Role.MAKER), (Side.BID, Role.TAKER), (Side.BID, Role.MAKER),
        (Side.ASK, Role.TAKER),
    ]  # fmt: skip
    assert one.fee_usd == pytest.approx(150 * 0.1 * 28e-6)
    assert two.fee_usd == pytest.approx(151 * 0.2 * 196e-6)
    assert three.fee_usd == 0.0
    assert (one.ts_ns, two.ts_ns) == ((MS + 1) * 1_000_000, 1_700_000_002 * 1_000_000_000)
    assert (one.trade_id, one.client_id, one.market, one.venue) == ("1", 5, "SOL", "lighter")
    assert (one.source, four.tag, one.tag) == ("import", "liquidation", "")
    assert two.size == 0.2


def test_import_is_idempotent(tmp_path: Path) -> None:
    source = write(tmp_path / "trades.json", TRADES)  # a bare list works too
    db = tmp_path / "ledger.db"
    first = import_trades(db, source, account_index=US)
    assert (first.inserted, first.duplicates, first.not_ours) == (4, 0, 1)
    again = import_trades(db, source, account_index=US)
    assert (again.inserted, again.duplicates) == (0, 4)
    with Ledger(db) as ledger:
        assert ledger.count("fills") == 4


def test_market_filter_and_several_markets(tmp_path: Path) -> None:
    mixed = [*TRADES, trade(9, market_id=1, bid_account_id=US)]
    source = write(tmp_path / "mixed.json", mixed)
    with pytest.raises(DataError) as caught:
        read_lighter_trades(source, account_index=US)
    assert caught.value.problems[0].field == "market_id"
    parsed = read_lighter_trades(source, account_index=US, market_id=2)
    assert (len(parsed.fills), parsed.other_market) == (4, 1)


def test_self_trades_are_counted_not_imported(tmp_path: Path) -> None:
    source = write(tmp_path / "t.json", [trade(1, ask_account_id=US, bid_account_id=US)])
    parsed = read_lighter_trades(source, account_index=US)
    assert (parsed.fills, parsed.self_trades) == ([], 1)


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    source = tmp_path / "broken.json"
    source.write_text('[\n  {"trade_id": 1,\n   "price": }\n]')
    with pytest.raises(DataError) as caught:
        read_lighter_trades(source, account_index=US)
    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.column) == (str(source), 3, 13)


def test_missing_and_bad_fields_name_the_trade_line(tmp_path: Path) -> None:
    bad = [trade(1, ask_account_id=US), trade(2, bid_account_id=US, price=None),
           trade(3, bid_account_id=US, size="lots"), "oops",
           trade(4, bid_account_id=US, is_maker_ask=None)]  # fmt: skip
    source = write(tmp_path / "bad.json", {"note": {"a": [1, 2]}, "trades": bad})
    with pytest.raises(DataError) as caught:
        read_lighter_trades(source, account_index=US)
    problems = caught.value.problems
    assert [p.field for p in problems] == [
        "trades[1].price", "trades[2].size", "trades[3]", "trades[4].is_maker_ask",
    ]  # fmt: skip
    lines = source.read_text().splitlines()
    for problem in problems:
        # Each problem points at the opening brace (or value) of its own trade.
        assert lines[problem.line - 1][problem.column - 1] in '{"'
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert len({p.line for p in problems}) == 4


@pytest.mark.parametrize("document", [{"data": []}, 17, {"trades": {"a": 1}}])
def test_wrong_shape_is_a_data_error(tmp_path: Path, document: object) -> None:
    source = write(tmp_path / "shape.json", document)
    with pytest.raises(DataError):
        read_lighter_trades(source, account_index=US)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        read_lighter_trades(tmp_path / "nope.json", account_index=US)


def test_newest_first_page_of_one_millisecond_realizes_like_the_venue(tmp_path: Path) -> None:
    """Buy 1 @ 100, buy 1 @ 101, sell 1 @ 102, all in one ms, listed newest first by the API."""
    same_ms = {"timestamp": MS, "size": "1.0", "is_maker_ask": False}
    page = [
        trade(12, ask_account_id=US, price="102.0", **same_ms),
        trade(11, bid_account_id=US, price="101.0", **same_ms),
        trade(10, bid_account_id=US, price="100.0", **same_ms),
    ]
    path = tmp_path / "trades.json"
    path.write_text(json.dumps({"trades": page}))
    db = tmp_path / "ledger.db"
    import_trades(db, path, account_index=US, market_id=2)
    report = window_report(db)
    assert report.realized_pnl_usd == pytest.approx(2.0)  # FIFO closes the buy @ 100
    assert report.inventory == pytest.approx(1.0)


def ledger_contents(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the fills and running-totals tables, in storage order, and the schema."""
    with sqlite3.connect(db) as conn:
        found = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in ("fills", "fill_checkpoints", "fill_streams", "fill_sync")
        }
        schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
        found["schema"] = conn.execute(schema).fetchall()
    return found


_CRASHING_IMPORT = """
import os, sys
from solbot.app import metrics
from solbot.adapters.storage import fill_totals, ledger
metrics.IMPORT_BATCH_FILLS = 3
ledger.IMPORT_REINDEX_FILLS = 1  # the fills indexes are dropped inside the transaction
fill_totals.CHECKPOINT_FILLS = 2

def crash(written: int, ours: int) -> None:
    if written >= 6:
        os._exit(9)  # the process dies mid-import: no rollback, no close

metrics.import_trades(sys.argv[1], sys.argv[2], account_index=42, progress=crash)
"""


def test_a_crash_mid_import_leaves_the_ledger_as_before_and_a_rerun_books_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with the fills indexes dropped for the import: the crash restores them, and the
    re-import that drops and rebuilds them ends with the schema and rows of a plain import."""
    older = [trade(n, bid_account_id=US if n % 3 else 7, ask_account_id=7 if n % 3 else US,
                   timestamp=MS + n) for n in range(10, 30)]  # fmt: skip
    stored = [trade(n, bid_account_id=US, timestamp=MS + n) for n in range(100, 104)]
    first = write(tmp_path / "first.json", {"trades": stored})
    source = write(tmp_path / "trades.json", {"trades": older})
    db, clean = tmp_path / "ledger.db", tmp_path / "clean.db"
    for ledger in (db, clean):
        import_trades(ledger, first, account_index=US)
    before = ledger_contents(db)
    script = tmp_path / "crash.py"
    script.write_text(_CRASHING_IMPORT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    crashed = subprocess.run(
        [sys.executable, str(script), str(db), str(source)], env=env, capture_output=True
    )
    assert crashed.returncode == 9, crashed.stderr
    assert ledger_contents(db) == before  # two batches were written, none committed
    monkeypatch.setattr(ledger_module, "IMPORT_REINDEX_FILLS", 1)
    again = import_trades(db, source, account_index=US)
    assert (again.inserted, again.duplicates) == (20, 0)
    import_trades(clean, source, account_index=US)
    assert ledger_contents(db) == ledger_contents(clean)
    assert window_report(db) == window_report(clean)
    third = import_trades(db, source, account_index=US)
    assert (third.inserted, third.duplicates) == (0, 20)
    assert ledger_contents(db) == ledger_contents(clean)


def test_a_big_import_rebuilds_the_fills_indexes_and_stores_what_a_small_one_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trades = [trade(n, bid_account_id=US if n % 2 else 7, ask_account_id=7 if n % 2 else US,
                    timestamp=MS + n // 2, type="liquidation" if n % 5 == 0 else "trade",
                    ask_client_id=n) for n in range(40)]  # fmt: skip
    source = write(tmp_path / "trades.json", trades)
    plain, rebuilt = tmp_path / "plain.db", tmp_path / "rebuilt.db"
    import_trades(plain, source, account_index=US)
    monkeypatch.setattr(ledger_module, "IMPORT_REINDEX_FILLS", 10)
    summary = import_trades(rebuilt, source, account_index=US)
    assert summary.inserted == 40
    assert ledger_contents(rebuilt) == ledger_contents(plain)
    with sqlite3.connect(rebuilt) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM fills WHERE market = 'SOL' AND ts_ns > 0"
        ).fetchall()
    assert "idx_fills_market_ts_ns" in str(plan)


def test_fills_sharing_a_quoted_venue_are_stored_as_given(tmp_path: Path) -> None:
    """Columns every row shares are written as SQL literals: quotes must survive."""
    rows = [("o'brien", str(n), "SOL", n, "bid", 1.5, 0.1, "maker", 0.0, None, "", None, "i")
            for n in range(3)]  # fmt: skip
    with Ledger(tmp_path / "l.db") as stored:
        assert stored.record_fill_rows(rows, run_id="r'1") == (3, 0)
        assert stored.record_fill_rows(rows[:1], run_id="r'1") == (0, 1)
    with sqlite3.connect(tmp_path / "l.db") as conn:
        found = conn.execute(
            "SELECT venue, trade_id, market, ts_ns, side, price, size, role, fee_usd, client_id,"
            " tag, mid, source, run_id FROM fills ORDER BY rowid"
        ).fetchall()
    assert found == [(*row, "r'1") for row in rows]


def test_the_cycle_collector_is_paused_during_an_import_and_restored_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from solbot.app import metrics

    seen: list[bool] = []
    real = metrics.read_lighter_trades

    def parse(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(metrics, "read_lighter_trades", parse)
    source = write(tmp_path / "trades.json", TRADES)
    assert gc.isenabled()
    import_trades(
        tmp_path / "ledger.db",
        source,
        account_index=US,
        progress=lambda *_: seen.append(gc.isenabled()),
    )
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(DataError):
        import_trades(
            tmp_path / "ledger.db", write(tmp_path / "bad.json", [{"x": 1}]), account_index=US
        )
    assert gc.isenabled()  # restored after an error too

"""Ledger: dedupe, durability policy, migrations, latches, orders and queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.migrations import MIGRATION_SET
from solbot.core.model import Fill, FundingPayment, OrderStatus, OrderTag, Role, Side
from solbot.errors import RuntimeFailure, SchemaVersionError


def fill(trade_id: str, ts_ns: int = 0, side: Side = Side.BID, market: str = "SOL") -> Fill:
    return Fill("lighter", trade_id, ts_ns, market, side, 150.0, 0.1, Role.MAKER, fee_usd=0.001)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read through an independent connection, as a second process would."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


def test_fill_dedupe_inside_one_batch_across_batches_and_reopen(db_path: Path) -> None:
    with Ledger(db_path) as ledger:
        assert ledger.record_fills([fill("1"), fill("2"), fill("1")]) == (2, 1)
        assert ledger.record_fills([fill("2"), fill("3")]) == (1, 1)
        assert ledger.record_fill(fill("3")) is False
        assert ledger.record_fill(fill("4")) is True
        assert ledger.record_fills([]) == (0, 0)
    with Ledger(db_path) as ledger:
        assert ledger.record_fills(fill(str(n)) for n in range(1, 6)) == (1, 4)
        assert ledger.count("fills") == 5


def test_same_trade_id_on_another_venue_is_a_different_fill(db_path: Path) -> None:
    other = Fill("paper", "1", 0, "SOL", Side.ASK, 150.0, 0.1, Role.TAKER)
    with Ledger(db_path) as ledger:
        assert ledger.record_fill(fill("1"))
        assert ledger.record_fill(other)
        assert ledger.count("fills") == 2


def test_fills_are_durable_at_once_marks_wait_for_the_batch(db_path: Path) -> None:
    ledger = Ledger(db_path, batch_size=3)
    ledger.record_fill(fill("1"))
    ledger.record_mark("SOL", 1, 150.0)
    ledger.record_mark("SOL", 2, 150.1)
    # A second process sees the fill, not the buffered marks.
    assert rows(db_path, "SELECT trade_id FROM fills") == [("1",)]
    assert rows(db_path, "SELECT COUNT(*) FROM marks") == [(0,)]
    ledger.record_decision(3, "quoting", ["trend.down"], "defensive", {"trend.down": "ret < -6"})
    assert rows(db_path, "SELECT COUNT(*) FROM marks") == [(2,)]  # batch of 3 reached
    ledger.record_mark("SOL", 4, 150.2)
    ledger.close()
    ledger.close()
    assert rows(db_path, "SELECT COUNT(*) FROM marks") == [(3,)]
    assert rows(db_path, "SELECT active_rules, reasons FROM decisions") == [
        ('["trend.down"]', '{"trend.down": "ret < -6"}')
    ]


def test_fast_mode_commits_fills_by_the_batch_not_one_by_one(db_path: Path) -> None:
    ledger = Ledger(db_path, batch_size=3, durability="fast")
    assert ledger.record_fill(fill("1"))
    assert not ledger.record_fill(fill("1"))  # duplicates are still told apart at once
    # Not committed yet: a second process sees nothing, no disk sync was paid for this fill.
    assert rows(db_path, "SELECT COUNT(*) FROM fills") == [(0,)]
    assert ledger.fills()[0].trade_id == "1"  # the ledger itself reads its open batch
    ledger.record_fill(fill("2"))
    assert rows(db_path, "SELECT COUNT(*) FROM fills") == [(2,)]  # batch of 3 rows reached
    ledger.record_fill(fill("3"))
    ledger.latch("kill.x", 5, "test")  # safety state commits everything pending at once
    assert rows(db_path, "SELECT COUNT(*) FROM fills") == [(3,)]
    ledger.record_fill(fill("4"))
    ledger.close()
    assert rows(db_path, "SELECT COUNT(*) FROM fills") == [(4,)]


def test_simulate_opens_its_ledger_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from solbot.adapters.data import sample_candles_path
    from solbot.app import simulate as simulate_module
    from solbot.cli.main import main

    seen: list[str] = []

    class SpyLedger(Ledger):
        def __init__(self, path: Path | str, **options: Any) -> None:
            super().__init__(path, **options)
            if not self.read_only:  # the summary and the report only read it afterwards
                seen.append(self.durability.value)

    monkeypatch.setattr(simulate_module, "Ledger", SpyLedger)
    argv = ["simulate", "--profile", "naive", "--data", str(sample_candles_path())]
    assert main([*argv, "--out", str(tmp_path), "--json"]) == 0
    assert seen == ["fast"]


def test_wal_mode_and_fill_round_trip(db_path: Path) -> None:
    original = Fill(
        "lighter", "77", 123, "SOL", Side.ASK, 151.25, 0.075, Role.TAKER,
        fee_usd=0.0031, client_id=42, tag="hedge_cross", mid=151.2, source="sim",
    )  # fmt: skip
    with Ledger(db_path) as ledger:
        ledger.record_fill(original, run_id="r1")
        assert ledger.fills() == [original]
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(db_path, "SELECT run_id FROM fills") == [("r1",)]


def test_fill_queries_filter_and_order_by_event_time(db_path: Path) -> None:
    with Ledger(db_path) as ledger:
        ledger.record_fills([fill("c", 30), fill("a", 10), fill("b", 20, market="ETH")])
        assert [f.trade_id for f in ledger.fills()] == ["a", "b", "c"]
        assert [f.trade_id for f in ledger.fills(since_ns=20)] == ["b", "c"]
        assert [f.trade_id for f in ledger.fills(until_ns=20)] == ["a", "b"]
        assert [f.trade_id for f in ledger.fills(market="SOL")] == ["a", "c"]
        ledger.record_mark("SOL", 40, 1.0)
        assert ledger.newest_ts_ns() == 40
        assert ledger.newest_ts_ns("ETH") == 20
        assert ledger.newest_ts_ns("BTC") is None
        assert ledger.markets() == ["ETH", "SOL"]


def test_funding_dedupe_and_query(db_path: Path) -> None:
    payment = FundingPayment("lighter", 3_600, "SOL", 0.0001, -1.5, 150.0, 0.0225)
    with Ledger(db_path) as ledger:
        assert ledger.record_funding(payment) is True
        assert ledger.record_funding(payment) is False
        assert ledger.funding_payments(market="SOL") == [payment]
        assert ledger.funding_payments(since_ns=3_601) == []


def latch_rows(path: Path) -> list[tuple[object, ...]]:
    return rows(path, "SELECT rule_id, latched_ns, acknowledged_ns FROM latches ORDER BY id")


def test_latch_survives_reopen_until_acknowledged(db_path: Path) -> None:
    with Ledger(db_path) as ledger:
        ledger.latch("kill.drawdown", 5, "drawdown 3%")
        ledger.latch("kill.drawdown", 6, "again")  # already latched: the first latch stays
        ledger.latch("kill.stale", 7, "no data")
    assert latch_rows(db_path) == [("kill.drawdown", 5, None), ("kill.stale", 7, None)]
    with Ledger(db_path) as ledger:
        assert ledger.latched() == ["kill.drawdown", "kill.stale"]
        assert ledger.acknowledge("kill.drawdown", 9) is True
        assert ledger.acknowledge("kill.drawdown", 9) is False
    with Ledger(db_path) as ledger:
        assert ledger.latched() == ["kill.stale"]
        ledger.latch("kill.drawdown", 11, "third time")
        assert ledger.latched() == ["kill.stale", "kill.drawdown"]
    assert latch_rows(db_path)[-1] == ("kill.drawdown", 11, None)


def test_order_upsert_keeps_creation_time(db_path: Path) -> None:
    with Ledger(db_path) as ledger:
        run = ledger.start_run("run", "defensive", "aa", "bb", {"venue": "paper"}, started_ns=1)
        common = {"market": "SOL", "side": Side.BID, "tag": OrderTag.QUOTE}
        ledger.record_order(7, price=150.0, size=0.1, status=OrderStatus.OPEN, ts_ns=10, **common)
        ledger.record_order(7, price=150.1, size=0.1, status="canceled", ts_ns=20, **common)
    got = rows(db_path, "SELECT run_id, price, tag, status, created_ns, updated_ns FROM orders")
    assert got == [(run, 150.1, "quote", "canceled", 10, 20)]


def test_runs_get_unique_ids_and_become_the_default(db_path: Path) -> None:
    with Ledger(db_path) as ledger:
        first = ledger.start_run("simulate", "base", "p1", "r1", {"seed": 3}, started_ns=99)
        second = ledger.start_run("simulate", "base", "p1", "r1", {}, started_ns=99)
        assert (first, second) == ("simulate-99", "simulate-99-2")
        ledger.record_fill(fill("1"))
        assert [r["meta"] for r in ledger.runs()] == [{"seed": 3}, {}]
        with pytest.raises(ValueError):
            ledger.start_run("backtest", "base", "p1", "r1", {})
    assert rows(db_path, "SELECT run_id FROM fills") == [("simulate-99-2",)]


def test_migrations_are_idempotent_on_an_existing_db(db_path: Path) -> None:
    Ledger(db_path).close()
    Ledger(db_path).close()
    applied = rows(
        db_path, f"SELECT name FROM _sqlite_migrations WHERE migration_set = '{MIGRATION_SET}'"
    )
    names = [name for (name,) in applied]
    assert names[:2] == ["m001_initial", "m002_run_everywhere"]
    assert "m_budget_venue_requests" in names
    assert len(names) == len(set(names))  # each applied once


def test_venue_requests_of_the_last_minute_survive_a_reopen(db_path: Path) -> None:
    """A restart reads the requests the killed run sent: they still count at the venue."""
    minute = 60 * 10**9
    with Ledger(db_path) as ledger:
        for at_ns in (1 * minute, 10 * minute, 10 * minute + 5, 11 * minute):
            ledger.record_request(7, at_ns)
        ledger.record_request(8, 11 * minute)
    with Ledger(db_path) as ledger:
        assert ledger.requests_since(7, 10 * minute) == [10 * minute, 10 * minute + 5, 11 * minute]
        assert ledger.requests_since(8, 0) == [11 * minute]
        assert ledger.requests_since(7, 0)[0] == 10 * minute  # older than 5 minutes: pruned


def test_db_from_a_newer_solbot_is_refused(db_path: Path) -> None:
    Ledger(db_path).close()
    db = Database(db_path)
    db.table("_sqlite_migrations").insert(
        {"migration_set": MIGRATION_SET, "name": "m999_future", "applied_at": "later"}
    )
    db.close()
    with pytest.raises(SchemaVersionError) as caught:
        Ledger(db_path)
    assert caught.value.exit_code == 4


def test_a_file_that_is_not_a_database_is_a_runtime_failure(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite" * 100)
    with pytest.raises(RuntimeFailure):
        Ledger(bogus)


def test_records_after_close_fail_loudly(db_path: Path) -> None:
    ledger = Ledger(db_path)
    ledger.close()
    with pytest.raises(RuntimeFailure):
        ledger.record_mark("SOL", 1, 1.0)
    with pytest.raises(RuntimeFailure):
        ledger.record_fill(fill("1"))


def test_durable_false_trades_power_loss_safety_for_speed(db_path: Path) -> None:
    with Ledger(db_path, durability="fast") as ledger:
        assert ledger.record_fill(fill("1"))
        (level,) = ledger._db.execute("PRAGMA synchronous").fetchone()
        assert level == 0  # OFF
    with Ledger(db_path) as ledger:
        (level,) = ledger._db.execute("PRAGMA synchronous").fetchone()
        assert level == 2  # FULL
        assert ledger.count("fills") == 1

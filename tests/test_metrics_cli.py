"""`solbot metrics` through the real CLI entry point: output shapes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solbot.adapters.storage.ledger import Ledger
from solbot.cli.main import main
from solbot.core.model import Fill, Role, Side

T0_NS = 1_700_000_100 * 1_000_000_000
JSON_KEYS = {
    "fills", "maker_fills", "taker_fills", "volume_usd", "realized_pnl_usd", "cash_flow_usd",
    "fees_usd", "funding_usd", "net_pnl_usd", "inventory", "unrealized_pnl_usd", "markouts_bps",
    "window_start_ns", "window_end_ns",
}  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.record_fills(
            [
                Fill("lighter", "1", T0_NS, "SOL", Side.BID, 100.0, 1.0, Role.MAKER),
                Fill("lighter", "2", T0_NS + 10**9, "SOL", Side.ASK, 101.0, 0.5, Role.TAKER),
            ]
        )
        ledger.record_mark("SOL", T0_NS + 2 * 10**9, 100.4)
    return path


def test_window_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "window", "--hours", "1", "--json", "--db", str(db)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= JSON_KEYS
    assert set(report["markouts_bps"]) == {"1", "5", "30", "60"}
    assert report["fills"] == 2
    assert report["realized_pnl_usd"] == pytest.approx(0.5)
    assert report["inventory"] == pytest.approx(0.5)
    assert report["unrealized_pnl_usd"] == pytest.approx(0.2)
    assert report["window_end_ns"] == T0_NS + 2 * 10**9


def test_db_from_environment_and_table_output(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOLBOT_DB", str(db))
    assert main(["metrics", "window", "--seconds", "30"]) == 0
    out = capsys.readouterr().out
    assert "realized PnL USD" in out and "0.5000" in out
    assert main(["metrics", "dump"]) == 0
    assert "last_6h" in capsys.readouterr().out


def test_dump_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["metrics", "dump", "--json", "--db", str(db)]) == 0
    both = json.loads(capsys.readouterr().out)
    assert set(both) == {"total", "last_6h"}
    assert both["total"]["fills"] == both["last_6h"]["fills"] == 2


def test_export_to_stdout_and_parquet(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["metrics", "export", "--window", "60", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("bucket_start_ms,") and len(lines) == 2
    out = tmp_path / "b.parquet"
    args = ["metrics", "export", "--format", "parquet", "--out", str(out), "--db", str(db)]
    assert main(args) == 0
    assert out.stat().st_size > 0
    assert main(["metrics", "export", "--format", "parquet", "--db", str(db)]) == 2


def test_reset_needs_confirm_then_archives(db: Path, tmp_path: Path) -> None:
    assert main(["metrics", "reset", "--db", str(db)]) == 2
    with Ledger(db) as ledger:
        assert ledger.count("fills") == 2
    assert main(["metrics", "reset", "--confirm", "--db", str(db)]) == 0
    archives = list(tmp_path.glob("ledger.db.*.bak"))
    assert len(archives) == 1
    with Ledger(archives[0]) as archived:
        assert archived.count("fills") == 2
    with Ledger(db) as fresh:
        assert fresh.count("fills") == 0


def test_import_json_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    good = tmp_path / "trades.json"
    trade = {"trade_id": 5, "price": "150", "size": "0.1", "ask_account_id": 3,
             "bid_account_id": 4, "is_maker_ask": True, "timestamp": 1_700_000_000_000}  # fmt: skip
    good.write_text(json.dumps([trade]))
    base = ["metrics", "import-json", str(good), "--db", str(db)]
    assert main(base) == 2  # no account index
    assert main([*base, "--account-index", "4"]) == 0
    assert "1 inserted" in capsys.readouterr().out
    assert main([*base, "--account-index", "4"]) == 0
    assert "0 inserted, 1 already stored" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"trades": [\n  {"trade_id": 1,,}\n]}')
    assert main(["metrics", "import-json", str(bad), "--account-index", "4", "--db", str(db)]) == 3
    assert f"{bad}:2:" in capsys.readouterr().err


def test_usage_and_runtime_exit_codes(db: Path, tmp_path: Path) -> None:
    assert main(["metrics", "window", "--hours", "1", "--seconds", "3", "--db", str(db)]) == 2
    assert main(["metrics", "window", "--since", "not-a-time", "--db", str(db)]) == 2
    assert main(["metrics", "window", "--db", str(tmp_path / "missing.db")]) == 1

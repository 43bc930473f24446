"""`solbot simulate` end to end on the bundled sample: contract, determinism, ledger agreement."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from solbot.adapters.data import sample_paths
from solbot.cli.main import main

REQUIRED_KEYS = {
    "events",
    "fills",
    "maker_fills",
    "taker_fills",
    "volume_usd",
    "realized_pnl_usd",
    "fees_usd",
    "net_pnl_usd",
    "max_abs_inventory",
    "events_per_s",
    "trace_sha256",
    "profile_sha256",
    "ruleset_sha256",
    "db",
    "markouts_bps",
    "rules",
    "regime_s",
    "tx_per_minute",
    "equity_usd",
    "max_drawdown_usd",
    "daily_net_pnl_usd",
    "profit_factor",
    "hit_rate_5s",
    "mean_abs_inventory",
    "mean_time_to_flat_s",
    "max_time_to_flat_s",
}


def simulate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["simulate", "--json", *args])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else {}), captured.err


@pytest.fixture(scope="module")
def naive_runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The naive profile twice on the bundled sample, into different folders."""
    results = []
    for name in ("first", "second"):
        out = tmp_path_factory.mktemp(name)
        code = main(["simulate", "--profile", "naive", "--out", str(out), "--json", "--report"])
        assert code == 0
        results.append(json.loads((out / "summary.json").read_text()) | {"out": out})
    return results


def test_json_has_the_documented_keys(naive_runs: list[dict]) -> None:
    summary = naive_runs[0]
    assert set(summary) >= REQUIRED_KEYS
    assert summary["events"] == 68_068
    assert summary["fills"] == summary["maker_fills"] + summary["taker_fills"]
    assert summary["fills"] > 0, "the naive profile trades on the sample"
    assert summary["net_pnl_usd"] == pytest.approx(
        summary["realized_pnl_usd"] - summary["fees_usd"] + summary["funding_usd"]
    )


def test_summary_figures_add_up(naive_runs: list[dict]) -> None:
    summary = naive_runs[0]
    assert sum(summary["daily_net_pnl_usd"].values()) == pytest.approx(summary["equity_usd"])
    assert summary["max_drawdown_usd"] >= 0.0
    # the equity at the last mark is net PnL plus unrealized, valued at (nearly) the last mid
    final = summary["net_pnl_usd"] + summary["unrealized_pnl_usd"]
    assert summary["equity_usd"] == pytest.approx(final, abs=0.05 + 1e-3 * abs(final))
    assert 0.0 <= (summary["hit_rate_5s"] or 0.0) <= 1.0
    assert summary["mean_abs_inventory"] <= summary["max_abs_inventory"] + 1e-9


def test_the_book_path_holds_the_mid_the_engine_recorded_on_each_fill(
    naive_runs: list[dict],
) -> None:
    from solbot.adapters.data import open_events
    from solbot.adapters.storage.ledger import Ledger
    from solbot.app.price_path import mids_at
    from solbot.app.simulate import PriceMapping, SimulationRequest, prepare_policy

    paths = tuple(sample_paths())
    prepared = prepare_policy(SimulationRequest(profile="naive", data=paths))
    events = open_events(list(paths), prepared.source_entry.spec)
    mapping = PriceMapping.build(events, prepared.source_entry.spec, prepared.target, None)
    with Ledger(naive_runs[0]["out"] / "ledger.db", read_only=True) as ledger:
        fills = ledger.fills()
    assert fills and all(f.mid is not None for f in fills)
    path = mids_at(mapping.mids(events), [f.ts_ns for f in fills])
    assert path == pytest.approx([f.mid for f in fills], abs=1e-9)


def test_same_inputs_give_a_byte_identical_trace(naive_runs: list[dict]) -> None:
    first, second = naive_runs
    assert first["trace_sha256"] == second["trace_sha256"]
    assert (first["out"] / "trace.jsonl.gz").read_bytes() == (
        second["out"] / "trace.jsonl.gz"
    ).read_bytes()


def test_the_ledger_agrees_with_the_summary(
    naive_runs: list[dict], capsys: pytest.CaptureFixture[str]
) -> None:
    summary = naive_runs[0]
    code = main(["metrics", "window", "--db", summary["db"], "--hours", "1", "--json"])
    assert code == 0
    window = json.loads(capsys.readouterr().out)
    assert window["fills"] == summary["fills"]
    assert window["realized_pnl_usd"] == pytest.approx(summary["realized_pnl_usd"], abs=1e-9)
    assert window["fees_usd"] == pytest.approx(summary["fees_usd"], abs=1e-9)


def test_orders_that_traded_end_filled_or_partial_in_the_ledger(naive_runs: list[dict]) -> None:
    conn = sqlite3.connect(naive_runs[0]["db"])
    rows = conn.execute(
        "SELECT o.client_id, o.status, o.size, SUM(f.size) FROM orders o "
        "JOIN fills f ON f.client_id = o.client_id AND f.run_id = o.run_id "
        "GROUP BY o.run_id, o.client_id"
    ).fetchall()
    conn.close()
    assert rows, "the naive profile fills on the sample"
    for client_id, status, size, filled in rows:
        expected = "filled" if filled >= size - 1e-9 else "partial"
        assert status == expected, (client_id, status, size, filled)


def test_report_is_a_self_contained_page(naive_runs: list[dict]) -> None:
    page = (naive_runs[0]["out"] / "report.html").read_text()
    assert page.startswith("<!doctype html>")
    assert page.count('<script src="plotly.min.js">') == 1  # the library beside it: offline
    assert "plotly.js v" in (naive_runs[0]["out"] / "plotly.min.js").read_text()
    assert page.count("Plotly.newPlot") == 2
    for title in ("equity", "inventory", "rule activations", "net PnL per UTC day"):
        assert title in page
    for day in naive_runs[0]["daily_net_pnl_usd"]:
        assert day in page  # the daily bars are the summary's days


def test_a_different_profile_changes_the_hashes(
    naive_runs: list[dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, summary, _ = simulate(capsys, "--profile", "defensive", "--out", str(tmp_path))
    assert code == 0
    assert summary["profile_sha256"] != naive_runs[0]["profile_sha256"]
    assert summary["trace_sha256"] != naive_runs[0]["trace_sha256"]


def test_funding_is_paid_on_held_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    funding = tmp_path / "funding.csv"
    funding.write_text(
        "funding_time_ms,funding_time_utc,funding_rate\n"
        "1723161400000,x,0.001\n1723161500000,x,-0.002\n"
    )
    code, summary, _ = simulate(
        capsys, "--profile", "naive", "--out", str(tmp_path / "out"), "--funding", str(funding)
    )
    assert code == 0
    assert summary["funding_usd"] == pytest.approx(summary["venue"]["funding_usd"], abs=1e-6)


def test_bad_data_file_exits_3_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, trades = sample_paths()
    broken = tmp_path / "binance_usdm_ETHUSDT_broken_bookticker.csv"
    broken.write_text(
        "local_ts_ns,update_id,event_time_ms,transaction_time_ms,bid_price,bid_qty,ask_price,ask_qty\n"
        "1723161256360677763,1,1723161255088,1723161255087,2600.1,1.0,2600.2,1.0\n"
        "1723161256360677764,2,1723161255089,1723161255088,oops,1.0,2600.2,1.0\n"
    )
    code, _, err = simulate(
        capsys, "--data", str(broken), "--data", str(trades), "--out", str(tmp_path)
    )
    assert code == 3
    assert err.startswith(f"{broken}:3:5: bid_price:")


def test_bad_funding_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    funding = tmp_path / "funding.csv"
    funding.write_text("funding_time_ms,funding_time_utc,funding_rate\n1723161400000,x,abc\n")
    code, _, err = simulate(capsys, "--out", str(tmp_path), "--funding", str(funding))
    assert code == 3
    assert err.strip() == f"{funding}:2:3: funding_rate: expected a number, found 'abc'"


def test_converted_parquet_names_its_market(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parquet = tmp_path / "sample.parquet"
    assert main(["data", "convert", *map(str, sample_paths()), "--out", str(parquet)]) == 0
    capsys.readouterr()
    code, summary, _ = simulate(
        capsys, "--profile", "naive", "--data", str(parquet), "--out", str(tmp_path / "o")
    )
    assert code == 0
    assert summary["events"] == 68_068


def test_bar_mode_on_sol_candles_is_labelled_coarse_and_not_rescaled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from solbot.adapters.data import sample_candles_path

    code, summary, _ = simulate(
        capsys, "--profile", "naive", "--data", str(sample_candles_path()), "--out", str(tmp_path)
    )
    assert code == 0
    assert summary["events"] == 1440 * 8  # 4 synthetic ticks, each a quote and a trade, per bar
    assert any(note.startswith("bar mode is coarse") for note in summary["notes"])
    assert not any("rescaled" in note for note in summary["notes"])  # SOLUSDT is SOL
    assert summary["fills"] > 0

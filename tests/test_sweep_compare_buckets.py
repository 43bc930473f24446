"""`sweep --candles` and `compare --candles`: per-bucket net PnL from `analyze regimes`' slicing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from solbot.app.analysis.regimes import trend_vol_pnl
from solbot.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"
CANDLES = FIXTURES / "binance_usdm_perp_SOLUSDT_1m_20250602T00-06.csv.gz"


def test_sweep_results_carry_each_points_bucket_pnl_summing_to_its_net(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep", "--profile", "naive", "--data", str(CANDLES),
            "--grid", "quoting.spread_bps=10,16", "--candles", str(CANDLES),
            "--out", str(out), "--json",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    table = pl.read_parquet(out / "results.parquet")
    buckets = [name for name in table.columns if name.startswith("bucket_net_usd[")]
    assert buckets, table.columns
    for row in table.iter_rows(named=True):
        total = sum(row[name] or 0.0 for name in buckets)
        assert total == pytest.approx(row["net_pnl_usd"], abs=1e-6)


def test_compare_shows_the_bucket_pnl_of_each_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = []
    for spread in ("10", "16"):
        out = tmp_path / f"run-{spread}"
        argv = ["simulate", "--profile", "naive", "--data", str(CANDLES), "--out", str(out)]
        assert main([*argv, "--set", f"quoting.spread_bps={spread}", "--json"]) == 0
        runs.append(out)
    capsys.readouterr()
    code = main(["compare", *map(str, runs), "--candles", str(CANDLES), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    buckets = report["bucket_pnl_usd"]
    assert buckets
    first = {name: entry["values"][0] for name, entry in buckets.items()}
    assert first == pytest.approx(trend_vol_pnl(runs[0] / "ledger.db", (CANDLES,)))

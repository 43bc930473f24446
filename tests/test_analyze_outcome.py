"""`solbot analyze outcome`: the profiles replayed side by side, judged in the same buckets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from solbot.adapters.data import sample_paths
from solbot.app.analysis.outcome import capture_key, loss_cut, max_drawdown, worst_bucket
from solbot.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"
HYPERLIQUID_1M = FIXTURES / "hyperliquid_perp_SOL_1m_20250722T00-03.csv.gz"
BYBIT_1M = FIXTURES / "bybit_linear_perp_SOLUSDT_1m_20250602T00-06.csv.gz"
PREMIUM = "0.4/2.8bps"
TARDIS_QUOTES = (
    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
)
TARDIS_TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
STANDARD = "0bps"
SOL = ("--data-market", "lighter:SOL")  # SOL candles of a venue solbot has no market entry for


def outcome_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(["analyze", "outcome", "--json", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)  # type: ignore[no-any-return]


def simulate_json(
    capsys: pytest.CaptureFixture[str], profile: str, *data: Path, extra: tuple[str, ...] = ()
) -> Any:
    code = main(["simulate", "--profile", profile, "--json", *extra, "--data", *map(str, data)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_outcome_volume_and_net_equal_simulate_on_the_same_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Hyperliquid candles: the name does not say a market solbot knows, --data-market does."""
    code = main(["analyze", "outcome", "--data", str(HYPERLIQUID_1M)])
    assert code == 2 and "--data-market" in capsys.readouterr().err
    venue = ("--data-market", "lighter:SOL")  # the same asset: no price mapping
    report = outcome_json(
        capsys, "--profiles", "naive,defensive", *venue, "--data", str(HYPERLIQUID_1M)
    )
    (dataset,) = report["datasets"]
    assert dataset["mode"] == "bar (coarse)"
    for row in dataset["profiles"]:
        summary = simulate_json(capsys, row["profile"], HYPERLIQUID_1M, extra=venue)
        assert row["fills"] == summary["fills"]
        assert row["volume_usd"] == pytest.approx(summary["volume_usd"], abs=1e-6)
        # the run is recorded at the profile's tier (Lighter standard, 0 fees)
        assert row["net_usd"][STANDARD] == pytest.approx(summary["net_pnl_usd"], abs=1e-6)
        if summary["fills"]:
            assert row["net_usd"][PREMIUM] < row["net_usd"][STANDARD]


def test_every_profile_is_judged_in_the_same_windows_and_buckets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = outcome_json(capsys, "--data-market", "lighter:SOL", "--data", str(BYBIT_1M))
    (dataset,) = report["datasets"]
    assert [p["profile"] for p in dataset["profiles"]] == ["naive", "defensive", "aggressive"]
    layouts = {
        tuple((b["bucket"], b["windows"]) for b in p["buckets"]) for p in dataset["profiles"]
    }
    assert len(layouts) == 1  # one labelling per dataset, whatever each profile traded
    naive = dataset["profiles"][0]
    worst = dataset["baseline_worst"]
    if worst is not None:
        column = f"net_fees_{PREMIUM}_usd"
        assert worst["net_usd"] == min(b[column] for b in naive["buckets"])
        for p in dataset["profiles"]:
            mine = next(b[column] for b in p["buckets"] if b["bucket"] == worst["bucket"])
            assert p["baseline_worst_cut"] == pytest.approx(loss_cut(worst["net_usd"], mine))
        assert naive["baseline_worst_cut"] == 0.0


def test_the_files_of_one_tick_capture_replay_together(
    capsys: pytest.CaptureFixture[str],
) -> None:
    book, trades = sample_paths()
    report = outcome_json(capsys, "--profiles", "naive", "--data", str(book), str(trades))
    (dataset,) = report["datasets"]
    assert dataset["mode"] == "tick"
    assert sorted(dataset["paths"]) == sorted([str(book), str(trades)])
    assert dataset["window_s"] == 60
    (naive,) = dataset["profiles"]
    summary = simulate_json(capsys, "naive", book, trades)
    assert naive["fills"] == summary["fills"]
    assert sum(b["windows"] for b in naive["buckets"]) >= 5  # 5¾ minutes of 60 s windows


def test_a_tick_capture_in_a_vendor_layout_with_a_name_solbot_does_not_know(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Tardis.dev quotes + trades, renamed so the market cannot come from the name."""
    quotes, trades = tmp_path / "export_quotes.csv", tmp_path / "export_trades.csv"
    t0 = 1_582_329_600_000_000  # 2020-02-22 00:00 UTC in microseconds
    quote_rows = [TARDIS_QUOTES]
    trade_rows = [TARDIS_TRADES]
    for i in range(0, 360):
        ts = t0 + i * 1_000_000
        mid = 10_000 + (i % 40) - 20
        quote_rows.append(
            f"binance-futures,BTCUSDT,{ts},{ts + 5000},1.0,{mid + 0.5},{mid - 0.5},1.0"
        )
        side = "buy" if i % 2 else "sell"
        price = mid + 0.5 if side == "buy" else mid - 0.5
        trade_rows.append(f"binance-futures,BTCUSDT,{ts},{ts + 6000},{i},{side},{price},0.5")
    quotes.write_text("\n".join(quote_rows) + "\n")
    trades.write_text("\n".join(trade_rows) + "\n")
    code = main(["analyze", "outcome", "--profiles", "naive", "--data", str(quotes), str(trades)])
    captured = capsys.readouterr()
    assert code == 2 and "--data-market" in captured.err  # the name does not say the market
    report = outcome_json(
        capsys,
        "--profiles",
        "naive",
        "--data-market",
        "binance-usdm:BTCUSDT",
        "--data",
        str(quotes),
        str(trades),
    )
    (dataset,) = report["datasets"]
    assert dataset["name"] == "export" and dataset["mode"] == "tick"
    assert dataset["profiles"][0]["days"] == 1


def test_text_output_names_the_worst_bucket_and_the_fee_schedules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["analyze", "outcome", "--profiles", "naive,defensive", *SOL, "--data", str(BYBIT_1M)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "bar (coarse)" in out and "net @0.4/2.8bps" in out and "== overall" in out
    assert "naive's worst trend x vol bucket at 0.4/2.8bps" in out


def test_a_missing_file_is_a_usage_error_and_an_unknown_profile_is_invalid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["analyze", "outcome", "--data", str(tmp_path / "none.csv")]) == 2
    capsys.readouterr()
    copy = tmp_path / BYBIT_1M.name
    shutil.copy(BYBIT_1M, copy)
    code = main(["analyze", "outcome", "--profiles", "nosuch", *SOL, "--data", str(copy)])
    assert code == 3
    assert "nosuch" in capsys.readouterr().err


def test_capture_key_drops_the_stream_token_wherever_it_sits() -> None:
    assert capture_key(Path("binance_usdm_ETHUSDT_20240808T2354-20240808T2359_trades.csv.gz")) == (
        "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
    )
    assert capture_key(Path("binance-futures_BTCUSDT_quotes_20200222.csv.gz")) == (
        "binance-futures_BTCUSDT_20200222"
    )
    assert capture_key(Path("binance-futures_BTCUSDT_trades_20200222.csv.gz")) == (
        "binance-futures_BTCUSDT_20200222"
    )


def test_loss_cut_drawdown_and_worst_bucket() -> None:
    assert loss_cut(-4.0, -1.0) == 0.75
    assert loss_cut(-4.0, 0.0) == 1.0
    assert loss_cut(-4.0, -6.0) == -0.5
    frame = pl.DataFrame({"window_start_ns": [3, 1, 2, 4], "x": [-3.0, 2.0, 1.0, 1.0]})
    assert max_drawdown(frame, "x") == 3.0  # peak 3 after two windows, then down to 0
    rows = [{"bucket": "a", "x": 1.0, "windows": 2}, {"bucket": "b", "x": -2.0, "windows": 1}]
    assert worst_bucket(rows, "x") == {"bucket": "b", "net_usd": -2.0, "windows": 1}
    assert worst_bucket(rows[:1], "x") is None


def test_without_data_it_compares_on_the_bundled_sample_like_simulate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = outcome_json(capsys, "--profiles", "naive")
    (dataset,) = report["datasets"]
    assert sorted(dataset["paths"]) == sorted(str(p) for p in sample_paths())

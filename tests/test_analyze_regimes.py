"""`solbot analyze regimes`: a simulated run's FIFO PnL windows sliced by external candles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from solbot.app.analysis.candles import read_candles
from solbot.app.analysis.correlation import pearson
from solbot.app.analysis.fees import FeeSchedule, parse_fees
from solbot.app.analysis.join import TrendThresholds, join_windows
from solbot.cli.main import main
from solbot.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures" / "analysis"
BINANCE_1M = FIXTURES / "binance_usdm_perp_SOLUSDT_1m_20250602T00-06.csv.gz"
BYBIT_1M = FIXTURES / "bybit_linear_perp_SOLUSDT_1m_20250602T00-06.csv.gz"
HYPERLIQUID_5M = FIXTURES / "hyperliquid_perp_SOL_5m_20250602T00-06.csv.gz"
OTHER_PERIOD_5M = FIXTURES / "binance_usdm_perp_SOLUSDT_5m_20240808T21-20240809T01.csv.gz"
NS = 1_000_000_000


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bar-mode run of `defensive` on six hours of Binance SOL 1m candles; its ledger."""
    out = tmp_path_factory.mktemp("sim")
    code = main(
        [
            "simulate",
            "--profile",
            "defensive",
            "--data",
            str(BINANCE_1M),
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    return out / "ledger.db"


def regimes_json(capsys: pytest.CaptureFixture[str], db: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli(capsys, "analyze", "regimes", "--db", str(db), "--json", *extra)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_bucket_totals_add_up_to_the_runs_fifo_net_from_metrics_window(
    simulated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = regimes_json(capsys, simulated, "--candles", str(BINANCE_1M))
    code, out, _ = run_cli(capsys, "metrics", "window", "--db", str(simulated), "--json")
    assert code == 0
    window = json.loads(out)
    run_net = window["net_pnl_usd"]
    summary = report["summary"]
    assert summary["run"] == window["run"]["run_id"]
    assert window["fills"] > 50 and run_net != 0  # the run trades: the check has teeth
    assert summary["joined_windows"] == summary["run_windows"] == 72
    assert summary["run_net_pnl_usd"] == pytest.approx(run_net, abs=1e-9)
    for dimension, rows in report["buckets"].items():
        assert sum(r["net_pnl_usd"] for r in rows) == pytest.approx(run_net, abs=1e-9), dimension
        assert sum(r["fills"] for r in rows) == window["fills"], dimension
        assert sum(r["volume_usd"] for r in rows) == pytest.approx(window["volume_usd"]), dimension
        assert sum(r["windows"] for r in rows) == 72


def test_bucket_markouts_pool_to_the_runs_markouts_from_metrics_window(
    simulated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = regimes_json(capsys, simulated, "--candles", str(BINANCE_1M))
    code, out, _ = run_cli(capsys, "metrics", "window", "--db", str(simulated), "--json")
    assert code == 0
    window = json.loads(out)
    for horizon in ("5", "30", "60"):
        expected, samples = window["markouts_bps"][horizon], window["markout_samples"][horizon]
        assert samples > 10
        for dimension, rows in report["buckets"].items():
            counts = [r[f"markout_{horizon}s_samples"] for r in rows]
            pooled = sum(
                r[f"markout_{horizon}s_bps"] * n for r, n in zip(rows, counts, strict=True) if n
            )
            assert sum(counts) == samples, dimension
            assert pooled / samples == pytest.approx(expected, abs=1e-9), dimension


def test_buckets_come_in_their_natural_order(
    simulated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    buckets = regimes_json(capsys, simulated, "--candles", str(BINANCE_1M))["buckets"]
    assert [r["bucket"] for r in buckets["volatility"]] == ["low", "mid", "high"]
    assert [r["bucket"] for r in buckets["trend"]] == ["down", "flat", "up"]
    assert [r["bucket"] for r in buckets["trend_x_vol"]][:3] == [
        "down/low",
        "down/mid",
        "down/high",
    ]


def test_fee_what_ifs_change_net_by_exactly_fee_times_volume(
    simulated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = regimes_json(capsys, simulated, "--candles", str(BINANCE_1M), "--fees", "0,0.4/2.8,2")
    columns = {f["label"]: f["column"] for f in report["summary"]["fee_schedules"]}
    assert list(columns) == ["0bps", "0.4/2.8bps", "2bps"]
    for rows in report["buckets"].values():
        for row in rows:
            base = row[columns["0bps"]]
            premium = base - (0.4 * row["maker_volume_usd"] + 2.8 * row["taker_volume_usd"]) / 1e4
            flat = base - 2 * row["volume_usd"] / 1e4
            assert row[columns["0.4/2.8bps"]] == pytest.approx(premium, abs=1e-9)
            assert row[columns["2bps"]] == pytest.approx(flat, abs=1e-9)
            # the recorded fees are replaced, not added to: 0 bps is the gross FIFO PnL
            assert base == pytest.approx(row["net_pnl_usd"] + row["fees_usd"], abs=1e-9)


def test_pearson_r_matches_numpy_corrcoef_on_the_same_windows(
    simulated: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = tmp_path / "windows.csv"
    report = regimes_json(capsys, simulated, "--candles", str(BINANCE_1M), "--csv", str(table))
    windows = pl.read_csv(table)
    assert windows.height == 72
    for pnl, against in report["correlations"].items():
        for name, r in against.items():
            expected = np.corrcoef(windows[pnl].to_numpy(), windows[name].to_numpy())[0, 1]
            assert r == pytest.approx(expected, abs=1e-9), (pnl, name)


def test_pearson_has_no_answer_without_variance_or_enough_pairs() -> None:
    assert pearson([1.0, 2.0], [3.0, 4.0]) is None
    assert pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None
    assert pearson([1.0, 2.0, None, 3.0], [2.0, 4.0, 5.0, 6.0]) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("candles", "extra", "bar_s"),
    [(BYBIT_1M, (), 60), (HYPERLIQUID_5M, ("--window", "15m"), 300)],
    ids=["bybit-1m", "hyperliquid-5m"],
)
def test_candles_of_other_venues_slice_the_same_run(
    simulated: Path,
    capsys: pytest.CaptureFixture[str],
    candles: Path,
    extra: tuple[str, ...],
    bar_s: int,
) -> None:
    report = regimes_json(capsys, simulated, "--candles", str(candles), *extra)
    summary = report["summary"]
    assert summary["candle_bar_s"] == bar_s
    assert summary["joined_windows"] == summary["run_windows"] > 0
    for rows in report["buckets"].values():
        assert sum(r["net_pnl_usd"] for r in rows) == pytest.approx(summary["run_net_pnl_usd"])


def test_candles_that_miss_the_run_exit_3_naming_both_spans(
    simulated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "analyze", "regimes", "--db", str(simulated), "--candles", str(OTHER_PERIOD_5M)
    )
    assert code == 3 and out == ""
    assert "do not overlap" in err
    assert "2025-06-02T00:00:00Z -> 2025-06-02T05:59" in err  # the run
    assert "2024-08-08T21:00:00Z -> 2024-08-09T00:59:59Z" in err  # the candles
    assert "Traceback" not in err


def test_candle_open_times_become_nanoseconds() -> None:
    candles = read_candles([BINANCE_1M])
    assert candles.open_ns[0] == 1748822400000 * 1_000_000
    assert candles.bar_ns == 60 * NS
    assert candles.span_ns == (
        1748822400000 * 1_000_000,
        (1748822400000 + 360 * 60_000) * 1_000_000 - 1,
    )


def _window(start_s: int, ret_bps: float, vol: float) -> dict[str, Any]:
    return {"window_start_ns": start_s * NS, "return_bps": ret_bps, "vol_1m_bps": vol}


def test_trend_volatility_and_session_labels() -> None:
    monday_1400 = 1748872800  # 2025-06-02 14:00 UTC = 10:00 New York: US market hours
    monday_0300 = 1748833200  # 03:00 UTC = Sunday 23:00 New York: weekend
    tuesday_0300 = monday_0300 + 86400  # Monday 23:00 New York: overnight
    saturday = 1749297600  # 2025-06-07 12:00 UTC
    rows = [
        _window(monday_0300, -10.5, 2.0),
        _window(monday_1400, 10.5, 1.0),
        _window(tuesday_0300, 10.0, 3.0),
        _window(saturday, -10.0, 4.0),
        _window(saturday + 300, 0.0, 5.0),
        _window(saturday + 600, 0.0, 6.0),
    ]
    windows = pl.DataFrame({"window_start_ns": [r["window_start_ns"] for r in rows]})
    features = pl.DataFrame(rows)
    joined = join_windows(windows, features, TrendThresholds(10.0, -10.0))
    assert joined["trend"].to_list() == ["down", "up", "flat", "flat", "flat", "flat"]
    assert joined["volatility"].to_list() == ["low", "low", "mid", "mid", "high", "high"]
    assert joined["session"].to_list() == ["weekend", "us_hours", "overnight"] + ["weekend"] * 3
    assert joined["hour_utc"].to_list()[:2] == ["03", "14"]
    assert joined["weekday_utc"].to_list()[:4] == ["Mon", "Mon", "Tue", "Sat"]
    assert joined["trend_x_vol"].to_list()[:2] == ["down/low", "up/low"]


def test_fee_schedules_parse_maker_taker_pairs_and_refuse_garbage() -> None:
    assert parse_fees("0, 0.4/2.8,2") == [
        FeeSchedule(0, 0),
        FeeSchedule(0.4, 2.8),
        FeeSchedule(2, 2),
    ]
    for bad in ("1/2/3", "x", "nan"):
        with pytest.raises(UsageError):
            parse_fees(bad)


@pytest.mark.parametrize("extra", [("--window", "7x"), ("--fees", "1/2/3"), ("--min-candles", "0")])
def test_bad_options_are_usage_errors(
    simulated: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...]
) -> None:
    code, _, err = run_cli(
        capsys, "analyze", "regimes", "--db", str(simulated), "--candles", str(BINANCE_1M), *extra
    )
    assert code == 2 and "error:" in err


def test_a_tick_file_is_not_candles(simulated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from solbot.adapters.data import sample_paths

    code, _, err = run_cli(
        capsys, "analyze", "regimes", "--db", str(simulated), "--candles", str(sample_paths()[0])
    )
    assert code == 3 and ":1:1: header: expected a candle file" in err


def test_json_output_schema_is_stable(simulated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = regimes_json(capsys, simulated, "--candles", str(BINANCE_1M), "--fees", "0")
    assert sorted(report) == ["best_worst", "buckets", "correlations", "schema", "summary"]
    assert report["schema"] == 1
    assert sorted(report["buckets"]) == sorted(
        ["trend", "volatility", "trend_x_vol", "session", "weekday_utc", "hour_utc"]
    )
    assert sorted(report["buckets"]["trend"][0]) == sorted(
        [
            "bucket", "windows", "fills", "volume_usd", "maker_volume_usd", "taker_volume_usd",
            "fees_usd", "net_pnl_usd", "net_fees_0bps_usd", "total_pnl_usd", "mean_return_bps",
            "mean_vol_1m_bps", "net_per_window_usd", "net_per_fill_usd", "net_per_volume_bps",
            "markout_1s_bps", "markout_5s_bps", "markout_30s_bps", "markout_60s_bps",
            "markout_1s_samples", "markout_5s_samples", "markout_30s_samples",
            "markout_60s_samples",
        ]
    )  # fmt: skip
    assert sorted(report["summary"]) == sorted(
        [
            "pnl_definition", "db", "run", "profile", "market", "window_s", "ledger_span",
            "ledger_span_utc", "candles", "candle_bar_s", "candles_span", "candles_span_utc",
            "trend_up_bps", "trend_down_bps", "vol_tercile_edges_bps", "run_windows",
            "joined_windows", "run_net_pnl_usd", "joined_net_pnl_usd", "unjoined_net_pnl_usd",
            "fills", "volume_usd", "fee_schedules", "net_by_fee_schedule_usd",
        ]
    )  # fmt: skip
    assert sorted(report["correlations"]["net_pnl_usd"]) == sorted(
        ["return_bps", "abs_return_bps", "range_bps", "vol_1m_bps", "inventory_change"]
    )
    assert set(report["best_worst"]["trend"]) == {"best", "worst"}


def test_report_html_embeds_plotly_once(
    simulated: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html = tmp_path / "regimes.html"
    code, _, _ = run_cli(
        capsys, "analyze", "regimes", "--db", str(simulated), "--candles", str(BINANCE_1M),
        "--report", str(html),
    )  # fmt: skip
    assert code == 0
    text = html.read_text()
    assert text.count("Plotly.newPlot") == 7  # six dimensions and the scatter
    assert text.count('<script src="plotly.min.js">') == 1
    assert "plotly.js v" in (tmp_path / "plotly.min.js").read_text()  # offline, beside it
    assert len(text) < 1_000_000


def test_windows_shorter_than_min_candles_bars_exit_3_with_the_remedy(
    simulated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "analyze", "regimes", "--db", str(simulated), "--candles", str(HYPERLIQUID_5M)
    )
    assert code == 3 and out == ""
    assert "no 300 s window of the run holds 3 whole 5m candles" in err
    assert "--window" in err and "--min-candles" in err

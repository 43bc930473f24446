"""`solbot compare`: run folders and ledgers side by side, differences flagged, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solbot.cli.main import main

SLICE = ["--from", "2024-08-08T23:54:00Z", "--to", "2024-08-08T23:56:30Z"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("runs")
    folders = []
    for name, extra in (
        ("narrow", ["--set", "quoting.spread_bps=8"]),
        ("same", []),
        ("wide", ["--set", "quoting.spread_bps=30"]),
    ):
        out = root / name
        assert main(["simulate", *SLICE, "--out", str(out), "--json", *extra]) == 0
        folders.append(out)
    return folders[0], folders[1], folders[2]


def compare_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["compare", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_flags_what_differs_between_two_runs(
    runs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    narrow, _, wide = runs
    out = compare_json([str(narrow), str(wide)], capsys)
    figures = out["figures"]
    assert figures["trace_sha256"]["differs"] is True
    assert figures["profile_sha256"]["differs"] is True
    assert figures["events"]["differs"] is False  # same data
    narrow_summary = json.loads((narrow / "summary.json").read_text())
    assert figures["net_pnl_usd"]["values"][0] == narrow_summary["net_pnl_usd"]
    assert "wall_s" not in figures  # timing is not a difference
    rule = next(iter(out["rule_active_s"].values()))
    assert len(rule["values"]) == 2


def test_compare_of_identical_runs_shows_no_difference(
    runs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, same, _ = runs
    again = tmp_path / "again"
    assert main(["simulate", *SLICE, "--out", str(again), "--json"]) == 0
    out = compare_json([str(same), str(again)], capsys)
    differing = [
        name
        for section in ("figures", "days", "rule_active_s")
        for name, entry in out[section].items()
        if entry["differs"]
    ]
    assert differing == []


def test_compare_per_day_numbers_come_from_the_ledger(
    runs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    narrow, _, wide = runs
    out = compare_json([str(narrow), str(wide / "ledger.db")], capsys)
    ((day, entry),) = out["days"].items()
    assert day == "2024-08-08"
    summary = json.loads((narrow / "summary.json").read_text())
    assert entry["values"][0]["volume_usd"] == pytest.approx(summary["volume_usd"])
    assert entry["values"][0]["net_pnl_usd"] == pytest.approx(summary["net_pnl_usd"])
    assert out["sources"][1].endswith("ledger.db@latest")
    assert all(values["values"][1] is None for values in out["rule_active_s"].values())


def test_compare_renders_a_table_with_marked_rows(
    runs: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    narrow, _, wide = runs
    assert main(["compare", str(narrow), str(wide), "--only-differences"]) == 0
    out = capsys.readouterr().out
    assert "* trace_sha256" in out and "rows differ" in out
    assert "│ events " not in out  # the same data: not a difference, not shown


def test_compare_needs_two_sources(runs: tuple[Path, Path, Path]) -> None:
    assert main(["compare", str(runs[0])]) == 2


def test_compare_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "nada")]) == 2


def test_compare_folder_without_summary_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2


def test_compare_broken_summary_is_invalid_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text("{not json")
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 3
    assert "summary.json:1:1" in capsys.readouterr().err


def fills_as_bucket_pnl(ledger: Path, candles: tuple[Path, ...]) -> dict[str, float]:
    """A stand-in for `analyze regimes`: one bucket per candle file, valued from the ledger."""
    import sqlite3

    with sqlite3.connect(ledger) as db:
        (fills,) = db.execute("select count(*) from fills").fetchone()
    return {path.name: float(fills) for path in candles}


def test_bucket_pnl_hook_lines_up_per_source(runs: tuple[Path, Path, Path]) -> None:
    from solbot.app.compare import compare_views, load_view

    narrow, _, wide = runs
    candles = (Path("candles.csv"),)
    views = [load_view(p, candles=candles, bucket_pnl=fills_as_bucket_pnl) for p in (narrow, wide)]
    comparison = compare_views(views)
    ((bucket, values, differs),) = comparison.buckets
    fills = [json.loads((p / "summary.json").read_text())["ledger_fills"] for p in (narrow, wide)]
    assert bucket == "candles.csv" and values == [float(n) for n in fills]
    assert differs == (fills[0] != fills[1])
    assert "candles.csv" in comparison.to_json()["bucket_pnl_usd"]

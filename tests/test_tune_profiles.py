"""scripts/tune_profiles.py: its candidates stay loadable; its fill-edge figure has the right sign.

docs/tuning.md quotes both: the candidate profiles it writes (every one must pass `solbot rules
check` next to the shipped files) and the per-fill edge against the mid of the moment of the fill.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

from solbot.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tune_profiles", ROOT / "scripts" / "tune_profiles.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_tuning_candidate_passes_rules_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    names = list(script.CANDIDATES)
    config = script.write_config(tmp_path / "config", names)
    assert main(["rules", "check", "--config-dir", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"{len(names) + 4} profile(s) checked" in out  # the shipped four plus every candidate


def write_fills(path: Path, rows: list[tuple[str, float, float, str, str, float]]) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "create table fills (trade_id text, side text, price real, size real, role text,"
            " tag text, mid real)"
        )
        db.executemany(
            "insert into fills values (?, ?, ?, ?, ?, ?, ?)",
            [
                (str(i), side, price, size, role, tag, mid)
                for i, (side, price, size, role, tag, mid) in enumerate(rows)
            ],
        )


def test_fill_edges_is_positive_when_a_fill_beats_the_mid_and_negative_when_run_over(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger.db"
    write_fills(
        ledger,
        [
            ("bid", 99.0, 1.0, "maker", "quote", 100.0),  # bought 100 bps under the mid
            ("ask", 101.0, 1.0, "maker", "quote", 100.0),  # sold 100 bps over it
            ("bid", 100.5, 2.0, "taker", "hedge_cross", 100.0),  # bought 50 bps over it
            ("ask", 100.0, 1.0, "taker", "hedge_cross", 0.0),  # no mid: left out
        ],
    )
    edges = load_script().fill_edges(ledger)
    assert set(edges) == {"maker/quote", "taker/hedge_cross"}
    assert edges["maker/quote"]["fills"] == 2
    assert edges["maker/quote"]["edge_bps"] == pytest.approx(100.0, rel=1e-2)
    assert edges["taker/hedge_cross"]["fills"] == 1
    assert edges["taker/hedge_cross"]["volume_usd"] == pytest.approx(201.0)
    assert edges["taker/hedge_cross"]["edge_bps"] == pytest.approx(-50.0)


def test_write_config_option_writes_every_candidate_and_the_candidate_rules(tmp_path: Path) -> None:
    script = load_script()
    assert script.main(["--write-config", str(tmp_path / "cfg")]) == 0
    written = {path.stem for path in (tmp_path / "cfg" / "profiles").glob("*.yaml")}
    assert set(script.CANDIDATES) <= written
    assert (tmp_path / "cfg" / "rules" / "lean.yaml").is_file()
    assert (tmp_path / "cfg" / "rules" / "volpct.yaml").is_file()


def test_report_row_gives_volume_share_bps_cut_and_days_at_premium() -> None:
    script = load_script()
    premium = "0.4/2.8bps"

    def profile(volume: float, bps: float | None, cut: float | None, days: float) -> dict:
        return {
            "volume_usd": volume,
            "net_per_volume_bps": {premium: bps},
            "baseline_worst_cut": cut,
            "days_nonnegative_share": {premium: days},
        }

    data = {
        "baseline_worst": {"bucket": "up/high"},
        "profiles": [profile(50_000, -3.27, 0.0, 0.0), profile(30_000, -0.5, 0.83, 0.5)],
    }
    assert script.report_row("spot 2022-10-03", data) == (
        "| spot 2022-10-03 | 50,000 | -3.27 | up/high | 60% / -0.50 / 83% / 50% |"
    )
    quiet = {"baseline_worst": None, "profiles": [profile(0, None, None, 1.0)] * 2}
    assert script.report_row("l1", quiet) == "| l1 | 0 | - | - | - / - / - / 100% |"

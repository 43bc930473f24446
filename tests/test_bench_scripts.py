"""Smoke runs of the issue-10 benchmark scripts on tiny inputs: they run and print their verdicts.

Not timed: only that each script completes and reports a ratio against its target. Deselect with
`-m "not bench"`; they need the shared data folder (and hftbacktest for the anchor).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(not SHARED.is_dir(), reason="needs the shared market data folder"),
]


def run_script(name: str, *arguments: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_startup_reports_both_commands_against_the_floor() -> None:
    output = run_script("bench_startup.py", "--runs", "1")
    assert "floor: python -c pass" in output and "median" in output
    assert "solbot --help" in output and "target <= 0.3 s" in output
    assert "solbot rules check" in output and "target <= 1.0 s" in output


def test_bench_ledger_reports_import_and_window_against_floors() -> None:
    output = run_script("bench_ledger.py", "--fills", "300")
    assert "import / floor:" in output and "target >= 100,000 fills/s" in output
    assert "window / floor:" in output and "target <= 0.3 s" in output
    assert "metrics window --hours 24 --json (process):" in output


def test_bench_bars_reports_synthetic_events_per_profile() -> None:
    output = run_script("bench_bars.py", "--bars", "40", "--profiles", "naive")
    line = next(line for line in output.splitlines() if line.startswith("naive"))
    assert "failed" not in line
    assert line.split()[1] == "320"  # 40 bars x 4 ticks x (book row + trade row)


def test_bench_sweep_gives_identical_tables_on_both_pool_sizes() -> None:
    output = run_script("bench_sweep.py", "--days", "0.05")
    assert "tables identical across modes: True" in output
    assert "speed-up 2 workers / 1 worker" in output


@pytest.mark.skipif(
    importlib.util.find_spec("hftbacktest") is None, reason="needs the bench extra (hftbacktest)"
)
def test_bench_anchors_compares_solbot_with_the_compiled_grid() -> None:
    output = run_script("bench_anchors.py", "--events", "2000")
    assert "= 2,000 events" in output
    assert "ratio solbot / anchor (warm):" in output
    assert "by CPU time: solbot process" in output


def test_bench_step_reports_cpu_per_decision() -> None:
    day = ROOT / "solbot" / "resources" / "sample" / "binance_usdm_perp_SOLUSDT_1m_20250519.csv.gz"
    output = run_script("bench_step.py", "--profile", "naive", "--data", str(day))
    assert "decisions, Session.step" in output and "us per decision" in output

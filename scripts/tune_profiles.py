"""Walk-forward tuning evidence for the shipped `defensive` and `aggressive` profiles.

Candidates are temporary profiles that extend a shipped one with a few overrides, written to a
scratch config dir (a copy of profiles/ and rules/). Every candidate is replayed with
`analyze outcome` (same engine, fill model and buckets) next to `naive` on the TUNE windows; the
REPORT windows are only used to report the chosen candidate (run `analyze outcome` on them).

    PYTHONPATH=. python scripts/tune_profiles.py --out /tmp/tune.json

Bar mode is coarse (synthetic ticks inside each 1m bar); the numbers are indicative only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from solbot.app.analysis.fees import parse_fees
from solbot.app.analysis.outcome import Dataset, OutcomeOptions, analyze_outcome
from solbot.core.times import parse_time_ns

ROOT = Path(__file__).resolve().parent.parent
KLINES = ROOT.parent / "shared" / "data" / "klines_1m"
# (file, from, to): two UTC days each, in months that the report windows do not touch.
TUNE_WINDOWS = (
    ("binance_spot_SOLUSDT_1m_20210917-20211017.csv.gz", "2021-10-01", "2021-10-03"),
    ("binance_spot_SOLUSDT_1m_20211027-20211130.csv.gz", "2021-11-10", "2021-11-12"),
    ("binance_spot_SOLUSDT_1m_20231201-20240216.csv.gz", "2024-01-10", "2024-01-12"),
    ("binance_spot_SOLUSDT_1m_20250101-20250204.csv.gz", "2025-01-15", "2025-01-17"),
)
BOTH_PARAMS = (
    "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.07, "
    "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07}\n"
)
# Overrides of each candidate: YAML text appended to `extends: <parent>`.
CANDIDATES: dict[str, tuple[str, str]] = {
    "def-seed": ("defensive", ""),
    "def-volpause": (
        "defensive",
        "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30}\n",
    ),
    "def-onesided": (
        "defensive",
        "params: {one_sided_units: 0.07, inventory_tier1_units: 0.03, "
        "inventory_tier2_units: 0.05, inventory_tier3_units: 0.07}\n",
    ),
    "def-both": (
        "defensive",
        "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.07, "
        "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07}\n",
    ),
    "def-both-tight": (
        "defensive",
        "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.07, "
        "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07}\n"
        "regimes:\n  overlays:\n    defensive:\n"
        "      quoting: {size_multiplier: 0.7, extra_full_spread_bps: 1.0}\n",
    ),
    "def-inv15": (
        "defensive",
        "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.15, "
        "inventory_tier1_units: 0.05, inventory_tier2_units: 0.10, inventory_tier3_units: 0.15}\n"
        "hedger: {trigger_units: 0.10, target_units: 0.04}\n",
    ),
    "def-both-noovl": (
        "defensive",
        BOTH_PARAMS + "regimes:\n  overlays:\n    defensive:\n"
        "      quoting: {size_multiplier: 1.0, extra_full_spread_bps: 0.0}\n",
    ),
    "def-both-startagg": (
        "defensive",
        BOTH_PARAMS + "regimes:\n  default: aggressive\n",
    ),
    "def-loose": (
        "defensive",
        "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.15, "
        "inventory_tier1_units: 0.05, inventory_tier2_units: 0.10, inventory_tier3_units: 0.15, "
        "trend_down_cooldown_s: 45}\n"
        "hedger: {trigger_units: 0.10, target_units: 0.04}\n"
        "regimes:\n  min_dwell: 30s\n  overlays:\n    defensive:\n"
        "      params: {trend_down_cooldown_s: 45}\n"
        "      quoting: {size_multiplier: 1.0, extra_full_spread_bps: 0.0}\n",
    ),
    "def-no-trend": (
        "defensive",
        BOTH_PARAMS + "rules:\n  override:\n"
        "    trend.down: {enabled: false}\n    trend.fast_down: {enabled: false}\n"
        "    trend.up: {enabled: false}\n    trend.ema_up: {enabled: false}\n"
        "    trend.ema_down: {enabled: false}\n",
    ),
    "agg-seed": ("aggressive", ""),
    "agg-both": (
        "aggressive",
        "params: {vol_low_pause_bps: 1.0, vol_low_resume_bps: 1.5, vol_high_pause_bps: 45, "
        "vol_high_resume_bps: 30, one_sided_units: 0.07, inventory_tier2_units: 0.05, "
        "inventory_tier3_units: 0.07}\n",
    ),
    "agg-both-12": (
        "aggressive",
        "params: {vol_low_pause_bps: 1.0, vol_low_resume_bps: 1.5, vol_high_pause_bps: 45, "
        "vol_high_resume_bps: 30, one_sided_units: 0.07, inventory_tier2_units: 0.05, "
        "inventory_tier3_units: 0.07}\nquoting: {spread_bps: 12}\n",
    ),
}


def write_config(root: Path, names: list[str]) -> Path:
    """profiles/ and rules/ of the checkout plus one file per candidate."""
    shutil.copytree(ROOT / "profiles", root / "profiles")
    shutil.copytree(ROOT / "rules", root / "rules")
    for name in names:
        parent, overrides = CANDIDATES[name]
        text = f"schema: 2\nkind: profile\nid: {name}\nextends: {parent}\n{overrides}"
        (root / "profiles" / f"{name}.yaml").write_text(text)
    return root


def run_window(config: Path, names: list[str], window: tuple[str, str, str]) -> dict[str, Any]:
    path = KLINES / window[0]
    options = OutcomeOptions(
        datasets=(Dataset(path.name, (path,), coarse=True),),
        profiles=("naive", *names),
        fees=tuple(parse_fees("0,0.4/2.8")),
        config_dir=config,
        start_ns=parse_time_ns(window[1] + "T00:00:00Z", "--from"),
        end_ns=parse_time_ns(window[2] + "T00:00:00Z", "--to"),
    )
    return analyze_outcome(options).overall.to_json()


def targets(row: dict[str, Any], naive: dict[str, Any]) -> dict[str, Any]:
    premium = "0.4/2.8bps"
    share = row["volume_usd"] / naive["volume_usd"] if naive["volume_usd"] else None
    return {
        "volume_share": share,
        "cut": row["baseline_worst_cut"],
        "days_nonnegative": row["days_nonnegative_share"][premium],
        "net_premium": row["net_usd"][premium],
        "bps_premium": row["net_per_volume_bps"][premium],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args(argv)
    names = [n for n in args.candidates.split(",") if n]
    results: dict[str, Any] = {"windows": [], "candidates": CANDIDATES}
    with tempfile.TemporaryDirectory(prefix="solbot-tune-") as scratch:
        config = write_config(Path(scratch), names)
        for window in TUNE_WINDOWS:
            overall = run_window(config, names, window)
            naive = overall["profiles"][0]
            rows = {p["profile"]: targets(p, naive) for p in overall["profiles"]}
            results["windows"].append({"window": window, "rows": rows})
            print(f"== {window[0]} {window[1]}..{window[2]}", flush=True)
            for name, row in rows.items():
                print(
                    f"  {name:16s} vol {row['volume_share'] or 0:6.1%} cut "
                    f"{(row['cut'] or 0):7.1%} days>=0 {row['days_nonnegative'] or 0:5.0%} "
                    f"net@premium {row['net_premium']:9.3f} bps/$ {row['bps_premium'] or 0:7.3f}",
                    flush=True,
                )
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Walk-forward tuning evidence for the shipped `defensive` and `aggressive` profiles.

Candidates are temporary profiles that extend a shipped one with a few overrides, written to a
scratch config dir (a copy of profiles/ and rules/). Every candidate is replayed with
`analyze outcome` (same engine, fill model and buckets) next to `naive` on the TUNE windows; the
REPORT windows are only used to report the chosen candidate (run `analyze outcome` on them).

    PYTHONPATH=. python scripts/tune_profiles.py --out /tmp/tune.json [--candidates a,b]
    PYTHONPATH=. python scripts/tune_profiles.py --edges runs/*/ledger.db
    PYTHONPATH=. python scripts/tune_profiles.py --write-config /tmp/cfg   # for --config-dir
    PYTHONPATH=. python scripts/tune_profiles.py --report report|fresh|l1 --candidates a,b

The scratch config also holds three candidate rule files no shipped profile includes
(rules/lean.yaml, rules/volpct.yaml: docs/tuning.md, round 2; rules/lean_add.yaml: round 3).
`--edges` prints each run's mean edge per fill role against the mid at the moment of the fill
(docs/tuning.md, "Why no profile nets >= 0").

Bar mode is coarse (synthetic ticks inside each 1m bar); the numbers are indicative only.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from solbot.app.analysis.fees import parse_fees
from solbot.app.analysis.outcome import (
    Dataset,
    OutcomeOptions,
    analyze_outcome,
    group_datasets,
)
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
# Held-out windows (file, from, to, data market or None): only reported on, never used to choose.
REPORT_WINDOWS = (
    ("binance_spot_SOLUSDT_1m_20220918-20221022.csv.gz", "2022-10-03", "2022-10-05", None),
    ("binance_spot_SOLUSDT_1m_20230101-20230128.csv.gz", "2023-01-10", "2023-01-12", None),
    ("binance_spot_SOLUSDT_1m_20241001-20241104.csv.gz", "2024-10-14", "2024-10-16", None),
    ("binance_spot_SOLUSDT_1m_20250301-20250401.csv.gz", "2025-03-10", "2025-03-12", None),
    ("binance_usdm_perp_SOLUSDT_1m_20250504-20250624.csv.gz", "2025-06-02", "2025-06-04", None),
    (
        "bybit_linear_perp_SOLUSDT_1m_20250529-20250629.csv.gz",
        "2025-06-16",
        "2025-06-18",
        "lighter:SOL",
    ),
    ("hyperliquid_perp_SOL_1m_20250721-20250726.csv.gz", "2025-07-22", "2025-07-24", "lighter:SOL"),
)
# The same files on other days: run once, for the final candidate (docs/tuning.md).
FRESH_WINDOWS = (
    ("binance_spot_SOLUSDT_1m_20220918-20221022.csv.gz", "2022-10-15", "2022-10-17", None),
    ("binance_spot_SOLUSDT_1m_20230101-20230128.csv.gz", "2023-01-20", "2023-01-22", None),
    ("binance_spot_SOLUSDT_1m_20241001-20241104.csv.gz", "2024-10-25", "2024-10-27", None),
    ("binance_spot_SOLUSDT_1m_20250301-20250401.csv.gz", "2025-03-20", "2025-03-22", None),
    ("binance_usdm_perp_SOLUSDT_1m_20250504-20250624.csv.gz", "2025-06-12", "2025-06-14", None),
    (
        "bybit_linear_perp_SOLUSDT_1m_20250529-20250629.csv.gz",
        "2025-06-24",
        "2025-06-26",
        "lighter:SOL",
    ),
    ("hyperliquid_perp_SOL_1m_20250721-20250726.csv.gz", "2025-07-24", "2025-07-26", "lighter:SOL"),
)
L1_CAPTURES = ROOT.parent / "shared" / "data" / "orderbook_trades" / "flat"
BOTH_PARAMS = (
    "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.07, "
    "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07}\n"
)
SKEW_WIDE_PARAMS = (
    "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.15, "
    "inventory_tier1_units: 0.05, inventory_tier2_units: 0.10, inventory_tier3_units: 0.15}\n"
)
# def-both's numbers plus the lean.* knobs: trend extra 8 bps full spread on the side run over,
# a 3 bps skew away from it; volatility widening from 15 bps of vol EMA, 0.5 bps per bps, cap 16.
BOTH_PARAMS_LEAN = (
    "params: {vol_high_pause_bps: 45, vol_high_resume_bps: 30, one_sided_units: 0.07, "
    "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07, "
    "lean_trend_extra_bps: 8, lean_trend_skew_bps: 3, lean_vol_start_bps: 15, "
    "lean_vol_per_bps: 0.5, lean_vol_max_bps: 16}\n"
)
# The trend triggers of sweep point 16 (fire on bigger moves than the seed's -6/-4/12/10 bps).
P16_TREND = (
    "trend_down_trigger_bps: -17, trend_fast_down_trigger_bps: -12, trend_up_trigger_bps: 29, "
    "trend_deadband_bps: 13"
)
TREND_RULES = ("trend.down", "trend.fast_down", "trend.up", "trend.ema_up", "trend.ema_down")
# Candidate rule file (rejected, docs/tuning.md): lean instead of stop.
LEAN_RULESET = """\
# Lean instead of stop: trend and volatility guards that keep both sides quoting (issue 13 tuning).
# Numbers live in the profile (p.*). Written to the scratch config only: no shipped profile uses it.
# yaml-language-server: $schema=../docs/schema/ruleset.json
schema: 2
kind: ruleset
id: lean
revision: 1
description: Widen and skew the side a trend or a volatility burst runs over, instead of pausing it.
defaults: {hold: 0s, min_active: 0s, cooldown: 0s, on_error: ignore}
rules:
  - id: lean.down
    description: >-
      Five-minute or 45-second return below its down trigger: keep the bid, but move it away (widen
      the bid side) and shift both quotes down (skew), so the ask sells sooner; at least the trend
      cooldown, until both returns recover above their resume levels.
    priority: 60
    when: ret_5m_bps < p.trend_down_trigger_bps or ret_45s_bps <= p.trend_fast_down_trigger_bps
    until: ret_5m_bps > p.trend_down_resume_bps and ret_45s_bps > p.trend_fast_down_resume_bps
    min_active: p.trend_down_cooldown_s
    actions:
      - widen: {side: bid, add_full_spread_bps: p.lean_trend_extra_bps}
      - skew: {bps: -p.lean_trend_skew_bps}
    origin: solbot issue 13 tuning (trend.down / trend.fast_down with widen + skew instead of pause)

  - id: lean.up
    description: >-
      45-second return above the up trigger: keep the ask, but move it away and shift both quotes
      up, until the return falls back under the resume level.
    priority: 55
    when: ret_45s_bps >= p.trend_up_trigger_bps
    until: ret_45s_bps < p.trend_fast_resume_bps
    actions:
      - widen: {side: ask, add_full_spread_bps: p.lean_trend_extra_bps}
      - skew: {bps: p.lean_trend_skew_bps}
    origin: solbot issue 13 tuning (trend.up with widen + skew instead of pause)

  - id: lean.vol
    description: >-
      Volatility EMA above the lean start: widen both sides in proportion to the excess, capped,
      instead of pausing at the high-vol line.
    priority: 45
    when: vol_ema_bps > p.lean_vol_start_bps
    actions:
      - widen:
          side: both
          add_full_spread_bps: >-
            clamp(p.lean_vol_per_bps * (vol_ema_bps - p.lean_vol_start_bps), 0, p.lean_vol_max_bps)
    origin: solbot issue 13 tuning (spread that widens with volatility instead of a pause)
"""
# Candidate rule file: stop adding inventory in the top of the hour's volatility distribution
# (naive's worst bucket is always a high-volatility one).
VOLPCT_RULESET = """\
schema: 2
kind: ruleset
id: volpct
revision: 1
description: Pause the adding side while the volatility percentile is high.
defaults: {hold: 0s, min_active: 0s, cooldown: 0s, on_error: ignore}
rules:
  - id: volpct.pause_adding
    description: Volatility percentile (1 h) at or above the line - do not add inventory.
    priority: 62
    when: vol_percentile >= p.volpct_pause
    until: vol_percentile < p.volpct_resume
    actions:
      - pause: {side: adding}
    origin: solbot issue 13 tuning (candidate)
"""
# Round 3 candidate rule file: trend skews on two horizons that add up (`combine: add`) with each
# other and with the profile's inventory skew (quoting.skew_bps_at_soft_cap, whose reference is
# now quoting.skew_full_at_units). Each leans with its return, in proportion up to its full line.
LEAN_ADD_RULESET = """\
schema: 2
kind: ruleset
id: lean_add
revision: 1
description: Trend skews on the 5-minute and 45-second returns that add up (issue 13 round 3).
defaults: {hold: 0s, min_active: 0s, cooldown: 0s, on_error: ignore}
rules:
  - id: lean_add.slow
    description: >-
      Shift both quotes with the five-minute return (up when rising: buy sooner, sell later), in
      proportion to it up to its full line; adds to the fast lean and the inventory skew.
    priority: 25
    when: abs(ret_5m_bps) >= p.lean_slow_start_bps
    actions:
      - skew:
          bps: "p.lean_trend_skew_bps * clamp(ret_5m_bps / p.lean_slow_full_bps, -1, 1)"
          combine: add
    origin: solbot issue 13 tuning round 3 (candidate)
  - id: lean_add.fast
    description: The same on the 45-second return.
    priority: 24
    when: abs(ret_45s_bps) >= p.lean_fast_start_bps
    actions:
      - skew:
          bps: "p.lean_trend_skew_bps * clamp(ret_45s_bps / p.lean_fast_full_bps, -1, 1)"
          combine: add
    origin: solbot issue 13 tuning round 3 (candidate)
"""
# The shipped rule files plus rules/lean_add.yaml (the pausing trend guards stay).
LEAN_ADD_RULES = (
    "rules:\n  include: [rules/guards.yaml, rules/inventory.yaml, rules/pnl.yaml, "
    "rules/hedger.yaml, rules/regime.yaml, rules/lean_add.yaml]\n"
)
LEAN_ADD_PARAMS = (
    "lean_trend_skew_bps: 3, lean_slow_start_bps: 4, lean_slow_full_bps: 20, "
    "lean_fast_start_bps: 3, lean_fast_full_bps: 12"
)
# The base rule files plus rules/lean.yaml, with the five pausing trend guards disabled.
LEAN_RULES = (
    "rules:\n  include: [rules/guards.yaml, rules/inventory.yaml, rules/pnl.yaml, "
    "rules/hedger.yaml, rules/regime.yaml, rules/lean.yaml]\n  override:\n"
    + "".join(f"    {rule}: {{enabled: false}}\n" for rule in TREND_RULES)
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
    # Round 2 (issue 13, second attempt): keep both sides quoting and lean instead of stopping.
    # Inventory skew (quoting.skew_bps_at_soft_cap) instead of the one-sided pause; the lean.*
    # rules of rules/lean.yaml (widen + skew the side a trend runs over, widen with volatility)
    # instead of the trend guards' pauses.
    "def-skew4": ("defensive", BOTH_PARAMS + "quoting: {skew_bps_at_soft_cap: 4}\n"),
    "def-skew8": ("defensive", BOTH_PARAMS + "quoting: {skew_bps_at_soft_cap: 8}\n"),
    "def-skew-h12": (
        "defensive",
        SKEW_WIDE_PARAMS + "quoting: {skew_bps_at_soft_cap: 6}\n"
        "hedger: {trigger_units: 0.12, target_units: 0.04}\n",
    ),
    "def-lean": ("defensive", BOTH_PARAMS_LEAN + LEAN_RULES),
    "def-lean-skew": (
        "defensive",
        BOTH_PARAMS_LEAN + LEAN_RULES + "quoting: {skew_bps_at_soft_cap: 4}\n",
    ),
    "def-lean-noovl": (
        "defensive",
        BOTH_PARAMS_LEAN + LEAN_RULES + "regimes:\n  overlays:\n    defensive:\n"
        "      quoting: {size_multiplier: 0.7, extra_full_spread_bps: 0.0}\n",
    ),
    # Point 16 of the random sweep (docs/tuning.md, "Round 2"): skew 8 bps at the soft cap, trend
    # guards that fire only on bigger moves, high-vol pause at 38 / resume 18, defensive overlay
    # extra spread 3 -> 0.5 bps (the sweep drew 0.501985).
    "def-p16": (
        "defensive",
        "params: {vol_high_pause_bps: 38, vol_high_resume_bps: 18, one_sided_units: 0.07, "
        "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07, "
        f"{P16_TREND}}}\n"
        "quoting: {skew_bps_at_soft_cap: 8}\n"
        "regimes:\n  overlays:\n    defensive:\n      quoting: {extra_full_spread_bps: 0.5}\n",
    ),
    # Point 3 of the same sweep: less volume than point 16, a bigger cut (skew 6, triggers
    # -19/-10/26/23, high-vol pause 32 / resume 18, overlay extra 3 -> 2.4; the sweep drew
    # 2.381312).
    "def-p03": (
        "defensive",
        "params: {vol_high_pause_bps: 32, vol_high_resume_bps: 18, one_sided_units: 0.07, "
        "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07, "
        "trend_down_trigger_bps: -19, trend_fast_down_trigger_bps: -10, trend_up_trigger_bps: 26, "
        "trend_deadband_bps: 23}\n"
        "quoting: {skew_bps_at_soft_cap: 6}\n"
        "regimes:\n  overlays:\n    defensive:\n      quoting: {extra_full_spread_bps: 2.4}\n",
    ),
    # def-p03 plus volpct.pause_adding at the 1 h volatility percentile 80 (resume 60).
    "def-p03-pct": (
        "defensive",
        "params: {vol_high_pause_bps: 32, vol_high_resume_bps: 18, one_sided_units: 0.07, "
        "inventory_tier1_units: 0.03, inventory_tier2_units: 0.05, inventory_tier3_units: 0.07, "
        "trend_down_trigger_bps: -19, trend_fast_down_trigger_bps: -10, trend_up_trigger_bps: 26, "
        "trend_deadband_bps: 23, volpct_pause: 80, volpct_resume: 60}\n"
        "quoting: {skew_bps_at_soft_cap: 6}\n"
        "regimes:\n  overlays:\n    defensive:\n      quoting: {extra_full_spread_bps: 2.4}\n"
        "rules:\n  include: [rules/guards.yaml, rules/inventory.yaml, rules/pnl.yaml, "
        "rules/hedger.yaml, rules/regime.yaml, rules/volpct.yaml]\n",
    ),
    # Round 3 (issue 13, third attempt): the inventory skew with a reference of its own
    # (quoting.skew_full_at_units: the skew grows with the position up to it instead of being
    # full after one clip), and trend skews that add up (rules/lean_add.yaml, `combine: add`).
    "def-ref6-10": (
        "defensive",
        BOTH_PARAMS + "quoting: {skew_bps_at_soft_cap: 6, skew_full_at_units: 0.10}\n",
    ),
    "def-ref6-20": (
        "defensive",
        BOTH_PARAMS + "quoting: {skew_bps_at_soft_cap: 6, skew_full_at_units: 0.20}\n",
    ),
    "def-ref12-20": (
        "defensive",
        BOTH_PARAMS + "quoting: {skew_bps_at_soft_cap: 12, skew_full_at_units: 0.20}\n",
    ),
    # the seed's one-sided line (0.01) kept: the skew only moves the reducing side closer
    "def-seed-ref4": (
        "defensive",
        "quoting: {skew_bps_at_soft_cap: 4, skew_full_at_units: 0.10}\n",
    ),
    # one-sided and tiers up to 0.15 SOL, hedger 0.12 / 0.04: the skew works the position off
    "def-ref8-wide": (
        "defensive",
        SKEW_WIDE_PARAMS + "quoting: {skew_bps_at_soft_cap: 8, skew_full_at_units: 0.15}\n"
        "hedger: {trigger_units: 0.12, target_units: 0.04}\n",
    ),
    "def-ref-trend": (
        "defensive",
        BOTH_PARAMS.replace("}\n", f", {LEAN_ADD_PARAMS}}}\n")
        + "quoting: {skew_bps_at_soft_cap: 6, skew_full_at_units: 0.15}\n"
        + LEAN_ADD_RULES,
    ),
    "def-seed-trend": (
        "defensive",
        f"params: {{{LEAN_ADD_PARAMS}}}\n"
        "quoting: {skew_bps_at_soft_cap: 4, skew_full_at_units: 0.10}\n" + LEAN_ADD_RULES,
    ),
    # Point 7 of the round-3 random sweep around def-ref-trend (docs/tuning.md, "Round 3"): the
    # most volume among the points whose cut stayed >= 55 % and whose loss per $ stayed at or
    # under naive's on all four tune windows; values as drawn.
    "def-r3-p07": (
        "defensive",
        BOTH_PARAMS.replace("}\n", f", {LEAN_ADD_PARAMS}}}\n")
        .replace("vol_high_pause_bps: 45", "vol_high_pause_bps: 49")
        .replace("one_sided_units: 0.07", "one_sided_units: 0.15982")
        .replace("lean_trend_skew_bps: 3", "lean_trend_skew_bps: 4")
        + "quoting: {skew_bps_at_soft_cap: 11, skew_full_at_units: 0.253599}\n"
        + "regimes:\n  overlays:\n    defensive:\n"
        + "      quoting: {extra_full_spread_bps: 1.833567}\n"
        + LEAN_ADD_RULES,
    ),
    "agg-ref6-15": (
        "aggressive",
        "quoting: {skew_bps_at_soft_cap: 6, skew_full_at_units: 0.15}\n",
    ),
    "agg-ref10-20": (
        "aggressive",
        "quoting: {skew_bps_at_soft_cap: 10, skew_full_at_units: 0.20}\n",
    ),
    "agg-ref-trend": (
        "aggressive",
        f"params: {{{LEAN_ADD_PARAMS}}}\n"
        "quoting: {skew_bps_at_soft_cap: 6, skew_full_at_units: 0.15}\n" + LEAN_ADD_RULES,
    ),
    "agg-seed": ("aggressive", ""),
    "agg-both": (
        "aggressive",
        "params: {vol_low_pause_bps: 1.0, vol_low_resume_bps: 1.5, vol_high_pause_bps: 45, "
        "vol_high_resume_bps: 30, one_sided_units: 0.07, inventory_tier2_units: 0.05, "
        "inventory_tier3_units: 0.07}\n",
    ),
    "agg-skew8": ("aggressive", "quoting: {skew_bps_at_soft_cap: 8}\n"),
    "agg-skew12": ("aggressive", "quoting: {skew_bps_at_soft_cap: 12}\n"),
    "agg-ship": ("aggressive", ""),
    "agg-p16": (
        "aggressive",
        f"params: {{{P16_TREND}}}\nquoting: {{skew_bps_at_soft_cap: 8}}\n",
    ),
    "agg-p16-flat": (
        "aggressive",
        f"params: {{{P16_TREND}}}\nquoting: {{skew_bps_at_soft_cap: 8}}\n"
        "regimes:\n  overlays:\n    defensive:\n"
        "      quoting: {size_multiplier: 1.0, extra_full_spread_bps: 0.0}\n",
    ),
    "agg-p16-8": (
        "aggressive",
        f"params: {{{P16_TREND}}}\nquoting: {{spread_bps: 8, skew_bps_at_soft_cap: 8}}\n",
    ),
    # agg-p16 with the one-sided line above one aggressive clip (size_max 0.08 SOL): after a fill
    # both sides keep quoting, skewed, as in def-p16 (whose 0.061-0.072 clips stay under 0.07).
    "agg-p16-os": (
        "aggressive",
        f"params: {{{P16_TREND}, one_sided_units: 0.09, inventory_tier3_units: 0.09}}\n"
        "quoting: {skew_bps_at_soft_cap: 8}\n",
    ),
    "agg-p16-os-flat": (
        "aggressive",
        f"params: {{{P16_TREND}, one_sided_units: 0.09, inventory_tier3_units: 0.09}}\n"
        "quoting: {skew_bps_at_soft_cap: 8}\n"
        "regimes:\n  overlays:\n    defensive:\n"
        "      quoting: {size_multiplier: 1.0, extra_full_spread_bps: 0.0}\n",
    ),
    "agg-both-12": (
        "aggressive",
        "params: {vol_low_pause_bps: 1.0, vol_low_resume_bps: 1.5, vol_high_pause_bps: 45, "
        "vol_high_resume_bps: 30, one_sided_units: 0.07, inventory_tier2_units: 0.05, "
        "inventory_tier3_units: 0.07}\nquoting: {spread_bps: 12}\n",
    ),
}


def write_config(root: Path, names: list[str]) -> Path:
    """profiles/ and rules/ of the checkout, the candidate rule files, one file per candidate."""
    shutil.copytree(ROOT / "profiles", root / "profiles")
    shutil.copytree(ROOT / "rules", root / "rules")
    (root / "rules" / "lean.yaml").write_text(LEAN_RULESET)
    (root / "rules" / "volpct.yaml").write_text(VOLPCT_RULESET)
    (root / "rules" / "lean_add.yaml").write_text(LEAN_ADD_RULESET)
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


def report(config: Path, names: list[str], which: str) -> list[str]:
    """Markdown rows for the held-out `report` or `fresh` windows, or the `l1` captures: per
    window naive's volume, bps/$ and worst bucket, then per profile volume share / bps per $ /
    cut / days >= 0 (premium fees)."""
    fees = tuple(parse_fees("0,0.4/2.8"))
    runs: list[tuple[str, OutcomeOptions]] = []
    if which == "l1":
        files = sorted(L1_CAPTURES.glob("*_bookticker.csv.gz")) + sorted(
            L1_CAPTURES.glob("*_trades.csv.gz")
        )
        options = OutcomeOptions(
            datasets=group_datasets(files), profiles=("naive", *names), fees=fees, config_dir=config
        )
        runs.append(("l1", options))
    else:
        for file, start, end, market in REPORT_WINDOWS if which == "report" else FRESH_WINDOWS:
            path = KLINES / file
            options = OutcomeOptions(
                datasets=(Dataset(path.name, (path,), coarse=True),),
                profiles=("naive", *names),
                fees=fees,
                config_dir=config,
                data_market=market,
                start_ns=parse_time_ns(start + "T00:00:00Z", "--from"),
                end_ns=parse_time_ns(end + "T00:00:00Z", "--to"),
            )
            runs.append((f"{file.split('_1m_')[0]} {start}", options))
    rows = []
    for label, options in runs:
        result = analyze_outcome(options)
        outcomes = [*result.datasets, result.overall] if which == "l1" else [result.overall]
        for outcome in outcomes:
            data = outcome.to_json()
            name = data["name"] if which == "l1" else label
            rows.append(report_row(name, data))
            print(rows[-1], flush=True)
    return rows


def report_row(name: str, data: dict[str, Any]) -> str:
    premium = "0.4/2.8bps"
    naive, *others = data["profiles"]
    worst = (data.get("baseline_worst") or {}).get("bucket") or "-"
    naive_bps = naive["net_per_volume_bps"][premium]
    cells = [
        name,
        f"{naive['volume_usd']:,.0f}",
        "-" if naive_bps is None else f"{naive_bps:.2f}",
        worst,
    ]
    for row in others:
        share = row["volume_usd"] / naive["volume_usd"] if naive["volume_usd"] else None
        bps = row["net_per_volume_bps"][premium]
        cut = row["baseline_worst_cut"]
        days = row["days_nonnegative_share"][premium]
        cells.append(
            " / ".join(
                [
                    "-" if share is None else f"{share:.0%}",
                    "-" if bps is None else f"{bps:.2f}",
                    "-" if cut is None else f"{cut:.0%}",
                    "-" if days is None else f"{days:.0%}",
                ]
            )
        )
    return "| " + " | ".join(cells) + " |"


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


def fill_edges(ledger: Path) -> dict[str, dict[str, float]]:
    """Per fill role and tag of one run's ledger: fills, volume and the mean signed edge.

    edge_bps: side * (mid at the fill - fill price) / mid in bps, volume-weighted, positive when
    the fill bought below (sold above) the mid of the moment it filled. A maker that earns its
    half spread shows about +half spread here; in bar mode a resting quote fills only when a
    synthetic tick trades through it, so the mid of that tick is already past the price.
    """
    query = (
        "select role, tag, count(*), sum(price * size), "
        "sum((case side when 'bid' then 1 else -1 end) * (mid - price) / mid * 1e4 * price * size) "
        "from fills where mid > 0 group by role, tag"
    )
    out: dict[str, dict[str, float]] = {}
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
        for role, tag, count, volume, weighted in db.execute(query):
            out[f"{role}/{tag}"] = {
                "fills": count,
                "volume_usd": volume,
                "edge_bps": weighted / volume if volume else 0.0,
            }
    return out


def sweep_summary(pairs: list[str]) -> list[dict[str, Any]]:
    """Per point of `solbot sweep` runs (one NAIVE_DIR:SWEEP_DIR pair per window, both run with
    --candles): its overrides, and per window the volume share of naive, net bps per $ (the
    sweep's fees: standard, zero) and the cut of naive's loss in naive's worst bucket there."""
    points: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        naive_dir, sweep_dir = pair.split(":")
        naive = _sweep_rows(Path(naive_dir))[0]
        buckets = {k: float(v) for k, v in naive.items() if k.startswith("bucket_net_usd[") and v}
        worst = min(buckets, key=lambda key: buckets[key])
        loss = buckets[worst]
        for row in _sweep_rows(Path(sweep_dir)):
            settings = {k[4:]: v for k, v in row.items() if k.startswith("set.")}
            point = points.setdefault(row["point"], {"set": settings, "windows": []})
            volume = float(row["volume_usd"])
            mine = float(row.get(worst) or 0.0)
            point["windows"].append(
                {
                    "sweep": sweep_dir,
                    "volume_share": volume / float(naive["volume_usd"]),
                    "bps": float(row["net_pnl_usd"]) / volume * 1e4 if volume else None,
                    "worst": worst,
                    "cut": (mine - loss) / -loss if loss < 0 else None,
                }
            )
    return [points[key] for key in sorted(points, key=int)]


def _sweep_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument(
        "--edges",
        type=Path,
        nargs="+",
        help="print fill_edges() of these run ledgers (ledger.db) instead of tuning",
    )
    parser.add_argument(
        "--write-config",
        type=Path,
        help="write the scratch config (profiles/ and rules/ plus every candidate) to this new "
        "folder and stop: for `solbot sweep --config-dir` and `analyze outcome --config-dir`",
    )
    parser.add_argument(
        "--report",
        choices=("report", "fresh", "l1"),
        help="print markdown rows of the held-out (`report`), `fresh` windows or the `l1` "
        "captures for naive and --candidates (any shipped or candidate profile) and stop",
    )
    parser.add_argument(
        "--sweep-summary",
        nargs="+",
        metavar="NAIVE_DIR:SWEEP_DIR",
        help="summarize `solbot sweep --candles` runs, one pair of output folders per window",
    )
    args = parser.parse_args(argv)
    if args.write_config:
        write_config(args.write_config, list(CANDIDATES))
        print(f"wrote {len(CANDIDATES)} candidates to {args.write_config}")
        return 0
    if args.sweep_summary:
        for point in sweep_summary(args.sweep_summary):
            shares = [w["volume_share"] for w in point["windows"]]
            cuts = [w["cut"] for w in point["windows"] if w["cut"] is not None]
            cells = "  ".join(
                f"{w['volume_share']:4.0%}/{w['bps'] or 0:6.2f}/{w['cut'] or 0:4.0%}"
                for w in point["windows"]
            )
            print(
                f"min share {min(shares):4.0%} min cut {min(cuts, default=0):4.0%}  {cells}  "
                + " ".join(f"{k}={v}" for k, v in point["set"].items())
            )
        return 0
    if args.report:
        names = [n for n in args.candidates.split(",") if n]
        with tempfile.TemporaryDirectory(prefix="solbot-tune-") as scratch:
            config = write_config(Path(scratch), [n for n in names if n in CANDIDATES])
            rows = report(config, names, args.report)
        if args.out:
            args.out.write_text("\n".join(rows) + "\n")
        return 0
    if args.edges:
        for ledger in args.edges:
            for key, row in fill_edges(ledger).items():
                print(
                    f"{ledger}  {key:18s} fills {row['fills']:6.0f} volume $ "
                    f"{row['volume_usd']:10.0f} edge {row['edge_bps']:7.2f} bps"
                )
        return 0
    if args.out is None:
        parser.error("--out is required unless --edges or --write-config is given")
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

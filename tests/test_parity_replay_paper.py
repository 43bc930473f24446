"""Parity: the same recorded ticks through `simulate` and through `run` (paper) on `fake-venue`.

The fake venue replays a slice of the bundled capture in real time over real sockets; `solbot run`
trades it on paper with the wall clock while `solbot record` records the very ticks the venue
publishes (the fake venue re-publishes the capture through its own book model, so the replay is
fed what the paper run was fed). `solbot simulate` then replays that recording from the first
event the paper run saw, on event time. One driver and one engine: the decisions (sides quoted,
rules active) must follow the same sequence at the same moments, allowing for the network and
scheduling latency of the live path. Fills differ by design (the fake venue's matching is not the
replay's fill model), so the profile turns the inventory-driven rules off and compares what the
market drives.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fault_support import FakeVenue, config_dir

from solbot.adapters.storage.trace import read_trace

SAMPLE = Path(__file__).resolve().parents[1] / "solbot" / "resources" / "sample"
STEM = "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
NS = 1_000_000_000
OFFSET_S = 265  # the slice with trend.up and trend.fast_down activity
SPAN_S = 75
LATENCY_NS = NS  # receive + scheduling latency allowed between paper and replay
# Known rare failure (1 clean-clone CI run of ~6 on 2026-12-03, not reproduced in 3 reruns): paper
# decides on a wall-clock grid of the decision interval whose phase the replay cannot know, so a
# book state shorter than one interval can be decided on by one run and not the other. There, a
# 50 ms bid at 150.147 (69.30 s) turned `trend.fast_down` on in the replay, while paper's next tick
# already saw 150.151 and turned it on only at the next real drop (70.76 s, 1.46 s later).
PARITY_PROFILE = """\
schema: 1
kind: profile
id: parity
extends: defensive
description: Short signal windows so a minute of data exercises the market rules.
params:
  one_sided_units: 10            # fills differ between fill models: keep inventory rules off
  inventory_tier1_units: 10
  inventory_tier2_units: 10
  inventory_tier3_units: 10
  # The volatility EMA samples the mid every vol_sample at the first book event after the
  # boundary: a few ms of receive-time difference between the recorder and the bot can shift a
  # sample, and a rule sitting on its threshold then flips at another moment. Keep the
  # volatility rules away from their thresholds; returns, trend and the feed drive the test.
  vol_low_pause_bps: 0.0
  vol_low_resume_bps: 0.01
  vol_high_pause_bps: 1000
  vol_high_resume_bps: 900
  vol_high_clip_bps: 1000
  clip_curve_start_sigma_bps: 1000
  clip_curve_full_sigma_bps: 2000
  clip_curve_start_percentile: 100
  regime_vol_threshold_bps: 0.0
signals:
  vol_sample: 2s
  vol_halflife: 10s
  trend_halflife: 15s
  returns: {ret_45s_bps: 15s, ret_5m_bps: 40s}
regimes:
  min_dwell: 10s
"""
# rules whose inputs are our own fills or PnL, or the venue connection itself
NOT_MARKET = ("inventory.", "pnl.", "risk.", "hedge.")
HOLE_S = (30, 42)  # the venue falls silent here: both must pull their quotes 5 s in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _slice(target: Path, kind: str, start_ns: int, stop_ns: int) -> Path:
    """The capture's rows received in [start, stop), less the rows of the hole."""
    hole = (start_ns + HOLE_S[0] * NS, start_ns + HOLE_S[1] * NS)
    path = target / f"{STEM}_{kind}.csv.gz"
    with (
        gzip.open(SAMPLE / f"{STEM}_{kind}.csv.gz", "rt", newline="") as reader,
        gzip.open(path, "wt", newline="") as out,
    ):
        rows = csv.reader(reader)
        writer = csv.writer(out)
        writer.writerow(next(rows))
        writer.writerows(
            row
            for row in rows
            if start_ns <= int(row[0]) < stop_ns and not hole[0] <= int(row[0]) < hole[1]
        )
    return path


def _first_receive_ns() -> int:
    with gzip.open(SAMPLE / f"{STEM}_bookticker.csv.gz", "rt", newline="") as reader:
        rows = csv.reader(reader)
        next(rows)
        return int(next(rows)[0])


def _decisions(trace: Path) -> list[dict[str, Any]]:
    records = list(read_trace(trace))[1:]
    return [record for record in records if record.get("type") == "decision"]


def _timeline(
    decisions: list[dict[str, Any]], origin_ns: int
) -> list[tuple[int, str, frozenset[str]]]:
    """(time since origin, sides quoted, market-driven rules active), changes only."""
    out: list[tuple[int, str, frozenset[str]]] = []
    for record in decisions:
        rules = frozenset(r for r in record["rules"] if not r.startswith(NOT_MARKET))
        state = (record["quoting"], rules)
        if not out or out[-1][1:] != state:
            out.append((record["t"] - origin_ns, *state))
    return out


def _at(timeline: list[tuple[int, str, frozenset[str]]], offset: int) -> tuple[str, frozenset[str]]:
    current = timeline[0][1:]
    for at, *state in timeline:
        if at > offset:
            break
        current = (state[0], state[1])
    return current


def _run(config: Path, root: Path, venue: FakeVenue) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "solbot", "run", "--profile", "parity",
            "--config-dir", str(config), "--rest-url", venue.base_url,
            "--ws-url", venue.ws_url, "--db", str(root / "paper.db"),
            "--trace", str(root / "paper.trace.jsonl"),
            "--duration", f"{SPAN_S}s", "--log-format", "json",
        ],
        stdout=subprocess.DEVNULL, stderr=(root / "paper.stderr").open("wb"), cwd=root,
    )  # fmt: skip


def _record(root: Path, venue: FakeVenue) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "solbot", "record", "--out", str(root / "feed.parquet"),
            "--rest-url", venue.base_url, "--ws-url", venue.ws_url,
            "--duration", f"{SPAN_S + 5}s",
        ],
        stdout=subprocess.DEVNULL, stderr=(root / "record.stderr").open("wb"), cwd=root,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("parity")
    config = config_dir(root)
    (config / "profiles" / "parity.yaml").write_text(PARITY_PROFILE, encoding="utf-8")
    first = _first_receive_ns() + OFFSET_S * NS
    files = [_slice(root, kind, first, first + SPAN_S * NS) for kind in ("bookticker", "trades")]
    with FakeVenue(data_paths=tuple(files), speed=1.0, loop=False, min_spread_ticks=1) as venue:
        recorder = _record(root, venue)  # the recorder connects first: it sees all the bot sees
        paper = _run(config, root, venue)
        assert paper.wait(SPAN_S + 60) == 0, (root / "paper.stderr").read_text()[-2000:]
        assert recorder.wait(60) == 0, (root / "record.stderr").read_text()[-2000:]
    paper_decisions = _decisions(root / "paper.trace.jsonl")
    joined_ns = paper_decisions[0]["t"]  # the paper run's first book event (wall time)
    replay = subprocess.run(
        [
            sys.executable, "-m", "solbot", "simulate", "--profile", "parity",
            "--config-dir", str(config), "--data", str(root / "feed.parquet"),
            "--from", str(joined_ns // 1_000_000), "--out", str(root / "sim"), "--json",
        ],
        capture_output=True, text=True, timeout=120, cwd=root,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr[-2000:]
    summary = json.loads(replay.stdout)
    sim_decisions = _decisions(Path(summary["trace"]))
    replayed_ns = int(summary["simulated_s"] * NS)  # after the data ends, only paper waits
    return {
        "paper": _timeline(paper_decisions, joined_ns),
        "sim": _timeline(sim_decisions, joined_ns),
        "end": min(replayed_ns, SPAN_S * NS) - 2 * NS,
    }


def test_paper_and_replay_activate_the_same_market_rules_at_the_same_moments(
    runs: dict[str, Any],
) -> None:
    def activations(timeline: list[tuple[int, str, frozenset[str]]]) -> list[tuple[str, int]]:
        seen: list[tuple[str, int]] = []
        before: frozenset[str] = frozenset()
        for at, _, rules in timeline:
            seen += [(rule, at) for rule in sorted(rules - before) if at < runs["end"]]
            before = rules
        return seen

    paper, sim = activations(runs["paper"]), activations(runs["sim"])
    assert any(rule.startswith("trend.") for rule, _ in sim), "the slice must exercise the rules"
    assert any(rule == "feed.stale" for rule, _ in paper), "the venue's silence must show"
    for rule, at in sim:
        assert any(r == rule and abs(t - at) <= LATENCY_NS for r, t in paper), (rule, at / NS)
    for rule, at in paper:
        assert any(r == rule and abs(t - at) <= LATENCY_NS for r, t in sim), (rule, at / NS)


def test_paper_and_replay_quote_the_same_sides_nearly_all_the_time(runs: dict[str, Any]) -> None:
    start = max(runs["paper"][0][0], runs["sim"][0][0])
    samples = range(start, runs["end"], NS // 4)
    agree = sum(_at(runs["paper"], t) == _at(runs["sim"], t) for t in samples)
    assert agree / len(samples) >= 0.95

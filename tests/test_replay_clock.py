"""Replay decides between market events exactly where time alone can change a decision.

A recorded capture with a 40 s hole cut out of it: live, the stale-feed rule pulls our quotes
5 s into the silence; the replay must do the same instead of leaving them resting for 40 s.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from solbot.adapters.storage.trace import read_trace
from solbot.cli.main import app

SAMPLE = Path(__file__).resolve().parents[1] / "solbot" / "resources" / "sample"
STEM = "binance_usdm_ETHUSDT_20240808T2354-20240808T2359"
NS = 1_000_000_000
HOLE_AFTER_S = 150.0  # an order of the defensive profile rests here on the bundled capture
HOLE_S = 40.0


def _cut_hole(source: Path, target: Path, start_ns: int, stop_ns: int) -> int:
    """Copy a recorded CSV without the rows received in [start, stop); returns rows removed."""
    removed = 0
    with gzip.open(source, "rt", newline="") as reader, gzip.open(target, "wt", newline="") as out:
        rows = csv.reader(reader)
        writer = csv.writer(out)
        writer.writerow(next(rows))
        for row in rows:
            if start_ns <= int(row[0]) < stop_ns:
                removed += 1
                continue
            writer.writerow(row)
    return removed


def _first_receive_ns(path: Path) -> int:
    with gzip.open(path, "rt", newline="") as reader:
        rows = csv.reader(reader)
        next(rows)
        return int(next(rows)[0])


@pytest.fixture(scope="module")
def holed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    folder = tmp_path_factory.mktemp("holed")
    book = SAMPLE / f"{STEM}_bookticker.csv.gz"
    first = _first_receive_ns(book)
    start = first + int(HOLE_AFTER_S * NS)
    stop = start + int(HOLE_S * NS)
    for kind in ("bookticker", "trades"):
        removed = _cut_hole(SAMPLE / f"{STEM}_{kind}.csv.gz", folder / f"{STEM}_{kind}.csv.gz",
                            start, stop)  # fmt: skip
        assert removed > 0
    return folder, start, stop


def _simulate(folder: Path, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--profile",
            "defensive",
            "--data",
            str(folder / f"{STEM}_bookticker.csv.gz"),
            "--data",
            str(folder / f"{STEM}_trades.csv.gz"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _trace(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    records = list(read_trace(path))
    return records[0], records[1:]


def _replay_time(header: dict[str, Any], receive_ns: int) -> int:
    """Receive time -> replay time (the capture clock may have been shifted onto the exchange's)."""
    shifts = {info["clock_shift_ns"] for info in header["data"]}
    assert len(shifts) == 1
    return receive_ns + shifts.pop()


def test_a_forty_second_hole_activates_the_stale_feed_rule(
    holed: tuple[Path, int, int], tmp_path: Path
) -> None:
    folder, _, _ = holed
    summary = _simulate(folder, tmp_path / "run")
    assert summary["rules"]["feed.stale"]["activations"] >= 1


def test_no_order_rests_through_the_hole(holed: tuple[Path, int, int], tmp_path: Path) -> None:
    folder, start, stop = holed
    summary = _simulate(folder, tmp_path / "run")
    header, records = _trace(Path(summary["trace"]))
    hole_start, hole_end = _replay_time(header, start), _replay_time(header, stop)
    placed: dict[int, int] = {}
    ended: dict[int, int] = {}
    for record in records:
        if record["type"] == "command" and record["op"] == "place":
            placed[record["id"]] = record["t"]
        elif record["type"] == "update" and record["status"] in FINAL:
            ended.setdefault(record["id"], record["t"])
    resting = [
        i for i, at in placed.items() if at < hole_start and ended.get(i, NEVER) > hole_start
    ]
    assert resting, "the test needs an order resting when the data stops"
    # live pulls the quotes once the feed is 5 s old (the last book event is before the hole's
    # start); the cancel then takes the venue's cancel latency (200 ms)
    for client_id in resting:
        assert ended.get(client_id, NEVER) <= hole_start + 6 * NS, f"order {client_id} rested on"
    assert not [at for at in placed.values() if hole_start < at < hole_end]


def test_a_hole_costs_a_few_ticks_not_a_grid(holed: tuple[Path, int, int], tmp_path: Path) -> None:
    """Replay ticks where time matters, not every 100 ms through the silence."""
    folder, _, _ = holed
    with_hole = _simulate(folder, tmp_path / "holed")
    whole = _simulate(SAMPLE, tmp_path / "whole")
    extra = with_hole["decisions"] - whole["decisions"]
    assert extra < HOLE_S * 10 / 4  # a 100 ms grid would add 400 decisions
    assert whole["rules"]["feed.stale"]["activations"] == 0


FINAL = {"canceled", "filled", "rejected", "expired"}
NEVER = 2**63 - 1

"""`simulate --bar-ticks/--bar-spread-bps`: the bar model chosen on the command line.

Bar-mode fills depend strongly on how many synthetic ticks a bar becomes
(docs/simulated_exchange.md); a user checking that sensitivity gets the same run from
`simulate --bar-ticks N` as from `data convert --bar-ticks N` and `simulate` on the Parquet.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solbot.adapters.data import open_events, sample_candles_path, sample_paths, write_parquet
from solbot.adapters.data.source import DEFAULT_BAR_SPREAD_BPS, DEFAULT_BAR_TICKS
from solbot.app.simulate import SimulationRequest, prepare_policy
from solbot.cli.main import main

HOURS_NS = 3 * 3_600_000_000_000
SAME = ("events", "decisions", "fills", "maker_fills", "volume_usd", "net_pnl_usd", "tx_sent")


def window_end() -> int:
    spec = prepare_policy(SimulationRequest(profile="naive", data=(sample_candles_path(),)))
    source = open_events([sample_candles_path()], spec.source_entry.spec)
    return source.files[0].first_ts_ns + HOURS_NS


def simulate(tmp_path: Path, name: str, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    """The command as a user runs it (exit codes included); its --json summary."""
    out = tmp_path / name
    code = main(["simulate", *args, "--out", str(out), "--json"])
    summary = out / "summary.json"
    return code, json.loads(summary.read_text()) if code == 0 else {}


def test_bar_ticks_on_the_command_line_give_the_converted_run(tmp_path: Path) -> None:
    end = str(window_end() // 1_000_000)
    candles = str(sample_candles_path())
    code, direct = simulate(tmp_path, "direct", "--data", candles, "--to", end, "--bar-ticks", "8")
    assert code == 0
    spec = prepare_policy(SimulationRequest(profile="naive", data=(sample_candles_path(),)))
    parquet = tmp_path / "day8.parquet"
    write_parquet(
        open_events(
            [sample_candles_path()], spec.source_entry.spec, end_ns=window_end(), bar_ticks=8
        ),
        parquet,
    )
    code, converted = simulate(tmp_path, "converted", "--data", str(parquet))
    assert code == 0
    assert {key: direct[key] for key in SAME} == {key: converted[key] for key in SAME}
    code, default = simulate(tmp_path, "default", "--data", candles, "--to", end)
    assert code == 0
    assert default["events"] == direct["events"] // 2  # 4 ticks a bar against 8
    assert default["fills"] != direct["fills"]


def test_bar_options_on_tick_data_are_refused(tmp_path: Path) -> None:
    ticks = [str(path) for path in sample_paths()]
    code, _ = simulate(tmp_path, "ticks", "--data", *ticks, "--bar-ticks", "8")
    assert code == 2


@pytest.mark.parametrize("option", [("--bar-ticks", "3"), ("--bar-spread-bps", "-1")])
def test_an_impossible_bar_model_is_a_usage_error(tmp_path: Path, option: tuple[str, str]) -> None:
    code, _ = simulate(tmp_path, "bad", "--data", str(sample_candles_path()), *option)
    assert code == 2


def test_the_command_line_defaults_are_the_library_defaults() -> None:
    import inspect

    from solbot.cli.simulate import simulate_command

    parameters = inspect.signature(simulate_command).parameters
    assert parameters["bar_ticks"].default == DEFAULT_BAR_TICKS
    assert parameters["bar_spread_bps"].default == DEFAULT_BAR_SPREAD_BPS


def test_a_default_bar_model_keeps_the_run_key() -> None:
    """Default runs keep their output folder names: the key only grows when the model is set."""
    request = SimulationRequest(profile="naive", data=(sample_candles_path(),))
    assert request.bar_model() is None
    changed = SimulationRequest(profile="naive", data=(sample_candles_path(),), bar_ticks=8)
    assert changed.bar_model() == {"bar_ticks": 8, "bar_spread_bps": 2.0}

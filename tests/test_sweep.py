"""`solbot sweep` and `simulate --set`: points validated up front, identical results on 1 worker,
2 workers and Ray, walk-forward windows, Ctrl-C keeps finished points, seeded search."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from solbot.app.simulate import SimulationRequest
from solbot.app.sweep import (
    SUMMARY_FIGURES,
    SweepPlan,
    Task,
    Window,
    grid_points,
    parse_grid,
    random_points,
    run_sweep,
    run_task,
    serial_executor,
)
from solbot.cli.main import main
from solbot.cli.simulate import sample_data
from solbot.config.loader import ConfigDir, resolve_profile, shipped_config_dir
from solbot.config.overrides import parse_override
from solbot.core.objective import compile_objective
from solbot.errors import ConfigError, UsageError

# Half of the bundled 5-minute capture keeps every point well under a second.
SLICE = ["--from", "2024-08-08T23:54:00Z", "--to", "2024-08-08T23:56:30Z"]
GRID = ["--grid", "quoting.spread_bps=8,12", "--grid", "params.vol_low_pause_bps=0.5,1.0"]


def sweep(args: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["sweep", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


# ----- overrides ----------------------------------------------------------------------------------


def test_set_override_changes_the_value_and_the_profile_hash() -> None:
    folder = ConfigDir(shipped_config_dir())
    plain = resolve_profile("defensive", folder)
    changed = resolve_profile("defensive", folder, (parse_override("quoting.spread_bps=17.5"),))
    assert changed.profile.quoting.spread_bps == 17.5
    assert changed.profile_sha256 != plain.profile_sha256
    assert changed.origins["quoting.spread_bps"] == "--set quoting.spread_bps=17.5:1"


def test_set_unknown_key_is_refused_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--set", "params.vol_low_pause_bsp=1", "--json"])
    err = capsys.readouterr().err
    assert code == 3
    assert "unknown key 'vol_low_pause_bsp'" in err
    assert "did you mean 'params.vol_low_pause_bps'" in err


def test_set_invalid_value_names_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--set", "quoting.spread_bps=wide", "--json"])
    assert code == 3
    assert capsys.readouterr().err.startswith(
        "--set quoting.spread_bps=wide:1:1: quoting.spread_bps:"
    )


@pytest.mark.parametrize("text", ["spread", "=3", "a..b=1", "quoting.spread_bps=[1, 2]"])
def test_set_malformed_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_override(text)


def test_simulate_set_changes_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summaries = []
    for extra in ([], ["--set", "quoting.spread_bps=30"]):
        out = tmp_path / str(len(summaries))
        assert main(["simulate", *SLICE, "--out", str(out), "--json", *extra]) == 0
        summaries.append(json.loads(capsys.readouterr().out))
    assert summaries[0]["profile_sha256"] != summaries[1]["profile_sha256"]
    assert summaries[0]["trace_sha256"] != summaries[1]["trace_sha256"]


# ----- objective ----------------------------------------------------------------------------------


def test_objective_evaluates_arithmetic_over_figures() -> None:
    objective = compile_objective(
        "net_pnl_usd - 0.5 * abs(inventory) + max(fills, 2)", ["net_pnl_usd", "inventory", "fills"]
    )
    assert objective.evaluate({"net_pnl_usd": 1.0, "inventory": -2.0, "fills": 1}) == 2.0


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "net_pnl_usd.__class__",
        "fills[0]",
        "(lambda: 1)()",
        "'text'",
        "net_pnl_usd ** 99",
        "open('x')",
        "[x for x in fills]",
        "fills if fills else 0",
    ],
)
def test_objective_refuses_anything_but_figures_and_arithmetic(text: str) -> None:
    with pytest.raises(UsageError):
        compile_objective(text, ["net_pnl_usd", "fills"])


def test_objective_unknown_figure_suggests_one() -> None:
    with pytest.raises(UsageError, match="did you mean 'net_pnl_usd'"):
        compile_objective("net_pnl_uds", SUMMARY_FIGURES)


def test_objective_figures_exist_in_a_real_summary(tmp_path: Path) -> None:
    request = SimulationRequest("defensive", tuple(sample_data()), out_dir=tmp_path)
    from solbot.app.simulate import run_simulation

    summary = run_simulation(request).summary
    missing = [n for n in SUMMARY_FIGURES if not isinstance(summary.get(n), int | float)]
    assert missing == []


# ----- points -------------------------------------------------------------------------------------


def test_grid_is_every_combination_first_key_slowest() -> None:
    points = grid_points([parse_grid("a.x=1,2"), parse_grid("b.y=p,q,r")])
    assert [p.settings() for p in points][:4] == [
        {"a.x": "1", "b.y": "p"},
        {"a.x": "1", "b.y": "q"},
        {"a.x": "1", "b.y": "r"},
        {"a.x": "2", "b.y": "p"},
    ]
    assert len(points) == 6 and [p.index for p in points] == list(range(6))


def test_random_points_are_reproducible_and_inside_the_box() -> None:
    box = [("quoting.spread_bps", 4.0, 9.0), ("params.n", 1, 3)]
    first, again = random_points(20, box, seed=7), random_points(20, box, seed=7)
    assert first == again
    assert all(4.0 <= p.overrides[0].value <= 9.0 for p in first)
    assert {p.overrides[1].value for p in first} <= {1, 2, 3}


def test_an_invalid_point_stops_the_sweep_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sweep", *SLICE, "--grid", "quoting.spread_bps=8,-3", "--out", str(tmp_path)])
    assert code == 3
    assert "quoting.spread_bps" in capsys.readouterr().err
    assert not (tmp_path / "rows").exists()


def test_unknown_grid_key_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["sweep", "--grid", "quoting.sprad_bps=8,9", "--out", str(tmp_path)])
    assert code == 3
    assert "did you mean 'quoting.spread_bps'" in capsys.readouterr().err


# ----- running ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def serial_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    assert main(["sweep", *SLICE, *GRID, "--workers", "1", "--out", str(out), "--json"]) == 0
    return out


def test_sweep_table_has_every_point_in_order(serial_table: Path) -> None:
    import polars as pl

    frame = pl.read_parquet(serial_table / "results.parquet")
    assert frame["point"].to_list() == [0, 1, 2, 3]
    assert frame["set.quoting.spread_bps"].to_list() == ["8", "8", "12", "12"]
    assert frame["trace_sha256"].n_unique() >= 2  # the parameters changed the runs
    assert {"net_pnl_usd", "objective", "rules.vol.low_pause.active_s"} <= set(frame.columns)


def test_one_and_two_workers_give_identical_tables(
    serial_table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = sweep([*SLICE, *GRID, "--workers", "2", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert (tmp_path / "results.csv").read_bytes() == (serial_table / "results.csv").read_bytes()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray extra not installed")
def test_ray_local_cluster_gives_the_identical_table(
    serial_table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*SLICE, *GRID, "--ray", "auto", "--workers", "2", "--out", str(tmp_path)]
    code, out = sweep(args, capsys)
    assert code == 0 and out["finished"] == 4
    assert (tmp_path / "results.csv").read_bytes() == (serial_table / "results.csv").read_bytes()


def test_ranking_follows_the_objective(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = sweep(
        [
            *SLICE,
            "--grid",
            "quoting.spread_bps=6,20",
            "--objective",
            "0 - tx_sent",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0
    ranking = out["ranking"]
    assert [row["objective"] for row in ranking] == sorted(
        (row["objective"] for row in ranking), reverse=True
    )
    assert all(row["objective"] == -row["tx_sent"] for row in ranking)


def test_walk_forward_ranks_on_train_and_reports_the_top_on_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        *GRID,
        "--train", "2024-08-08T23:54:00Z..2024-08-08T23:56:00Z",
        "--test", "2024-08-08T23:56:00Z..2024-08-08T23:58:00Z",
        "--top", "2",
        "--out", str(tmp_path),
    ]  # fmt: skip
    code, out = sweep(args, capsys)
    assert code == 0
    assert [row["window"] for row in out["ranking"]] == ["train"] * 4
    assert [row["window"] for row in out["test"]] == ["test"] * 2
    assert {r["point"] for r in out["test"]} == {r["point"] for r in out["ranking"][:2]}
    rows = [json.loads(p.read_text()) for p in sorted((tmp_path / "rows").glob("test-*.json"))]
    assert all(row["simulated_s"] <= 120 for row in rows)


def test_walk_forward_needs_both_windows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--train", "2024-08-08T23:54:00Z..2024-08-08T23:56:00Z"]) == 2


def test_ctrl_c_keeps_the_finished_points(tmp_path: Path) -> None:
    base = SimulationRequest("defensive", tuple(sample_data()), end_ns=1_723_161_330_000_000_000)
    plan = SweepPlan(
        base=base,
        points=tuple(grid_points([parse_grid("quoting.spread_bps=8,12,16")])),
        objective=compile_objective("net_pnl_usd", SUMMARY_FIGURES),
        out_dir=tmp_path,
    )

    def interrupted_after_one(tasks: Sequence[Task]) -> Iterator[dict]:
        yield run_task(tasks[0])
        raise KeyboardInterrupt

    report = run_sweep(plan, interrupted_after_one)
    assert report.interrupted
    assert [row["point"] for row in report.rows] == [0]
    assert (tmp_path / "results.csv").read_text().count("\n") == 2  # header + the finished point
    assert Task(base, plan.points[0], Window("all"), tmp_path).row_path.is_file()


@pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="optuna extra not installed")
def test_optimize_is_reproducible_with_a_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = []
    for name, workers in (("a", "1"), ("b", "2")):
        args = [
            *SLICE, "--optimize", "3", "--batch", "2", "--range", "quoting.spread_bps=6:14",
            "--seed", "3", "--workers", workers, "--out", str(tmp_path / name),
        ]  # fmt: skip
        code, out = sweep(args, capsys)
        assert code == 0 and out["finished"] == 3
        tables.append((tmp_path / name / "results.csv").read_bytes())
    assert tables[0] == tables[1]


def test_range_without_random_or_optimize_is_a_usage_error() -> None:
    assert main(["sweep", "--range", "quoting.spread_bps=6:14"]) == 2


def test_config_error_in_validate_lists_each_problem_once() -> None:
    from solbot.app.sweep import validate_points

    points = grid_points([parse_grid("quoting.spread_bps=-1,-2")])
    with pytest.raises(ConfigError) as raised:
        validate_points(SimulationRequest("defensive", tuple(sample_data())), points)
    assert len(raised.value.problems) == 2


def fills_per_candle_file(ledger: Path, candles: tuple[Path, ...]) -> dict:
    """A stand-in for `analyze regimes` bucket columns: reads the point's own ledger."""
    import sqlite3

    with sqlite3.connect(ledger) as db:
        (fills,) = db.execute("select count(*) from fills").fetchone()
    return {f"bucket.{path.name}.fills": fills for path in candles}


def test_bucket_columns_hook_gets_each_points_ledger_and_the_candles(tmp_path: Path) -> None:
    candles = (tmp_path / "candles.csv",)
    plan = SweepPlan(
        base=SimulationRequest("defensive", tuple(sample_data()), end_ns=1_723_161_330_000_000_000),
        points=tuple(grid_points([parse_grid("quoting.spread_bps=8,30")])),
        objective=compile_objective("net_pnl_usd", SUMMARY_FIGURES),
        out_dir=tmp_path / "out",
        candles=candles,
        bucket_columns=fills_per_candle_file,
    )
    report = run_sweep(plan, serial_executor)
    assert len({row["ledger_fills"] for row in report.rows}) == 2  # each point read its own ledger
    assert [row["bucket.candles.csv.fills"] for row in report.rows] == [
        row["ledger_fills"] for row in report.rows
    ]


def test_optimize_checks_the_range_bounds_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "sweep",
        "--optimize",
        "4",
        "--range",
        "quoting.spread_bps=-2:10",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 3
    assert "--set quoting.spread_bps=-2" in capsys.readouterr().err
    assert not (tmp_path / "rows").exists()

"""`solbot sweep`: one simulate per parameter point on a process pool or Ray, ranked."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from solbot.cli.completion import complete_profile
from solbot.cli.options import ConfigDirOption
from solbot.cli.progress import progress_bar
from solbot.cli.simulate import DataFile, MoreData, sample_data
from solbot.core.times import parse_time_ns
from solbot.errors import UsageError

if TYPE_CHECKING:
    from solbot.app.sweep import Executor, SweepPlan, SweepReport, Window


def sweep_command(
    more_data: MoreData = None,
    profile: Annotated[
        str,
        typer.Option(
            "--profile", help="Base profile of every point.", autocompletion=complete_profile
        ),
    ] = "defensive",
    data: DataFile = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            metavar="KEY=V1,V2,...",
            help="Values of one profile path, e.g. --grid params.vol_low_pause_bps=0.5,1,1.5 "
            "(repeatable: the points are every combination).",
        ),
    ] = None,
    random_count: Annotated[
        int, typer.Option("--random", metavar="N", help="Draw N points from the --range boxes.")
    ] = 0,
    ranges: Annotated[
        list[str] | None,
        typer.Option(
            "--range",
            metavar="KEY=LO:HI",
            help="Range of one profile path for --random and --optimize (integers draw integers).",
        ),
    ] = None,
    optimize_trials: Annotated[
        int,
        typer.Option(
            "--optimize",
            metavar="N",
            help="Let Optuna (seeded TPE) pick N points over --range/--grid "
            "(needs the optuna extra).",
        ),
    ] = 0,
    batch: Annotated[
        int,
        typer.Option(help="Optuna points asked at a time (results do not depend on --workers)."),
    ] = 4,
    objective_text: Annotated[
        str,
        typer.Option(
            "--objective",
            metavar="EXPR",
            help="What to maximize, over summary figures: e.g. 'net_pnl_usd - 0.01 * tx_sent'.",
        ),
    ] = "net_pnl_usd",
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override applied to every point."),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Start of the data (ISO-8601 UTC or unix ms).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End of the data (ISO-8601 UTC or unix ms).")
    ] = None,
    train: Annotated[
        str | None,
        typer.Option(
            metavar="FROM..TO", help="Walk-forward: rank the points on this window of the data."
        ),
    ] = None,
    test: Annotated[
        str | None,
        typer.Option(metavar="FROM..TO", help="Walk-forward: re-run the best --top points here."),
    ] = None,
    top: Annotated[int, typer.Option(help="Points re-run on the --test window.")] = 3,
    workers: Annotated[int, typer.Option(help="Local worker processes (1: in this process).")] = 1,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="auto|ADDRESS",
            help="Run the points on Ray: `auto` joins or starts a local instance "
            "(needs the ray extra; data paths must be readable on every node).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the fill model, --random and --optimize.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default sweeps/<profile>-<key>)."),
    ] = None,
    show: Annotated[int, typer.Option(help="Rows of the ranked table to print.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object on stdout.")
    ] = False,
    config_dir: ConfigDirOption = None,
    candles: Annotated[
        list[Path] | None,
        typer.Option(
            "--candles",
            help="External candles (repeat): each point's net PnL per trend x volatility bucket "
            "(as `analyze regimes`) joins the results table.",
        ),
    ] = None,
) -> None:
    """Run simulate once per parameter point and rank the points by an objective."""
    from solbot.app.analysis.regimes import trend_vol_columns
    from solbot.app.simulate import SimulationRequest
    from solbot.app.sweep import (
        SweepPlan,
        combine,
        grid_points,
        optimize,
        parse_grid,
        parse_range,
        random_points,
        run_sweep,
        search_corners,
        summary_figure_names,
        validate_points,
    )
    from solbot.config.overrides import parse_override
    from solbot.core.objective import compile_objective

    _check_counts(workers, random_count, optimize_trials, batch, top)
    files = [*(data or ()), *(more_data or ())]
    base = SimulationRequest(
        profile=profile,
        data=tuple(path.resolve() for path in files) if files else tuple(sample_data()),
        config_dir=config_dir.resolve() if config_dir else None,
        seed=seed,
        start_ns=parse_time_ns(start, "--from") if start else None,
        end_ns=parse_time_ns(end, "--to") if end else None,
        overrides=tuple(parse_override(text) for text in settings or ()),
    )
    grids = [parse_grid(text) for text in grid or ()]
    boxes = [parse_range(text) for text in ranges or ()]
    if (random_count or optimize_trials) and not (boxes or (optimize_trials and grids)):
        raise UsageError("--random and --optimize need at least one --range KEY=LO:HI")
    if boxes and not (random_count or optimize_trials):
        raise UsageError("--range is used by --random N or --optimize N")
    objective = compile_objective(objective_text, summary_figure_names())
    if optimize_trials:
        points = []
        validate_points(base, search_corners(grids, boxes))  # each bound and choice, up front
    else:
        points = combine(grid_points(grids), random_points(random_count, boxes, seed))
        validate_points(base, points)  # every point, before any run starts
    train_window, test_window = _windows(train, test)
    key = _sweep_key(
        profile, files, grid, ranges, settings, random_count, optimize_trials, seed, start, end
    )
    plan = SweepPlan(
        base=base,
        points=tuple(points),
        objective=objective,
        out_dir=out or Path("sweeps") / f"{profile}-{key}",
        train=train_window,
        test=test_window,
        top=top,
        candles=tuple(path.resolve() for path in candles or ()),
        bucket_columns=trend_vol_columns if candles else None,
    )
    executor = _executor(workers, ray_address)
    with progress_bar("sweep", "points", enabled=not as_json) as update:
        if optimize_trials:
            space: list[Any] = [*grids, *boxes]
            report = optimize(plan, optimize_trials, space, seed, batch, executor, update)
        else:
            report = run_sweep(plan, executor, update)
    _output(plan, report, show, as_json)
    if report.interrupted:
        raise typer.Exit(130)


def _check_counts(workers: int, random_count: int, trials: int, batch: int, top: int) -> None:
    if workers < 1 or random_count < 0 or trials < 0 or batch < 1 or top < 1:
        raise UsageError(
            "--workers, --batch and --top must be at least 1; --random/--optimize >= 0"
        )


def _windows(train: str | None, test: str | None) -> tuple[Window, Window | None]:
    from solbot.app.sweep import Window

    if (train is None) != (test is None):
        raise UsageError("walk-forward needs both --train FROM..TO and --test FROM..TO")
    if train is None or test is None:
        return Window("all"), None
    return _window("train", train), _window("test", test)


def _window(name: str, text: str) -> Window:
    from solbot.app.sweep import Window

    start, sep, end = text.partition("..")
    if not sep or not start.strip() or not end.strip():
        raise UsageError(f"--{name}: expected FROM..TO, found '{text}'")
    start_ns, end_ns = parse_time_ns(start, f"--{name}"), parse_time_ns(end, f"--{name}")
    if end_ns <= start_ns:
        raise UsageError(f"--{name}: TO must be after FROM, found '{text}'")
    return Window(name, start_ns, end_ns)


def _sweep_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:10]


def _executor(workers: int, ray_address: str | None) -> Executor:
    from solbot.app.sweep import import_optional, process_executor, ray_executor, serial_executor

    if ray_address is not None:
        import_optional("ray", "ray")  # a usage error now, not after validation
        return ray_executor(ray_address, workers)
    return serial_executor if workers == 1 else process_executor(workers)


def _output(plan: SweepPlan, report: SweepReport, show: int, as_json: bool) -> None:
    out = {
        "out_dir": str(plan.out_dir),
        "table": str(plan.out_dir / "results.parquet"),
        "csv": str(plan.out_dir / "results.csv"),
        "objective": plan.objective.text,
        "points": report.total,
        "finished": len(report.rows) + len(report.test_rows),
        "interrupted": report.interrupted,
        "ranking": [_brief(row) for row in report.ranking],
        "test": [_brief(row) for row in report.test_rows],
    }
    if as_json:
        typer.echo(json.dumps(out, sort_keys=True, default=str))
        return
    _render(out, show)


BRIEF = ("net_pnl_usd", "volume_usd", "fills", "max_abs_inventory", "tx_sent", "trace_sha256")


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    settings = {k.removeprefix("set."): v for k, v in row.items() if k.startswith("set.")}
    objective = row["objective"]
    return {
        "point": row["point"],
        "window": row["window"],
        "settings": settings,
        "objective": None if math.isnan(objective) else objective,
        **{name: row.get(name) for name in BRIEF},
    }


def _render(out: dict[str, Any], show: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)
    for title, rows in (("ranked", out["ranking"][:show]), ("test window", out["test"])):
        if not rows:
            continue
        table = Table(title=f"sweep {title} by {out['objective']}")
        keys = list(rows[0]["settings"])
        for name in ("point", *keys, "objective", "net PnL $", "volume $", "fills", "tx"):
            table.add_column(name, justify="right", overflow="fold")
        for row in rows:
            table.add_row(
                str(row["point"]),
                *(str(row["settings"].get(key, "")) for key in keys),
                "n/a" if row["objective"] is None else f"{row['objective']:.6g}",
                f"{row['net_pnl_usd']:.4f}",
                f"{row['volume_usd']:.2f}",
                str(row["fills"]),
                str(row["tx_sent"]),
            )
        console.print(table)
    console.print(
        f"{out['finished']} of {out['points']} runs finished; table {out['table']}",
        soft_wrap=True,
        highlight=False,
    )
    if out["interrupted"]:
        console.print("interrupted: the finished points are kept in the table", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `sweep`."""
    app.command("sweep")(sweep_command)

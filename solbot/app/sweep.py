"""`solbot sweep`: run one simulate per parameter point, locally or on Ray; keep every result."""

from __future__ import annotations

import itertools
import json
import math
import os
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from solbot.app.simulate import SimulationRequest, prepare_policy, run_simulation
from solbot.config.overrides import Override, parse_override, parse_scalar
from solbot.core.objective import Objective
from solbot.errors import ConfigError, Problem, UsageError

# Figures that change from one run of the same point to the next (timing, where files went):
# left out of the table so that tables of the same sweep compare equal, bit for bit.
VOLATILE = frozenset({"wall_s", "events_per_s", "out_dir", "db", "trace", "notes", "report"})
DEFAULT_OBJECTIVE = "net_pnl_usd"
# Workers fork from a fork server that imported solbot once (fast start, and never a fork of
# this process, whose polars/Ray threads may hold locks); a point depends only on its Task.
START_METHOD = "forkserver"


@dataclass(frozen=True)
class SweepPoint:
    """One parameter point: its index in the sweep and the overrides it applies."""

    index: int
    overrides: tuple[Override, ...]

    def settings(self) -> dict[str, str]:
        return {item.key: item.text for item in self.overrides}


@dataclass(frozen=True)
class Window:
    """A named time window of the data (`all`, or `train`/`test` of a walk-forward)."""

    name: str
    start_ns: int | None = None
    end_ns: int | None = None


Row = dict[str, Any]
# The hook for per-regime-bucket PnL (`analyze regimes`): given a run's ledger and the candle
# files, the columns to add to its row. A module-level function, so that it pickles to workers.
BucketColumns = Callable[[Path, tuple[Path, ...]], Row]


@dataclass(frozen=True)
class Task:
    """What a worker needs to run one point: picklable, the same for every executor."""

    base: SimulationRequest
    point: SweepPoint
    window: Window
    out_dir: Path
    candles: tuple[Path, ...] = ()
    bucket_columns: BucketColumns | None = None

    def request(self) -> SimulationRequest:
        folder = self.out_dir / "points" / f"{self.window.name}-{self.point.index:04d}"
        start = self.window.start_ns if self.window.start_ns is not None else self.base.start_ns
        end = self.window.end_ns if self.window.end_ns is not None else self.base.end_ns
        return replace(
            self.base,
            overrides=(*self.base.overrides, *self.point.overrides),
            out_dir=folder,
            db=None,
            start_ns=start,
            end_ns=end,
        )

    @property
    def row_path(self) -> Path:
        return self.out_dir / "rows" / f"{self.window.name}-{self.point.index:04d}.json"


Executor = Callable[[Sequence[Task]], Iterator[Row]]


# ----- points -------------------------------------------------------------------------------------


def parse_grid(text: str) -> tuple[str, list[Override]]:
    """`KEY=V1,V2,...` to the key and one override per value."""
    key, sep, values = text.partition("=")
    if not sep or not values.strip():
        raise UsageError(f"--grid: expected KEY=V1,V2,..., found '{text}'")
    items = [parse_override(f"{key}={value}") for value in values.split(",")]
    return items[0].key, items


def parse_range(text: str) -> tuple[str, float | int, float | int]:
    """`KEY=LO:HI`; integers on both ends draw integers."""
    key, sep, bounds = text.partition("=")
    low_text, colon, high_text = bounds.partition(":")
    if not sep or not colon:
        raise UsageError(f"--range: expected KEY=LO:HI, found '{text}'")
    low, high = parse_scalar(low_text, key.strip()), parse_scalar(high_text, key.strip())
    numbers = (int, float)
    if not (isinstance(low, numbers) and isinstance(high, numbers)) or isinstance(low, bool):
        raise UsageError(f"--range {key}: LO and HI must be numbers, found '{bounds}'")
    if high < low:
        raise UsageError(f"--range {key}: HI ({high}) is below LO ({low})")
    return key.strip(), low, high


def grid_points(grids: Sequence[tuple[str, list[Override]]]) -> list[SweepPoint]:
    """The cartesian product of the grids, first grid varying slowest."""
    keys = [key for key, _ in grids]
    if len(set(keys)) != len(keys):
        raise UsageError("--grid: a key is given twice")
    combos = itertools.product(*(values for _, values in grids)) if grids else iter([()])
    return [SweepPoint(index, tuple(combo)) for index, combo in enumerate(combos)]


def random_points(
    count: int,
    ranges: Sequence[tuple[str, float | int, float | int]],
    seed: int,
    start_index: int = 0,
) -> list[SweepPoint]:
    """`count` points drawn uniformly from the ranges with a seeded generator (reproducible)."""
    generator = random.Random(seed)
    points = []
    for offset in range(count):
        overrides = tuple(_draw(generator, key, low, high) for key, low, high in ranges)
        points.append(SweepPoint(start_index + offset, overrides))
    return points


def _draw(generator: random.Random, key: str, low: float | int, high: float | int) -> Override:
    if isinstance(low, int) and isinstance(high, int):
        value: float | int = generator.randint(low, high)
        return Override(key, value, str(value))
    value = round(generator.uniform(low, high), 6)
    return Override(key, value, repr(value))


def combine(grid: list[SweepPoint], drawn: list[SweepPoint]) -> list[SweepPoint]:
    """Every random draw crossed with every grid point, re-indexed in order."""
    if not drawn:
        return grid
    merged = [(*g.overrides, *d.overrides) for g in grid for d in drawn]
    return [SweepPoint(index, tuple(items)) for index, items in enumerate(merged)]


def search_corners(
    grids: Sequence[tuple[str, list[Override]]],
    ranges: Sequence[tuple[str, float | int, float | int]],
) -> list[SweepPoint]:
    """One point per grid value and per range bound: what an optimizer may ask, checked first."""
    overrides = [item for _, values in grids for item in values]
    for key, low, high in ranges:
        overrides += [Override(key, low, str(low)), Override(key, high, str(high))]
    return [SweepPoint(index, (item,)) for index, item in enumerate(overrides)]


def validate_points(base: SimulationRequest, points: Sequence[SweepPoint]) -> None:
    """Resolve and compile every point before any run; raise one error listing all problems."""
    problems: list[Problem] = []
    for point in points:
        try:
            prepare_policy(replace(base, overrides=(*base.overrides, *point.overrides)))
        except ConfigError as error:
            for problem in error.problems:
                if problem not in problems:
                    problems.append(problem)
    if problems:
        raise ConfigError(problems)


# ----- running ------------------------------------------------------------------------------------


def run_task(task: Task) -> Row:
    """Run one point (in whatever process the executor chose) and keep its row on disk."""
    result = run_simulation(task.request())
    row = table_row(task, result.summary)
    if task.bucket_columns is not None and task.candles:
        row.update(task.bucket_columns(result.db_path, task.candles))
    task.row_path.parent.mkdir(parents=True, exist_ok=True)
    partial = task.row_path.with_suffix(".part")
    partial.write_text(json.dumps(row, sort_keys=True) + "\n")
    os.replace(partial, task.row_path)  # a Ctrl-C never leaves half a row behind
    return row


def table_row(task: Task, summary: Mapping[str, Any]) -> Row:
    """One table row: point, window, the settings (`set.KEY`) and every summary figure."""
    row: Row = {"point": task.point.index, "window": task.window.name}
    row.update({f"set.{key}": text for key, text in task.point.settings().items()})
    row.update(flatten({k: v for k, v in summary.items() if k not in VOLATILE}))
    return row


def flatten(data: Mapping[str, Any], prefix: str = "") -> Row:
    """Nested figures as dotted columns; lists as JSON text."""
    out: Row = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list | tuple):
            out[name] = json.dumps(value, sort_keys=True)
        else:
            out[name] = value
    return out


def serial_executor(tasks: Sequence[Task]) -> Iterator[Row]:
    """One point after the other in this process."""
    for task in tasks:
        yield run_task(task)


def process_executor(workers: int) -> Executor:
    """A local process pool; rows come back as points finish. On Ctrl-C (or any early stop) the
    workers are terminated: only the parent hears SIGINT, and a half-run point leaves no row."""

    def execute(tasks: Sequence[Task]) -> Iterator[Row]:
        import multiprocessing

        context = multiprocessing.get_context(START_METHOD)
        context.set_forkserver_preload([__name__])
        pool = context.Pool(workers, initializer=_ignore_interrupts)
        try:
            results = pool.imap_unordered(run_task, tasks, chunksize=1)
            for _ in tasks:
                yield _next(results, multiprocessing.TimeoutError)
            pool.close()
        finally:
            pool.terminate()
            pool.join()

    return execute


def _next(results: Any, timeout_error: type[Exception]) -> Row:
    """The next finished row, waking often so that Ctrl-C is handled at once."""
    while True:
        try:
            row: Row = results.next(timeout=0.2)
            return row
        except timeout_error:
            continue


def _ignore_interrupts() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ray_executor(address: str, workers: int) -> Executor:
    """Points as Ray tasks: `auto` starts (or joins) a local instance, else joins ADDRESS."""

    def execute(tasks: Sequence[Task]) -> Iterator[Row]:
        ray = import_optional("ray", "ray")
        started_here = not ray.is_initialized()
        if started_here:
            start_ray(ray, address, workers)
        remote = ray.remote(run_task)
        pending = [remote.remote(task) for task in tasks]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for reference in pending:
                ray.cancel(reference, force=True)
            if started_here:
                ray.shutdown()

    return execute


def start_ray(ray: Any, address: str, workers: int) -> None:
    """Join ADDRESS, or with `auto` a running local instance, else start one on loopback."""
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address != "auto":
        ray.init(address=address, **options)
        return
    try:
        ray.init(address="auto", **options)
    except (ConnectionError, RuntimeError, ValueError):
        ray.init(num_cpus=workers, _node_ip_address="127.0.0.1", **options)


def import_optional(module: str, extra: str) -> Any:
    """An optional dependency, or a usage error saying which extra installs it."""
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError:
        raise UsageError(f"{module} is not installed: pip install 'solbot[{extra}]'") from None


@dataclass
class SweepOutcome:
    rows: list[Row]
    total: int
    interrupted: bool = False


def run_tasks(
    tasks: Sequence[Task],
    executor: Executor,
    progress: Callable[[int, int], None] | None = None,
) -> SweepOutcome:
    """Run every task; on Ctrl-C stop and keep the rows of the points that finished."""
    outcome = SweepOutcome([], len(tasks))
    for task in tasks:  # a row left by an earlier sweep into this folder is not a result
        task.row_path.unlink(missing_ok=True)
    runs = executor(tasks)
    try:
        for row in runs:
            outcome.rows.append(row)
            if progress is not None:
                progress(len(outcome.rows), len(tasks))
    except KeyboardInterrupt:
        outcome.interrupted = True
        if hasattr(runs, "close"):
            runs.close()
        outcome.rows = _rows_on_disk(tasks)  # also those that finished as the workers stopped
    outcome.rows.sort(key=lambda row: (row["window"], row["point"]))
    return outcome


def _rows_on_disk(tasks: Sequence[Task]) -> list[Row]:
    """Rows the tasks' points wrote (each row file is complete: written, then renamed)."""
    return [json.loads(t.row_path.read_text()) for t in tasks if t.row_path.is_file()]


# ----- results ------------------------------------------------------------------------------------


def score(rows: Iterable[Row], objective: Objective) -> None:
    """Add the `objective` column to every row."""
    for row in rows:
        row["objective"] = objective.evaluate(row)


def ranked(rows: Sequence[Row]) -> list[Row]:
    """Best objective first; NaN (a figure missing) last; ties by point index."""
    return sorted(
        rows,
        key=lambda row: (
            math.isnan(row["objective"]),
            -row["objective"] if not math.isnan(row["objective"]) else 0.0,
            row["point"],
        ),
    )


def figure_names(rows: Sequence[Row]) -> set[str]:
    """Numeric top-level figures an objective may name."""
    names: set[str] = set()
    for row in rows:
        for key, value in row.items():
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if numeric and key.isidentifier():
                names.add(key)
    return names


def summary_figure_names() -> set[str]:
    """The numeric top-level figures every simulate summary has (checked before any run)."""
    return set(SUMMARY_FIGURES)


SUMMARY_FIGURES = (
    "events",
    "decisions",
    "simulated_s",
    "fills",
    "maker_fills",
    "taker_fills",
    "duplicate_fills",
    "volume_usd",
    "realized_pnl_usd",
    "fees_usd",
    "funding_usd",
    "cash_flow_usd",
    "unrealized_pnl_usd",
    "net_pnl_usd",
    "inventory",
    "max_abs_inventory",
    "time_flat_pct",
    "failed_closed_activations",
    "regime_switches",
    "tx_sent",
    "tx_per_minute",
    "tx_budget_per_minute",
    "tx_dropped_by_budget",
    "quoting_denied_pct",
    "ledger_fills",
)


def write_table(rows: Sequence[Row], out_dir: Path) -> tuple[Path, Path]:
    """results.csv and results.parquet, rows in (window, point) order, columns stable."""
    import polars as pl

    columns = _columns(rows)
    data = {name: _column(rows, name) for name in columns}
    frame = pl.DataFrame(data, strict=False) if rows else pl.DataFrame({"point": []})
    csv_path, parquet_path = out_dir / "results.csv", out_dir / "results.parquet"
    frame.write_csv(csv_path)
    frame.write_parquet(parquet_path)
    return csv_path, parquet_path


def _columns(rows: Sequence[Row]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _column(rows: Sequence[Row], name: str) -> list[Any]:
    """One column; a mix of ints and floats becomes floats (one type per column)."""
    values = [row.get(name) for row in rows]
    if any(isinstance(v, float) for v in values) and all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
    ):
        return [None if v is None else float(v) for v in values]
    if any(isinstance(v, str) for v in values):
        return [None if v is None else str(v) for v in values]
    return values


# ----- the whole sweep ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepPlan:
    """Points, objective and windows of one sweep (walk-forward when `test` is given)."""

    base: SimulationRequest
    points: tuple[SweepPoint, ...]
    objective: Objective
    out_dir: Path
    train: Window = Window("all")
    test: Window | None = None
    top: int = 3
    candles: tuple[Path, ...] = ()
    bucket_columns: BucketColumns | None = None

    def tasks(self, points: Iterable[SweepPoint], window: Window) -> list[Task]:
        return [
            Task(self.base, p, window, self.out_dir, self.candles, self.bucket_columns)
            for p in points
        ]


@dataclass
class SweepReport:
    """Rows of every finished run (train/all first, then test), best-first ranking of train."""

    rows: list[Row]
    ranking: list[Row]
    test_rows: list[Row]
    total: int
    interrupted: bool


def run_sweep(
    plan: SweepPlan, executor: Executor, progress: Callable[[int, int], None] | None = None
) -> SweepReport:
    """Run every point on the train (or whole) window, rank, re-run the top on the test one."""
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    total = len(plan.points) + (min(plan.top, len(plan.points)) if plan.test else 0)
    first = run_tasks(plan.tasks(plan.points, plan.train), executor, _offset(progress, 0, total))
    score(first.rows, plan.objective)
    ranking = ranked(first.rows)
    report = SweepReport(first.rows, ranking, [], total, first.interrupted)
    if plan.test is not None and not first.interrupted:
        by_index = {point.index: point for point in plan.points}
        chosen = [by_index[row["point"]] for row in ranking[: plan.top]]
        second = run_tasks(
            plan.tasks(chosen, plan.test), executor, _offset(progress, len(first.rows), total)
        )
        score(second.rows, plan.objective)
        report.test_rows = second.rows
        report.interrupted = second.interrupted
    write_table([*report.rows, *report.test_rows], plan.out_dir)
    return report


def _offset(
    progress: Callable[[int, int], None] | None, done_before: int, total: int
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, _: progress(done_before + done, total)


def optimize(
    plan: SweepPlan,
    trials: int,
    space: Sequence[tuple[str, Sequence[Any]] | tuple[str, float | int, float | int]],
    seed: int,
    batch: int,
    executor: Executor,
    progress: Callable[[int, int], None] | None = None,
) -> SweepReport:
    """Optuna's seeded TPE picks `trials` points, `batch` at a time (maximizing the objective).

    The batch size, not the worker count, decides which points are asked: the same command
    gives the same points with 1 worker, N workers or Ray."""
    optuna = import_optional("optuna", "optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    distributions = {item[0]: _distribution(optuna, item) for item in space}
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    interrupted = False
    while len(rows) < trials and not interrupted:
        asked = [study.ask(distributions) for _ in range(min(batch, trials - len(rows)))]
        points = [SweepPoint(trial.number, _trial_overrides(trial)) for trial in asked]
        validate_points(plan.base, points)
        outcome = run_tasks(
            plan.tasks(points, plan.train), executor, _offset(progress, len(rows), trials)
        )
        score(outcome.rows, plan.objective)
        finished = {row["point"]: row for row in outcome.rows}
        for trial in asked:
            row = finished.get(trial.number)
            value = None if row is None else row["objective"]
            if value is None or math.isnan(value):
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, value)
        rows.extend(outcome.rows)
        interrupted = outcome.interrupted
    rows.sort(key=lambda row: row["point"])
    write_table(rows, plan.out_dir)
    return SweepReport(rows, ranked(rows), [], trials, interrupted)


def _distribution(optuna: Any, item: tuple[Any, ...]) -> Any:
    if len(item) == 2:
        return optuna.distributions.CategoricalDistribution([o.text for o in item[1]])
    _, low, high = item
    if isinstance(low, int) and isinstance(high, int):
        return optuna.distributions.IntDistribution(low, high)
    return optuna.distributions.FloatDistribution(float(low), float(high))


def _trial_overrides(trial: Any) -> tuple[Override, ...]:
    overrides = []
    for key, value in trial.params.items():
        if isinstance(value, str):
            overrides.append(parse_override(f"{key}={value}"))
        elif isinstance(value, float):
            rounded = round(value, 6)
            overrides.append(Override(key, rounded, repr(rounded)))
        else:
            overrides.append(Override(key, value, str(value)))
    return tuple(overrides)

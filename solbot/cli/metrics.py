"""`solbot metrics`: read PnL out of the ledger, import venue trades, export buckets, reset."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from solbot.app.ledger_location import DB_ENV, DEFAULT_DB, LATEST_RUN
from solbot.cli.progress import progress_bar
from solbot.errors import UsageError

if TYPE_CHECKING:
    from solbot.app.metrics_compute import RunScope, WindowReport

metrics_app = typer.Typer(
    name="metrics",
    help=(
        "PnL from the ledger (FIFO realized, cash flow, fees, funding, unrealized, markouts). "
        f"The ledger is ./{DEFAULT_DB} unless --db or the {DB_ENV} environment "
        "variable names another file."
    ),
    no_args_is_help=True,
)

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help=f"Ledger file; default ./{DEFAULT_DB}, or ${DB_ENV} when set.",
    ),
]
MarketOption = Annotated[
    str | None,
    typer.Option("--market", help="Market symbol; needed only when the ledger holds several."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
RunOption = Annotated[
    str,
    typer.Option(
        "--run",
        help=(
            "Run to read: an id from `metrics runs`, latest (the run recorded last) or all "
            "(FIFO then spans runs)."
        ),
    ),
]


@metrics_app.command("window")
def window_command(
    hours: Annotated[float | None, typer.Option("--hours", help="Window length in hours.")] = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", help="Window length in seconds.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Window start: ISO-8601 (UTC) or epoch time.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Window end; default: the newest fill or mark in the ledger."),
    ] = None,
    market: MarketOption = None,
    run: RunOption = LATEST_RUN,
    as_json: JsonOption = False,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """PnL of one run over a window ending at its newest data (not now); no length: all of it.

    realized = FIFO realized of the window's fills, gross of fees (lots opened earlier count);
    net = realized - fees + funding; total = net + change in unrealized over the window.
    """
    from solbot.app import metrics

    report = metrics.window_report(
        db, hours=hours, seconds=seconds, since=since, until=until, market=market, run=run
    )
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print_reports({"window": report})


@metrics_app.command("dump")
def dump_command(
    market: MarketOption = None,
    run: RunOption = LATEST_RUN,
    as_json: JsonOption = False,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """A run's totals and its last 6 hours, both ending at its newest data."""
    from solbot.app import metrics

    reports = metrics.dump_report(db, market=market, run=run)
    if as_json:
        typer.echo(json.dumps({name: r.to_json() for name, r in reports.items()}, indent=2))
    else:
        _print_reports(reports)


@metrics_app.command("export")
def export_command(
    window: Annotated[int, typer.Option("--window", help="Bucket width in seconds.")] = 300,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file; CSV goes to stdout without it.")
    ] = None,
    market: MarketOption = None,
    run: RunOption = LATEST_RUN,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """PnL of one run per bucket floor(ts/W)*W, valued with each bucket's lots and mark."""
    from solbot.app import metrics

    result = metrics.export_buckets(
        db, window_s=window, market=market, file_format=file_format, out=out, run=run
    )
    if result.run is not None:
        typer.echo(f"run: {_describe_run(result.run)}", err=True)
    if result.text is not None:
        typer.echo(result.text, nl=False)
    else:
        typer.echo(f"wrote {result.rows} buckets to {result.path}", err=True)


@metrics_app.command("runs")
def runs_command(
    as_json: JsonOption = False,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Every run in the ledger: id, mode, profile, data span, fills and net PnL (FIFO per run)."""
    from solbot.app import metrics

    summaries = metrics.list_runs(db)
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(s) for s in summaries], indent=2))
        return
    header = ("run", "mode", "profile", "start (UTC)", "end (UTC)", "fills", "net PnL USD")
    rows = [header] + [
        (
            s.run_id,
            s.kind,
            s.profile or "-",
            _show(s.first_ns, "time"),
            _show(s.last_ns, "time"),
            str(s.fills),
            _show(s.net_pnl_usd, "usd4"),
        )
        for s in summaries
    ]
    # Plain aligned columns: run ids are long and must stay whole to be given to --run.
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [
            cell.rjust(width) if i >= 5 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        typer.echo("  ".join(cells).rstrip())


@metrics_app.command("import-json")
def import_json_command(
    file: Annotated[Path, typer.Argument(help="JSON from Lighter /api/v1/trades.")],
    account_index: Annotated[
        int | None,
        typer.Option(
            "--account-index",
            envvar="SOLBOT_ACCOUNT_INDEX",
            help="Our Lighter account index (decides our side and role).",
        ),
    ] = None,
    venue: Annotated[str, typer.Option("--venue", help="Venue name stored with the fills.")] = (
        "lighter"
    ),
    market: Annotated[str, typer.Option("--market", help="Market symbol stored.")] = "SOL",
    market_id: Annotated[
        int | None, typer.Option("--market-id", help="Import only trades of this market id.")
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Import our fills from a trades file; already stored trades are skipped (idempotent)."""
    if account_index is None:
        raise UsageError("import-json needs --account-index (or SOLBOT_ACCOUNT_INDEX)")
    from solbot.app import metrics

    with progress_bar("importing", "fills", enabled=not as_json) as update:
        summary = metrics.import_trades(
            db,
            file,
            account_index=account_index,
            venue=venue,
            market=market,
            market_id=market_id,
            progress=update,
        )
    if as_json:
        payload = dataclasses.asdict(summary) | {"path": str(summary.path), "db": str(db)}
        typer.echo(json.dumps(payload, sort_keys=True))
        return
    typer.echo(
        f"{summary.path}: {summary.trades} trades, {summary.ours} ours: "
        f"{summary.inserted} inserted, {summary.duplicates} already stored; skipped "
        f"{summary.not_ours} of other accounts, {summary.other_market} of other markets, "
        f"{summary.self_trades} self-trades"
    )


@metrics_app.command("import-original")
def import_original_command(
    file: Annotated[
        Path, typer.Argument(help="The original bot's data/metrics/fills.jsonl (FillEvent lines).")
    ],
    venue: Annotated[str, typer.Option("--venue", help="Venue name stored with the fills.")] = (
        "lighter"
    ),
    market: Annotated[str, typer.Option("--market", help="Market symbol stored.")] = "SOL",
    market_id: Annotated[
        int, typer.Option("--market-id", help="Import lines of market:<id> only (SOL is 2).")
    ] = 2,
    as_json: JsonOption = False,
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Import the original bot's fills into run `original`; stored trades are skipped.

    The side comes from the sign of base_delta (a line whose side disagrees is corrected, and its
    role flipped with it); a trade the original wrote twice is stored once. FIFO is solbot's:
    `metrics window --run original` reads it (the original matched shorts LIFO).
    """
    from solbot.app import metrics

    summary = metrics.import_original_fills(
        db, file, venue=venue, market=market, market_id=market_id
    )
    if as_json:
        payload = dataclasses.asdict(summary) | {"path": str(summary.path), "db": str(db)}
        typer.echo(json.dumps(payload, sort_keys=True))
        return
    typer.echo(
        f"{summary.path}: {summary.lines} lines, {summary.fills} fills: {summary.inserted} "
        f"inserted into run {summary.run_id}, {summary.duplicates} already stored; "
        f"{summary.repeated_in_file} repeated trade ids, {summary.other_market} of other "
        f"markets skipped; side/role fixed on {summary.side_fixed}"
    )


@metrics_app.command("reset")
def reset_command(
    confirm: Annotated[bool, typer.Option("--confirm", help="Really archive and start over.")] = (
        False
    ),
    db: DbOption = Path(DEFAULT_DB),
) -> None:
    """Archive the ledger to <db>.<UTC time>.bak and start an empty one (stop the bot first)."""
    from solbot.app import metrics

    archive = metrics.reset_ledger(db, confirm=confirm)
    typer.echo(f"archived {db} to {archive}; {db} is now empty")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(metrics_app, name="metrics")


_ROWS: tuple[tuple[str, str, str], ...] = (
    ("market", "market", "text"),
    ("window_start_ns", "start (UTC)", "time"),
    ("window_end_ns", "end (UTC)", "time"),
    ("fills", "fills", "int"),
    ("maker_fills", "maker fills", "int"),
    ("taker_fills", "taker fills", "int"),
    ("volume_usd", "volume USD", "usd"),
    ("maker_volume_usd", "maker volume USD", "usd"),
    ("taker_volume_usd", "taker volume USD", "usd"),
    ("realized_pnl_usd", "realized PnL USD (FIFO, gross)", "usd4"),
    ("fees_usd", "fees USD", "usd4"),
    ("funding_usd", "funding USD", "usd4"),
    ("net_pnl_usd", "net PnL USD", "usd4"),
    ("cash_flow_usd", "cash flow USD", "usd4"),
    ("inventory", "inventory at end", "size"),
    ("mark_price", "mark", "price"),
    ("mark_source", "mark from", "text"),
    ("unrealized_pnl_usd", "unrealized PnL USD", "usd4"),
    ("total_pnl_usd", "total PnL USD (net + Δ unrealized)", "usd4"),
)


def _describe_run(scope: RunScope) -> str:
    span = f"{_show(scope.first_ns, 'time')} → {_show(scope.last_ns, 'time')}"
    return f"{scope.describe()}, data {span}"


def _print_reports(reports: dict[str, WindowReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    scope = next(iter(reports.values())).run
    if scope is not None:
        typer.echo(f"run: {_describe_run(scope)}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    names = list(reports)
    for name in names:
        table.add_column(name, justify="right")
    data = {name: report.to_json() for name, report in reports.items()}
    for key, label, kind in _ROWS:
        table.add_row(label, *(_show(data[name][key], kind) for name in names))
    for horizon in next(iter(data.values()))["markouts_bps"]:
        cells = []
        for name in names:
            value, count = (
                data[name]["markouts_bps"][horizon],
                data[name]["markout_samples"][horizon],
            )
            cells.append(f"{_show(value, 'bps')} (n={count})")
        table.add_row(f"markout {horizon}s bps", *cells)
    Console().print(table)


def _show(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "time":
        return datetime.fromtimestamp(value / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    formats = {"int": "{:d}", "usd": "{:,.2f}", "usd4": "{:,.4f}", "size": "{:.6g}"}
    formats |= {"price": "{:.4f}", "bps": "{:.2f}"}
    return formats[kind].format(value) if kind in formats else str(value)
